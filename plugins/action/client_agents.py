"""Action plugin of sms.upgrade.client_agents: the client_agents phase (plugin_utils/phases/client_agents.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "client_agents"
