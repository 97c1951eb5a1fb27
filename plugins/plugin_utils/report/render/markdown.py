"""The readiness report as Markdown.

Every text from the report goes through :func:`cell` (prose and table cells) or :func:`code` (commands): Markdown
and HTML characters are escaped, lines are joined and long values shortened, so a value such as ``<!--``,
``</script>``, ``<password>`` or raw HTML renders as the text it is, in any Markdown viewer.
"""
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.common import (
    PLANS_LISTED, STATUS_ORDER, blocked_hosts, blocking_by_rule, failing_by_host, ordered_tiers,
    plan_headline, planned_by_phase, short_list, site_label, step_of_rule, steps_by_stage, title,
    verdict, wave_status, waves_of, what_to_do, window_text)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import progress_view

CELL_CHARS = 1000
# What can start markup inside one line of text: backslash, code spans, emphasis (``*``; ``_`` at a word's edge), HTML
# and autolinks (``<``), entities (``&``), table cells (``|``) and inline links (``](``). Nothing is put at a line's
# start, so headings, lists, quotes and link definitions cannot begin inside a value.
_SPECIAL = re.compile(r"[\\`*<|&~]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|\](?=\()")


def cell(value, limit=CELL_CHARS):
    """A value as one line of Markdown text (safe in a table cell): specials escaped, shortened."""
    text = shorten(value, limit).replace("\r", " ").replace("\n", " ")
    return _SPECIAL.sub(lambda match: "\\" + match.group(), text)


def code(value, limit=CELL_CHARS):
    """A value as an inline code span (for commands), safe in a table cell."""
    text = shorten(value, limit).replace("\r", " ").replace("\n", " ").replace("|", "\\|")
    fence = "`" * (max([len(run) for run in re.findall("`+", text)] or [0]) + 1)
    return "%s %s %s" % (fence, text, fence) if fence != "`" or text.startswith("`") else "`%s`" % text


def block(value, language=""):
    """A value as a fenced code block (lines kept)."""
    text = shorten(value, 4000)
    fence = "`" * max(3, max([len(run) for run in re.findall("`+", text)] or [0]) + 1)
    return ["%s%s" % (fence, language)] + text.splitlines() + [fence]


