"""Action plugin of sms.upgrade.site_wave: the ordered plan of a wave of the site upgrade, and the wave's record."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp, iso_stamp, utc_now
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import machine_name
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_wave
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_status import write_wave_record

HOST_VARS = {"sender_kbps": "sms_upgrade_sender_kbps",
             "concurrent_sendings": "sms_upgrade_max_concurrent_sendings", "site_database": "sms_upgrade_site_database"}


def _hosts_info(task_vars):
    """``{host: {groups, computer, snapshots_only, ...}}`` of the SMS servers of the inventory (hostvars read only for them)."""
    groups = task_vars.get("groups") or {}
    servers = sorted({host for name in site_wave.SERVER_GROUPS for host in groups.get(name) or []})
    member_of = {}
    for name, hosts in groups.items():
        for host in hosts:
            if host in servers:
                member_of.setdefault(host, []).append(name)
    hostvars = task_vars.get("hostvars") or {}
    info = {}
    for host in servers:
        variables = hostvars.get(host) or {}
        entry = {key: variables.get(name) for key, name in HOST_VARS.items()}
        entry.update(groups=sorted(member_of.get(host, [])), snapshots_only="sms_snapshots_only" in member_of.get(host, []))
        entry["computer"] = machine_name(variables, host)
        info[host] = entry
    return info


def _snapshots(snapshot_dir, hosts):
    """``{host: snapshot data}`` of the hosts with a usable snapshot."""
    found = {host: host_snapshot(snapshot_dir, host) for host in hosts}
    return {host: data for host, data in found.items() if data is not None}


def wave_record(planned, results, check_mode):
    """The record of one run of the wave: every site with its status and this run's steps."""
    sites, counts = [], {}
    for entry in planned["sites"]:
        result = results.get(entry["server"]["host"]) or {}
        status = result.get("status") or "not_run"
        counts[status] = counts.get(status, 0) + 1
        sites.append({"site": entry["site"], "host": entry["server"]["host"], "position": entry["position"],
                      "role": entry["role"], "method": entry["method"], "status": status, "msg": result.get("msg"),
                      "timeline": result.get("timeline") or [], "handoff": result.get("handoff"),
                      "later_checks": result.get("later_checks") or [], "record": result.get("record")})
    return {"generated_at": iso_stamp(), "check_mode": check_mode, "plan_file": planned["wave"]["plan_file"],
            "window": planned["wave"]["window"], "sites": sites, "summary": counts, "problems": planned["problems"]}


class ActionModule(ControllerAction):
    """Plans the wave once on the controller; with ``results``, also writes the wave's record."""

    argument_spec = {
        "wave": {"type": "str"},
        "plan_file": {"type": "path"},
        "snapshot_dir": {"type": "path"},
        "status_dir": {"type": "path"},
        "assessment_params": {"type": "dict", "default": {}},
        "results": {"type": "dict"},
        "result_var": {"type": "str"},
    }

    def run_action(self, args, task_vars):
        plan = load_plan(args["plan_file"])
        hosts = _hosts_info(task_vars)
        params = merge_params(args["assessment_params"])
        planned = site_wave.plan_wave(plan, args["wave"], hosts, _snapshots(args["snapshot_dir"], hosts), params)
        result = {"wave": planned["wave"], "sites": planned["sites"], "problems": planned["problems"],
                  "stay_on_1_2": planned["stay_on_1_2"], "left_out": planned["left_out"],
                  "site_hosts": [s["server"]["host"] for s in planned["sites"]],
                  "wave_sites": [s["site"] for s in planned["sites"]], "lines": site_wave.describe_wave(planned),
                  "msg": "wave %s: %s" % (planned["wave"]["name"], ", ".join(s["site"] for s in planned["sites"]) or "no site")}
        if plan.warning:
            result["warnings"] = [plan.warning]
        results = args["results"]
        if results is None and args["result_var"]:
            hostvars = task_vars.get("hostvars") or {}
            results = {host: (hostvars.get(host) or {}).get(args["result_var"]) for host in result["site_hosts"]}
            results = {host: value for host, value in results.items() if isinstance(value, dict)}
        if results is not None:
            record = wave_record(planned, results, bool(self._task.check_mode))
            result["record"] = record
            result["lines"] = ["%s %s: %s" % (s["site"], s["status"], s["msg"] or "not run") for s in record["sites"]]
            if not self._task.check_mode and args["status_dir"]:
                result["record_path"] = write_wave_record(args["status_dir"], planned["wave"]["name"],
                                                          compact_stamp(utc_now()), record)
        return result
