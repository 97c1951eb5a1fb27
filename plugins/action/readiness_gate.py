"""Action plugin of sms.upgrade.readiness_gate: refuse to go on without a fresh, clean report."""
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import ControllerAction
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import (
    evaluate_gate, load_report, parse_max_age, phase_policy)
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import utc_now


def left_out_line(verdict, host):
    """``HOST: blocker; blocker`` for a host the gate leaves out (hierarchy-wide blockers when it has none)."""
    reasons = verdict.blockers.get(host) or verdict.blockers.get(HIERARCHY_HOST) or [
        "not in readiness report %s" % verdict.run_id]
    return "%s: %s" % (host, "; ".join(reasons))


class ActionModule(ControllerAction):
    """Checks the readiness report for the given hosts; fails with the reasons when not clear."""

    argument_spec = {
        "hosts": {"type": "list", "elements": "str"},
        "report": {"type": "path"},
        "max_age": {"type": "raw", "default": "7d"},
        "phase": {"type": "str"},
    }

    def run_action(self, args, task_vars):
        hosts = args["hosts"] if args["hosts"] is not None else task_vars.get("ansible_play_hosts_all", [])
        if not hosts:
            raise ValueError("no hosts to check: the play targets no host")
        source = args["report"] or os.path.join(os.getcwd(), "sms-upgrade-reports")
        policy = phase_policy(args["phase"])
        report = load_report(source)
        verdict = evaluate_gate(report, hosts, parse_max_age(args["max_age"]), utc_now(), policy)
        result = {"passed": verdict.passed, "run_id": verdict.run_id, "report_age_hours": verdict.age_hours,
                  "reasons": verdict.reasons, "blockers": verdict.blockers, "blocked_hosts": verdict.blocked_hosts,
                  "scope": policy.scope, "left_out": [left_out_line(verdict, host) for host in verdict.blocked_hosts]}
        if not verdict.passed:
            result.update(failed=True, msg="readiness gate closed for this phase: " + "; ".join(verdict.reasons))
        return result
