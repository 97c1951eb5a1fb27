"""Action plugin of sms.upgrade.restore_files: the restore phase (plugin_utils/phases/restore.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "restore"
