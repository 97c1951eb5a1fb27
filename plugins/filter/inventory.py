"""Inventory filters: what a host's groups say about it (plugin_utils/data/inventory.yml)."""
from ansible.errors import AnsibleFilterError

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import is_site_server


def site_server(group_names):
    """True when the groups make the host a site, logon or helper server (see inventory.is_site_server)."""
    if isinstance(group_names, str) or not hasattr(group_names, "__iter__"):
        raise AnsibleFilterError("site_server: give the host's group_names, not %r" % (group_names,))
    return is_site_server(group_names)


class FilterModule:
    """sms.upgrade inventory filters."""

    def filters(self):
        return {"site_server": site_server}
