"""Assemble the readiness report (schema ``readiness-report.v2.json``) from findings."""
from collections import Counter, defaultdict

from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import UpgradePlan
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.actions import build_actions
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.progress import progress_section
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.waves import mark_waves, plan_section

REPORT_SCHEMA_VERSION = "2.0"
# A finding's fields that are its rule's: written (readiness.json) only on failing findings; summary.by_rule has them.
RULE_FIELDS = ("title", "remediation", "references")
STATUSES = ("pass", "fail", "not_applicable", "skipped", "error")
FAILING = ("fail", "error")


def count(findings):
    """Counts per status plus 'blocking' (findings that block now)."""
    counter = Counter(f["status"] for f in findings)
    result = {status: counter.get(status, 0) for status in STATUSES}
    result["blocking"] = sum(1 for f in findings if f["blocks"])
    return result


def _group_summary(records, findings_by_host):
    """Hosts, blocked hosts and finding counts of a group; the hierarchy record is no host (so that the hosts of the
    tiers and sites add up to the fleet's everywhere), its findings count."""
    hosts = [r.host for r in records if r.kind != "hierarchy"]
    findings = [f for r in records for f in findings_by_host.get(r.host, [])]
    return {"hosts": len(hosts), "blocked_hosts": sum(1 for h in hosts if any(f["blocks"] for f in findings_by_host.get(h, []))),
            "counts": count(findings)}


def _host_entry(record, findings):
    entry = {"host": record.host, "kind": record.kind, "tiers": list(record.tiers), "tier": record.tiers[0],
             "site": record.site, "site_role": record.site_role, "os": record.os, "snapshot": record.snapshot,
             "snapshot_sha256": record.snapshot_sha256,
             "collected_at": record.collected_at, "blocked": any(f["blocks"] for f in findings),
             "counts": count(findings)}
    if record.plans:
        entry["plans"] = record.plans
    return entry


def _by_rule(findings, rules):
    grouped = defaultdict(list)
    for f in findings:
        grouped[f["rule"]].append(f)
    return {r.id: {"title": r.title, "checklist": list(r.checklist), "severity": r.severity, "blocking": r.blocking,
                   "manual": r.kind == "manual", "remediation": r.remediation, "references": r.references,
                   "counts": count(grouped.get(r.id, []))} for r in rules}


def stored_finding(finding):
    """A finding as readiness.json holds it: without its rule's fields (:data:`RULE_FIELDS`) unless it fails."""
    if finding["status"] in FAILING:
        return finding
    return {key: value for key, value in finding.items() if key not in RULE_FIELDS}


def summarize(records, findings, rules):
    """Fleet, per-tier, per-site, per-severity and per-rule summaries."""
    by_host = defaultdict(list)
    for f in findings:
        by_host[f["host"]].append(f)
    tiers, sites = defaultdict(list), defaultdict(list)
    for record in records:
        tiers[record.tiers[0]].append(record)
        if record.site:
            sites[record.site].append(record)
    real = [r for r in records if r.kind != "hierarchy"]
    return {
        "hosts": len(real),
        "blocked_hosts": sum(1 for r in real if any(f["blocks"] for f in by_host.get(r.host, []))),
        "counts": count(findings),
        "by_severity": dict(Counter(f["severity"] for f in findings if f["status"] in FAILING)),
        "by_tier": {tier: _group_summary(recs, by_host) for tier, recs in tiers.items()},
        "by_site": {site: _group_summary(recs, by_host) for site, recs in sorted(sites.items())},
        "by_rule": _by_rule(findings, rules),
    }, by_host


def diff_reports(findings, previous):
    """New, fixed and still failing (host, rule) pairs compared with the previous report."""
    now = {(f["host"], f["rule"]): f["status"] for f in findings}
    before = {(f["host"], f["rule"]): f["status"] for f in (previous or {}).get("findings", [])}

    def item(key, status):
        return {"host": key[0], "rule": key[1], "status": status}

    failing_now = {k for k, s in now.items() if s in FAILING}
    failing_before = {k for k, s in before.items() if s in FAILING}
    return {
        "previous_run_id": (previous or {}).get("run_id"),
        "new": [item(k, now[k]) for k in sorted(failing_now - failing_before)] if previous else [],
        "fixed": [item(k, now[k]) for k in sorted(failing_before - failing_now) if k in now],
        "still_failing": [item(k, now[k]) for k in sorted(failing_now & failing_before)],
    }


def build_report(findings, records, rules, meta, previous=None, plan=None, upgrade_dirs=None):
    """Return the report dict; ``meta`` carries run_id, generated_at, check_mode and versions.

    ``plan`` is the upgrade plan (default: the whole inventory as one wave) or the PlanError of a plan that did not
    load: every finding gets the ``waves`` it blocks and the report a ``plan`` section with each wave's status.
    ``upgrade_dirs`` (``site_upgrade_dir``, ``records_dir``): where the changing phases keep the records the
    ``progress`` section reads (report/progress.py).
    """
    plan = UpgradePlan.whole_inventory() if plan is None else plan
    mark_waves(findings, records, plan)
    summary, by_host = summarize(records, findings, rules)
    planned = plan_section(plan, records, findings)
    report = dict(
        {"schema": "sms.upgrade.readiness_report", "schema_version": REPORT_SCHEMA_VERSION}, **meta,
        hosts=[_host_entry(r, by_host.get(r.host, [])) for r in records],
        findings=findings, summary=summary, diff=diff_reports(findings, previous), plan=planned)
    report["progress"] = progress_section(planned, report["hosts"], **(upgrade_dirs or {}))
    report["actions"] = build_actions(report, rules)
    return report
