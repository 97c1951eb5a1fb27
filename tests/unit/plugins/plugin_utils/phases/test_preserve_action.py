"""The preserve_files action around the PowerShell module: options, relay, snapshot plan, clear failures."""
import json
import os
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.sms.upgrade.plugins.action.preserve_files import ActionModule

from .fake_host import site_server

LAB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab", "snapshots")


def _action(args, host, delegate_to=None, check_mode=False):
    task = Task()
    task.args = args
    task.action = "sms.upgrade.preserve_files"
    task.delegate_to = delegate_to
    task.check_mode = check_mode
    connection = mock.MagicMock()
    connection.fetch_file.side_effect = host.fetch
    action = ActionModule(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    action._execute_module = mock.MagicMock(side_effect=lambda module_name, module_args, task_vars: host.run_module(
        module_name, module_args))
    return action


def _vars(host, groups=("sms_central", "sms_site_cen")):
    return {"inventory_hostname": host, "group_names": list(groups)}


def test_direct_run_preserves_and_returns_the_preservation_record(tmp_path):
    host = site_server()
    action = _action({"vault_dir": str(tmp_path)}, host)
    result = action.run(task_vars=_vars("CENSRV01"))
    assert result.get("failed") is not True, result.get("msg")
    assert result["changed"] is True and result["mode"] == "direct"
    assert result["preservation"]["CENSRV01"]["collected_files"]["verified"] is True
    sent = action._execute_module.call_args_list[0].kwargs["module_args"]
    assert "computer" not in sent and sent["mode"] == "inventory" and sent["host_root"] == "C:\\PRESERVED-SMS12\\CEN\\CENSRV01"
    assert action._connection.fetch_file.call_count == 12
    again = _action({"vault_dir": str(tmp_path)}, host).run(task_vars=_vars("CENSRV01"))
    assert again["changed"] is False and again["module_calls"] == 1


def test_relay_passes_the_legacy_machine(tmp_path):
    host = site_server()
    action = _action({"vault_dir": str(tmp_path)}, host, delegate_to="mgmt01")
    result = action.run(task_vars=dict(_vars("CENSRV01"), sms_upgrade_computer="CENSRV01.CORP"))
    assert result["mode"] == "relay"
    assert {call.kwargs["module_args"]["computer"] for call in action._execute_module.call_args_list} == {"CENSRV01.CORP"}


def test_problems_fail_the_task_at_the_end_and_name_each_file(tmp_path):
    host = site_server()
    locked = "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\00000002.COL"
    host.locked.add(locked.upper())
    result = _action({"vault_dir": str(tmp_path)}, host).run(task_vars=_vars("CENSRV01"))
    assert result["failed"] is True
    assert "CENSRV01: 1 file(s) or document(s) not preserved, everything else was preserved and verified" in result["msg"]
    assert locked in result["msg"] and "(locked)" in result["msg"]
    assert result["preservation"]["CENSRV01"]["package_definition_files"]["verified"] is True
    relaxed = _action({"vault_dir": str(tmp_path), "fail_on_problems": False}, host).run(task_vars=_vars("CENSRV01"))
    assert relaxed.get("failed") is not True and relaxed["problems"]


def test_check_mode_from_the_lab_snapshot_contacts_nothing(tmp_path):
    host = site_server()
    action = _action({"vault_dir": str(tmp_path), "snapshot_dir": LAB, "from_snapshot": True}, host, check_mode=True)
    result = action.run(task_vars=_vars("CENSRV01"))
    action._execute_module.assert_not_called()
    assert result["mode"] == "snapshot" and result["would_copy"]["files"] > 10
    assert not os.path.exists(tmp_path / "CEN")
    sql = _action({"vault_dir": str(tmp_path), "snapshot_dir": LAB, "from_snapshot": True}, host, check_mode=True).run(
        task_vars=_vars("CENSQL01", ["sms_sql", "sms_site_cen"]))
    assert [row["path"] for row in sql["plan"]][-1] == "database-summary.md"


@pytest.mark.parametrize("args, message", [
    ({"vault_dir": "/v", "mode": "apply"}, "mode is set by the action plugin"),
    ({"vault_dir": "/v", "kind": "client"}, "kind"),
    ({"vault_dir": "/v", "from_snapshot": True}, "from_snapshot needs snapshot_dir"),
    ({"vault_dir": "/v", "host_root": "C:\\SMS\\KEEP"}, "inside the SMS tree"),
    ({"vault_dir": "/v", "extra_sources": [{"category": "logon_scripts", "path": "C:\\X"}]}, "is not one of"),
])
def test_bad_options_fail_with_host_and_cause(args, message, tmp_path):
    args = dict(args, vault_dir=str(tmp_path))
    with pytest.raises(AnsibleActionFail, match="CENSRV01: .*%s" % message):
        _action(args, site_server()).run(task_vars=_vars("CENSRV01"))


def test_snapshot_run_without_check_mode_is_refused(tmp_path):
    with pytest.raises(AnsibleActionFail, match="sms_snapshots_only"):
        _action({"vault_dir": str(tmp_path), "snapshot_dir": LAB, "from_snapshot": True}, site_server()).run(
            task_vars=_vars("CENSRV01"))


def test_the_password_never_reaches_the_result(tmp_path):
    host = site_server()
    host.sql_output = "SMSUPG>>physical_disks\n a\n --\n 1\n"
    result = _action({"vault_dir": str(tmp_path), "database": "SMS_CEN", "login_user": "sa", "login_password": "s3cr3t",
                      "sql_queries": {"job_details": None, "jobs": None}}, host).run(task_vars=_vars("CENSQL01", ["sms_sql", "sms_site_cen"]))
    assert result.get("failed") is not True, result.get("msg")
    assert "s3cr3t" not in json.dumps(result)
    assert [args.get("login_password") for name, args in host.calls if name == "sms.upgrade.sql_facts"] == ["s3cr3t"]


def test_a_site_server_that_is_also_the_sql_host_gets_both_kinds_preserved(tmp_path):
    host = site_server()
    host.sql_output = "SMSUPG>>physical_disks\n a\n --\n 1\n"
    args = {"vault_dir": str(tmp_path), "database": "SMS_CEN", "sql_queries": {"job_details": None, "jobs": None}}
    groups = ["sms_central", "sms_site_servers", "sms_sql", "sms_site_cen"]
    result = _action(args, host).run(task_vars=_vars("CENSRV01", groups))
    assert result.get("failed") is not True, result.get("msg")
    assert result["kinds"] == ["site_server", "site_database"]
    categories = result["preservation"]["CENSRV01"]
    assert categories["collected_files"]["verified"] and categories["database_documents"]["verified"]
    manifest = json.loads(host.get("C:\\PRESERVED-SMS12\\CEN\\CENSRV01\\MANIFEST.json"))
    assert {"collected_files", "database_documents"} <= {e["category"] for e in manifest["entries"]}
    again = _action(args, host).run(task_vars=_vars("CENSRV01", groups))
    assert again["changed"] is False and again["module_calls"] == 2  # one listing for both, and the export


def test_the_result_says_in_one_line_what_would_be_copied_and_then_what_was(tmp_path):
    host = site_server()
    check = _action({"vault_dir": str(tmp_path)}, host, check_mode=True).run(task_vars=_vars("CENSRV01"))
    assert check["changed"] is True and check.get("failed") is not True
    expected = "CENSRV01: 13 file(s) or document(s) would be copied, %d bytes, to C:\\PRESERVED-SMS12\\CEN\\CENSRV01 and %s: " % (
        check["would_copy"]["bytes"], tmp_path / "CEN" / "CENSRV01")
    assert check["msg"].startswith(expected)
    assert "collected_files/00000001.COL" in check["msg"] and "registry/SMS-registry.reg" in check["msg"]
    done = _action({"vault_dir": str(tmp_path)}, host).run(task_vars=_vars("CENSRV01"))
    assert done["msg"] == ("CENSRV01: copied 12 file(s) to the host and 12 into the vault; verified collected_files, "
                           "logon_scripts, mif_files, mstest_files, package_definition_files, registry, site_control_files, "
                           "site_documents, xnf_files")
    again = _action({"vault_dir": str(tmp_path)}, host, check_mode=True).run(task_vars=_vars("CENSRV01"))
    assert again["changed"] is False
    assert again["msg"] == ("CENSRV01: 0 file(s) or document(s) would be copied, 0 bytes, to C:\\PRESERVED-SMS12\\CEN\\CENSRV01 "
                            "and %s" % (tmp_path / "CEN" / "CENSRV01"))
