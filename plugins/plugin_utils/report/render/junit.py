"""The readiness report as JUnit XML: one suite per tier, one test case per host and rule.

Mapping: ``fail`` -> <failure>, ``error`` -> <error>, ``not_applicable``/``skipped`` -> <skipped>.
Blocking tells from warning: a finding that blocks the upgrade has ``type="blocking"`` and a message
starting with "BLOCKING", one that does not (a non-blocking rule, or a failure accepted in the answers
file) has ``type="warning"`` and a message starting with "WARNING"; each test case also carries the
properties ``blocks``, ``severity`` and ``waves``. A failing finding accepted by an answer stays a
<failure> (the condition is still false) and its message says "ACCEPTED", so dashboards stay truthful;
a manual item that is answered passes.
"""
import re
import xml.etree.ElementTree as ET

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import progress_view
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.common import TIER_ORDER

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def clean(value, limit=2000):
    """Text without characters XML 1.0 cannot carry, shortened."""
    return _ILLEGAL.sub("?", shorten(value, limit))


def kind(finding):
    """``blocking`` or ``warning``: what a failing finding means for the upgrade."""
    return "blocking" if finding["blocks"] else "warning"


def _body(finding):
    parts = [finding["message"]]
    evidence = finding.get("evidence") or {}
    for key in ("observed", "expected"):
        if evidence.get(key) not in (None, ""):
            parts.append("%s: %s" % (key, evidence[key]))
    for key in ("hint", "command", "playbook"):
        if finding["remediation"].get(key):
            parts.append("%s: %s" % (key, finding["remediation"][key]))
    return clean("\n".join(str(p) for p in parts), 8000)


def _properties(case, finding):
    properties = ET.SubElement(case, "properties")
    for name, value in (("blocks", "true" if finding["blocks"] else "false"), ("severity", finding["severity"]),
                        ("waves", ", ".join(finding.get("waves") or []))):
        ET.SubElement(properties, "property", name=name, value=clean(value))


def _case(finding):
    case = ET.Element("testcase", classname=clean(finding["host"]),
                      name=clean("%s [%s]" % (finding["rule"], ", ".join(finding["checklist"]) or "-")))
    status = finding["status"]
    if status in ("fail", "error"):
        _properties(case, finding)
        message = finding["message"]
        if status == "fail" and finding.get("answer") and not finding.get("manual"):
            message = "ACCEPTED by %s: %s" % (finding["answer"]["by"], message)
        element = ET.SubElement(case, "failure" if status == "fail" else "error", type=kind(finding),
                                message=clean("%s (%s): %s" % (kind(finding).upper(), finding["severity"], message)))
        element.text = _body(finding)
    elif status in ("not_applicable", "skipped"):
        ET.SubElement(case, "skipped", message=clean("%s: %s" % (status, finding["message"])))
    return case


def _progress_suite(root, report):
    """Suite ``sms.upgrade.progress`` once something is recorded: per planned site a case (a stopped site upgrade, a
    failed post-upgrade or failed clients fail it; not started is skipped), per unusable record an error."""
    progress = report.get("progress")
    if not progress or progress["status"] == "not_started":
        return {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    suite = ET.SubElement(root, "testsuite", name="sms.upgrade.progress", timestamp=report["generated_at"])
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for site in progress["sites"]:
        if site["stays_on_1_2"]:
            continue
        counts["tests"] += 1
        case = ET.SubElement(suite, "testcase", classname=clean(site["site"]), name="upgrade progress")
        summary = clean("site upgrade %s; post-upgrade %s; clients %s" % (
            progress_view.word(site["site_upgrade"]["status"]), progress_view.post_text(site["post_upgrade"]),
            progress_view.clients_text(site["clients"])))
        if progress_view.trouble(site):
            counts["failures"] += 1
            ET.SubElement(case, "failure", message=clean(progress_view.trouble(site)), type="progress").text = summary
        elif all(site[k]["status"] == "not_started" for k in ("site_upgrade", "post_upgrade", "clients")):
            counts["skipped"] += 1
            ET.SubElement(case, "skipped", message="not started")
        else:
            ET.SubElement(case, "system-out").text = summary
    for number, note in enumerate(progress["notes"], 1):
        counts["tests"] += 1
        counts["errors"] += 1
        case = ET.SubElement(suite, "testcase", classname="records", name="record %d" % number)
        ET.SubElement(case, "error", message=clean(note), type="record")
    suite.attrib.update({k: str(v) for k, v in counts.items()})
    return counts


def _xml(element):
    return ET.tostring(element, encoding="unicode")


def _start_tag(tag, attributes):
    """``<tag a="...">`` escaped as ElementTree escapes it (the element's content is written piece by piece)."""
    return _xml(ET.Element(tag, attributes))[:-3] + ">"


def _tier_counts(findings):
    return {"tests": len(findings), "failures": sum(f["status"] == "fail" for f in findings),
            "errors": sum(f["status"] == "error" for f in findings),
            "skipped": sum(f["status"] in ("not_applicable", "skipped") for f in findings)}


def _tier_suite(tier, findings, counts, timestamp):
    """The pieces of one tier's suite: its start tag and properties, a piece per test case, its end tag."""
    yield _start_tag("testsuite", dict({"name": "sms.upgrade.%s" % tier, "timestamp": timestamp},
                                       **{k: str(v) for k, v in counts.items()}))
    properties = ET.Element("properties")
    failing = [f for f in findings if f["status"] in ("fail", "error")]
    for name in ("blocking", "warning"):
        ET.SubElement(properties, "property", name=name, value=str(sum(1 for f in failing if kind(f) == name)))
    yield _xml(properties)
    for finding in findings:
        yield _xml(_case(finding))
    yield "</testsuite>"


def render_junit_pieces(report):
    """Yield the report as a JUnit XML document, piece by piece (a test case at a time: at 100,000 hosts the whole
    document as an element tree would take gigabytes)."""
    by_tier = {}
    for finding in report["findings"]:
        by_tier.setdefault(finding["tier"], []).append(finding)
    tiers = sorted(by_tier, key=lambda t: (TIER_ORDER.index(t) if t in TIER_ORDER else 99, t))
    counts = {tier: _tier_counts(by_tier[tier]) for tier in tiers}
    holder = ET.Element("testsuites")
    progress = _progress_suite(holder, report)
    totals = {k: sum(c[k] for c in counts.values()) + progress[k] for k in progress}
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield _start_tag("testsuites", dict({"name": "sms.upgrade readiness %s" % report["run_id"]},
                                        **{k: str(v) for k, v in totals.items()}))
    for tier in tiers:
        yield from _tier_suite(tier, by_tier[tier], counts[tier], report["generated_at"])
    for suite in holder:
        yield _xml(suite)
    yield "</testsuites>\n"


def render_junit(report):
    """Return the report as a JUnit XML document."""
    return "".join(render_junit_pieces(report))
