"""The hierarchy inventory built from snapshots: groups by kind, tier, site and wave; relay rules; bad sources."""
import json
import os
import shutil

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.inventory_source import (
    SourceError, build_inventory, check_rules, relay_for, safe_name)
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), *[".."] * 5))
LAB = os.path.join(REPO, "inventories", "lab")


def members(inventory, group):
    """Every host of a group and of its children."""
    entry = inventory.groups[group]
    hosts = set(entry["hosts"])
    for child in entry["children"]:
        hosts |= members(inventory, child)
    return hosts


@pytest.fixture(name="snapshots")
def fixture_snapshots(tmp_path):
    target = tmp_path / "snapshots"
    shutil.copytree(os.path.join(LAB, "snapshots"), target)
    return target


def edit(snapshots, host, change):
    path = snapshots / ("%s.json" % host)
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(json.dumps(data), encoding="utf-8")


def test_lab_hosts_land_in_their_kind_tier_and_site_groups():
    inventory = build_inventory(os.path.join(LAB, "snapshots"), snapshots_only=True)
    assert inventory.warnings == []
    assert members(inventory, "sms_central") == {"CENSRV01"}
    assert members(inventory, "sms_secondary") == {"S01SRV01", "S02SRV01", "S03SRV01"}
    assert members(inventory, "sms_helper") == {"CENHLP01"} and members(inventory, "sms_logon") == {"CENLOG01"}
    assert members(inventory, "sms_sql") == {"CENSQL01", "P01SQL01"}
    assert len(members(inventory, "sms_clients")) == 37 and "CENNT099" not in members(inventory, "sms_upgrade")
    assert members(inventory, "sms_site_S02") == {"S02SRV01", "S02NT001", "S02OS201"}
    assert members(inventory, "sms_tier_secondary") == members(inventory, "sms_site_S01") | members(
        inventory, "sms_site_S02") | members(inventory, "sms_site_S03")
    assert members(inventory, "sms_snapshots_only") == members(inventory, "sms_upgrade")
    assert inventory.groups["sms_site_S02"]["vars"] == {"sms_site_code": "S02", "sms_site_role": "secondary",
                                                        "sms_parent_site": "P01"}
    assert inventory.hostvars["CENNT011"] == {"sms_kind": "client", "sms_os_family": "windows_nt", "sms_smsid": "CEN00042"}
    assert inventory.hostvars["CENMAC01"]["sms_os_family"] == "macintosh"
    assert inventory.hostvars["CENSRV01"]["sms_roles"] == ["site", "logon", "distribution"]
    assert "sms_wave_central" not in inventory.groups and "sms_relays" not in inventory.groups


def test_waves_and_kept_sites_of_the_plan_are_groups_of_site_groups():
    inventory = build_inventory(os.path.join(LAB, "snapshots"), plan=load_plan(os.path.join(LAB, "upgrade_plan.yml")))
    assert inventory.groups["sms_wave_central"] == {"children": ["sms_site_CEN"], "hosts": [], "vars": {"sms_wave": "central"}}
    assert inventory.groups["sms_wave_branches"]["children"] == ["sms_site_P01", "sms_site_S01", "sms_site_S03"]
    assert inventory.groups["sms_stay_on_1_2"]["children"] == ["sms_site_S02"]


def test_a_site_never_gathered_is_known_from_its_parent_s_site_control(snapshots):
    for host in ("S02SRV01", "S02NT001", "S02OS201"):
        os.remove(snapshots / ("%s.json" % host))
    inventory = build_inventory(str(snapshots))
    assert inventory.groups["sms_site_S02"]["vars"] == {"sms_site_code": "S02", "sms_site_role": "secondary",
                                                        "sms_parent_site": "P01"}
    assert "sms_site_S02" in inventory.groups["sms_tier_secondary"]["children"]
    assert members(inventory, "sms_site_S02") == set()


def test_a_helper_named_only_in_site_control_is_added_with_a_warning(snapshots):
    os.remove(snapshots / "CENHLP01.json")
    inventory = build_inventory(str(snapshots), snapshots_only=True)
    assert members(inventory, "sms_helper") == {"CENHLP01"} and "CENHLP01" in members(inventory, "sms_site_CEN")
    assert "CENHLP01" not in members(inventory, "sms_snapshots_only")
    assert any("CENHLP01 is named in the site control data of site CEN" in w for w in inventory.warnings)
    assert "CENHLP01" not in members(inventory, "sms_upgrade") - members(inventory, "sms_helper")
    assert "CENHLP01" not in build_inventory(str(snapshots), site_control_hosts=False).hostvars


