"""Action plugin of sms.upgrade.client_agents: plan from the client's snapshot, apply compare-and-set."""
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.apply_action import ApplyAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.plan import client_agents as plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.snapshot import load_snapshot, snapshot_path


class ActionModule(ApplyAction):
    PHASE = "client_agents"
    MODULE = "sms.upgrade.client_agents"

    def plan(self, host, args, task_vars):
        if not args["snapshot_dir"]:
            raise ValueError("snapshot_dir is required: the changes are planned from the host's readiness snapshot")
        path = snapshot_path(args["snapshot_dir"], host)
        snapshot = load_snapshot(host, path, expected_kind="client")
        if not snapshot.valid:
            raise ValueError("cannot plan from %s: %s" % (path, "; ".join(
                "%s: %s" % (p.path, p.message) for p in snapshot.problems[:5])))
        changes, problems = plan.plan_client(snapshot.data)
        return changes, problems, {"source": os.path.abspath(path), "snapshot_collected_at": snapshot.data["collected_at"]}

    def replan(self, change, current):
        return plan.replan(change, current)

    def invert(self, change):
        return plan.invert(change)

    def describe(self, change):
        return plan.describe(change)

    def diff(self, change):
        return plan.diff_entry(change)

    def wire(self, change):
        return plan.wire_change(change)
