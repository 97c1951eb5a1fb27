"""Plans of the changing phases over many hosts, made once on the controller.

``plan_hosts`` plans a phase for every host of a run in one pass (snapshots are read and validated once, in one
process), so that the phase only runs a task on the hosts that have something to change, and a re-run over a clean
fleet contacts nobody. ``describe_plans`` gives the readiness report each host's planned changes as text. Both take
phase objects (``phases/registry.py`` finds them by name).
"""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import UnsafeHostName
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import load_snapshot, snapshot_path
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import JournalError, applied_changes, latest_record

# What planning one host from its odd data may raise: the host fails by name, the other hosts are planned.
HOST_ERRORS = (ValueError, KeyError, TypeError, AttributeError, IndexError, UnicodeError, RecursionError)


class FleetPlanError(ValueError):
    """A fleet plan cannot be made (a phase that cannot plan from snapshots, missing directory)."""


def describe_plans(phases, kind, snapshot):
    """``{phase: {"changes": [line], "problems": [text]}}`` for the phases that would change this host; None if none."""
    plans = {}
    for phase in phases:
        if phase.SNAPSHOT_KIND != kind:
            continue
        try:
            planned = phase.plan_snapshot(snapshot)
        except HOST_ERRORS as exc:
            planned = [], ["cannot plan this host: %s" % shorten(exc, 300)]
        if planned is None:
            continue
        changes, problems = planned
        if changes or problems:
            plans[phase.NAME] = {"changes": [phase.describe(c) for c in changes], "problems": list(problems)}
    return plans or None


def _from_snapshot(phase, host, snapshot_dir):
    try:
        path = snapshot_path(snapshot_dir, host)
    except UnsafeHostName as exc:
        return [], [str(exc)], None
    snapshot = load_snapshot(host, path, expected_kind=phase.SNAPSHOT_KIND)
    if not snapshot.valid:
        return [], ["cannot plan from %s: %s" % (path, "; ".join("%s: %s" % (p.path, p.message) for p in snapshot.problems[:5]))], path
    try:
        changes, problems = phase.plan_snapshot(snapshot.data)
    except HOST_ERRORS as exc:
        return [], ["cannot plan from %s: %s" % (path, shorten(exc, 300))], path
    return changes, problems, path


def _from_journal(phase, host, journal_dir):
    try:
        path, record = latest_record(journal_dir, host, phase.NAME)
        done = applied_changes(path, record) if record is not None else []
    except JournalError as exc:
        return [], [str(exc)], None
    if record is None:
        return [], [], None
    try:
        return [phase.invert(change) for change in done], [], path
    except HOST_ERRORS as exc:
        return [], ["journal %s holds a change that cannot be undone (%s): it is not used" % (path, shorten(exc, 300))], path


def plan_hosts(phase, hosts, snapshot_dir=None, journal_dir=None, rollback=False):
    """``{host: {"changes", "problems", "source"}}`` for the hosts with something to change or a problem.

    Hosts with nothing to do are left out. With ``rollback`` the changes undo each host's newest journal record.
    """
    if phase.SNAPSHOT_KIND is None:
        raise FleetPlanError("phase %s is planned on each host, not from snapshots" % phase.NAME)
    if rollback and not journal_dir:
        raise FleetPlanError("rollback needs journal_dir (where the phase recorded its changes)")
    if not rollback and not snapshot_dir:
        raise FleetPlanError("snapshot_dir is required: the changes are planned from each host's readiness snapshot")
    plans = {}
    for host in hosts:
        if rollback:
            changes, problems, source = _from_journal(phase, host, journal_dir)
        else:
            changes, problems, source = _from_snapshot(phase, host, snapshot_dir)
        if changes or problems:
            plans[host] = {"changes": changes, "problems": problems, "source": source}
    return plans