@pytest.mark.parametrize("content, cause", [
    ('{"kind": "client", ', "is not valid JSON"),
    ('[1, 2]', "is a JSON list, not a snapshot object"),
    ('{"schema": "other"}', "schema is 'other'"),
])
def test_an_unreadable_snapshot_is_a_warning_and_its_host_stays_in_sms_upgrade(snapshots, content, cause):
    (snapshots / "CENNT001.json").write_text(content, encoding="utf-8")
    inventory = build_inventory(str(snapshots))
    assert inventory.groups["sms_upgrade"]["hosts"] == ["CENNT001"]
    assert "CENNT001" not in members(inventory, "sms_clients") and "CENNT001" not in members(inventory, "sms_site_CEN")
    assert [w for w in inventory.warnings if "CENNT001.json" in w and cause in w]


@pytest.mark.parametrize("change, cause", [
    (lambda d: d.update(schema_version="2.0"), "schema_version '2.0' is not supported"),
    (lambda d: d.update(kind="printer"), "kind 'printer' is unknown"),
    (lambda d: d.update(host="OTHER"), "belongs to host 'OTHER', not 'CENNT002'"),
])
def test_the_envelope_is_checked(snapshots, change, cause):
    edit(snapshots, "CENNT002", change)
    inventory = build_inventory(str(snapshots))
    assert [w for w in inventory.warnings if cause in w] and "CENNT002" in inventory.groups["sms_upgrade"]["hosts"]


def test_a_missing_or_empty_directory_is_a_source_error(tmp_path):
    with pytest.raises(SourceError, match="snapshot directory %s cannot be read" % (tmp_path / "nope")):
        build_inventory(str(tmp_path / "nope"))
    with pytest.raises(SourceError, match="holds no snapshot"):
        build_inventory(str(tmp_path))


def test_relay_rules_first_match_wins_and_null_is_direct():
    rules = check_rules([{"relay": None, "hosts": ["censrv*"]},
                         {"relay": "mgmt01", "groups": ["sms_site_servers", "sms_sql"]},
                         {"relay": "mgmt02", "sites": ["p01"], "os_families": ["windows_9x"]},
                         {"relay": "mgmt03", "groups": ["sms_clients"]}])
    inventory = build_inventory(os.path.join(LAB, "snapshots"), relays=rules)
    relays = {host: variables.get("sms_upgrade_relay") for host, variables in inventory.hostvars.items()}
    assert relays["CENSRV01"] is None and relays["S02SRV01"] == "mgmt01" and relays["CENSQL01"] == "mgmt01"
    assert relays["P0195001"] == "mgmt02" and relays["P01NT001"] == "mgmt03" and relays["CENHLP01"] is None
    assert sorted(inventory.groups["sms_relays"]["hosts"]) == ["mgmt01", "mgmt02", "mgmt03"]
    assert relay_for(rules, "X", ["sms_clients"], None, "windows_9x") == "mgmt03"


@pytest.mark.parametrize("rules, message", [
    ({"relay": "m"}, "expected a list of rules"),
    ([{"sites": ["CEN"]}], "relays rule #1: expected a mapping with 'relay'"),
    ([{"relay": "m", "site": ["CEN"]}], "relays rule #1: unknown key site"),
    ([{"relay": "m"}, {"relay": "m", "groups": ["sms_servers"]}], "relays rule #2: groups sms_servers unknown"),
    ([{"relay": "m", "os_families": ["windows_xp"]}], "os_families windows_xp unknown"),
    ([{"relay": "m", "sites": "CEN"}], "sites must be a list of names"),
    ([{"relay": ""}], "relay must be a host name, or null for direct"),
])
def test_bad_relay_rules_name_the_rule_and_the_cause(rules, message):
    with pytest.raises(SourceError, match=message):
        check_rules(rules)


def test_safe_name():
    assert safe_name("wave-1 (night)") == "wave_1__night_"


def test_sections_of_the_wrong_type_do_not_break_the_inventory(snapshots):
    edit(snapshots, "CENNT003", lambda d: d.update(sms_ini="x", os=[], site_code=7))
    edit(snapshots, "P01SRV01", lambda d: d.update(site_control={"child_sites": "S02", "helper_servers": [1]}))
    inventory = build_inventory(str(snapshots))
    assert inventory.hostvars["CENNT003"] == {"sms_kind": "client", "sms_os_family": None, "sms_smsid": None}
    assert "CENNT003" in members(inventory, "sms_clients") and "CENNT003" not in members(inventory, "sms_site_CEN")
    assert "P01SRV01" in members(inventory, "sms_primary")
