"""Action plugin of sms.upgrade.preserve_files: the preserve phase for one host.

Decisions (what to keep, vault layout, versions, path safety) are made by ``plugin_utils/preserve``; this
plugin only connects them to Ansible: it validates the options, reads the host's snapshot, runs the PowerShell
module (or ``sql_facts`` for the database export) and fetches the verified host copies over the connection.
"""
import os
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, resolve_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import UnsafePath
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.preserve import HostRun, PreserveError
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import VaultError
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import target_computer

SET_BY_ACTION = ("mode", "copies", "documents", "registry_export", "file_sets", "text_files", "registry_values",
                 "registry_keys", "system_root_values", "sms_root_value", "remove_partials")
MAX_LISTED = 5
SITE_SERVER_GROUPS = ("sms_site_servers", "sms_central", "sms_primary", "sms_secondary", "sms_helper", "sms_logon")


def preserve_kinds(kind, groups, snapshot=None):
    """What to preserve on a host: ``site_server`` for the site-server groups, ``site_database`` for ``sms_sql``, both
    for a machine in both (SMS and its SQL Server on one machine, the usual SMS 1.2 layout)."""
    if kind != "auto":
        return [kind]
    kinds = (["site_server"] if set(groups) & set(SITE_SERVER_GROUPS) else []) + (["site_database"] if "sms_sql" in groups else [])
    return kinds or ["site_database" if (snapshot or {}).get("kind") == "site_database" else "site_server"]


def utc_timestamp():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ActionModule(ActionBase):
    """Runs one host of the preserve phase; fails at the end when a file could not be preserved."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    MODULE_OPTIONS = ("computer", "host_root", "share_map", "sms_root")
    ACTION_OPTIONS = {
        "vault_dir": {"type": "path", "required": True},
        "snapshot_dir": {"type": "path"},
        "from_snapshot": {"type": "bool", "default": False},
        "kind": {"type": "str", "default": "auto", "choices": ["auto", "site_server", "site_database"]},
        "site_code": {"type": "str"},
        "exclude": {"type": "dict", "default": {}},
        "extra_sources": {"type": "list", "elements": "dict", "default": [], "options": {
            "category": {"type": "str", "required": True}, "path": {"type": "str", "required": True},
            "include": {"type": "list", "elements": "str", "default": ["*"]},
            "recurse": {"type": "bool", "default": True}}},
        "database": {"type": "str"},
        "sql_queries": {"type": "dict", "default": {}},
        "sql_client": {"type": "str", "default": "isql.exe"},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "fail_on_problems": {"type": "bool", "default": True},
        "computer": {"type": "str"},
        "host_root": {"type": "str"},
        "share_map": {"type": "dict", "default": {}},
        "sms_root": {"type": "str"},
    }

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname", "localhost")
        try:
            result.update(self._preserve(host, task_vars))
        except (PreserveError, VaultError, UnsafePath, ValueError, OSError) as exc:
            raise AnsibleActionFail("%s: %s: %s" % (self._task.action, host, exc)) from None
        return result

    def _args(self):
        given = dict(self._task.args)
        refused = sorted(set(given) & set(SET_BY_ACTION))
        if refused:
            raise ValueError("%s %s set by the action plugin and cannot be given" % (
                ", ".join(refused), "is" if len(refused) == 1 else "are"))
        validated = ArgumentSpecValidator(self.ACTION_OPTIONS).validate(given)
        if validated.error_messages:
            raise ValueError("; ".join(validated.error_messages))
        return validated.validated_parameters

    def _preserve(self, host, task_vars):
        args = self._args()
        check_mode = bool(self._task.check_mode or task_vars.get("ansible_check_mode"))
        snapshot = host_snapshot(args["snapshot_dir"], host, args["from_snapshot"])
        groups = task_vars.get("group_names", [])
        kinds = preserve_kinds(args["kind"], groups, snapshot)
        site = resolve_site(args["site_code"], snapshot, groups, args["vault_dir"], host)
        if not site:
            raise ValueError("site code unknown: set site_code, put the host in an sms_site_XXX group or gather its snapshot")
        computer = target_computer(self._task, task_vars, host, args["computer"])
        options = {"host": host, "site": site.upper(), "computer": computer, "vault_root": args["vault_dir"],
                   "check_mode": check_mode, "host_root": args["host_root"], "share_map": args["share_map"],
                   "sms_root": args["sms_root"], "exclude": args["exclude"], "extra_sources": args["extra_sources"],
                   "sql_queries": args["sql_queries"], "database": args["database"], "sql_client": args["sql_client"],
                   "login_user": args["login_user"], "login_password": args["login_password"],
                   "machine_names": [name for name in (task_vars.get("ansible_host"), task_vars.get("sms_upgrade_computer"))
                                     if isinstance(name, str) and name]}
        run = HostRun(options, lambda name, module_args: self._execute_module(
            module_name=name, module_args=module_args, task_vars=task_vars), self._fetch, utc_timestamp())
        outcome = run.run(kinds, snapshot=snapshot, from_snapshot=args["from_snapshot"])
        outcome["kinds"] = kinds
        if not check_mode:
            outcome["preservation"] = {host: outcome.get("categories", {})}
        if outcome["problems"] and args["fail_on_problems"] and not check_mode:
            listed = "; ".join("%s (%s): %s" % (p["source"], p["cause"], p["message"]) for p in outcome["problems"][:MAX_LISTED])
            more = len(outcome["problems"]) - MAX_LISTED
            message = "%s: %d file(s) or document(s) not preserved, everything else was preserved and verified: %s%s" % (
                host, len(outcome["problems"]), listed, "; and %d more" % more if more > 0 else "")
            outcome.update(failed=True, msg=message)
        return outcome

    def _fetch(self, remote, local):
        """Transfer one host copy to a controller file through the connection (chunked by the connection plugin)."""
        self._connection.fetch_file(remote, local)
        if not os.path.exists(local):
            raise OSError("the connection returned no file for %s" % remote)
