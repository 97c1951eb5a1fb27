"""Action plugin of sms.upgrade.client_upgrade: the client_upgrade phase (plugin_utils/phases/client_upgrade.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "client_upgrade"
