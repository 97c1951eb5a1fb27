"""What to do first: the report's blocking findings as a numbered plan in the upgrade's own order.

Stages (``data/report.yml``): make the gather complete (every ``error`` finding, grouped by its cause, with the fix
for that cause rather than the rule's remediation), what must happen days before on the machines (rules fixed by
``admin``), what each phase fixes (rules fixed by a phase, in ``phase_order``; a phase not listed comes after the
listed ones, by name), and what a person must decide (rules fixed by ``answers``, with an answers-file entry to fill
in). Each step names the rule's title, the checklist items' text, observed versus expected, the hosts and waves, and
the playbook, command or answers entry that fixes it. Pure Python over the findings: the renderers only lay it out.
"""
import functools
from collections import OrderedDict

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten

SEVERITIES = ("critical", "high", "medium", "low", "info")
OBSERVED_LISTED = 10
HOSTS_LISTED = 50


@functools.lru_cache(maxsize=1)
def report_data():
    """data/report.yml: stages, phase order, gather fixes."""
    return read_yaml("report.yml")


@functools.lru_cache(maxsize=1)
def checklist_text():
    """{checklist ID: its text} from data/checklist.yml."""
    return {item["id"]: " ".join(str(item["text"]).split()) for item in read_yaml("checklist.yml")["items"]}


def _phase_names():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import PHASES  # late: phases read the catalog
    return set(PHASES)


def phase_rank(name):
    """Sort key of a phase: its place in phase_order, then unknown phases by name."""
    order = report_data()["phase_order"]
    return (order.index(name), "") if name in order else (len(order), name)


def stage_of(finding, rule):
    """``(stage id, phase or None)`` of a blocking finding."""
    if finding["status"] == "error" or rule is None or rule.fixed_by == "gather":
        return "gather", None
    if rule.fixed_by in _phase_names():
        return "phases", rule.fixed_by
    for stage in report_data()["stages"]:
        if rule.fixed_by in stage["fixed_by"]:
            return stage["id"], None
    return "before", None


def cause_of(finding):
    """The gather cause of an error (or stale) finding, as data/report.yml's gather_fixes knows it."""
    if finding["status"] != "error":
        return "stale"
    cause = (finding.get("evidence") or {}).get("cause") or "other"
    return cause if cause in report_data()["gather_fixes"] else "other"


def _listed(items, limit=HOSTS_LISTED):
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (" and %d more" % (len(items) - limit) if len(items) > limit else "")


def _checklist(rule_ids, rules):
    ids = []
    for rule_id in rule_ids:
        rule = rules.get(rule_id)
        ids += [cid for cid in (rule.checklist if rule else []) if cid not in ids]
    return [{"id": cid, "text": checklist_text().get(cid, "")} for cid in ids]


def _waves(findings, wave_names):
    found = {w for f in findings for w in f.get("waves") or []}
    return [w for w in wave_names if w in found]


def _observed(findings):
    rows = []
    for finding in findings[:OBSERVED_LISTED]:
        evidence = finding.get("evidence") or {}
        seen = evidence.get("observed")
        rows.append({"host": finding["host"], "observed": shorten(finding["message"] if seen in (None, "") else seen, 600)})
    return rows


def _expected(findings):
    for finding in findings:
        expected = (finding.get("evidence") or {}).get("expected")
        if expected not in (None, ""):
            return shorten(expected, 300)
    return None


def _inventory_arg(report):
    sources = (report.get("inventory") or {}).get("sources") or []
    return sources[0] if len(sources) == 1 else "<inventory>/hosts.yml"


def _phase_commands(report, playbook, waves):
    plan = report.get("plan") or {}
    inventory = _inventory_arg(report)
    if not plan.get("present") or not plan.get("valid"):
        return ["ansible-playbook -i %s %s --check --diff" % (inventory, playbook)]
    return ["ansible-playbook -i %s %s -e sms_upgrade_wave=%s --check --diff" % (inventory, playbook, wave)
            for wave in waves]


