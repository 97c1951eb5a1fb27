"""Shared views of a report for the renderers."""
from collections import OrderedDict

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.actions import stage_title

TIER_ORDER = ("hierarchy", "site", "secondary", "sql", "helper", "logon", "distribution", "client")
STATUS_ORDER = ("error", "fail", "pass", "not_applicable", "skipped")
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


HIERARCHY = "(hierarchy)"


def verdict(report):
    """Return the one-line verdict of a report."""
    blocked = report["summary"]["blocked_hosts"]
    hierarchy = any(f["blocks"] for f in report["findings"] if f["host"] == HIERARCHY)
    if blocked or hierarchy:
        return "BLOCKED: %d of %d host(s)%s with blocking findings" % (
            blocked, report["summary"]["hosts"], " and the hierarchy" if hierarchy else "")
    return "READY: %d host(s), no blocking finding" % report["summary"]["hosts"]


def inventory_name(report):
    """The inventory (or site) name the report was made for, or None."""
    return (report.get("inventory") or {}).get("name")


def title(report):
    """``SMS 1.2 → 2.0 readiness: <inventory>`` (without the name when the report has none)."""
    name = inventory_name(report)
    return "SMS 1.2 → 2.0 readiness%s" % (": %s" % shorten(name, 80) if name else "")


def real_hosts(report):
    """The report's host entries without the hierarchy-wide record."""
    return [h for h in report["hosts"] if h["host"] != HIERARCHY]


def blocked_hosts(report):
    """Names of the hosts with blocking findings, in report order."""
    return [h["host"] for h in real_hosts(report) if h["blocked"]]


def steps_by_stage(report):
    """``[(stage id, title, intro, [(phase, [step])])]`` of the report's numbered plan, in its order."""
    stages = OrderedDict()
    for step in report.get("actions") or []:
        phases = stages.setdefault(step["stage"], OrderedDict())
        phases.setdefault(step.get("phase"), []).append(step)
    return [(stage,) + stage_title(stage) + (list(phases.items()),) for stage, phases in stages.items()]


def step_of_rule(report):
    """``{rule: step number}`` of the blocking rules the plan lists (a rule's first step)."""
    found = {}
    for step in report.get("actions") or []:
        for rule in step["rules"]:
            found.setdefault(rule, step["step"])
    return found


def ordered_tiers(by_tier):
    """Tier summaries in checklist order."""
    return [(t, by_tier[t]) for t in TIER_ORDER if t in by_tier] + \
        [(t, s) for t, s in sorted(by_tier.items()) if t not in TIER_ORDER]


def blocking_by_rule(report):
    """Blocking findings grouped by rule, most severe first, then most hosts: [(rule_id, [finding, ...])]."""
    groups = OrderedDict()
    for finding in report["findings"]:
        if finding["blocks"]:
            groups.setdefault(finding["rule"], []).append(finding)
    return sorted(groups.items(), key=lambda item: (SEVERITY_ORDER.index(item[1][0]["severity"]), -len(item[1]), item[0]))


def what_to_do(finding):
    """The remediation hint, else the command."""
    remediation = finding["remediation"]
    return remediation.get("hint") or remediation.get("command") or ""


def failing_by_host(report):
    """Non-pass, non-N/A findings grouped by host, hosts in report order."""
    groups = OrderedDict((h["host"], []) for h in report["hosts"])
    for finding in report["findings"]:
        if finding["status"] in ("fail", "error"):
            groups.setdefault(finding["host"], []).append(finding)
    return [(host, items) for host, items in groups.items() if items]


def short_list(items, limit=50):
    """Join up to ``limit`` items and say how many more there are."""
    items = list(items)
    text = ", ".join(items[:limit])
    return text + (" … and %d more" % (len(items) - limit) if len(items) > limit else "")


PLANS_LISTED = 200


def planned_by_phase(report):
    """``[(phase, [(host, plan)])]``: the hosts each changing phase would change, from the report's host plans."""
    phases = {}
    for host in report["hosts"]:
        for phase, plan in sorted((host.get("plans") or {}).items()):
            phases.setdefault(phase, []).append((host["host"], plan))
    return sorted(phases.items())


# ------------------------------------------------------------------ the upgrade plan
METHOD_WORDS = {"download_from_parent": "download from parent", "parent_with_local_source": "from parent, source at the site",
                "local_cd": "local CD"}


def plan_headline(report):
    """One sentence about the report's upgrade plan (none, unusable, or its waves and kept sites)."""
    plan = report.get("plan")
    if not plan:
        return "No upgrade plan in this report."
    if not plan["valid"]:
        return "The upgrade plan %s cannot be used: %s" % (plan["file"], "; ".join(plan["problems"]))
    if not plan["present"]:
        return ("No upgrade plan%s: changing phases treat the whole inventory as one wave, 'all', and warn."
                % (" at %s" % plan["file"] if plan["file"] else ""))
    kept = ", ".join(k["site"] for k in plan["stay_on_1_2"])
    return "Upgrade plan %s: %d wave(s)%s." % (
        plan["file"], len(plan["waves"]), "; staying on SMS 1.2: %s" % kept if kept else "")


def site_label(site):
    """``S01 (secondary of CEN, download from parent)``."""
    details = [("%s of %s" % (site["role"] or "site", site["parent"])) if site["parent"] else (site["role"] or "not in the inventory")]
    if site["method"]:
        details.append(METHOD_WORDS.get(site["method"], site["method"]))
    return "%s (%s)" % (site["site"], ", ".join(details))


def wave_status(wave):
    """``ready`` or ``blocked: N blocking finding(s)``."""
    return "ready" if wave["status"] == "ready" else "blocked: %d blocking finding(s)" % wave["blocking"]


def window_text(wave):
    window = wave.get("window")
    return "%s to %s" % (window["start"], window["end"]) if window else "-"


def waves_of(findings, report):
    """The waves any of ``findings`` blocks, in plan order."""
    names = {name for finding in findings for name in finding.get("waves") or []}
    return [w["name"] for w in ((report.get("plan") or {}).get("waves") or []) if w["name"] in names]
