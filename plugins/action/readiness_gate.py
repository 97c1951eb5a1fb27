"""Action plugin of sms.upgrade.readiness_gate: scope the run to its wave, then refuse to go on without a fresh, clean
report."""

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import sites_by_host
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import left_out_lines, load_plan, wave_facts
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import (
    announce, evaluate_gate, load_report, parse_max_age, phase_policy, scope_run)
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import utc_now
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import default_report_dir, run_inventory


def left_out_line(verdict, host):
    """``HOST: blocker; blocker`` for a host the gate leaves out (hierarchy-wide blockers when it has none)."""
    reasons = verdict.blockers.get(host) or verdict.blockers.get(HIERARCHY_HOST) or [
        "not in readiness report %s" % verdict.run_id]
    return "%s: %s" % (host, "; ".join(reasons))


class ActionModule(ControllerAction):
    """Leaves out the hosts outside the wave, checks the readiness report for the others; fails when not clear."""

    argument_spec = {
        "hosts": {"type": "list", "elements": "str"},
        "report": {"type": "path"},
        "max_age": {"type": "raw", "default": "7d"},
        "phase": {"type": "str"},
        "wave": {"type": "str"},
        "plan_file": {"type": "path"},
        "inventory_name": {"type": "str"},
    }

    def run_action(self, args, task_vars):
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        if not hosts:
            raise ValueError("no hosts to check: the play targets no host")
        plan = load_plan(args["plan_file"])
        plan.wave(args["wave"])  # an unknown wave fails before anything else, listing the waves
        inventory = run_inventory(task_vars, args["inventory_name"])
        source = args["report"] or default_report_dir(inventory)
        policy = phase_policy(args["phase"])
        report = load_report(source)
        scope = scope_run(plan, args["wave"], hosts, report, sites_by_host(task_vars.get("groups", {})))
        verdict = evaluate_gate(report, scope.hosts, parse_max_age(args["max_age"]), utc_now(), policy, plan, scope.wave.name,
                                inventory=inventory["sources"], verify_snapshots=True)
        result = {"passed": verdict.passed, "run_id": verdict.run_id, "report_age_hours": verdict.age_hours,
                  "reasons": verdict.reasons, "blockers": verdict.blockers, "blocked_hosts": verdict.blocked_hosts,
                  "scope": policy.scope, "wave": wave_facts(plan, scope.wave), "wave_hosts": scope.hosts,
                  "out_of_wave": sorted(scope.left_out), "announce": announce(plan, scope, verdict, len(hosts)),
                  "left_out": left_out_lines(scope) + [left_out_line(verdict, host) for host in verdict.blocked_hosts]}
        if plan.warning:
            result["warnings"] = [plan.warning]
        if not verdict.passed:
            result.update(failed=True, msg="readiness gate closed for this phase%s: %s" % (
                "" if plan.implicit else " (wave %s)" % scope.wave.name, "; ".join(verdict.reasons)))
        return result