def answers_entry(rule, hosts):
    """A template answers-file entry (YAML text) that records the decision or confirmation for ``hosts``."""
    lines = ["- rule: %s" % rule.id, "  hosts: [%s]" % ", ".join("'%s'" % h if h == HIERARCHY_HOST else h for h in hosts)]
    if rule.decisions:
        lines.append("  decision: <one of %s>" % ", ".join(rule.decisions))
    lines += ["  by: <your name>", "  at: <when it was done, e.g. 2026-11-20T09:30:00Z>",
              "  reason: <what was done or decided, and where it is recorded>"]
    return "\n".join(lines)


def _rule_step(stage, phase, rule_id, findings, rules, report, wave_names):
    rule = rules.get(rule_id)
    remediation = findings[0]["remediation"]
    hosts = [f["host"] for f in findings]
    waves = _waves(findings, wave_names)
    fix = {"kind": "admin", "text": remediation.get("hint"), "command": remediation.get("command"), "playbook": None,
           "commands": [], "answers_entry": None}
    if stage == "phases":
        fix.update(kind="playbook", playbook=remediation.get("playbook"),
                   commands=_phase_commands(report, remediation.get("playbook"), waves))
    elif stage == "decide":
        fix.update(kind="answers", answers_entry=answers_entry(rule, hosts) if rule else None)
    elif rule is not None and rule.answerable:
        fix.update(answers_entry=answers_entry(rule, hosts))
    return {"stage": stage, "phase": phase, "rules": [rule_id], "title": findings[0]["title"],
            "severity": findings[0]["severity"], "checklist": _checklist([rule_id], rules), "hosts": hosts,
            "waves": waves, "observed": _observed(findings), "expected": _expected(findings), "fix": fix}


def _gather_step(cause, findings, rules, wave_names):
    hosts = list(OrderedDict.fromkeys(f["host"] for f in findings))
    rule_ids = list(OrderedDict.fromkeys(f["rule"] for f in findings))
    text = report_data()["gather_fixes"][cause].format(hosts=_listed(hosts), rules=_listed(rule_ids, 10))
    return {"stage": "gather", "phase": None, "rules": rule_ids, "title": "Gather again: %s" % cause.replace("_", " "),
            "severity": min((f["severity"] for f in findings), key=SEVERITIES.index), "cause": cause,
            "checklist": _checklist(rule_ids, rules), "hosts": hosts, "waves": _waves(findings, wave_names),
            "observed": _observed(findings), "expected": None,
            "fix": {"kind": "gather", "text": " ".join(text.split()), "command": None,
                    "playbook": "sms.upgrade.readiness", "commands": [], "answers_entry": None}}


def _rank(step):
    return (SEVERITIES.index(step["severity"]) if step["severity"] in SEVERITIES else 99, -len(step["hosts"]),
            step["rules"][0])


def build_actions(report, rules):
    """The numbered plan: ``[{step, stage, phase, rules, title, severity, checklist, hosts, waves, observed,
    expected, fix}]`` over the report's blocking findings (``rules``: the catalog's Rule list)."""
    by_id = {rule.id: rule for rule in rules}
    wave_names = [w["name"] for w in (report.get("plan") or {}).get("waves") or []]
    grouped = OrderedDict()
    for finding in report["findings"]:
        if not finding["blocks"]:
            continue
        stage, phase = stage_of(finding, by_id.get(finding["rule"]))
        key = (stage, phase, cause_of(finding) if stage == "gather" else finding["rule"])
        grouped.setdefault(key, []).append(finding)
    steps = {}
    for (stage, phase, what), findings in grouped.items():
        step = _gather_step(what, findings, by_id, wave_names) if stage == "gather" else \
            _rule_step(stage, phase, what, findings, by_id, report, wave_names)
        steps.setdefault((stage, phase), []).append(step)
    order = [s["id"] for s in report_data()["stages"]]
    keys = sorted(steps, key=lambda k: (order.index(k[0]), phase_rank(k[1]) if k[1] else (0, "")))
    numbered = []
    for key in keys:
        for step in sorted(steps[key], key=_rank):
            numbered.append(dict(step, step=len(numbered) + 1))
    return numbered


def stage_title(stage_id):
    """Title and intro of a stage."""
    stage = next(s for s in report_data()["stages"] if s["id"] == stage_id)
    return stage["title"], " ".join(stage["intro"].split())
