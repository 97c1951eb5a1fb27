"""Action plugin of sms.upgrade.upgrade_wave: the wave of the upgrade plan a run acts on, and the hosts in it."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import sites_by_host
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import load_snapshot, snapshot_path
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import site_of
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import (
    host_sites, kept_facts, left_out_lines, load_plan, wave_facts)


def snapshot_sites(snapshot_dir, hosts):
    """``{host: site code}`` from the valid snapshots of ``hosts`` in ``snapshot_dir`` (none without a directory)."""
    if not snapshot_dir:
        return {}
    sites = {}
    for host in hosts:
        snapshot = load_snapshot(host, snapshot_path(snapshot_dir, host))
        if snapshot.valid:
            sites[host] = site_of(snapshot.data)
    return sites


class ActionModule(ControllerAction):
    """Resolves the wave (failing on an unknown one, listing the waves) and splits the hosts by it."""

    argument_spec = {
        "wave": {"type": "str"},
        "plan_file": {"type": "path"},
        "hosts": {"type": "list", "elements": "str"},
        "snapshot_dir": {"type": "path"},
    }

    def run_action(self, args, task_vars):
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        plan = load_plan(args["plan_file"])
        wave = plan.wave(args["wave"])
        sites = host_sites(hosts, snapshot_sites(args["snapshot_dir"], hosts), sites_by_host(task_vars.get("groups", {})))
        scope = plan.scope(wave.name, hosts, sites)
        result = {
            "wave": wave_facts(plan, wave), "waves": plan.wave_names(),
            "stay_on_1_2": kept_facts(plan),
            "wave_hosts": scope.hosts, "out_of_wave": sorted(scope.left_out), "left_out": left_out_lines(scope),
            "msg": "wave %s: %d of %d host(s)%s" % (
                wave.name, len(scope.hosts), len(hosts), "" if plan.implicit else " (sites %s)" % ", ".join(e.site for e in wave.sites)),
        }
        if plan.warning:
            result["warnings"] = [plan.warning]
        return result
