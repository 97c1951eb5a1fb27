"""Action plugin of sms.upgrade.sql_facts: read a SQL Server 6.5 site database into a snapshot."""
from ansible.errors import AnsibleActionFail

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build, isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import site_code_from_groups
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.action import GatherAction


class ActionModule(GatherAction):
    KIND = "site_database"
    MODULE = "sms.upgrade.sql_facts"
    ACTION_OPTIONS = dict(GatherAction.ACTION_OPTIONS, database={"type": "str", "required": True},
                          site_code={"type": "str"}, queries={"type": "dict", "default": {}})

    def module_args(self, args, action_args, task_vars):
        if args.get("script"):
            raise AnsibleActionFail("%s: script is built from gather.yml and the queries option; it cannot be set"
                                    % self._task.action)
        self._queries = build.sql_queries(action_args["queries"])
        args["script"] = isql.build_script(self._queries, action_args["database"])
        return args

    def build(self, raw, snapshot, action_args, task_vars):
        site_code = action_args.get("site_code") or site_code_from_groups(task_vars.get("group_names", []))
        try:
            return build.build_site_database(raw.get("output") or "", snapshot, action_args["database"],
                                             site_code=site_code, queries=self._queries)
        except (build.GatherError, build.db.SectionProblem) as exc:
            detail = " ".join(((raw.get("stderr") or "") or (raw.get("output") or "")).split())
            raise build.GatherError("%s%s" % (exc, "; %s said: %s" % (raw.get("client_path"), detail[:400]) if detail else "")) from exc
