"""The client_agents action around a model of the client: one call, conflicts planned again, journal, rollback."""
import json
import os
import shutil
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.sms.upgrade.plugins.action.client_agents import ActionModule
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import latest_record

from .fake_client import FakeClient

LAB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab", "snapshots")


def lab(host):
    with open(os.path.join(LAB, host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


@pytest.fixture(name="snapshots")
def fixture_snapshots(tmp_path):
    directory = tmp_path / "snapshots"
    directory.mkdir()
    for host in ("CENNT013", "CEN95003", "CENNT001", "CENNT014"):
        shutil.copy(os.path.join(LAB, host + ".json"), directory / (host + ".json"))
    return directory


def run(fake, args, host="CENNT013", check_mode=False, delegate_to=None, extra_vars=None):
    task = Task()
    task.args = args
    task.action = "sms.upgrade.client_agents"
    task.delegate_to = delegate_to
    task.check_mode = check_mode
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    action._execute_module = mock.MagicMock(side_effect=lambda module_name, module_args, task_vars: fake.execute_module(
        module_name, module_args, task_vars, check_mode=check_mode))
    return action.run(task_vars=dict({"inventory_hostname": host}, **(extra_vars or {})))


def args(snapshots, tmp_path, **more):
    return dict({"snapshot_dir": str(snapshots), "journal_dir": str(tmp_path / "journal")}, **more)


def test_apply_once_then_nothing_and_the_journal_keeps_the_old_values(snapshots, tmp_path):
    fake = FakeClient(lab("CENNT013"))
    first = run(fake, args(snapshots, tmp_path))
    assert first.get("failed") is not True, first["msg"]
    assert first["changed"] is True and len(fake.calls) == 1
    assert [c["status"] for c in first["changes"]] == ["changed"] * 4
    assert fake.services["Wuser32"] == {"start_mode": "disabled", "state": "stopped"}
    path, record = latest_record(str(tmp_path / "journal"), "CENNT013", "client_agents")
    assert path == first["journal_path"]
    assert record["changes"][1]["change"]["from"] == "C:\\MS\\SMS\\BIN\\SMSRUN32.EXE C:\\TOOLS\\CLOCK.EXE"
    assert len(first["diff"]) == 4 and "CORP\\jsmith" in first["diff"][1]["before_header"]
    second = run(fake, args(snapshots, tmp_path))
    assert second["changed"] is False and {c["status"] for c in second["changes"]} == {"unchanged"}
    assert latest_record(str(tmp_path / "journal"), "CENNT013", "client_agents")[0] == path, "no record without a change"


def test_check_mode_reports_would_change_and_writes_nothing(snapshots, tmp_path):
    fake = FakeClient(lab("CEN95003"))
    result = run(fake, args(snapshots, tmp_path), host="CEN95003", check_mode=True)
    assert result["changed"] is True and result["changes"][0]["status"] == "would_change"
    assert fake.files["C:\\WINDOWS\\WIN.INI"] == lab("CEN95003")["win_ini"]["content"].encode("latin-1")
    assert not (tmp_path / "journal").exists()
    assert "load=NAV.EXE" in result["diff"][0]["after"]


def test_relay_sends_the_legacy_machine_name(snapshots, tmp_path):
    fake = FakeClient(lab("CENNT013"))
    run(fake, args(snapshots, tmp_path), delegate_to="mgmt01", extra_vars={"sms_upgrade_computer": "CENNT013.CORP"})
    assert fake.calls[0]["computer"] == "CENNT013.CORP"
    direct = FakeClient(lab("CENNT013"))
    run(direct, args(snapshots, tmp_path))
    assert "computer" not in direct.calls[0]


def test_a_value_changed_since_the_snapshot_is_planned_again(snapshots, tmp_path):
    fake = FakeClient(lab("CENNT013"))
    jsmith = "user:S-1-5-21-1004336348-1177238915-682003330-1000:Load"
    fake.values[jsmith] = "SMSRUN32.EXE C:\\TOOLS\\NEWTOOL.EXE"
    akumar = "user:S-1-5-21-1004336348-1177238915-682003330-1001:Run"
    fake.values[akumar] = ""
    result = run(fake, args(snapshots, tmp_path))
    assert len(fake.calls) == 2 and [c["id"] for c in fake.calls[1]["changes"]] == [jsmith]
    assert fake.values[jsmith] == "C:\\TOOLS\\NEWTOOL.EXE"
    statuses = {c["id"]: c for c in result["changes"]}
    assert statuses[jsmith]["status"] == "changed" and statuses[jsmith]["replanned"] is True
    assert statuses[akumar]["status"] == "unchanged"
    record = latest_record(str(tmp_path / "journal"), "CENNT013", "client_agents")[1]
    assert [e["change"]["from"] for e in record["changes"] if e["change"]["id"] == jsmith] == ["SMSRUN32.EXE C:\\TOOLS\\NEWTOOL.EXE"]


def test_changed_win_ini_is_planned_again_from_its_current_bytes(snapshots, tmp_path):
    fake = FakeClient(lab("CEN95003"))
    path = "C:\\WINDOWS\\WIN.INI"
    fake.files[path] = fake.files[path].replace(b"Beep=yes", b"Beep=no")
    result = run(fake, args(snapshots, tmp_path), host="CEN95003")
    assert result["changes"][0]["status"] == "changed" and len(fake.calls) == 2
    assert b"Beep=no" in fake.files[path] and b"load=NAV.EXE\r\n" in fake.files[path]
    assert list(fake.backups.values())[0].count(b"SMSRUN16") == 2


def test_unreachable_client_is_reported_not_failed(snapshots, tmp_path):
    result = run(FakeClient(lab("CENNT013"), unreachable=True), args(snapshots, tmp_path))
    assert result.get("failed") is not True and result["unreachable_target"] is True
    assert "CENNT013 could not be reached" in result["msg"]


def test_plan_only_contacts_nobody(snapshots, tmp_path):
    fake = FakeClient(lab("CENNT013"))
    checked = run(fake, args(snapshots, tmp_path, plan_only=True), check_mode=True)
    assert fake.calls == [] and checked["changed"] is True and {c["status"] for c in checked["changes"]} == {"planned"}
    applied = run(fake, args(snapshots, tmp_path, plan_only=True))
    assert applied["changed"] is False and "nothing was applied" in applied["warnings"][0]
    assert "4 planned" in applied["msg"]


def test_what_cannot_be_planned_fails_the_host_by_name(snapshots, tmp_path):
    result = run(FakeClient(lab("CENNT014")), args(snapshots, tmp_path), host="CENNT014")
    assert result["failed"] is True and result["msg"].startswith("CENNT014: client_agents: nothing applied; not planned:")
    assert "remote_registry_stopped" in result["msg"]


def test_missing_or_invalid_snapshot_fails_the_host_by_name(snapshots, tmp_path):
    result = run(FakeClient(lab("CENNT001")), args(snapshots, tmp_path), host="CENNT099")
    assert result["failed"] is True and "CENNT099" in result["msg"]
    assert "cannot plan from" in result["msg"] and "CENNT099.json: $: no snapshot file" in result["msg"]
    (snapshots / "CENNT001.json").write_text('{"kind": "client"', encoding="utf-8")
    result = run(FakeClient(lab("CENNT013")), args(snapshots, tmp_path), host="CENNT001")
    assert result["failed"] is True and "not valid JSON" in result["msg"]
    with pytest.raises(AnsibleActionFail, match="plan_only"):
        run(FakeClient(lab("CENNT013")), args(snapshots, tmp_path, plan_only="perhaps"))
    with pytest.raises(AnsibleActionFail, match="snapshot_dir is required"):
        run(FakeClient(lab("CENNT013")), {})


def test_a_fleet_plan_entry_is_applied_without_reading_the_snapshot(tmp_path):
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import plan_fleet
    fake = FakeClient(lab("CENNT013"))
    entry = plan_fleet("client_agents", ["CENNT013"], snapshot_dir=LAB)["CENNT013"]
    result = run(fake, {"plan": entry, "journal_dir": str(tmp_path / "journal")})
    assert result["changed"] is True and len(result["changes"]) == 4 and result["source"].endswith("CENNT013.json")
    with pytest.raises(AnsibleActionFail, match="plan must be a phase_plan entry"):
        run(fake, {"plan": {"changes": "all of them"}})


def test_rollback_restores_and_is_idempotent(snapshots, tmp_path):
    before = lab("CEN95003")
    fake = FakeClient(before)
    run(fake, args(snapshots, tmp_path), host="CEN95003")
    undo = run(fake, args(snapshots, tmp_path, rollback=True), host="CEN95003")
    assert undo["changed"] is True and undo["rollback"] is True
    assert fake.files["C:\\WINDOWS\\WIN.INI"] == before["win_ini"]["content"].encode("latin-1")
    assert undo["journal_path"].endswith(".json") and "client_agents_rollback-" in undo["journal_path"]
    again = run(fake, args(snapshots, tmp_path, rollback=True), host="CEN95003")
    assert again["changed"] is False
    nothing = run(FakeClient(lab("CENNT001")), args(snapshots, tmp_path, rollback=True), host="CENNT001")
    assert nothing["changed"] is False and "nothing to roll back" in nothing["msg"]


def test_rollback_without_a_journal_dir_or_with_a_corrupt_record(snapshots, tmp_path):
    with pytest.raises(AnsibleActionFail, match="rollback needs journal_dir"):
        run(FakeClient(lab("CENNT013")), {"rollback": True})
    bad = tmp_path / "journal" / "CENNT013"
    bad.mkdir(parents=True)
    (bad / "client_agents-20261125T080000Z.json").write_text("{}", encoding="utf-8")
    result = run(FakeClient(lab("CENNT013")), args(snapshots, tmp_path, rollback=True))
    assert result["failed"] is True and "not an sms.upgrade journal record" in result["msg"]


def test_a_conflict_without_the_current_value_is_not_planned_away(snapshots, tmp_path):
    fake = FakeClient(lab("CENNT013"))
    jsmith = "user:S-1-5-21-1004336348-1177238915-682003330-1000:Load"
    fake.answers[jsmith] = {"status": "conflict", "message": "HKU\\S-1-5-21-... is no longer loaded and no profile path is known"}
    result = run(fake, args(snapshots, tmp_path))
    assert result["failed"] is True and len(fake.calls) == 1
    outcome = next(c for c in result["changes"] if c["id"] == jsmith)
    assert outcome["status"] == "conflict" and "no longer loaded" in result["msg"]
    assert [c["status"] for c in result["changes"] if c["id"] != jsmith] == ["changed"] * 3


def test_a_change_made_but_its_hive_left_loaded_is_journaled_as_changed(snapshots, tmp_path):
    fake = FakeClient(lab("CENNT013"))
    akumar = "user:S-1-5-21-1004336348-1177238915-682003330-1001:Run"
    fake.answers[akumar] = {"status": "changed", "cause": "hive_in_use",
                            "message": "C:\\WINNT\\Profiles\\akumar\\NTUSER.DAT stays loaded as HKU\\sms-upgrade-1"}
    result = run(fake, args(snapshots, tmp_path))
    record = latest_record(str(tmp_path / "journal"), "CENNT013", "client_agents")[1]
    assert [e["status"] for e in record["changes"] if e["change"]["id"] == akumar] == ["changed"]
    outcome = next(c for c in result["changes"] if c["id"] == akumar)
    assert outcome["cause"] == "hive_in_use" and "stays loaded" in outcome["message"]
    assert result.get("failed") is not True and "akumar" in result["warnings"][0] and "stays loaded" in result["warnings"][0]
