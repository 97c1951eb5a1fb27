# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory of a whole SMS hierarchy from its saved snapshots (plugin_utils/hierarchy/inventory_source.py)."""
from __future__ import annotations

DOCUMENTATION = r"""
name: hierarchy
short_description: The inventory of a whole SMS 1.2 hierarchy from its saved snapshots
version_added: 1.0.0
description:
  - Builds the inventory of a hierarchy offline from the snapshots the gather saved (one C(<host>.json) per host in
    O(snapshot_dir)), instead of a hand-written C(hosts.yml). A hand-written inventory keeps working; both may be given
    with several C(-i).
  - Every snapshot is a host in C(sms_upgrade) and in the group of its kind, C(sms_central), C(sms_primary) or
    C(sms_secondary) (a site server with the C(site) role, by its C(sms.site_role)), C(sms_helper) or C(sms_logon) (by
    its C(roles)), C(sms_sql) or C(sms_clients); and in C(sms_site_<site code>) of its site.
  - Sites, their tier and parent come from the site servers' snapshots and from every site server's site control data
    (C(site_control.child_sites)), so a site whose server was not gathered is still known from its parent. Each site
    group carries C(sms_site_code), C(sms_site_role) and C(sms_parent_site) and is a child of C(sms_tier_central),
    C(sms_tier_primary) or C(sms_tier_secondary).
  - Helper and logon servers named in site control data (C(site_control.helper_servers), C(logon_servers)) but never
    gathered are added to C(sms_helper) or C(sms_logon) with a warning; readiness reports their missing snapshot.
  - Host variables from the snapshot C(sms_kind); site servers C(sms_roles); clients C(sms_os_family) (C(os.family))
    and C(sms_smsid) (SMS.INI C(SMS Unique ID)). No other fact is derived.
  - With an upgrade plan (docs/upgrade_plan.md), each wave is a group C(sms_wave_<wave>) whose children are the site
    groups of its sites (variable C(sms_wave)); sites that stay on SMS 1.2 are children of C(sms_stay_on_1_2).
  - Relay rules (O(relays)) set C(sms_upgrade_relay) on the hosts they match and put the relays in C(sms_relays).
  - Only the snapshot envelope is checked here (schema, major version, kind, host name); a snapshot that fails it is a
    warning and its host is put in C(sms_upgrade) only. The readiness run validates every snapshot against its JSON
    Schema and reports each invalid one.
  - Supports Ansible's inventory cache (O(cache)); C(ansible-inventory --flush-cache) reads the snapshots again.
author:
  - sms.upgrade contributors (@sms-upgrade)
extends_documentation_fragment:
  - inventory_cache
options:
  plugin:
    description: The name of this plugin; the configuration file must set it.
    type: str
    required: true
    choices: [sms.upgrade.hierarchy]
  snapshot_dir:
    description:
      - The directory of the saved snapshots, C(<host>.json) each (the gather's C(sms_upgrade_snapshot_dir)).
      - A relative path is relative to the directory of the configuration file.
    type: str
    default: snapshots
  upgrade_plan:
    description:
      - The upgrade plan file whose waves become groups (docs/upgrade_plan.md). A relative path is relative to the
        directory of the configuration file.
      - When not set, C(upgrade_plan.yml) beside the configuration file is read if it exists; a plan named here must
        exist.
    type: str
  snapshots_only:
    description:
      - Put every host that has a snapshot in C(sms_snapshots_only) (never contacted; its snapshot is assessed as it
        is), as the embedded lab does.
    type: bool
    default: false
  site_control_hosts:
    description: Add the helper and logon servers named in site control data that have no snapshot.
    type: bool
    default: true
  relays:
    description:
      - Relay rules, first match wins. A rule sets C(sms_upgrade_relay) to its C(relay) (null is direct) on every host
        it matches; a rule matches when every criterion it gives matches (none given matches every host).
      - Legacy Windows NT 4.0 and 9x machines run no WinRM; their modules run on a Windows management host (the relay)
        that acts on the machine over the network (docs/gather.md "Relay mode").
    type: list
    elements: dict
    default: []
    suboptions:
      relay:
        description: The relay's inventory name (added to C(sms_relays)); null for direct.
        type: str
        required: true
      sites:
        description: Site codes whose hosts the rule matches.
        type: list
        elements: str
      groups:
        description:
          - Kind or tier groups (C(sms_central), C(sms_primary), C(sms_secondary), C(sms_site_servers), C(sms_sql),
            C(sms_helper), C(sms_logon), C(sms_clients)).
        type: list
        elements: str
      os_families:
        description:
          - Client OS families (C(windows_nt), C(windows_9x), C(windows_3x), C(wfw), C(ms_dos), C(os2),
            C(macintosh)).
        type: list
        elements: str
      hosts:
        description: Host name patterns (shell wildcards, case-insensitive).
        type: list
        elements: str
notes:
  - The configuration file must end in C(.sms.yml) or C(.sms.yaml). Point C(-i) at it, not at its directory (Ansible would
    read every snapshot as an inventory source too).
  - Group variables in C(group_vars/) beside the configuration file apply as for a hand-written inventory.
"""

