"""The readiness run: collect inputs from the inventory, assess, render and store the report."""
import json
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.report import render
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import load_answers
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import collection_version
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import KIND_GROUPS, sites_by_host
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import plan_host
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.build import build_report
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import (
    check_report_dir, free_run_id, read_previous, write_report)
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import snapshot_path


def host_inputs(hosts, groups, snapshot_dir, kind_groups=None):
    """Turn inventory hosts and groups into assessment inputs (one pass over the groups)."""
    if not hosts:
        raise ValueError("no hosts to assess: the play targets no host (is the inventory empty, or does "
                         "--limit match nothing?)")
    kinds, sites = {}, sites_by_host(groups)
    for group, kind in (kind_groups or KIND_GROUPS).items():
        for host in groups.get(group, []):
            kinds.setdefault(host, kind)
    return [HostInput(h, snapshot_path(snapshot_dir, h), kinds.get(h), sites.get(h)) for h in hosts]


def render_all(report):
    """Render every report format."""
    return {"json": json.dumps(report, ensure_ascii=False, separators=(",", ":")) + "\n", "markdown": render.render_markdown(report),
            "html": render.render_html(report), "junit": render.render_junit(report)}


def plan_or_problem(plan_file):
    """The upgrade plan of ``plan_file`` (the whole-inventory plan without one), or the PlanError that stops it."""
    try:
        return load_plan(plan_file)
    except PlanError as exc:
        return exc


def run_readiness(hosts, groups, snapshot_dir, report_dir, now, answers_file=None, params=None,
                  preservation=None, check_mode=False, progress=None, plan_file=None, database=None, upgrade_dirs=None):
    """Assess the fleet, write every report format and return ``(report, paths, warning)``.

    A plan file that does not load is not a failure of the run: it is the blocking ``plan.valid`` finding.
    ``database``: the database phase's records by host (database_evidence.load_records over the vault).
    ``upgrade_dirs``: ``site_upgrade_dir`` and ``records_dir``, the changing phases' records (report/progress.py).
    """
    if not os.path.isdir(snapshot_dir):
        raise ValueError("snapshot directory %s does not exist (set sms_upgrade_snapshot_dir)" % snapshot_dir)
    rules = load_catalog(CHECKS)
    answers = load_answers(answers_file, {r.id: r for r in rules})
    merged = merge_params(params)
    inputs = host_inputs(hosts, groups, snapshot_dir)
    plan = plan_or_problem(plan_file)
    findings, records = assess_fleet(inputs, rules, answers, merged, now, preservation, progress, plan_host, plan, database)
    check_report_dir(report_dir)
    previous, warning = read_previous(report_dir)
    meta = {"run_id": free_run_id(report_dir, compact_stamp(now)), "generated_at": now.isoformat(),
            "check_mode": bool(check_mode), "collection_version": collection_version(), "rules_version": "1",
            "answers_file": answers_file if answers else None}
    report = build_report(findings, records, rules, meta, previous, plan, upgrade_dirs)
    paths = write_report(report_dir, report, render_all(report))
    return report, paths, warning
