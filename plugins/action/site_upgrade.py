"""Action plugin of sms.upgrade.site_upgrade: the site_upgrade phase (plugin_utils/phases/site_upgrade.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "site_upgrade"
