"""Action plugin of sms.upgrade.upgrade_progress: the JSON record of a post-upgrade or client run, on the controller."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import utc_now
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import sites_by_host
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import upgrade_progress


def collected(hostvars, hosts, name):
    """``{host: result}`` of the hosts whose registered ``name`` holds a phase result (with a status)."""
    found = {}
    for host in hosts if name else []:
        try:
            result = hostvars[host].get(name)
        except KeyError:
            continue
        if isinstance(result, dict) and result.get("status"):
            found[host] = dict(result)
    return found


class ActionModule(ControllerAction):
    """Per site of the wave: post-upgrade status and client progress; written unless in check mode."""

    argument_spec = {
        "records_dir": {"type": "path", "required": True},
        "phase": {"type": "str", "required": True, "choices": ["post_upgrade", "client_upgrade"]},
        "wave": {"type": "str"},
        "plan_file": {"type": "path"},
        "hosts": {"type": "list", "elements": "str", "default": []},
        "result_var": {"type": "str"},
    }

    def run_action(self, args, task_vars):
        plan = load_plan(args["plan_file"])
        wave = plan.wave(args["wave"])
        groups = task_vars.get("groups", {})
        by_host = sites_by_host(groups)
        clients = set(groups.get("sms_clients", []))
        clients_by_site = {}
        for host, site in by_host.items():
            if host in clients:
                clients_by_site.setdefault(site, []).append(host)
        sites = [entry.site for entry in wave.sites] or sorted(set(by_host.values()) - {k.site for k in plan.kept_sites})
        results = collected(task_vars.get("hostvars") or {}, args["hosts"], args["result_var"])
        now = utc_now()
        record = upgrade_progress.run_record(args["records_dir"], args["phase"], wave.name, None if plan.implicit else plan,
                                             sites, clients_by_site, results, now)
        result = {"record": record, "lines": upgrade_progress.lines(record), "path": None}
        if not self._task.check_mode:
            result["path"] = upgrade_progress.write(args["records_dir"], record, now)
        return result
