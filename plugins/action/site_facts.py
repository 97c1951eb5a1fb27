"""Action plugin of sms.upgrade.site_facts: read a site, logon or helper server into a snapshot."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import site_code_from_groups
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.action import GatherAction, read_list


class ActionModule(GatherAction):
    KIND = "site_server"
    MODULE = "sms.upgrade.site_facts"
    ACTION_OPTIONS = dict(GatherAction.ACTION_OPTIONS, site_code={"type": "str"}, csdver_path={"type": "str"})

    def module_args(self, args, action_args, task_vars):
        data = build.gather_data()
        read_list(args, action_args, "site_server")
        args.setdefault("sms_root_value", data["registry"]["sms_install_dir"])
        args.setdefault("file_sets", data["site_server_file_sets"])
        return args

    def build(self, raw, snapshot, action_args, task_vars):
        groups = task_vars.get("group_names", [])
        snapshot, dummy_identity = build.build_site_server(
            raw, snapshot, groups, site_code_hint=action_args.get("site_code") or site_code_from_groups(groups))
        return snapshot
