"""Action plugin of sms.upgrade.preserve_files: the preserve phase (plugin_utils/phases/preserve.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "preserve"
