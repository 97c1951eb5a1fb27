"""The end-of-play summary printed by the readiness role."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.common import STATUS_ORDER, blocking_by_rule, verdict


def render_console(report, report_paths=None, max_rules=10):
    """Return the summary as a list of short lines."""
    summary = report["summary"]
    lines = [verdict(report),
             "hosts %d, blocked %d | %s" % (summary["hosts"], summary["blocked_hosts"],
                                            ", ".join("%s %d" % (s, summary["counts"].get(s, 0)) for s in STATUS_ORDER))]
    groups = blocking_by_rule(report)
    if groups:
        lines.append("blocking rules (hosts):")
        lines += ["  %s [%s] %d" % (rule, ", ".join(items[0]["checklist"]) or "-", len(items))
                  for rule, items in groups[:max_rules]]
        if len(groups) > max_rules:
            lines.append("  … and %d more rules" % (len(groups) - max_rules))
    diff = report["diff"]
    if diff["previous_run_id"]:
        lines.append("since %s: %d new, %d fixed, %d still failing" % (
            diff["previous_run_id"], len(diff["new"]), len(diff["fixed"]), len(diff["still_failing"])))
    for key in ("html", "markdown", "json", "junit"):
        if report_paths and report_paths.get(key):
            lines.append("%s: %s" % (key, report_paths[key]))
    return lines
