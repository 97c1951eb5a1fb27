"""Action plugin of sms.upgrade.site_facts: read a site, logon or helper server into a snapshot."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.action import GatherAction, site_code_from_groups


def read_list(args, action_args, prefix):
    """Module arguments listing what to read, from gather.yml unless the task sets them."""
    data = build.gather_data()
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
