"""Action plugin of sms.upgrade.readiness_report: assess the whole fleet once on the controller."""
import os

from ansible.utils.display import Display

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp, utc_now
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import load_records
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import render_console
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import default_report_dir, legacy_report, run_inventory
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import preservation

display = Display()


class ActionModule(ControllerAction):
    """Reads every host's snapshot, evaluates the rule catalog and writes the readiness report."""

    argument_spec = {
        "hosts": {"type": "list", "elements": "str"},
        "snapshot_dir": {"type": "path", "required": True},
        "report_dir": {"type": "path"},
        "answers_file": {"type": "path"},
        "plan_file": {"type": "path"},
        "params": {"type": "dict", "default": {}},
        "preservation": {"type": "dict"},
        "vault_dir": {"type": "path"},
        "site_upgrade_dir": {"type": "path"},
        "records_dir": {"type": "path"},
        "fail_on_blocking": {"type": "bool", "default": False},
        "inventory_name": {"type": "str"},
        "gather_failures": {"type": "dict", "default": {}},
        "workers": {"type": "int", "default": 0},
    }

    def run_action(self, args, task_vars):
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        inventory = run_inventory(task_vars, args["inventory_name"])
        report_dir = args["report_dir"] or default_report_dir(inventory)
        report, paths, _warning = run_readiness(
            hosts, task_vars.get("groups", {}), args["snapshot_dir"], report_dir, utc_now(),
            answers_file=args["answers_file"], params=args["params"],
            preservation=verified_vault(args["preservation"], args["vault_dir"], hosts),
            database=load_records(args["vault_dir"], hosts),
            check_mode=self._task.check_mode or bool(task_vars.get("ansible_check_mode")),
            progress=lambda done, total: display.display("sms.upgrade: assessed %d of %d hosts" % (done, total)),
            plan_file=args["plan_file"], inventory=inventory, gather_failures=failure_messages(args["gather_failures"]),
            upgrade_dirs={"site_upgrade_dir": args["site_upgrade_dir"], "records_dir": args["records_dir"]},
            workers=worker_count(args["workers"]))
        for warning in report["warnings"]:
            display.warning(warning)
        if not args["report_dir"] and legacy_report(report_dir):
            display.warning("reports are kept per inventory now, in %s; the reports of earlier runs in %s are left as they "
                            "are and not compared" % (report_dir, os.path.dirname(report_dir)))
        summary = report["summary"]
        result = {
            "run_id": report["run_id"], "report": paths, "summary": summary,
            "blocked": summary["blocked_hosts"] > 0 or any(f["blocks"] for f in report["findings"]),
            "console": render_console(report, paths),
            "diff_summary": {k: len(report["diff"][k]) for k in ("new", "fixed", "still_failing")},
        }
        if args["fail_on_blocking"] and result["blocked"]:
            result.update(failed=True, msg="readiness report %s has blocking findings: see %s"
                          % (report["run_id"], paths["markdown"]))
        return result


def verified_vault(given, vault_dir, hosts):
    """The preservation record: the one given, else the vault verified now for ``hosts`` (vault_verify's record)."""
    if given is not None:
        return given
    return preservation(vault_dir, iso_stamp(), hosts=hosts) if vault_dir else {}


def worker_count(requested):
    """The processes to assess with: ``requested``, or with 0 one per CPU (at most 8)."""
    if requested < 0:
        raise ValueError("workers must be 0 (one per CPU) or more, not %d" % requested)
    return requested or min(os.cpu_count() or 1, 8)


def failure_messages(failures):
    """``{host: message}`` from the gather results the readiness role collects (a message, or a result dict)."""
    messages = {}
    for host, failure in (failures or {}).items():
        if isinstance(failure, dict):
            text = str(failure.get("msg") or "the gather failed")
            messages[host] = ("unreachable: %s" % text) if failure.get("unreachable") else text
        elif failure:
            messages[host] = str(failure)
    return messages
