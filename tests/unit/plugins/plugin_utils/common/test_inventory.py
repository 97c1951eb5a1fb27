"""The inventory groups and OS families live in data/inventory.yml; every place that must list them again (module and
role docs, the snapshot schema, the lab seed, the playbooks' host patterns) is checked against it here."""
import json
import os
import re

import pytest
import yaml

from ansible_collections.sms.upgrade.plugins.filter.inventory import site_server
from ansible_collections.sms.upgrade.plugins.plugin_utils.common import inventory

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))
# Site-server groups whose hosts sit below sms_site_servers in the inventory (README "Running against a site").
SITE_ROLE_GROUPS = {name for name, role in inventory.ROLE_GROUPS.items() if role == "site"}
# What a playbook of the site-server phases names: the site-server groups above the site roles, and the SQL hosts.
SERVER_PATTERN = (set(inventory.SITE_SERVER_GROUPS) - SITE_ROLE_GROUPS) | {
    name for name, kind in inventory.KIND_GROUPS.items() if kind == "site_database"}


def _read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return handle.read()


def _yaml(*parts):
    return yaml.safe_load(_read(*parts))


def _groups_in(text):
    """The inventory group names a text mentions (not the sms_site_<CODE> pattern, not sms_upgrade_* variables)."""
    return {name for name in re.findall(r"\bsms_[a-z_]+[a-z]\b", text)
            if not name.startswith("sms_upgrade_")} - {"sms_upgrade", "sms_snapshots_only"}


def _sidecar(name):
    return _yaml("plugins", "modules", "%s.yml" % name)["DOCUMENTATION"]


def _stub_documentation(name):
    source = _read("plugins", "modules", "%s.py" % name)
    return yaml.safe_load(source.split('DOCUMENTATION = r"""', 1)[1].split('"""', 1)[0])


def test_the_data_file_is_consistent():
    assert set(inventory.SITE_SERVER_GROUPS) == {"sms_site_servers", "sms_central", "sms_primary", "sms_secondary",
                                                 "sms_helper", "sms_logon"}
    assert SERVER_PATTERN == {"sms_site_servers", "sms_helper", "sms_logon", "sms_sql"}
    assert inventory.OS_FAMILIES[0] == "windows_nt" and len(set(inventory.OS_FAMILIES)) == len(inventory.OS_FAMILIES)


@pytest.mark.parametrize("where, choices", [
    ("client_facts os_family", lambda: _sidecar("client_facts")["options"]["os_family"]["choices"]),
    ("gather role gather_os_family", lambda: _yaml("roles", "gather", "meta", "argument_specs.yml")[
        "argument_specs"]["main"]["options"]["gather_os_family"]["choices"]),
    ("snapshot schema os.family", lambda: json.loads(_read("plugins", "plugin_utils", "data", "schemas", "snapshot-common.v1.json"))[
        "$defs"]["os"]["properties"]["family"]["enum"]),
    ("docs/snapshots.md os.family", lambda: re.findall(r"`([a-z_0-9]+)`", re.search(
        r"^\| `os\.family` \|(.*)$", _read("docs", "snapshots.md"), re.MULTILINE).group(1))),
])
def test_every_list_of_os_families_is_the_data_file_s(where, choices):
    assert list(choices()) == list(inventory.OS_FAMILIES), where


def test_the_readiness_report_documents_every_group_it_reads():
    hosts = _stub_documentation("readiness_report")["options"]["hosts"]["description"]
    assert _groups_in(" ".join(hosts)) == set(inventory.KIND_GROUPS)


def test_docs_name_every_group_and_no_other():
    sentence = re.search(r"^Inventory groups: .*?\n\n", _read("docs", "readiness.md"), re.MULTILINE | re.DOTALL).group(0)
    assert _groups_in(sentence) == set(inventory.KIND_GROUPS)


def test_the_preserve_module_names_the_site_server_groups():
    kind = " ".join(_sidecar("preserve_files")["options"]["kind"]["description"])
    assert _groups_in(kind) == SERVER_PATTERN


@pytest.mark.parametrize("playbook", ["preserve.yml", "restore.yml"])
def test_the_server_playbooks_run_on_the_site_server_and_sql_groups(playbook):
    patterns = [p for p in re.findall(r"^\s*hosts: (.+)$", _read("playbooks", playbook), re.MULTILINE) if "sms_" in p]
    assert patterns and all(_groups_in(pattern) == SERVER_PATTERN for pattern in patterns), patterns


def test_the_lab_seed_seeds_site_servers_from_the_site_groups():
    """Helper and logon servers are no site servers to seed; every other site-server group is."""
    default = _yaml("roles", "lab_seed", "defaults", "main.yml")["lab_seed_kind"]
    listed = re.search(r"intersect\((\[[^\]]*\])\)", default).group(1)
    seeded = {name for name in inventory.SITE_SERVER_GROUPS if inventory.ROLE_GROUPS.get(name) in (None, "site")}
    assert set(yaml.safe_load(listed)) == seeded
    assert {name for name, kind in inventory.KIND_GROUPS.items() if kind == "client"} == {"sms_clients"}
    assert "'sms_clients' in group_names" in default


def test_the_gather_role_reads_site_servers_through_the_filter_and_names_real_groups():
    tasks = _read("roles", "gather", "tasks", "main.yml")
    assert "when: group_names | sms.upgrade.site_server" in tasks and "intersect" not in tasks
    named = set(re.findall(r"'(sms_[a-z_]+)' in group_names", tasks))
    assert named == {name for name, kind in inventory.KIND_GROUPS.items() if kind in ("client", "site_database")}
    assert {name for name, kind in inventory.KIND_GROUPS.items() if kind in ("client", "site_database")} <= _groups_in(tasks)


@pytest.mark.parametrize("groups, expected", [
    (["sms_upgrade", "sms_central", "sms_site_CEN"], True),
    (["sms_logon"], True),
    (["sms_sql", "sms_site_CEN"], False),
    ([], False),
])
def test_site_server_filter(groups, expected):
    assert site_server(groups) is expected


def test_site_server_filter_refuses_a_string():
    from ansible.errors import AnsibleFilterError
    with pytest.raises(AnsibleFilterError, match="site_server: give the host's group_names"):
        site_server("sms_central")
