"""Restore from the vault: selection, versions, targets, compare-and-set, check mode and diff."""
import os
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail
from ansible.playbook.task import Task

from ansible_collections.sms.upgrade.plugins.action.restore_files import ActionModule
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import restore
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import MANIFEST, load_manifest

from .fake_host import SMS_ROOT, preserve_run, site_server

PDF = SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\MSAPPS32.PDF"


@pytest.fixture
def preserved(tmp_path):
    host = site_server()
    preserve_run(host, now="t1", host="CENSRV01", site="CEN", vault_root=str(tmp_path))
    original = host.get(PDF)
    host.put(PDF, b"[PDF] edited after the first run")
    preserve_run(host, now="t2", host="CENSRV01", site="CEN", vault_root=str(tmp_path))
    return host, tmp_path, original


def manifest(vault):
    return load_manifest(os.path.join(str(vault), "CEN", "CENSRV01", MANIFEST), "CEN", "CENSRV01")


def test_selection_versions_and_targets(preserved):
    _host, vault, _original = preserved
    data = manifest(vault)
    picked = restore.select(data, ["package_definition_files/*"])
    assert sorted(e["path"] for e, _v in picked) == ["ENU/MSAPPS32.PDF", "ENU/SMS12SP4.PDF"]
    assert {e["path"]: v["version"] for e, v in picked}["ENU/MSAPPS32.PDF"] == 2
    assert restore.select(data, ["package_definition_files/enu/msapps32.pdf"], version=1)[0][1]["version"] == 1
    with pytest.raises(restore.RestoreError, match="SMS12SP4.PDF has no version 2 \\(versions: 1\\)"):
        restore.select(data, ["package_definition_files/*"], version=2)
    with pytest.raises(restore.RestoreError, match="no preserved file matches 'nothing/\\*'.*collected_files"):
        restore.select(data, ["nothing/*"])
    entry = picked[0][0]
    assert restore.target_for(entry) == PDF
    assert restore.target_for(entry, "C:\\SMS\\IMPORT") == "C:\\SMS\\IMPORT\\ENU\\MSAPPS32.PDF"
    assert restore.target_for(entry, "C:\\SMS\\IMPORT", "flat") == "C:\\SMS\\IMPORT\\MSAPPS32.PDF"
    registry = restore.select(data, ["registry/*"])[0][0]
    with pytest.raises(restore.RestoreError, match="has no original location: give dest"):
        restore.target_for(registry)
    for bad in ("relative\\dir", "C:\\A\\..\\B", "C:\\CON"):
        with pytest.raises(ValueError):
            restore.target_for(entry, bad)
    with pytest.raises(restore.RestoreError, match="would both be restored"):
        restore.plan(data, ["logon_scripts/*"], os.path.join(str(vault), "CEN", "CENSRV01"), dest="C:\\X", layout="flat")


def test_a_damaged_vault_copy_is_not_restored(preserved):
    _host, vault, _original = preserved
    stored = vault / "CEN" / "CENSRV01" / "v1" / "mif_files" / "ASSETS.MIF"
    stored.write_bytes(b"damaged")
    restores, problems = restore.plan(manifest(vault), ["mif_files/*"], str(vault / "CEN" / "CENSRV01"))
    assert restores == [] and problems[0]["cause"] == "vault"


def _action(args, host, check_mode=False):
    task = Task()
    task.args = args
    task.action = "sms.upgrade.restore_files"
    task.check_mode = check_mode
    connection = mock.MagicMock()
    connection._shell.tmpdir = "C:\\Windows\\TEMP\\ansible-tmp-1"
    connection._shell.join_path.side_effect = lambda *parts: "\\".join(parts)
    action = ActionModule(task, connection, mock.MagicMock(), loader=None, templar=None, shared_loader_obj=None)
    action._execute_module = mock.MagicMock(side_effect=lambda module_name, module_args, task_vars: host.run_module(
        module_name, module_args))

    def transfer(local, remote):
        with open(local, "rb") as handle:
            host.put(remote, handle.read())
    action._transfer_file = mock.MagicMock(side_effect=transfer)
    action._remove_tmp_path = mock.MagicMock()
    return action


VARS = {"inventory_hostname": "CENSRV01", "group_names": ["sms_central", "sms_site_cen"]}


def test_check_mode_shows_the_diff_and_writes_nothing(preserved):
    host, vault, original = preserved
    action = _action({"vault_dir": str(vault), "select": ["package_definition_files/ENU/MSAPPS32.PDF"], "version": 1,
                      "dest": "C:\\SMS2\\IMPORT"}, host, check_mode=True)
    result = action.run(task_vars=VARS)
    assert result["changed"] is True and result.get("failed") is not True
    assert "C:\\SMS2\\IMPORT\\ENU\\MSAPPS32.PDF: absent" in result["diff"]["before"]
    assert "(vault package_definition_files/ENU/MSAPPS32.PDF v1)" in result["diff"]["after"]
    assert not host.exists("C:\\SMS2\\IMPORT\\ENU\\MSAPPS32.PDF")
    action._transfer_file.assert_not_called()