def table(header, rows):
    """Render a Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return lines


def _counts_row(name, summary):
    counts = summary["counts"]
    return [name, summary["hosts"], summary["blocked_hosts"]] + [counts.get(s, 0) for s in STATUS_ORDER]


def _header(report):
    summary = report["summary"]
    inventory = report.get("inventory") or {}
    names = blocked_hosts(report)
    lines = ["# %s report" % cell(title(report)), "",
             "**%s**" % cell(verdict(report)), "",
             "- Run: `%s` (%s)%s" % (report["run_id"], report["generated_at"], ", check mode" if report["check_mode"] else ""),
             "- Inventory: %s" % (cell(", ".join(inventory.get("sources") or [])) or "not recorded"),
             "- Hosts: %d, blocked: %d; findings: %s" % (
                 summary["hosts"], summary["blocked_hosts"],
                 ", ".join("%s %d" % (s, summary["counts"].get(s, 0)) for s in STATUS_ORDER)),
             "- Blocked hosts: %s" % (cell(short_list(names)) if names else "none"),
             "- Answers file: %s" % (cell(report.get("answers_file")) or "none"), ""]
    if report.get("warnings"):
        lines += ["## Warnings", ""] + ["- %s" % cell(w) for w in report["warnings"]] + [""]
    return lines


def _step(step):
    heading = "%d. **%s** (`%s`; %s; waves: %s)" % (
        step["step"], cell(step["title"]), "`, `".join(step["rules"]), step["severity"], ", ".join(step["waves"]) or "none")
    lines = [heading, "   - Hosts (%d): %s" % (len(step["hosts"]), cell(short_list(step["hosts"])))]
    lines += ["   - %s: %s" % (c["id"], cell(c["text"])) for c in step["checklist"]]
    lines += ["   - observed on %s: %s" % (cell(o["host"]), cell(o["observed"])) for o in step["observed"]]
    if len(step["hosts"]) > len(step["observed"]):
        lines.append("   - … and %d more hosts (readiness.json lists all)" % (len(step["hosts"]) - len(step["observed"])))
    if step.get("expected"):
        lines.append("   - expected: %s" % cell(step["expected"]))
    fix = step["fix"]
    if fix.get("text"):
        lines.append("   - what to do: %s" % cell(fix["text"]))
    if fix.get("command"):
        lines.append("   - command: %s" % code(fix["command"]))
    if fix.get("commands"):
        lines.append("   - playbook %s, one wave at a time (then without --check):" % code(fix["playbook"]))
        lines += ["     " + line for line in block("\n".join(fix["commands"]), "sh")]
    if fix.get("answers_entry"):
        lines.append("   - %s" % ("answers-file entry:" if fix["kind"] == "answers" else
                                  "or, if it is acceptable here, accept it in the answers file:"))
        lines += ["     " + line for line in block(fix["answers_entry"], "yaml")]
    return lines


def _actions(report):
    lines = ["## What to do first", ""]
    stages = steps_by_stage(report)
    if not stages:
        return lines + ["Nothing blocks the upgrade.", ""]
    lines += ["Every blocking finding, in the order of the upgrade; each step says what fixes it.", ""]
    for _stage, stage_title, intro, phases in stages:
        lines += ["### %s" % cell(stage_title), "", cell(intro), ""]
        for phase, steps in phases:
            if phase:
                lines += ["Phase **%s**:" % cell(phase), ""]
            for step in steps:
                lines += _step(step)
            lines.append("")
    return lines


def _blocking(report):
    lines = ["## Blocking findings by rule", ""]
    groups = blocking_by_rule(report)
    if not groups:
        return lines + ["None.", ""]
    steps = step_of_rule(report)
    rows = [(steps.get(rule, ""), rule, ", ".join(items[0]["checklist"]), items[0]["severity"], len(items),
             short_list(f["host"] for f in items), ", ".join(waves_of(items, report)) or "none", what_to_do(items[0]))
            for rule, items in groups]
    return lines + table(["Step", "Rule", "Checklist", "Severity", "Hosts", "Which", "Waves blocked", "What to do"], rows) + [""]


def _upgrade_plan(report):
    plan = report.get("plan")
    lines = ["## Upgrade plan", "", cell(plan_headline(report)), ""]
    if not plan or not plan["waves"]:
        return lines
    rows = [(w["name"], window_text(w), ", ".join(site_label(s) for s in w["sites"]), w["hosts"], wave_status(w),
             "%d MB" % w["download_mb"] if w["download_mb"] else "-") for w in plan["waves"]]
    lines += table(["Wave", "Window", "Sites, in order", "Hosts", "Status", "Downloads"], rows) + [""]
    if plan["stay_on_1_2"]:
        lines += ["Staying on SMS 1.2:", ""] + table(["Site", "Hosts", "Keeps clients", "Reason"], [
            (k["site"], k["hosts"], ", ".join(k["clients"]) or "-", k["reason"]) for k in plan["stay_on_1_2"]]) + [""]
    if plan["os_upgrades"]:
        lines += ["Clients whose OS is upgraded before their site's wave: %s." % ", ".join(plan["os_upgrades"]), ""]
    lines += ["- Hierarchy change %s: %s (sites %s)" % (c["when"], cell(c["change"]), ", ".join(c["sites"]))
              for c in plan["hierarchy_changes"]]
    if plan["unplanned"]:
        lines.append("- Not planned (in no wave, not staying on 1.2): %s" % ", ".join(
            "%s (%d hosts)" % (u["site"], u["hosts"]) for u in plan["unplanned"]))
    return lines + ([""] if plan["hierarchy_changes"] or plan["unplanned"] else [])


def text(value):
    """A recorded value (the records are not ours to trust) as one line of Markdown text: :func:`cell`."""
    return cell("" if value is None else str(value))


def _rows(rows):
    return [["" if c is None else str(c) for c in row] for row in rows]


def _progress(report):
    progress = report.get("progress")
    lines = ["## Upgrade progress", "", text(progress_view.headline(progress)), ""]
    if not progress:
        return lines
    if progress["waves"]:
        lines += table(["Wave", "Status", "Sites (site upgrade)", "Last run"], _rows(progress_view.wave_rows(progress))) + [""]
    if progress["sites"]:
        lines += table(["Site", "Wave", "Site upgrade", "Post-upgrade", "Clients"], _rows(progress_view.site_rows(progress))) + [""]
    for site in progress_view.detailed(progress):
        steps, conversion = _rows(progress_view.timeline_rows(site)), _rows(progress_view.conversion_rows(site))
        failed = progress_view.failed_clients(site)
        lines += ["### Site %s" % text(site["site"]), ""]
        if steps:
            omitted = site["site_upgrade"].get("timeline_omitted")
            lines += ["Site upgrade timeline%s:" % (" (the newest steps; %d older left out)" % omitted if omitted else ""), ""]
            lines += table(["Step", "Started", "Duration", "Result", "Message"], steps) + [""]
        if conversion:
            lines += ["Data conversion (POST-06):", ""]
            lines += table(["SMS 1.2 object", "Converted", "Count", "Preserved", "Fate"], conversion) + [""]
        if failed:
            lines += ["Failed clients: %s" % text(", ".join(failed)), ""]
    if progress["notes"]:
        lines += ["Records that could not be used:", ""] + ["- %s" % text(n) for n in progress["notes"]] + [""]
    return lines


def _groups(report):
    summary = report["summary"]
    header = ["Name", "Hosts", "Blocked"] + list(STATUS_ORDER)
    lines = ["## By tier", ""] + table(header, [_counts_row("hierarchy-wide" if t == "hierarchy" else t, s)
                                                for t, s in ordered_tiers(summary["by_tier"])])
    lines += ["", "Hierarchy-wide findings concern no single host; the hosts of the tiers add up to the fleet's %d."
              % summary["hosts"]]
    lines += ["", "## By site", ""] + table(header, [_counts_row(s, v) for s, v in summary["by_site"].items()])
    return lines + [""]


def _diff(report):
    diff = report["diff"]
    lines = ["## Since the previous run", ""]
    if not diff["previous_run_id"]:
        return lines + ["No previous run in this report directory.", ""]
    lines.append("Compared with `%s`: %d new, %d fixed, %d still failing." % (
        diff["previous_run_id"], len(diff["new"]), len(diff["fixed"]), len(diff["still_failing"])))
    for key in ("new", "fixed"):
        if diff[key]:
            lines += ["", "%s:" % key.capitalize(), ""]
            lines += ["- %s `%s` (%s)" % (cell(i["host"]), i["rule"], i["status"]) for i in diff[key][:200]]
            if len(diff[key]) > 200:
                lines.append("- … and %d more" % (len(diff[key]) - 200))
    return lines + [""]


def _finding(finding):
    lines = ["- **%s** `%s` \\[%s\\] %s%s: %s" % (
        finding["status"].upper(), finding["rule"], ", ".join(finding["checklist"]), finding["severity"],
        ", blocking %s" % (("wave(s) " + ", ".join(finding.get("waves"))) if finding.get("waves") else "no wave")
        if finding["blocks"] else "", cell(finding["message"]))]
    remediation = finding["remediation"]
    for key in ("hint", "command", "playbook"):
        if remediation.get(key):
            lines.append("  - %s: %s" % (key, code(remediation[key]) if key == "command" else cell(remediation[key])))
    refs = finding["references"]
    if refs.get("seed") or refs.get("kb"):
        lines.append("  - references: %s" % cell("; ".join(filter(None, [refs.get("seed"), ", ".join(refs.get("kb") or [])]))))
    if finding.get("answer"):
        a = finding["answer"]
        lines.append("  - answered by %s at %s: %s" % (cell(a["by"]), cell(a["at"]), cell(a["reason"])))
    return lines


def _hosts(report):
    lines = ["## Hosts with failing findings", ""]
    hosts = {h["host"]: h for h in report["hosts"]}
    for host, findings in failing_by_host(report):
        info = hosts.get(host, {})
        lines += ["### %s" % cell(host), "",
                  "%s, site %s%s" % (info.get("tier", "?"), info.get("site") or "-",
                                     ", " + cell(info["os"]) if info.get("os") else ""), ""]
        for finding in findings:
            lines += _finding(finding)
        lines.append("")
    return lines


def _plans(report):
    lines = []
    for phase, hosts in planned_by_phase(report):
        lines += ["## Planned changes: phase %s (%d hosts)" % (phase, len(hosts)), "",
                  "Planned from each host's snapshot; `ansible-playbook ... sms.upgrade.%s --check --diff` shows them "
                  "again before anything is applied." % phase, ""]
        for host, plan in hosts[:PLANS_LISTED]:
            lines += ["- **%s**" % cell(host)] + ["  - %s" % cell(c) for c in plan["changes"]]
            lines += ["  - not planned: %s" % cell(p) for p in plan["problems"]]
        if len(hosts) > PLANS_LISTED:
            lines.append("- … and %d more hosts (readiness.json lists all)" % (len(hosts) - PLANS_LISTED))
        lines.append("")
    return lines


def render_markdown(report):
    """Return the whole report as Markdown text."""
    return "\n".join(_header(report) + _actions(report) + _upgrade_plan(report) + _progress(report) + _blocking(report)
                     + _groups(report) + _diff(report) + _hosts(report) + _plans(report)) + "\n"
