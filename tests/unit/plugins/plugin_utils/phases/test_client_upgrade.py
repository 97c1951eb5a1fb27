"""The client_upgrade room against the model of clients going from SMS 1.2 to 2.0 (fake_client20)."""
import datetime
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import client_upgrade, upgrade_records
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.client_upgrade import (
    PHASE, classify, covering_boundary, preconditions, set_ini_values)

from .fake_client20 import FakeClient20
from .upgrade_hands import NOW, ModelHands, context

LAB = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab"))
PLAN = os.path.join(LAB, "upgrade_plan.yml")


def lab(host):
    with open(os.path.join(LAB, "snapshots", host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def site_record(records, site="CEN", methods=("windows_networking_logon_discovery",),
                installs=("windows_networking_logon_client_installation",), subnet="10.1.0.0/16"):
    record = upgrade_records.load(upgrade_records.site_path(str(records), site), "site", site=site)
    record["settings"] = {
        "boundaries": {"items": [{"type": "ip_subnet", "subnet": subnet, "status": "verified"}]},
        "discovery_methods": {m: {"status": "verified"} for m in methods},
        "client_installation_methods": {m: {"status": "confirmed"} for m in installs}}
    upgrade_records.save(upgrade_records.site_path(str(records), site), record)


def args(tmp_path, **more):
    return dict({"snapshot_dir": os.path.join(LAB, "snapshots"), "records_dir": str(tmp_path / "records"),
                 "journal_dir": str(tmp_path / "journal"), "plan_file": PLAN, "method": "installation_wizard",
                 "logon_point": "CENSRV01"}, **more)


def run(model, host, task_args, check_mode=False, now=NOW, computer=None):
    hands = ModelHands({model.snapshot["computer"]: model} if computer else {host: model}, host, computer=computer,
                       check_mode=check_mode)
    return PHASE.run(context(PHASE, host, task_args, check_mode=check_mode, groups=["sms_clients", "sms_site_CEN"],
                             computer=computer, now=now), hands), hands


@pytest.fixture(name="records")
def fixture_records(tmp_path):
    site_record(tmp_path / "records")
    return tmp_path / "records"


def test_an_nt_client_is_quiesced_started_and_verified_in_one_run_and_a_second_run_changes_nothing(tmp_path, records):
    model = FakeClient20(lab("CENNT013"))
    first, hands = run(model, "CENNT013", args(tmp_path))
    assert first.get("failed") is not True, first["msg"]
    assert first["status"] == "upgraded" and first["progress"] == "upgraded" and first["changed"] is True
    assert [c[0] for c in hands.calls] == ["sms.upgrade.client_upgrade", "sms.upgrade.client_facts",
                                           "sms.upgrade.client_agents", "sms.upgrade.client_upgrade", "sms.upgrade.client_facts"]
    assert "SMSMAN.EXE" in model.started.upper() and model.started.startswith("\\\\CENSRV01\\SMSLOGON\\")
    assert first["client_agents"]["journal_path"].endswith(".json"), "PRE-27 re-timed: the agents room journals"
    assert [s["step"] for s in first["steps"]] == ["which_clients", "preconditions", "smsrun", "start_process", "verify"]
    record = json.loads(open(first["record_path"], encoding="utf-8").read())
    assert record["status"] == "upgraded" and record["upgraded_at"] == "2026-12-07T09:00:00Z"
    assert record["before_mifs"] == {"idmifs": ["ASSET.MIF"], "noidmifs": ["CUSTOM.MIF", "Noidbios.mif"]}
    second, hands = run(model, "CENNT013", args(tmp_path), now=NOW + datetime.timedelta(hours=1))
    assert second["status"] == "upgraded" and second["changed"] is False
    assert [c[0] for c in hands.calls] == ["sms.upgrade.client_upgrade", "sms.upgrade.client_facts"]


def test_check_mode_shows_the_plan_and_the_diff_and_changes_nothing(tmp_path, records):
    model = FakeClient20(lab("CENNT013"))
    result, _hands = run(model, "CENNT013", args(tmp_path, local_settings=True), check_mode=True)
    assert result["status"] == "planned" and result["changed"] is True
    assert not model.upgraded and model.sms_ini is not None and "SMSINI.001" not in model.backups
    assert any("SMSRUN32.EXE" in d["before"] for d in result["diff"])
    ini = [d for d in result["diff"] if d["before_header"] == "C:\\SMS.INI"][0]
    assert "ShowPGCCantreachServersDialog=False\r\n" in ini["after"] and "ShowPGC" not in ini["before"]
    assert not os.path.exists(upgrade_records.client_path(str(records), "CEN", "CENNT013")), "check mode records nothing"


def test_kb_q215125_local_settings_are_set_with_a_backup_once(tmp_path, records):
    model = FakeClient20(lab("CEN95001"), behaviour="logon", logon_after=3)
    first = run(model, "CEN95001", args(tmp_path, method="logon_installation", local_settings=True))[0]
    assert first["status"] == "waiting", first["msg"]
    assert b"ShowPCMCantReachServersDialog=False" in model.sms_ini and "SMSINI.001" in model.backups
    second = run(model, "CEN95001", args(tmp_path, method="logon_installation", local_settings=True))[0]
    assert second["status"] == "upgraded" and second["changed"] is False


def test_clients_that_do_not_upgrade_are_grouped_by_the_plan_and_never_contacted(tmp_path, records):
    for host, status, words in (("CENMAC01", "stays_on_1_2", "move it into kept site S02"),
                                ("CENDOS01", "needs_os_upgrade", "os_upgrades: ms_dos"),
                                ("CENOS201", "stays_on_1_2", "kept site S02 (stay_on_1_2 with clients: os2)")):
        model = FakeClient20(lab(host))
        result, hands = run(model, host, args(tmp_path))
        assert result["status"] == status and words in result["reason"] and hands.calls == []
        assert result["progress"] == "staying_on_1_2"


def test_preconditions_not_met_leave_the_client_untouched(tmp_path):
    model = FakeClient20(lab("CENNT001"))
    result, hands = run(model, "CENNT001", args(tmp_path))
    assert result["status"] == "pending" and "has no post-upgrade record" in result["reason"] and hands.calls == []
    site_record(tmp_path / "records", methods=())
    result, hands = run(model, "CENNT001", args(tmp_path, method="logon_installation"))
    assert "discovery method windows_networking_logon_discovery not enabled and verified" in result["reason"]
    assert hands.calls == []
    site_record(tmp_path / "records", subnet="192.168.0.0/24")
    result, hands = run(model, "CENNT001", args(tmp_path))
    assert result["status"] == "pending" and "10.1.2.3 is in no verified site boundary of CEN" in result["reason"]
    assert [c[0] for c in hands.calls] == ["sms.upgrade.client_upgrade"], "only the address is read"


def test_an_unreachable_client_is_named_and_does_not_fail(tmp_path, records):
    model = FakeClient20(lab("CENNT002"), unreachable=True)
    result = run(model, "CENNT002", args(tmp_path))[0]
    assert result["status"] == "unreachable" and result.get("failed") is not True and result["progress"] == "pending"
    assert "network path was not found" in result["reason"]


def test_a_client_that_never_comes_over_fails_after_the_watch_with_the_checks_that_fail(tmp_path, records):
    model = FakeClient20(lab("CENNT003"), behaviour="never")
    task = args(tmp_path, method="logon_installation", watch_hours=24)
    first = run(model, "CENNT003", task)[0]
    assert first["status"] == "waiting" and "sms_ini_gone" in first["reason"] and first.get("failed") is not True
    later = run(model, "CENNT003", task, now=NOW + datetime.timedelta(hours=25))[0]
    assert later["status"] == "failed" and later["failed"] is True and later["progress"] == "failed"
    assert "did not come over within 24 h of 2026-12-07T09:00:00Z (logon_installation)" in later["reason"]
    assert "tree_moved" in later["reason"] and "components_installed" in later["reason"]


def test_smsman_is_started_once_then_watched(tmp_path, records):
    model = FakeClient20(lab("CENNT004"), behaviour="never")
    first = run(model, "CENNT004", args(tmp_path))[0]
    assert first["status"] == "started" and model.processes == ["smsman.exe"]
    second, hands = run(model, "CENNT004", args(tmp_path), now=NOW + datetime.timedelta(hours=1))
    assert second["status"] == "started" and model.processes == ["smsman.exe"]
    assert not [a for n, a in hands.calls if a.get("op") == "apply"], "not started twice"


def test_a_client_without_sms_ini_is_not_started(tmp_path, records):
    model = FakeClient20(lab("CENNT005"))
    model.sms_ini = None
    result = run(model, "CENNT005", args(tmp_path))[0]
    assert result["status"] == "failed" and "the 2.0 migration needs it (KB Q262949)" in result["reason"]
    assert not model.upgraded


def test_the_wizard_reaches_nt_clients_only_and_needs_the_logon_point(tmp_path, records):
    model = FakeClient20(lab("CEN95002"))
    result, hands = run(model, "CEN95002", args(tmp_path))
    assert result["status"] == "pending" and "start SMSMAN.EXE at this windows_9x client by hand" in result["reason"]
    assert hands.calls == []
    result = run(FakeClient20(lab("CENNT006")), "CENNT006", args(tmp_path, logon_point=None))[0]
    assert "set sms_upgrade_logon_point" in result["reason"]


def test_plan_only_lists_the_steps_without_contacting_the_client(tmp_path, records):
    model = FakeClient20(lab("CENNT013"))
    result, hands = run(model, "CENNT013", args(tmp_path, plan_only=True), check_mode=True)
    assert hands.calls == [] and result["status"] == "planned"
    assert any("SMSRUN32.EXE" in line for line in result["planned"])
    assert any("start \\\\CENSRV01\\SMSLOGON\\x86.bin\\00000409\\smsman.exe" in line for line in result["planned"])


def test_relay_sends_the_legacy_machine_name(tmp_path, records):
    model = FakeClient20(lab("CENNT007"))
    result, hands = run(model, "CENNT007", args(tmp_path), computer="CENNT007")
    assert result["status"] == "upgraded"
    assert {a.get("computer") for _n, a in hands.calls} == {"CENNT007"}


def test_classify_and_preconditions_in_isolation():
    plan = load_plan(PLAN)
    assert classify(lab("CENNT001"), "CEN", plan) == ("upgrade", None)
    assert classify(lab("S02NT001"), "S02", plan)[1].startswith("its site S02 stays on SMS 1.2")
    assert preconditions(None, "CEN", None)[0].startswith("no client upgrade method for site CEN")
    record = {"settings": {"boundaries": {"items": [{"type": "ip_subnet", "subnet": "10.1.0.0/16", "status": "verified"}]}}}
    assert covering_boundary(["10.2.0.1", "10.1.9.9"], record) == "10.1.0.0/16"
    assert covering_boundary(["bogus"], record) is None


def test_set_ini_values_keeps_every_other_byte():
    text = "[SMS]\r\nSiteCode=CEN\r\n[Local]\r\nSetupPhase=INSTALLED\r\nShowPCMCantReachServersDialog=True\r\n\r\n[Sight]\r\nX=1\r\n"
    new, edits = set_ini_values(text, "Local", {"ShowPCMCantReachServersDialog": "False", "ShowPGCCantreachServersDialog": "False"})
    assert new == ("[SMS]\r\nSiteCode=CEN\r\n[Local]\r\nSetupPhase=INSTALLED\r\nShowPCMCantReachServersDialog=False\r\n"
                   "ShowPGCCantreachServersDialog=False\r\n\r\n[Sight]\r\nX=1\r\n")
    assert [e["key"] for e in edits] == ["ShowPCMCantReachServersDialog", "ShowPGCCantreachServersDialog"]
    again, none = set_ini_values(new, "Local", {"ShowPCMCantReachServersDialog": "False"})
    assert again == new and none == []
    added = set_ini_values("[SMS]\nA=1", "Local", {"K": "V"})[0]
    assert added == "[SMS]\nA=1\n[Local]\nK=V\n"


def test_progress_buckets_cover_every_status():
    assert {client_upgrade.progress_bucket(s) for s in client_upgrade.STATUSES} == {
        "upgraded", "pending", "staying_on_1_2", "failed"}
