"""A reusable action base for the gather modules (microsoft.ad style ``plugin_utils`` action).

The action runs on the controller around the PowerShell module of the same name: it fills the
module's read list from ``data/gather.yml``, picks the machine to read (direct, or ``computer``
through the relay the task is delegated to), runs the module once, builds the snapshot in Python,
validates it against the schema and saves it as ``<snapshot_dir>/<host>.json``. The raw module
result (which holds file contents) is never returned.
"""
import json
import os
import re

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.plugins.action import ActionBase

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import task_options
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import collection_version
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import GatherError, envelope, gather_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.database import SectionProblem
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.isql import SqlScriptError
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import UnsafeHostName, check_host_name
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import snapshot_path, validate_snapshot
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import TargetError, resolve_target

RAW_KEYS_KEPT = ("computer", "errors")


def save_snapshot(snapshot_dir, host, snapshot):
    """Write ``<host>.json`` atomically; a different earlier snapshot moves to ``history/`` first."""
    os.makedirs(snapshot_dir, exist_ok=True)
    path = snapshot_path(snapshot_dir, host)
    text = json.dumps(snapshot, indent=1, sort_keys=True) + "\n"
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            old = handle.read()
        if old == text:
            return path
        _keep_previous(snapshot_dir, host, path, old)
    replace_atomically(path, text)
    return path


def _keep_previous(snapshot_dir, host, path, old_text):
    try:
        stamp = json.loads(old_text).get("collected_at") or "unknown"
    except ValueError:
        stamp = "unparsable"
    history = os.path.join(snapshot_dir, "history")
    os.makedirs(history, exist_ok=True)
    os.replace(path, os.path.join(history, "%s.%s.json" % (host, re.sub(r"[^0-9A-Za-z]", "", stamp))))


def retire_snapshot(snapshot_dir, host):
    """After a failed gather, move the host's last snapshot to history/ so that the report shows the host as
    not gathered (a blocking error, with the age of that last good snapshot) instead of assessing old data as
    current. A host name that cannot name a file has no snapshot to retire."""
    try:
        path = snapshot_path(snapshot_dir, host) if snapshot_dir and host else None
    except UnsafeHostName:
        return
    if not path or not os.path.exists(path):
        return
    with open(path, encoding="utf-8", errors="replace") as handle:
        _keep_previous(snapshot_dir, host, path, handle.read())


def read_list(args, action_args, prefix):
    """Module arguments listing what to read, from gather.yml unless the task sets them."""
    data = gather_data()
    registry = data["registry"]
    args.setdefault("registry_values", list(registry.values()))
    args.setdefault("registry_keys", list(data["registry_keys"].values()))
    args.setdefault("system_root_values", [registry["os_nt_system_root"], registry["os_9x_system_root"]])
    args.setdefault("service_patterns", data["%s_service_patterns" % prefix])
    args.setdefault("text_files", [dict(item, path=action_args.get(item.get("override", "").replace("sms_upgrade_", ""))
                                        or item["path"]) for item in data["%s_text_files" % prefix]])
    for item in args["text_files"]:
        item.pop("override", None)
    return args


class GatherAction(ActionBase):
    """Subclasses set KIND and MODULE and implement ``module_args`` and ``build``."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    KIND = None
    MODULE = None
    ACTION_OPTIONS = {"snapshot_dir": {"type": "path"}}

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        snapshot_dir = self._task.args.get("snapshot_dir")
        try:
            result = self._gather(super().run(tmp, task_vars), task_vars)
        except (AnsibleError, OSError):
            # failed, or the host or its relay could not be reached: never leave the old snapshot as if current
            retire_snapshot(snapshot_dir, task_vars.get("inventory_hostname"))
            raise
        if result.get("failed"):
            retire_snapshot(snapshot_dir, task_vars.get("inventory_hostname"))
        return result

    def _gather(self, result, task_vars):
        host = task_vars.get("inventory_hostname", "localhost")
        try:
            check_host_name(host, "inventory host name")
        except UnsafeHostName as exc:
            raise AnsibleActionFail("%s: %s: no snapshot can be saved for it; rename it in the inventory" % (
                self._task.action, exc)) from None
        args = dict(self._task.args)
        own = {key: args.pop(key) for key in list(args) if key in self.ACTION_OPTIONS}
        action_args = task_options(self, self.ACTION_OPTIONS, host, own)
        try:
            target = resolve_target(self._task, task_vars, args.get("computer"))
            if target.computer:
                args["computer"] = target.computer
            module_args = self.module_args(args, action_args, task_vars)
        except (GatherError, SqlScriptError, TargetError) as exc:
            raise AnsibleActionFail("%s: %s: %s" % (self._task.action, host, exc)) from None
        raw = self._execute_module(module_name=self.MODULE, module_args=module_args, task_vars=task_vars)
        if raw.get("failed"):
            result.update(failed=True, msg="%s: %s: %s" % (self._task.action, host, raw.get("msg", "module failed")),
                          **{key: raw[key] for key in RAW_KEYS_KEPT if key in raw})
            return result
        computer = raw.get("computer") or args.get("computer") or host
        snapshot = envelope(self.KIND, host, computer, iso_stamp(), collection_version(), relay=target.relay)
        try:
            snapshot = self.build(raw, snapshot, action_args, task_vars)
        except (GatherError, SectionProblem) as exc:
            raise AnsibleActionFail("%s: %s (%s): %s" % (self._task.action, host, computer, exc)) from None
        problems = validate_snapshot(host, snapshot)
        if problems:
            raise AnsibleActionFail("%s: %s: the gathered snapshot does not satisfy the %s schema: %s" % (
                self._task.action, host, self.KIND, "; ".join("%s: %s" % (p.path, p.message) for p in problems[:5])))
        result.update(changed=False, snapshot=snapshot, computer=computer, mode=snapshot["collector"]["mode"],
                      section_errors=snapshot["errors"])
        if action_args.get("snapshot_dir"):
            try:
                result["snapshot_path"] = save_snapshot(action_args["snapshot_dir"], host, snapshot)
            except OSError as exc:
                raise AnsibleActionFail("%s: %s: cannot save the snapshot in %s: %s" % (
                    self._task.action, host, action_args["snapshot_dir"], exc)) from None
        return result

    def module_args(self, args, action_args, task_vars):
        raise NotImplementedError

    def build(self, raw, snapshot, action_args, task_vars):
        raise NotImplementedError
