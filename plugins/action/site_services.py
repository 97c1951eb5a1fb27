"""Action plugin of sms.upgrade.site_services: the site_services phase (plugin_utils/phases/site_services.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "site_services"
