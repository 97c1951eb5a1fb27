"""The gather action around the PowerShell module: args, relay, snapshot saved, clear failures."""
import json
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.sms.upgrade.plugins.action.client_facts import ActionModule as ClientFacts
from ansible_collections.sms.upgrade.plugins.action.site_facts import ActionModule as SiteFacts
from ansible_collections.sms.upgrade.plugins.action.sql_facts import ActionModule as SqlFacts
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.action import save_snapshot

from .raw_results import client_raw, sample, site_raw


def _action(cls, args, delegate_to=None, raw=None):
    task = Task()
    task.args = args
    task.action = cls.MODULE
    task.delegate_to = delegate_to
    action = cls(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    action._execute_module = mock.MagicMock(return_value=raw)
    return action


def _vars(host, groups=()):
    return {"inventory_hostname": host, "group_names": list(groups)}


def test_site_facts_direct_builds_and_saves(tmp_path):
    action = _action(SiteFacts, {"snapshot_dir": str(tmp_path)}, raw=site_raw())
    result = action.run(task_vars=_vars("CENSRV01", ["sms_central", "sms_site_cen"]))
    assert result.get("failed") is not True, result
    sent = action._execute_module.call_args.kwargs["module_args"]
    assert "computer" not in sent and "snapshot_dir" not in sent
    assert sent["sms_root_value"].endswith("Installation Directory") and sent["file_sets"]
    saved = json.loads((tmp_path / "CENSRV01.json").read_text())
    assert saved == result["snapshot"] and saved["collector"]["mode"] == "direct"
    assert "text_files" not in result and "SITECTRL" not in json.dumps(result["snapshot"]["site_control"])


def test_relay_mode_reads_the_legacy_machine_by_name():
    action = _action(ClientFacts, {"csdver_path": "D:\\MS\\SMS\\BIN\\CSDVER.SMS"}, delegate_to="mgmt01", raw=client_raw())
    result = action.run(task_vars=dict(_vars("CENNT017"), sms_upgrade_computer="CENNT017.CORP"))
    sent = action._execute_module.call_args.kwargs["module_args"]
    assert sent["computer"] == "CENNT017.CORP"
    assert {t["name"]: t["path"] for t in sent["text_files"]}["csdver"] == "D:\\MS\\SMS\\BIN\\CSDVER.SMS"
    assert result["snapshot"]["collector"] == {"name": "sms.upgrade.client_facts", "version": mock.ANY, "mode": "relay",
                                               "relay": "mgmt01"}


def test_module_failure_names_the_host_and_hides_raw_content():
    raw = {"failed": True, "msg": "Failed to read CENNT017: Access is denied", "computer": "CENNT017", "text_files": {"x": 1}}
    result = _action(ClientFacts, {}, raw=raw).run(task_vars=_vars("CENNT017"))
    assert result["failed"] is True and "CENNT017" in result["msg"] and "Access is denied" in result["msg"]
    assert "text_files" not in result


def test_unknown_site_code_fails_clearly():
    raw = site_raw(text_files={"site_control": {"path": "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "present": False,
                                                "content": None}})
    with pytest.raises(AnsibleActionFail, match="CENLOG01 .*site code unknown"):
        _action(SiteFacts, {}, raw=raw).run(task_vars=_vars("CENLOG01", ["sms_logon"]))


def test_bad_action_option_is_refused_before_anything_runs():
    action = _action(ClientFacts, {"os_family": "amiga"}, raw=client_raw())
    with pytest.raises(AnsibleActionFail, match="os_family"):
        action.run(task_vars=_vars("CENNT017"))
    action._execute_module.assert_not_called()


def test_sql_facts_builds_script_and_refuses_a_given_one():
    raw = {"output": sample("isql_cen.txt"), "stderr": "", "rc": 0, "client_path": "C:\\MSSQL\\BINN\\ISQL.EXE", "computer": "CENSQL01"}
    action = _action(SqlFacts, {"database": "SMS_CEN", "login_password": "secret"}, raw=raw)
    result = action.run(task_vars=_vars("CENSQL01", ["sms_sql", "sms_site_cen"]))
    sent = action._execute_module.call_args.kwargs["module_args"]
    assert "print 'SMSUPG>>version'" in sent["script"] and sent["login_password"] == "secret"
    assert result["snapshot"]["site_code"] == "CEN" and "secret" not in json.dumps(result)
    with pytest.raises(AnsibleActionFail, match="cannot be set"):
        _action(SqlFacts, {"database": "SMS_CEN", "script": "drop database x"}, raw=raw).run(task_vars=_vars("CENSQL01"))
    with pytest.raises(AnsibleActionFail, match="plain SQL Server 6.5 identifier"):
        _action(SqlFacts, {"database": "x;drop"}, raw=raw).run(task_vars=_vars("CENSQL01"))


def test_sql_login_failure_reports_what_isql_said():
    raw = {"output": "", "stderr": "Msg 4002, Level 14, State 1\r\nLogin failed\r\n", "rc": 1, "client_path": "isql.exe"}
    with pytest.raises(AnsibleActionFail, match="CENSQL01.*Login failed"):
        _action(SqlFacts, {"database": "SMS_CEN"}, raw=raw).run(task_vars=_vars("CENSQL01"))


def test_save_snapshot_keeps_the_previous_one(tmp_path):
    first = {"host": "A", "collected_at": "2026-11-24T10:00:00Z"}
    save_snapshot(str(tmp_path), "A", first)
    save_snapshot(str(tmp_path), "A", first)
    assert not (tmp_path / "history").exists()
    save_snapshot(str(tmp_path), "A", dict(first, collected_at="2026-11-25T10:00:00Z"))
    assert json.loads((tmp_path / "history" / "A.20261124T100000Z.json").read_text()) == first
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_failed_gather_retires_the_old_snapshot(tmp_path):
    save_snapshot(str(tmp_path), "CENNT017", {"host": "CENNT017", "collected_at": "2026-11-20T10:00:00Z"})
    raw = {"failed": True, "msg": "Failed to read CENNT017: The network path was not found"}
    result = _action(ClientFacts, {"snapshot_dir": str(tmp_path)}, raw=raw).run(task_vars=_vars("CENNT017"))
    assert result["failed"] is True
    assert not (tmp_path / "CENNT017.json").exists()
    assert (tmp_path / "history" / "CENNT017.20261120T100000Z.json").exists()


def test_an_unreachable_host_or_relay_retires_the_old_snapshot_too(tmp_path):
    from ansible.errors import AnsibleConnectionFailure
    save_snapshot(str(tmp_path), "CENNT017", {"host": "CENNT017", "collected_at": "2026-11-20T10:00:00Z"})
    action = _action(ClientFacts, {"snapshot_dir": str(tmp_path)}, delegate_to="mgmt01")
    action._execute_module.side_effect = AnsibleConnectionFailure("winrm: connection refused by mgmt01")
    with pytest.raises(AnsibleConnectionFailure):
        action.run(task_vars=_vars("CENNT017"))
    assert not (tmp_path / "CENNT017.json").exists()
    assert (tmp_path / "history" / "CENNT017.20261120T100000Z.json").exists()


@pytest.mark.parametrize("host", ["..", "CON", "a/b", ".lock"])
def test_a_host_name_that_cannot_name_a_snapshot_file_is_refused_before_anything_runs(tmp_path, host):
    action = _action(ClientFacts, {"snapshot_dir": str(tmp_path)}, raw=client_raw())
    with pytest.raises(AnsibleActionFail, match="rename it in the inventory"):
        action.run(task_vars=_vars(host))
    action._execute_module.assert_not_called()
    assert list(tmp_path.iterdir()) == []
