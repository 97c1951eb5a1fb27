"""Action plugin of sms.upgrade.phase_plan: plan a changing phase for every host of the run, once, on the controller."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import plan_fleet, snapshot_planned


class ActionModule(ControllerAction):
    """Plans every host of ``hosts`` in one pass and returns the entries of the hosts with something to do."""

    argument_spec = {
        "phase": {"type": "str", "required": True, "choices": snapshot_planned()},
        "hosts": {"type": "list", "elements": "str"},
        "snapshot_dir": {"type": "path"},
        "journal_dir": {"type": "path"},
        "rollback": {"type": "bool", "default": False},
        "exclude": {"type": "list", "elements": "str", "default": []},
    }

    def run_action(self, args, task_vars):
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        excluded = set(args["exclude"])
        hosts = [h for h in hosts if h not in excluded]
        plans = plan_fleet(args["phase"], hosts, args["snapshot_dir"], args["journal_dir"], args["rollback"])
        with_changes = sum(1 for p in plans.values() if p["changes"])
        with_problems = sum(1 for p in plans.values() if p["problems"])
        return {"plans": plans, "hosts": len(hosts), "to_change": with_changes, "with_problems": with_problems,
                "nothing_to_do": len(hosts) - len(plans),
                "msg": "%s%s: %d host(s): %d to change, %d with something that cannot be planned, %d with nothing to do" % (
                    args["phase"], " rollback" if args["rollback"] else "", len(hosts), with_changes, with_problems,
                    len(hosts) - len(plans))}
