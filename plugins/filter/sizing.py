"""Sizing filters: site database and tempdb sizes by the upgrade paper's rules."""
from ansible.errors import AnsibleFilterError

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.sizing import (
    SizingError, site_db_sizing as _site_db_sizing, tempdb_sizing as _tempdb_sizing)


def site_db_sizing(computers, overrides=None):
    try:
        return _site_db_sizing(computers, overrides)
    except SizingError as exc:
        raise AnsibleFilterError("site_db_sizing: %s" % exc)


def tempdb_sizing(site_data_mb, overrides=None):
    try:
        return _tempdb_sizing(site_data_mb, overrides)
    except SizingError as exc:
        raise AnsibleFilterError("tempdb_sizing: %s" % exc)


class FilterModule:
    """sms.upgrade sizing filters."""

    def filters(self):
        return {"site_db_sizing": site_db_sizing, "tempdb_sizing": tempdb_sizing}
