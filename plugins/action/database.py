"""Action plugin of sms.upgrade.database: the site database preparation phase (phases/database.py)."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import PhaseAction


class ActionModule(PhaseAction):
    PHASE = "database"