def test_restore_into_an_import_folder_then_nothing_to_do(preserved):
    host, vault, original = preserved
    args = {"vault_dir": str(vault), "select": ["package_definition_files/*"], "dest": "C:\\SMS2\\IMPORT", "layout": "flat"}
    result = _action(args, host).run(task_vars=VARS)
    assert result.get("failed") is not True, result.get("msg")
    assert host.get("C:\\SMS2\\IMPORT\\MSAPPS32.PDF") == b"[PDF] edited after the first run"
    assert host.get("C:\\SMS2\\IMPORT\\SMS12SP4.PDF") == host.get(SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\SMS12SP4.PDF")
    again = _action(args, host).run(task_vars=VARS)
    assert again["changed"] is False and again["diff"]["after"] == ""


def test_an_existing_different_file_needs_overwrite_and_is_kept(preserved):
    host, vault, original = preserved
    args = {"vault_dir": str(vault), "select": ["package_definition_files/ENU/MSAPPS32.PDF"], "version": 1}
    refused = _action(args, host).run(task_vars=VARS)
    assert refused["failed"] is True and "exists with other content" in refused["msg"] and "set overwrite" in refused["msg"]
    assert host.get(PDF) == b"[PDF] edited after the first run"
    done = _action(dict(args, overwrite=True), host).run(task_vars=VARS)
    assert done.get("failed") is not True, done.get("msg")
    assert host.get(PDF) == original
    backups = [p for p, _d in host.files.values() if ".before-restore-" in p]
    assert len(backups) == 1 and host.get(backups[0]) == b"[PDF] edited after the first run"


def test_nothing_preserved_is_a_clear_message(tmp_path):
    with pytest.raises(AnsibleActionFail, match="CENSRV01: nothing preserved for CENSRV01"):
        _action({"vault_dir": str(tmp_path), "select": ["*"]}, site_server()).run(task_vars=VARS)
    with pytest.raises(AnsibleActionFail, match="files is set by the action plugin"):
        _action({"vault_dir": str(tmp_path), "select": ["*"], "files": []}, site_server()).run(task_vars=VARS)


# ------------------------------------------------------------------ a running site's configuration, site code, names
def test_site_control_files_go_back_to_their_original_location_only_when_asked(preserved):
    host, vault, _original = preserved
    sitectrl = SMS_ROOT + "\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0"
    host.put(sitectrl, b"the running site's configuration")
    args = {"vault_dir": str(vault), "select": ["site_control_files/*", "mif_files/*"], "overwrite": True}
    refused = _action(args, host).run(task_vars=VARS)
    assert refused["failed"] is True and "would replace the site configuration" in refused["msg"]
    assert {p["file"] for p in refused["problems"]} == {"site_control_files/SITE.SRV/SITECFG.BOX/SITECTRL.CT0 v1",
                                                        "site_control_files/SYSTEM.MAP v1"}
    assert {p["cause"] for p in refused["problems"]} == {"refused"}
    assert host.get(sitectrl) == b"the running site's configuration"
    under = _action(dict(args, dest="C:\\RESTORED"), host).run(task_vars=VARS)
    assert under.get("failed") is not True, under.get("msg")
    assert host.exists("C:\\RESTORED\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0")
    allowed = _action(dict(args, allow_site_control=True), host).run(task_vars=VARS)
    assert allowed.get("failed") is not True, allowed.get("msg")
    assert host.get(sitectrl).startswith(b"SITE CONTROL FILE")


def test_restore_finds_the_vault_the_preserve_phase_wrote_without_a_site_group(preserved, tmp_path):
    host, vault, _original = preserved
    args = {"vault_dir": str(vault), "select": ["mif_files/*"], "dest": "C:\\RESTORED"}
    result = _action(args, host).run(task_vars={"inventory_hostname": "CENSRV01", "group_names": ["sms_central"]})
    assert result.get("failed") is not True, result.get("msg")
    assert host.exists("C:\\RESTORED\\ASSETS.MIF")


def test_a_failed_write_names_each_file_and_its_cause(preserved):
    host, vault, _original = preserved
    action = _action({"vault_dir": str(vault), "select": ["mif_files/*"], "dest": "C:\\RESTORED"}, host)
    calls = action._execute_module.side_effect

    def denied(module_name, module_args, task_vars):
        if module_args.get("mode") == "apply":
            return {"failed": True, "msg": "Access to the path '\\\\CENSRV01\\C$\\RESTORED' is denied."}
        return calls(module_name, module_args, task_vars)
    action._execute_module.side_effect = denied
    result = action.run(task_vars=VARS)
    assert [(p["file"], p["cause"]) for p in result["problems"]] == [("mif_files/ASSETS.MIF v1", "access_denied")]