EXAMPLES = r"""
# inventories/lab/hierarchy.sms.yml: the embedded lab, from its snapshots
# ansible-inventory -i inventories/lab/hierarchy.sms.yml --graph
plugin: sms.upgrade.hierarchy
snapshot_dir: snapshots
snapshots_only: true

# A real hierarchy: the clients through a management host, the re-platformed central server direct
# plugin: sms.upgrade.hierarchy
# snapshot_dir: /srv/sms/snapshots
# upgrade_plan: upgrade_plan.yml
# cache: true
# cache_plugin: ansible.builtin.jsonfile
# cache_connection: /var/cache/sms-inventory
# relays:
#   - relay: null
#     hosts: [CENSRV01]
#   - relay: mgmt01
#     groups: [sms_clients, sms_secondary]
#   - relay: mgmt02
#     sites: [P01]
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable

from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.inventory_source import SourceError, build_inventory
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PLAN_FILE, PlanError, load_plan

SUFFIXES = (".sms.yml", ".sms.yaml")


class InventoryModule(BaseInventoryPlugin, Cacheable):
    """Hosts and groups of an SMS hierarchy from its saved snapshots."""

    NAME = "sms.upgrade.hierarchy"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith(SUFFIXES)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        data = None
        if use_cache:
            data = self._cache.get(cache_key)
        if data is None:
            data = self._build(path)
            if self.get_option("cache"):
                self._cache[cache_key] = data
        for warning in data["warnings"]:
            self.display.warning("%s: %s" % (path, warning))
        self._populate(data)

    def _resolve(self, path, value):
        value = os.path.expanduser(value)
        return value if os.path.isabs(value) else os.path.join(os.path.dirname(os.path.abspath(path)), value)

    def _plan(self, path):
        given = self.get_option("upgrade_plan")
        plan_file = self._resolve(path, given or PLAN_FILE)
        if given and not os.path.isfile(plan_file):
            raise AnsibleParserError("%s: upgrade_plan %s does not exist" % (path, plan_file))
        return load_plan(plan_file) if os.path.isfile(plan_file) else None

    def _build(self, path):
        """The inventory as plain data (what the cache holds); AnsibleParserError naming the file and the cause."""
        try:
            result = build_inventory(self._resolve(path, self.get_option("snapshot_dir")), plan=self._plan(path),
                                     relays=self.get_option("relays"), snapshots_only=self.get_option("snapshots_only"),
                                     site_control_hosts=self.get_option("site_control_hosts"))
        except (SourceError, PlanError, RuntimeError) as exc:
            raise AnsibleParserError("%s: %s" % (path, exc)) from None
        return {"groups": result.groups, "hostvars": result.hostvars, "warnings": result.warnings}

    def _populate(self, data):
        for group in data["groups"]:
            self.inventory.add_group(group)
        for group, entry in data["groups"].items():
            for child in entry["children"]:
                self.inventory.add_child(group, child)
            for host in entry["hosts"]:
                self.inventory.add_host(host, group=group)
            for name, value in entry["vars"].items():
                self.inventory.set_variable(group, name, value)
        for host, variables in data["hostvars"].items():
            self.inventory.add_host(host)
            for name, value in variables.items():
                self.inventory.set_variable(host, name, value)
