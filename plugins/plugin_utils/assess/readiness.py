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
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import UnsafeHostName, case_twins
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
    kinds, sites, twins = {}, sites_by_host(groups), case_twins(hosts)
    for group, kind in (kind_groups or KIND_GROUPS).items():
        for host in groups.get(group, []):
            kinds.setdefault(host, kind)
    return [_host_input(h, snapshot_dir, kinds.get(h), sites.get(h), twins.get(h)) for h in hosts]


def _host_input(host, snapshot_dir, kind, site, twins):
    """One host's input; a name that cannot name its snapshot file is not read (``problem`` says why)."""
    if twins:
        return HostInput(host, None, kind, site, "host name %r differs only in case from %s: on a file system that ignores "
                         "case both would read and write one snapshot file; rename one in the inventory"
                         % (host, ", ".join(repr(t) for t in twins)))
    try:
        return HostInput(host, snapshot_path(snapshot_dir, host), kind, site)
    except UnsafeHostName as exc:
        return HostInput(host, None, kind, site, "%s; no snapshot file is read for it: rename it in the inventory" % exc)


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
                  preservation=None, check_mode=False, progress=None, plan_file=None):
    """Assess the fleet, write every report format and return ``(report, paths, warning)``.

    A plan file that does not load is not a failure of the run: it is the blocking ``plan.valid`` finding.
    """
    if not os.path.isdir(snapshot_dir):
        raise ValueError("snapshot directory %s does not exist (set sms_upgrade_snapshot_dir)" % snapshot_dir)
    rules = load_catalog(CHECKS)
    answers = load_answers(answers_file, {r.id: r for r in rules})
    merged = merge_params(params)
    inputs = host_inputs(hosts, groups, snapshot_dir)
    plan = plan_or_problem(plan_file)
    findings, records = assess_fleet(inputs, rules, answers, merged, now, preservation, progress, plan_host, plan)
    check_report_dir(report_dir)
    previous, warning = read_previous(report_dir)
    meta = {"run_id": free_run_id(report_dir, compact_stamp(now)), "generated_at": now.isoformat(),
            "check_mode": bool(check_mode), "collection_version": collection_version(), "rules_version": "1",
            "answers_file": answers_file if answers else None}
    report = build_report(findings, records, rules, meta, previous, plan)
    paths = write_report(report_dir, report, render_all(report))
    return report, paths, warning
