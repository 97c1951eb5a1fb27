"""Shared views of a report for the renderers."""
from collections import OrderedDict

TIER_ORDER = ("hierarchy", "site", "secondary", "sql", "helper", "logon", "distribution", "client")
STATUS_ORDER = ("error", "fail", "pass", "not_applicable", "skipped")
SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")


def verdict(report):
    """Return the one-line verdict of a report."""
    blocked = report["summary"]["blocked_hosts"]
    hierarchy = any(f["blocks"] for f in report["findings"] if f["host"] == "(hierarchy)")
    if blocked or hierarchy:
        return "BLOCKED: %d host(s)%s with blocking findings" % (blocked, " and the hierarchy" if hierarchy else "")
    return "READY: no blocking finding"


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
