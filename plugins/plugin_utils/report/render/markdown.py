"""The readiness report as Markdown."""
import html

from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.common import (
    PLANS_LISTED, STATUS_ORDER, blocking_by_rule, failing_by_host, ordered_tiers, plan_headline, planned_by_phase,
    short_list, site_label, verdict, wave_status, waves_of, what_to_do, window_text)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import progress_view


def cell(value):
    """Make a value safe inside a Markdown table cell."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


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
    return ["# SMS 1.2 → 2.0 readiness report", "",
            "**%s**" % verdict(report), "",
            "- Run: `%s` (%s)%s" % (report["run_id"], report["generated_at"], ", check mode" if report["check_mode"] else ""),
            "- Hosts: %d, blocked: %d; findings: %s" % (
                summary["hosts"], summary["blocked_hosts"],
                ", ".join("%s %d" % (s, summary["counts"].get(s, 0)) for s in STATUS_ORDER)),
            "- Answers file: %s" % (report.get("answers_file") or "none"), ""]


def _blocking(report):
    lines = ["## Blocking findings", ""]
    groups = blocking_by_rule(report)
    if not groups:
        return lines + ["None.", ""]
    rows = [(rule, ", ".join(items[0]["checklist"]), items[0]["severity"], len(items),
             short_list(f["host"] for f in items), ", ".join(waves_of(items, report)) or "none", what_to_do(items[0]))
            for rule, items in groups]
    return lines + table(["Rule", "Checklist", "Severity", "Hosts", "Which", "Waves blocked", "What to do"], rows) + [""]


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
    """``cell`` that also keeps recorded text from being read as HTML (the records are not ours to trust)."""
    return cell(html.escape("" if value is None else str(value), quote=False))


def _rows(rows):
    return [[html.escape(str(c), quote=False) for c in row] for row in rows]


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
    lines = ["## By tier", ""] + table(header, [_counts_row(t, s) for t, s in ordered_tiers(summary["by_tier"])])
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
    lines = ["- **%s** `%s` [%s] %s%s: %s" % (
        finding["status"].upper(), finding["rule"], ", ".join(finding["checklist"]), finding["severity"],
        ", blocking %s" % (("wave(s) " + ", ".join(finding.get("waves"))) if finding.get("waves") else "no wave")
        if finding["blocks"] else "", cell(finding["message"]))]
    remediation = finding["remediation"]
    for key in ("hint", "command", "playbook"):
        if remediation.get(key):
            lines.append("  - %s: %s" % (key, ("`%s`" % remediation[key]) if key == "command" else cell(remediation[key])))
    refs = finding["references"]
    if refs.get("seed") or refs.get("kb"):
        lines.append("  - references: %s" % "; ".join(filter(None, [refs.get("seed"), ", ".join(refs.get("kb") or [])])))
    if finding.get("answer"):
        a = finding["answer"]
        lines.append("  - answered by %s at %s: %s" % (cell(a["by"]), a["at"], cell(a["reason"])))
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
    return "\n".join(_header(report) + _upgrade_plan(report) + _progress(report) + _blocking(report) + _groups(report) + _diff(report) + _hosts(report)
                     + _plans(report)) + "\n"
