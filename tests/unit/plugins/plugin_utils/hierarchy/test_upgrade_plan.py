"""The upgrade plan loader and its API: waves by name, sites in order, methods, kept sites, scoping of hosts."""
import copy
import os

import pytest
import yaml

from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import (
    WHOLE_INVENTORY, PlanError, UnknownWave, host_sites, load_plan, parse_plan)

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), *[".."] * 5))
LAB_PLAN = os.path.join(REPO, "inventories", "lab", "upgrade_plan.yml")

PLAN = {
    "schema_version": 1,
    "waves": [
        {"name": "first", "window": {"start": "2026-12-05T18:00:00Z", "end": "2026-12-06T06:00:00Z"},
         "sites": [{"site": "cen"}]},
        {"name": "second", "window": {"start": "2026-12-12T18:00:00Z", "end": "2026-12-13T06:00:00Z"},
         "sites": [{"site": "P01"}, {"site": "S01", "method": "download_from_parent"}]},
    ],
    "stay_on_1_2": [{"site": "S02", "reason": "Macintosh clients", "clients": ["macintosh"]}],
}


def plan_with(**changes):
    document = copy.deepcopy(PLAN)
    document.update(changes)
    return document


def problems_of(document):
    with pytest.raises(PlanError) as caught:
        parse_plan(document, "plan.yml")
    assert str(caught.value).startswith("upgrade plan plan.yml: ")
    return caught.value.problems


def test_lab_plan_loads_with_two_waves_and_a_site_kept_on_1_2():
    plan = load_plan(LAB_PLAN)
    assert plan.wave_names() == ["central", "branches"] and not plan.implicit and plan.warning is None
    assert [s.site for s in plan.wave("branches").sites] == ["P01", "S01", "S03"]
    assert plan.method("S01") == "download_from_parent" and plan.method("S03") == "local_cd" and plan.method("P01") is None
    assert plan.kept("S02").reason and plan.kept("S02").clients == ("macintosh", "os2")
    assert len(plan.sha256) == 64


def test_the_example_template_is_a_valid_plan():
    plan = load_plan(os.path.join(REPO, "inventories", "example", "upgrade_plan.yml"))
    assert plan.wave_names() == ["central", "branches"] and plan.kept_sites == () and plan.hierarchy_changes == ()


def test_api_answers_per_site_and_compares_order():
    plan = parse_plan(PLAN, "plan.yml")
    assert plan.wave_of("CEN").name == "first", "site codes are upper-cased"
    assert plan.wave_of("S02") is None and plan.kept("s02").site == "S02"
    assert plan.order("CEN") < plan.order("P01") < plan.order("S01")
    assert plan.planned_sites() == {"CEN", "P01", "S01", "S02"}
    assert plan.wave("second").window.start.isoformat() == "2026-12-12T18:00:00+00:00"


def test_scope_keeps_the_hosts_of_the_wave_and_names_why_the_others_are_left_out():
    plan = parse_plan(PLAN, "plan.yml")
    sites = host_sites(["SRV", "CLI", "P1", "KEPT", "LOST", "ODD"],
                       {"SRV": "CEN", "CLI": None, "P1": "P01", "KEPT": "S02", "ODD": "X99"}, {"CLI": "cen"})
    scope = plan.scope("first", ["SRV", "CLI", "P1", "KEPT", "LOST", "ODD"], sites)
    assert scope.hosts == ["SRV", "CLI"], "the group gives the site when the snapshot does not"
    assert scope.left_out == {
        "P1": "outside wave first: site P01 is upgraded in wave second",
        "KEPT": "outside wave first: site S02 stays on SMS 1.2",
        "LOST": "outside wave first: no site code (its snapshot names none and it is in no sms_site_XXX group)",
        "ODD": "outside wave first: site X99 is in no wave of the upgrade plan"}


def test_unknown_or_missing_wave_name_lists_the_waves():
    plan = parse_plan(PLAN, "plan.yml")
    with pytest.raises(UnknownWave, match=r"wave 'third' is not in upgrade plan plan.yml \(waves, in order: first, second\)"):
        plan.wave("third")
    with pytest.raises(UnknownWave, match=r"name the wave this run acts on: -e sms_upgrade_wave=<wave> .*first, second"):
        plan.wave(None)


