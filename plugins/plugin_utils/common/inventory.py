"""What the inventory's groups say about a host: its snapshot kind, its roles and its site (``data/inventory.yml``)."""
import functools
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml


@functools.lru_cache(maxsize=1)
def inventory_data():
    """The groups, the site group pattern and the OS families (read once per process)."""
    return read_yaml("inventory.yml")


GROUPS = inventory_data()["groups"]
SITE_SERVER_GROUPS = tuple(name for name, group in GROUPS.items() if group["kind"] == "site_server")
KIND_GROUPS = {name: group["kind"] for name, group in GROUPS.items()}
ROLE_GROUPS = {name: group["role"] for name, group in GROUPS.items() if group.get("role")}
OS_FAMILIES = tuple(inventory_data()["os_families"])
SITE_GROUP = re.compile(inventory_data()["site_group"])


def site_code_from_groups(group_names):
    """The site code of the first ``sms_site_XXX`` group the host is in; None if none."""
    for group in group_names or []:
        match = SITE_GROUP.match(group)
        if match:
            return match.group(1).upper()
    return None


def sites_by_host(groups):
    """``{host: site code}`` from the ``sms_site_XXX`` groups of an inventory (``groups``: group -> hosts)."""
    sites = {}
    for group, members in groups.items():
        match = SITE_GROUP.match(group)
        for host in members if match else []:
            sites.setdefault(host, match.group(1).upper())
    return sites


def is_site_server(group_names):
    """True when the host is in a site, logon or helper server group."""
    return bool(set(group_names or ()) & set(SITE_SERVER_GROUPS))
