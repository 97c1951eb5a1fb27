"""The end-of-play summary printed by the readiness role: the verdict for the whole fleet, the blocked hosts by name,
the first steps of what to do, and where the report is."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.common import (
    STATUS_ORDER, blocked_hosts, blocking_by_rule, inventory_name, plan_headline, short_list, verdict, wave_status,
    waves_of)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import progress_view


def _wave_lines(report, max_waves):
    plan = report.get("plan") or {}
    lines = [plan_headline(report)] if plan.get("present") is not True or not plan.get("valid") else []
    for wave in plan.get("waves", [])[:max_waves]:
        sites = short_list((s["site"] for s in wave["sites"]), 20)
        download = ", downloads about %d MB" % wave["download_mb"] if wave["download_mb"] else ""
        lines.append("wave %s [%s]: %d host(s), %s%s" % (wave["name"], sites, wave["hosts"], wave_status(wave), download))
    if len(plan.get("waves", [])) > max_waves:
        lines.append("… and %d more waves" % (len(plan["waves"]) - max_waves))
    kept = ["%s (%d host(s))" % (k["site"], k["hosts"]) for k in plan.get("stay_on_1_2", [])]
    if kept:
        lines.append("staying on SMS 1.2: %s" % ", ".join(kept))
    return lines


def _progress_lines(report, max_waves):
    progress = report.get("progress")
    if not progress or progress["status"] == "not_started":
        return ["upgrade progress: not started"]
    lines = ["upgrade progress: " + progress_view.headline(progress)]
    lines += ["  wave %s: %s [%s]" % (row[0], row[1], row[2]) for row in progress_view.wave_rows(progress)[:max_waves]]
    lines += ["  site %s: %s" % (s["site"], progress_view.trouble(s)) for s in progress["sites"] if progress_view.trouble(s)]
    lines += ["  note: %s" % note for note in progress["notes"]]
    return lines


def _step_lines(report, max_steps):
    steps = report.get("actions") or []
    if not steps:
        return []
    lines = ["what to do first (%d steps; the report lists them all):" % len(steps)]
    lines += ["  %d. %s: %s" % (s["step"], shorten(s["title"], 120), short_list(s["hosts"], 5)) for s in steps[:max_steps]]
    if len(steps) > max_steps:
        lines.append("  … and %d more steps" % (len(steps) - max_steps))
    return lines


def render_console(report, report_paths=None, max_rules=10, max_waves=10, max_steps=8):
    """Return the summary as a list of short lines."""
    summary = report["summary"]
    name = inventory_name(report)
    blocked = blocked_hosts(report)
    lines = [verdict(report),
             "assessed in one pass over %sthe whole fleet: %d hosts and the hierarchy, blocked %d | %s" % (
                 "inventory %s, " % shorten(name, 60) if name else "", summary["hosts"], summary["blocked_hosts"],
                 ", ".join("%s %d" % (s, summary["counts"].get(s, 0)) for s in STATUS_ORDER))]
    lines += _wave_lines(report, max_waves)
    lines += _progress_lines(report, max_waves)
    if blocked:
        lines.append("blocked hosts: %s" % short_list(blocked, 20))
    lines += ["warning: %s" % shorten(w, 300) for w in report.get("warnings") or []]
    lines += _step_lines(report, max_steps)
    groups = blocking_by_rule(report)
    if groups:
        lines.append("blocking rules (hosts; waves blocked):")
        lines += ["  %s [%s] %d; %s" % (rule, ", ".join(items[0]["checklist"]) or "-", len(items),
                                        ", ".join(waves_of(items, report)) or "no wave")
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
