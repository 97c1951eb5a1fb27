"""Action plugin of sms.upgrade.client_agents: plan from the client's snapshot (or take the fleet plan), apply compare-and-set."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import ApplyAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import client_agents as plan


class ActionModule(ApplyAction):
    PHASE = "client_agents"
    MODULE = "sms.upgrade.client_agents"

    def replan(self, change, current):
        return plan.replan(change, current)

    def describe(self, change):
        return plan.describe(change)

    def diff(self, change):
        return plan.diff_entry(change)

    def wire(self, change):
        return plan.wire_change(change)
