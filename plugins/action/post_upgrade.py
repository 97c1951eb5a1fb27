"""Action plugin of sms.upgrade.post_upgrade: the post_upgrade phase (plugin_utils/phases/post_upgrade.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "post_upgrade"