def test_without_a_plan_file_the_whole_inventory_is_one_wave_with_a_warning(tmp_path):
    missing = str(tmp_path / "upgrade_plan.yml")
    plan = load_plan(missing)
    assert plan.implicit and plan.wave_names() == [WHOLE_INVENTORY] and plan.sha256 is None
    assert "no upgrade plan at %s" % missing in plan.warning and "whole inventory is one wave" in plan.warning
    assert plan.wave(None).name == plan.wave("all").name == WHOLE_INVENTORY
    assert plan.scope(None, ["A", "B"], {"A": "CEN", "B": None}).hosts == ["A", "B"]
    with pytest.raises(UnknownWave, match="there is no upgrade plan at .* the only wave is 'all'"):
        plan.wave("central")
    assert load_plan("").implicit and "no upgrade plan (sms_upgrade_plan_file is empty)" in load_plan("").warning


@pytest.mark.parametrize("change, wanted", [
    ({"waves": []}, "waves: [] should be non-empty"),
    ({"schema_version": 2}, "schema_version: 1 was expected"),
    ({"extra": 1}, "the file: Additional properties are not allowed ('extra' was unexpected)"),
    ({"os_upgrades": ["macintosh"]}, "os_upgrades.0: 'macintosh' is not one of ['ms_dos', 'os2']"),
    ({"stay_on_1_2": [{"site": "S02", "reason": "  "}]}, "stay_on_1_2 site S02, reason: must not be empty"),
    ({"stay_on_1_2": [{"site": "S02"}]}, "stay_on_1_2 site S02: 'reason' is a required property"),
    ({"hierarchy_changes": [{"change": "x", "sites": ["CEN"], "before": "first", "after": "second"}]},
     "hierarchy_changes #1: give exactly one of 'before' (a wave) or 'after' (a wave)"),
])
def test_schema_problems_name_where_and_why(change, wanted):
    assert wanted in problems_of(plan_with(**change))


def test_wave_and_site_are_named_in_schema_problems():
    document = plan_with()
    document["waves"][1]["sites"][1]["method"] = "ftp"
    document["waves"][0]["sites"][0]["site"] = "CENTRAL"
    del document["waves"][1]["window"]
    found = problems_of(document)
    assert "wave 'second', site S01, method: 'ftp' is not one of ['download_from_parent', 'parent_with_local_source', " \
           "'local_cd']" in found
    assert "wave 'first', site CENTRAL, site: 'CENTRAL' does not match '^[A-Za-z0-9]{3}$'" in found
    assert "wave 'second': 'window' is a required property" in found


def test_a_site_twice_duplicate_wave_names_and_bad_windows_are_refused():
    document = plan_with()
    document["waves"][1]["sites"].append({"site": "S02"})
    document["waves"][1]["name"] = "FIRST"
    document["waves"][1]["window"] = {"start": "2026-12-06T00:00:00Z", "end": "2026-12-05T00:00:00Z"}
    found = problems_of(document)
    assert "site S02: named twice, in wave 'FIRST' and in stay_on_1_2; a site is upgraded in one wave or stays on 1.2" in found
    assert "wave 'FIRST': the name is used twice (waves #1 and #2)" in found
    assert "wave 'FIRST': the window ends (2026-12-05T00:00:00Z) before it starts (2026-12-06T00:00:00Z)" in found
    assert any("before wave 'first' ends at 2026-12-06T06:00:00Z" in p for p in found)


def test_windows_must_be_timestamps_and_hierarchy_changes_name_a_wave():
    document = plan_with(hierarchy_changes=[{"change": "Attach S01 to P01", "sites": ["S01", "P01"], "after": "third"}])
    document["waves"][0]["window"]["start"] = "next friday"
    found = problems_of(document)
    assert any(p.startswith("wave 'first': window: Invalid isoformat string: 'next friday'") for p in found)
    assert "hierarchy change 'Attach S01 to P01': after 'third' is not a wave of this plan (waves: first, second)" in found


def test_yaml_timestamps_are_read_as_written(tmp_path):
    path = tmp_path / "upgrade_plan.yml"
    path.write_text(yaml.safe_dump(PLAN).replace("'2026-12-05T18:00:00Z'", "2026-12-05T18:00:00Z"), encoding="utf-8")
    assert "2026-12-05T18:00:00Z\n" in path.read_text(encoding="utf-8")
    assert load_plan(str(path)).wave("first").window.start.hour == 18


@pytest.mark.parametrize("text, wanted", [
    ("waves: [unclosed", "cannot be read: while parsing"),
    ("- just\n- a list\n", "expected a mapping with schema_version 1"),
    ("", "expected a mapping with schema_version 1"),
])
def test_unreadable_files_are_a_clear_error_never_a_traceback(tmp_path, text, wanted):
    path = tmp_path / "upgrade_plan.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError, match="upgrade plan %s: .*%s" % (path, wanted)):
        load_plan(str(path))
