"""The sms.upgrade.database action around the SQL Server 6.5 model: options, relay, secrets, failures named by host."""
import json
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.sms.upgrade.plugins.action.database import ActionModule

from .fake_sql65 import FakeSql65
from .test_database import LAB, lab

PASSWORD = "Pa55w0rd-not-in-output"


def run(model, args, host="CENSQL01", check_mode=False, delegate_to=None, extra_vars=None):
    task = Task()
    task.args = args
    task.action = "sms.upgrade.database"
    task.delegate_to = delegate_to
    task.check_mode = check_mode
    action = ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    action._execute_module = mock.MagicMock(side_effect=lambda module_name, module_args, task_vars: model.execute_module(
        module_name, module_args, {"inventory_hostname": delegate_to or host}, check_mode=check_mode))
    task_vars = dict({"inventory_hostname": host, "group_names": ["sms_sql", "sms_site_CEN"]}, **(extra_vars or {}))
    return action.run(task_vars=task_vars)


def base(tmp_path, **more):
    return dict({"vault_dir": str(tmp_path / "vault"), "journal_dir": str(tmp_path / "journal"), "snapshot_dir": LAB,
                 "login_user": "sa", "login_password": PASSWORD,
                 "sql_queries": {"duplicate_smsids": "select SMSID, Name from {database}..MachineIdentity"}}, **more)


def test_relay_runs_every_call_on_the_management_host_against_the_sql_server(tmp_path):
    model = FakeSql65.lab(lab("CENSQL01"))
    result = run(model, base(tmp_path, approve=["site_db_size", "tempdb"]), delegate_to="mgmt01",
                 extra_vars={"sms_upgrade_relay": "mgmt01", "sms_upgrade_computer": "CENSQL01"})
    assert not result.get("failed"), result.get("msg")
    assert result["mode"] == "relay" and result["changed"] is True
    assert model.calls and all(call["computer"] == "CENSQL01" for call in model.calls)
    assert PASSWORD not in json.dumps(result), "the password is never in a result"
    assert all(call.get("login_password") == PASSWORD for call in model.calls if call["mode"] == "sql")
    assert all("login_password" not in call for call in model.calls if call["mode"] == "files")


def test_check_mode_returns_the_diff_with_statements_and_why(tmp_path):
    model = FakeSql65.lab(lab("CENSQL01"))
    result = run(model, base(tmp_path), check_mode=True)
    prepared = "".join(d.get("prepared", "") for d in result["diff"])
    assert "-- CENSQL01 SMS_CEN: step transaction_log (PRE-29)\n-- why: \"Site Data\" 3" in prepared
    assert "EXEC master..sp_dboption 'SMS_CEN', 'trunc. log on chkpt.', 'true'" in prepared
    assert "before: CENSQL01 SMS_CEN: step site_db_size (PRE-14)" not in prepared
    assert result["diff"][1]["before_header"] == "CENSQL01 SMS_CEN: step site_db_size (PRE-14)"
    assert model.calls[0]["read_only"] is True


@pytest.mark.parametrize("args, message", [
    ({"script": "DROP DATABASE SMS_CEN"}, "script is set by the action plugin and cannot be given"),
    ({"mode": "conv20"}, "mode is set by the action plugin"),
    ({"kill": ["fourteen"]}, "kill"),
    ({"log_method": "shrink"}, "log_method"),
])
def test_options_the_action_sets_or_that_make_no_sense_are_refused(tmp_path, args, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run(FakeSql65.lab(lab("CENSQL01")), base(tmp_path, **args))


def test_an_unreachable_server_fails_the_host_by_name_without_a_traceback(tmp_path):
    model = FakeSql65.lab(lab("CENSQL01"))
    model.machine("CENSQL01")["unreachable"] = True
    with pytest.raises(AnsibleActionFail, match=r"sms.upgrade.database: CENSQL01: the survey could not be run on CENSQL01: "
                                                r"the network path was not found"):
        run(model, base(tmp_path), check_mode=True)
