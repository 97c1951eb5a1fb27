"""Missing data is an error naming the field, never "does not apply" or a fail; odd host names are not read."""
import datetime

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import jmes
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import parse_answers
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import host_inputs

from ..snapshots import client, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
RULES = load_catalog(CHECKS)


def assess(tmp_path, snapshots, planner=None):
    hosts = write_fleet(str(tmp_path), snapshots)
    inputs = [HostInput(h, str(tmp_path / ("%s.json" % h)), None, None) for h in hosts]
    findings, records = assess_fleet(inputs, RULES, parse_answers(None, {}), merge_params(None), NOW, planner=planner)
    return {(f["host"], f["rule"]): f for f in findings}, records


@pytest.mark.parametrize("expression, document, missing", [
    ("a.b != null && a.c == 'x'", {"a": {"b": 1}}, ["a.c"]),
    ("length(t.m || `[]`) > `0`", {"t": {}}, ["t.m"]),
    ("a.b == null", {}, []),
    ("sms.full_version == null", {"sms": {}}, []),
    ("os.family == 'windows_nt' || user_entries != null", {"os": {"family": "windows_9x"}}, []),
    ("x || y.z", {"x": True}, []),
    ("length(xs[?y == `1`]) == `0`", {"xs": [{"z": 1}]}, []),
    ("a.b", {"a": None}, []),
])
def test_strict_search_names_the_fields_read_but_absent(expression, document, missing):
    _result, found = jmes.strict_search(expression, document, jmes.search_options(NOW), null_asks=True)
    assert found == missing


def test_in_a_check_a_guard_against_null_does_not_hide_a_missing_field():
    _result, found = jmes.strict_search("a.b != null && a.b == 'x'", {"a": {}}, jmes.search_options(NOW))
    assert found == ["a.b"]


def test_a_site_server_without_its_file_lists_is_an_error_not_does_not_apply(tmp_path):
    snap = site_server()
    del snap["sms_tree"]
    findings, _records = assess(tmp_path, [snap])
    for rule in ("preserve.mif_files", "preserve.package_definition_files", "preserve.site_control"):
        assert findings[("SRV01", rule)]["status"] == "error", rule
        assert "'sms_tree'" in findings[("SRV01", "preserve.mif_files")]["message"]
    assert findings[("SRV01", "preserve.mif_files")]["blocks"]


def test_a_file_list_missing_inside_its_section_is_an_error(tmp_path):
    snap = site_server()
    del snap["sms_tree"]["mstest_files"]
    findings, _records = assess(tmp_path, [snap])
    finding = findings[("SRV01", "preserve.mstest_files")]
    assert finding["status"] == "error" and finding["evidence"]["missing"] == ["sms_tree.mstest_files"]


def test_a_condition_over_a_missing_field_is_an_error_not_a_fail(tmp_path):
    snap = site_server()
    del snap["sms"]["csdver"]
    findings, _records = assess(tmp_path, [snap])
    finding = findings[("SRV01", "site.sms_service_pack")]
    assert finding["status"] == "error" and "'sms.csdver'" in finding["message"]


def test_a_null_value_is_data_not_missing(tmp_path):
    snap = site_server(sms=dict(site_server()["sms"], csdver=None))
    findings, _records = assess(tmp_path, [snap])
    assert findings[("SRV01", "site.sms_service_pack")]["status"] == "fail"


def test_a_remote_control_section_without_start_mode_is_an_error(tmp_path):
    findings, _records = assess(tmp_path, [client(remote_control={"present": True, "state": "running"})])
    assert findings[("WKS01", "client.remote_control_agent")]["status"] == "error"


def test_windows_9x_without_user_profiles_still_does_not_apply(tmp_path):
    snap = client(os={"family": "windows_9x", "version": "4.10"})
    del snap["user_entries"]
    findings, _records = assess(tmp_path, [snap])
    assert findings[("WKS01", "client.smsrun_registry")]["status"] == "not_applicable"


def test_a_planner_that_fails_names_the_host_and_the_fleet_is_assessed(tmp_path):
    def planner(kind, snapshot):
        if snapshot["host"] == "WKS01":
            raise UnicodeEncodeError("latin-1", "\u4e2d", 0, 1, "ordinal not in range(256)")
        return None

    findings, records = assess(tmp_path, [client(), client(host="WKS02", smsid="AAA00002")], planner)
    plans = {r.host: r.plans for r in records}
    assert "cannot plan this host" in plans["WKS01"]["(planning)"]["problems"][0]
    assert plans["WKS02"] is None and ("WKS02", "client.remote_control_agent") in findings


@pytest.mark.parametrize("name, words", [
    ("../etc/passwd", "characters Windows does not allow"), ("..", "'..'"), ("a\\b", "characters Windows does not allow"),
    ("CON", "device name CON"), ("lpt1.example", "device name LPT1"), ("host.", "ends with a dot"),
    (".lock", "starts with a dot"), ("", "empty"),
])
def test_unsafe_host_names_are_not_read_and_say_why(tmp_path, name, words):
    outside = tmp_path / "passwd.json"
    outside.write_text("{}", encoding="utf-8")
    [entry] = host_inputs([name], {}, str(tmp_path / "snapshots"))
    assert entry.snapshot_path is None and words in entry.problem
    findings, _records = assess_fleet([entry], RULES, [], merge_params(None), NOW)
    valid = next(f for f in findings if f["host"] == name and f["rule"] == "snapshot.valid")
    assert valid["status"] == "error" and valid["blocks"] and words in valid["message"]


def test_host_names_that_differ_only_in_case_are_both_refused(tmp_path):
    inputs = host_inputs(["cen01", "CEN01", "CEN02"], {}, str(tmp_path))
    problems = {i.host: i.problem for i in inputs}
    assert "differs only in case from 'CEN01'" in problems["cen01"]
    assert "differs only in case from 'cen01'" in problems["CEN01"]
    assert problems["CEN02"] is None
