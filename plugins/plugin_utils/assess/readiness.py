"""The readiness run: collect inputs from the inventory, assess, render and store the report."""
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.report import render
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import load_answers, unknown_hosts
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp, parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import collection_version
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import UnsafeHostName, case_twins
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import KIND_GROUPS, sites_by_host
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import plan_host
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.build import build_report, stored_finding
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import (
    check_report_dir, claim_run_id, read_previous, release_run_id, write_report)
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import cause_of_message
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import (
    last_good_snapshot, read_snapshot_file, snapshot_path)


# Below this many hosts, starting worker processes costs more than it saves.
PARALLEL_FROM = 2000


def host_inputs(hosts, groups, snapshot_dir, kind_groups=None, gather_failures=None, now=None):
    """Turn inventory hosts and groups into assessment inputs (one pass over the groups).

    ``gather_failures`` ({host: message}) are the hosts whose gather failed in this run (unreachable host or relay,
    a failed module): they are not assessed from an older snapshot; their problem says why, and how old their last
    good snapshot is.
    """
    if not hosts:
        raise ValueError("no hosts to assess: the play targets no host (is the inventory empty, or does "
                         "--limit match nothing?)")
    kinds, sites, twins = {}, sites_by_host(groups), case_twins(hosts)
    for group, kind in (kind_groups or KIND_GROUPS).items():
        for host in groups.get(group, []):
            kinds.setdefault(host, kind)
    failures = gather_failures or {}
    return [_host_input(h, snapshot_dir, kinds.get(h), sites.get(h), twins.get(h), failures.get(h), now) for h in hosts]


def _host_input(host, snapshot_dir, kind, site, twins, failure=None, now=None):
    """One host's input; a name that cannot name its snapshot file is not read (``problem`` says why)."""
    if twins:
        return HostInput(host, None, kind, site, "host name %r differs only in case from %s: on a file system that ignores "
                         "case both would read and write one snapshot file; rename one in the inventory"
                         % (host, ", ".join(repr(t) for t in twins)), "host_name")
    try:
        path = snapshot_path(snapshot_dir, host)
    except UnsafeHostName as exc:
        return HostInput(host, None, kind, site, "%s; no snapshot file is read for it: rename it in the inventory" % exc,
                         "host_name")
    if failure:
        cause = "unreachable" if str(failure).startswith("unreachable") else cause_of_message(failure)
        return HostInput(host, path, kind, site, _failed_gather(snapshot_dir, host, failure, now), cause)
    return HostInput(host, path, kind, site)


def _failed_gather(snapshot_dir, host, failure, now):
    """The problem of a host whose gather failed in this run: the failure, and the age of its last good snapshot."""
    text = "not gathered in this run: %s" % shorten(failure, 400)
    last = _current_snapshot(snapshot_path(snapshot_dir, host), host) or last_good_snapshot(snapshot_dir, host)
    if last is None:
        return text + "; no earlier snapshot of it is kept"
    age = " (%.1f days before this run)" % ((now - last[1]).total_seconds() / 86400) if now else ""
    return text + "; its last good snapshot, %s, was collected at %s%s and is not assessed" % (
        last[0], last[1].isoformat(), age)


def render_all(report):
    """Every report format as a function that renders it: the store renders and writes one format at a time, so that
    only one rendered text is in memory (the JSON and JUnit texts are written in pieces)."""
    return {"json": lambda: render.render_json_chunks(report, stored={"findings": stored_finding}), "markdown": lambda: render.render_markdown(report),
            "html": lambda: render.render_html(report), "junit": lambda: render.render_junit_pieces(report)}


def plan_or_problem(plan_file):
    """The upgrade plan of ``plan_file`` (the whole-inventory plan without one), or the PlanError that stops it."""
    try:
        return load_plan(plan_file)
    except PlanError as exc:
        return exc


def _current_snapshot(path, host):
    """``(path, collected_at)`` of the snapshot file a failed gather left in place (not retired), or None."""
    data, _problems, _digest = read_snapshot_file(host, path)
    try:
        return (path, parse_timestamp(data["collected_at"])) if isinstance(data, dict) else None
    except (KeyError, TypeError, ValueError):
        return None


def run_readiness(hosts, groups, snapshot_dir, report_dir, now, answers_file=None, params=None,
                  preservation=None, check_mode=False, progress=None, plan_file=None, database=None, inventory=None,
                  gather_failures=None, upgrade_dirs=None, workers=1):
    """Assess the fleet, write every report format and return ``(report, paths, warning)``.

    A plan file that does not load is not a failure of the run: it is the blocking ``plan.valid`` finding.
    ``database``: the database phase's records by host (database_evidence.load_records over the vault).
    ``inventory`` ({"name", "sources"}: report/store.inventory_identity) is recorded in the report, so that the diff
    and the gate never mix two inventories; ``gather_failures`` ({host: message}) are the hosts whose gather failed in
    this run. ``warning`` joins the report's ``warnings`` (None when there are none).
    ``upgrade_dirs``: ``site_upgrade_dir`` and ``records_dir``, the changing phases' records (report/progress.py).
    ``workers``: processes that read and assess hosts at the same time (2,000 hosts and more; engine.assess_fleet).
    """
    if not os.path.isdir(snapshot_dir):
        raise ValueError("snapshot directory %s does not exist (set sms_upgrade_snapshot_dir)" % snapshot_dir)
    rules = load_catalog(CHECKS)
    answers = load_answers(answers_file, {r.id: r for r in rules}, now)
    merged = merge_params(params)
    inputs = host_inputs(hosts, groups, snapshot_dir, gather_failures=gather_failures, now=now)
    plan = plan_or_problem(plan_file)
    check_report_dir(report_dir)
    previous, warning = read_previous(report_dir, inventory)
    workers = workers if len(inputs) >= PARALLEL_FROM else 1
    findings, records = assess_fleet(inputs, rules, answers, merged, now, preservation, progress, plan_host, plan, database,
                                     workers)
    warnings = [warning] if warning else []
    warnings += ["the answers file names host %s, which is not in this run (rules %s): check the name" % (
        host, ", ".join(sorted(set(rules_of)))) for host, rules_of in sorted(unknown_hosts(answers, hosts).items())]
    run_id = claim_run_id(report_dir, compact_stamp(now))
    try:
        meta = {"run_id": run_id, "generated_at": now.isoformat(), "check_mode": bool(check_mode),
                "collection_version": collection_version(), "rules_version": "1",
                "answers_file": answers_file if answers else None, "inventory": inventory, "warnings": warnings}
        report = build_report(findings, records, rules, meta, previous, plan, upgrade_dirs)
        paths = write_report(report_dir, report, render_all(report), workers)
    except BaseException:
        release_run_id(report_dir, run_id)
        raise
    return report, paths, "; ".join(warnings) or None
