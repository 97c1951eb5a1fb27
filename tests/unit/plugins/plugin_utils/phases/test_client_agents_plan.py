"""Planning the client_agents phase from client snapshots: exact changes, bytes kept, rules pass after."""
import base64
import copy
import datetime
import json
import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import parse_answers
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import data_path
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import client_agents as plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.startup import names_program

from ..snapshots import client
from .fake_client import FakeClient

LAB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab", "snapshots")
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
RULES = load_catalog(CHECKS)
CLIENT_RULES = ("client.remote_control_agent", "client.smsrun_registry", "client.smsrun_win_ini")


def lab(host):
    with open(os.path.join(LAB, host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def client_findings(tmp_path, snapshot):
    path = tmp_path / ("%s.json" % snapshot["host"])
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    findings, _records = assess_fleet([HostInput(snapshot["host"], str(path), "client", None)], RULES,
                                      parse_answers(None, {r.id: r for r in RULES}), merge_params(), NOW)
    return {f["rule"]: f["status"] for f in findings if f["rule"] in CLIENT_RULES}


def applied(snapshot):
    """Plan, apply to a model of the client, and return the snapshot a new gather would show."""
    fake = FakeClient(snapshot)
    changes, problems = plan.plan_client(snapshot)
    assert problems == []
    for change in changes:
        assert fake.apply(change, check_mode=False)["status"] == "changed"
    return fake.snapshot_after(snapshot)


def test_nt_client_plan_is_exact():
    changes, problems = plan.plan_client(lab("CENNT013"))
    assert problems == []
    by_id = {c["id"]: c for c in changes}
    assert by_id["service:Wuser32"]["start_mode"] == {"from": "auto", "to": "disabled"}
    assert by_id["service:Wuser32"]["state"] == {"from": "running", "to": "stopped"}
    jsmith = by_id["user:S-1-5-21-1004336348-1177238915-682003330-1000:Load"]
    assert (jsmith["from"], jsmith["to"]) == ("C:\\MS\\SMS\\BIN\\SMSRUN32.EXE C:\\TOOLS\\CLOCK.EXE", "C:\\TOOLS\\CLOCK.EXE")
    assert jsmith["key"] == "Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows" and jsmith["source"] == "loaded_hive"
    akumar = by_id["user:S-1-5-21-1004336348-1177238915-682003330-1001:Run"]
    assert (akumar["from"], akumar["to"], akumar["source"]) == ("SMSRUN32.EXE", "", "ntuser_dat")
    assert len(changes) == 4, "akumar's empty Load and the null Run values are left alone"


def test_win_ini_plan_edits_only_the_two_lines():
    snapshot = lab("CEN95003")
    changes, problems = plan.plan_client(snapshot)
    assert problems == [] and [c["id"] for c in changes] == ["file:win_ini"]
    change = changes[0]
    before = base64.b64decode(change["previous_b64"])
    after = base64.b64decode(change["content_b64"])
    assert before == snapshot["win_ini"]["content"].encode("latin-1")
    assert change["from_sha256"] == snapshot["win_ini"]["sha256"]
    changed = [(b, a) for b, a in zip(before.split(b"\r\n"), after.split(b"\r\n")) if b != a]
    assert changed == [(b"load=C:\\MS\\SMS\\BIN\\SMSRUN16.EXE NAV.EXE", b"load=NAV.EXE"), (b"run=SMSRUN16.EXE", b"run=")]
    assert len(before.split(b"\r\n")) == len(after.split(b"\r\n"))
    assert change["backup_pattern"] == "WININI.{0:000}"


@pytest.mark.parametrize("host", ["CENNT013", "P01NT006", "CEN95003", "CEN31001"])
def test_after_the_plan_the_client_rules_pass_and_a_second_plan_is_empty(tmp_path, host):
    snapshot = lab(host)
    assert "fail" in client_findings(tmp_path, snapshot).values()
    after = applied(snapshot)
    assert set(client_findings(tmp_path, after).values()) <= {"pass", "not_applicable"}
    assert plan.plan_client(after) == ([], [])


def test_clean_and_non_windows_clients_need_nothing():
    for host in ("CENNT001", "CEN95002", "CENWFW01", "CENDOS01", "CENMAC01"):
        assert plan.plan_client(lab(host)) == ([], []), host


def test_unread_sections_are_problems_not_silence():
    changes, problems = plan.plan_client(lab("CENNT014"))
    assert changes == [] and len(problems) == 1
    assert "per-user Load/Run values were not read" in problems[0] and "remote_registry_stopped" in problems[0]
    snapshot = client(family="windows_9x", win_ini={"present": True, "path": "C:\\WINDOWS\\WIN.INI", "load": "SMSRUN16.EXE",
                                                    "run": "", "has_windows_section": True, "truncated": True,
                                                    "content": None, "sha256": None})
    changes, problems = plan.plan_client(snapshot)
    assert changes == [] and "larger than the read limit" in problems[0]


def test_inconsistent_win_ini_and_bad_values_are_named():
    snapshot = client(family="windows_9x", win_ini={"present": True, "path": "C:\\WINDOWS\\WIN.INI", "load": "SMSRUN16.EXE",
                                                    "run": "", "content": "[boot]\r\nshell=progman.exe\r\n"})
    _changes, problems = plan.plan_client(snapshot)
    assert problems == ["WIN.INI C:\\WINDOWS\\WIN.INI: WIN.INI has no [windows] section"]
    snapshot = client(user_entries=[{"user": "CORP\\bob", "source": "loaded_hive", "load": 7, "run": None},
                                    {"user": "CORP\\eve", "source": "loaded_hive", "load": "SMSRUN32.EXE", "run": None}])
    _changes, problems = plan.plan_client(snapshot)
    assert "user CORP\\bob: Load is a int, not a string" in problems
    assert "user CORP\\eve: a loaded hive without a SID cannot be opened" in problems


def test_replan_from_what_the_target_holds():
    change = plan.plan_client(lab("CENNT013"))[0][1]
    assert change["kind"] == "user_value"
    again = plan.replan(change, {"value": "SMSRUN32.EXE NOTEPAD.EXE"})
    assert (again["from"], again["to"]) == ("SMSRUN32.EXE NOTEPAD.EXE", "NOTEPAD.EXE")
    assert plan.replan(change, {"value": "NOTEPAD.EXE"}) is None
    service = plan.plan_client(lab("CENNT013"))[0][0]
    assert plan.replan(service, {"start_mode": "manual", "state": "stopped"})["start_mode"] == {"from": "manual", "to": "disabled"}
    with pytest.raises(plan.PlanError, match="start mode was not read"):
        plan.replan(service, {})


def test_invert_puts_back_every_kind():
    for host in ("CENNT013", "CEN95003"):
        snapshot = lab(host)
        fake = FakeClient(snapshot)
        changes, _problems = plan.plan_client(snapshot)
        for change in changes:
            fake.apply(change, check_mode=False)
        for change in changes:
            assert fake.apply(plan.invert(change), check_mode=False)["status"] == "changed"
        restored = fake.snapshot_after(snapshot)
        assert restored == snapshot, host


def test_describe_and_diff_say_what_changes():
    changes, _problems = plan.plan_client(lab("CENNT013"))
    lines = [plan.describe(c) for c in changes]
    assert lines[0] == "service Wuser32: start mode auto -> disabled, state running -> stopped"
    assert "CORP\\akumar (C:\\WINNT\\Profiles\\akumar\\NTUSER.DAT)" in lines[2] and "'SMSRUN32.EXE' -> ''" in lines[2]
    diff = plan.diff_entry(plan.plan_client(lab("CEN95003"))[0][0])
    assert "load=C:\\MS\\SMS\\BIN\\SMSRUN16.EXE NAV.EXE" in diff["before"] and "load=NAV.EXE\r\n" in diff["after"]


def test_planner_turns_off_what_the_rules_look_for():
    with open(data_path("rules.yml"), encoding="utf-8") as handle:
        rules = {r["id"]: r for r in yaml.safe_load(handle)["rules"]}
    data = plan.phase_data()
    assert data["user_values"]["program"] in rules["client.smsrun_registry"]["check"]["jmespath"]
    assert data["win_ini"]["program"] in rules["client.smsrun_win_ini"]["check"]["jmespath"]
    assert set(plan.WIN_INI_FAMILIES) == set(rules["client.smsrun_win_ini"]["families"])
    assert data["services"][0]["families"] == rules["client.remote_control_agent"]["families"]


PROGRAMS = st.sampled_from(["SMSRUN32.EXE", "C:\\MS\\SMS\\BIN\\SMSRUN32.EXE", "smsrun32", "CLOCK.EXE", "C:\\NAV\\NAV.EXE",
                            '"C:\\Program Files\\X\\X.EXE"', "SMSRUN16.EXE"])
VALUES = st.one_of(st.none(), st.lists(PROGRAMS, max_size=4).map(" ".join))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(VALUES, VALUES), min_size=1, max_size=4))
def test_any_profile_mix_is_cleaned_in_one_pass_and_keeps_other_programs(values):
    entries = [{"user": "CORP\\u%d" % i, "sid": "S-1-5-21-9-9-9-%d" % i, "source": "loaded_hive", "load": load, "run": run}
               for i, (load, run) in enumerate(values)]
    snapshot = client(user_entries=entries)
    after = applied(copy.deepcopy(snapshot))
    for old, new in zip(snapshot["user_entries"], after["user_entries"]):
        for attr in ("load", "run"):
            assert not names_program(new[attr], "SMSRUN32.EXE")
            if old[attr] is not None:
                kept = [p for p in old[attr].split() if not names_program(p, "SMSRUN32.EXE")]
                assert new[attr].split() == kept
    assert plan.plan_client(after) == ([], [])
