"""Every changing phase by name: the one list the gate, fleet planning, the readiness report and the docs read.

A new phase adds its room (``phases/<name>.py``) to ROOMS; nothing else here changes.
"""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import (
    client_agents, client_upgrade, database, post_upgrade, preserve, restore, site_services, site_upgrade)
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.fleet_plan import FleetPlanError, describe_plans, plan_hosts

ROOMS = (client_agents, preserve, restore, database, site_services, site_upgrade, post_upgrade, client_upgrade)
PHASES = {room.PHASE.NAME: room.PHASE for room in ROOMS}


class UnknownPhase(FleetPlanError):
    """A name that is no phase of the collection."""


def get_phase(name):
    """The phase object of ``name``; UnknownPhase names the known ones."""
    if name not in PHASES:
        raise UnknownPhase("unknown phase %r (known: %s)" % (name, ", ".join(sorted(PHASES))))
    return PHASES[name]


def snapshot_planned():
    """Names of the phases that plan from snapshots alone (sms.upgrade.phase_plan)."""
    return sorted(name for name, phase in PHASES.items() if phase.SNAPSHOT_KIND)


def plan_fleet(name, hosts, snapshot_dir=None, journal_dir=None, rollback=False):
    """Plan phase ``name`` for ``hosts`` (see fleet_plan.plan_hosts)."""
    return plan_hosts(get_phase(name), hosts, snapshot_dir, journal_dir, rollback)


def plan_host(kind, snapshot):
    """What every phase would change on one host, as text (the readiness report's planned changes)."""
    return describe_plans(PHASES.values(), kind, snapshot)
