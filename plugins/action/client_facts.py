"""Action plugin of sms.upgrade.client_facts: read an SMS 1.2 client into a snapshot."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import OS_FAMILIES
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.action import GatherAction, read_list


class ActionModule(GatherAction):
    KIND = "client"
    MODULE = "sms.upgrade.client_facts"
    ACTION_OPTIONS = dict(GatherAction.ACTION_OPTIONS, os_family={"type": "str", "choices": list(OS_FAMILIES)},
                          sms_ini_path={"type": "str"}, csdver_path={"type": "str"}, win_ini_path={"type": "str"})

    def module_args(self, args, action_args, task_vars):
        read_list(args, action_args, "client")
        args.setdefault("user_values", build.gather_data()["user_values"])
        return args

    def build(self, raw, snapshot, action_args, task_vars):
        return build.build_client(raw, snapshot, family_hint=action_args.get("os_family"))
