"""Action plugin of sms.upgrade.restore_files: put chosen files back from the preserve vault.

The choice of files, version and targets, the vault check and the compare-and-set plan are made by
``plugin_utils/phases/restore.py``; this plugin hashes the targets through the module, stages the vault copies
on the machine running the module (the connection's own file transfer) and lets the module write them.
"""
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.action import utc_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import restore
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, resolve_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.preserve import cause_of_message
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import UnsafePath, windows_key
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import MANIFEST, VaultError, host_dir, load_manifest
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import target_computer

MODULE = "sms.upgrade.restore_files"


class ActionModule(ActionBase):
    """Restores the selected vault files on one host; check mode and diff show what would change."""

    TRANSFERS_FILES = False  # the staging directory is made only when something is to be written (see _write)
    _supports_check_mode = True
    _supports_async = False
    ACTION_OPTIONS = {
        "vault_dir": {"type": "path", "required": True},
        "select": {"type": "list", "elements": "str", "required": True},
        "site_code": {"type": "str"},
        "version": {"type": "int"},
        "dest": {"type": "str"},
        "layout": {"type": "str", "default": "tree", "choices": ["tree", "flat"]},
        "overwrite": {"type": "bool", "default": False},
        "computer": {"type": "str"},
        "share_map": {"type": "dict", "default": {}},
        "snapshot_dir": {"type": "path"},
        "allow_site_control": {"type": "bool", "default": False},
    }

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname", "localhost")
        try:
            result.update(self._restore(host, task_vars))
        except (restore.RestoreError, VaultError, UnsafePath, ValueError, OSError) as exc:
            raise AnsibleActionFail("%s: %s: %s" % (self._task.action, host, exc)) from None
        return result

    def _module(self, args, task_vars):
        return self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)

    def _restore(self, host, task_vars):
        given = dict(self._task.args)
        for key in ("mode", "files"):
            if key in given:
                raise ValueError("%s is set by the action plugin and cannot be given" % key)
        validated = ArgumentSpecValidator(self.ACTION_OPTIONS).validate(given)
        if validated.error_messages:
            raise ValueError("; ".join(validated.error_messages))
        args = validated.validated_parameters
        check_mode = bool(self._task.check_mode or task_vars.get("ansible_check_mode"))
        site = resolve_site(args["site_code"], host_snapshot(args["snapshot_dir"], host), task_vars.get("group_names", []),
                            args["vault_dir"], host)
        if not site:
            raise ValueError("site code unknown: set site_code, put the host in an sms_site_XXX group or gather its snapshot")
        directory = host_dir(args["vault_dir"], site, host)
        path = os.path.join(directory, MANIFEST)
        if not os.path.exists(path):
            raise ValueError("nothing preserved for %s: no vault manifest %s (run the preserve playbook first)" % (host, path))
        manifest = load_manifest(path, site, host)
        restores, problems = restore.plan(manifest, args["select"], directory, args["version"], args["dest"], args["layout"],
                                          args["allow_site_control"])
        computer = target_computer(self._task, task_vars, host, args["computer"])
        common = {"share_map": args["share_map"]}
        if computer:
            common["computer"] = computer
        states = {}
        if restores:
            seen = self._module(dict(common, mode="inventory", files=[
                {"id": "t%d" % i, "target": r.target} for i, r in enumerate(restores)]), task_vars)
            if seen.get("failed"):
                raise ValueError("cannot check the targets on %s: %s" % (computer or host, seen.get("msg")))
            states = {windows_key(s["target"]): s for s in seen.get("targets") or []}
        stamp = utc_timestamp()
        actions, refused = restore.decide(restores, states, args["overwrite"], stamp)
        problems += refused
        to_write = [a for a in actions if a[1] != "unchanged"]
        result = {"changed": bool(to_write), "diff": restore.diff(actions, states), "problems": problems,
                  "restored": [], "files": [{"category": r.category, "path": r.path, "version": r.version, "target": r.target,
                                             "size": r.size, "action": kind, "backup": backup}
                                            for r, kind, _expected, backup in actions]}
        if to_write and not check_mode:
            result["restored"], write_problems = self._write(to_write, directory, common, task_vars)
            problems += write_problems
            result["changed"] = any(item["status"] == "copied" for item in result["restored"])
        if problems:
            result.update(failed=True, msg="%s: %d file(s) not restored: %s" % (host, len(problems), "; ".join(
                "%s (%s): %s" % (p["target"], p["cause"], p["message"]) for p in problems[:5])))
        return result

    def _write(self, actions, directory, common, task_vars):
        """Stage the vault copies on the module's machine, then let the module put them in place."""
        if not self._connection._shell.tmpdir:
            self._make_tmp_path()
        tmpdir = self._connection._shell.tmpdir
        files = []
        try:
            for index, (item, _kind, expected, backup) in enumerate(actions):
                staged = self._connection._shell.join_path(tmpdir, "restore-%d" % index)
                self._transfer_file(os.path.join(directory, *item.stored.split("/")), staged)
                files.append({"id": "r%d" % index, "target": item.target, "staged": staged, "sha256": item.sha256,
                              "expect_sha256": expected, "backup": backup})
            result = self._module(dict(common, mode="apply", files=files), task_vars)
        finally:
            self._remove_tmp_path(tmpdir)
        restored = result.get("restored") or []
        names = {"r%d" % index: "%s/%s v%d" % (item.category, item.path, item.version)
                 for index, (item, _kind, _expected, _backup) in enumerate(actions)}
        problems = [{"file": names.get(item.get("id"), item.get("id")), "target": item.get("dest"),
                     "cause": item.get("cause") or "other", "message": item.get("message")}
                    for item in restored if item.get("status") not in ("copied", "present")]
        if result.get("failed") and not restored:
            cause = cause_of_message(result.get("msg"))
            problems += [{"file": names["r%d" % index], "target": item.target, "cause": cause, "message": result.get("msg")}
                         for index, (item, _kind, _expected, _backup) in enumerate(actions)]
        return restored, problems
