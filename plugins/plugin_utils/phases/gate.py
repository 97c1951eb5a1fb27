"""The readiness gate: later phases run only on hosts with a fresh report and nothing blocking.

A phase's policy comes from its room (scope, the rules it requires) and from the rule catalog (the rules whose
``fixed_by`` names the phase: their findings never close its gate, the phase is what fixes them).
"""
import fnmatch
import json
import os
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import UnknownPhase, get_phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import LATEST

GateResult = namedtuple("GateResult", ["passed", "reasons", "blockers", "run_id", "age_hours", "blocked_hosts"])
PhasePolicy = namedtuple("PhasePolicy", ["name", "scope", "requires", "remediates"])
ANY_PHASE = PhasePolicy(None, "play", ("*",), ())
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([wdhms]?)\s*$", re.IGNORECASE)


class GateError(ValueError):
    """The gate cannot run: bad max age, or no usable report."""


def parse_max_age(value):
    """Return seconds for a max age: a number of days, or '7d', '36h', '90m', '2w'."""
    match = _AGE.match(str(value)) if not isinstance(value, bool) else None
    if not match:
        raise GateError("sms_upgrade_report_max_age %r is not a duration (use e.g. 7d, 36h or a number of days)" % (value,))
    unit = (match.group(2) or "d").lower()
    return float(match.group(1)) * _UNITS[unit]


def load_report(path):
    """Read a readiness report (a readiness.json, or a report directory holding latest.json)."""
    if os.path.isdir(path):
        path = os.path.join(path, LATEST)
    if not os.path.exists(path):
        raise GateError("no readiness report at %s: run 'ansible-playbook -i <inventory> sms.upgrade.readiness "
                        "--check' first" % path)
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except (OSError, ValueError) as exc:
        raise GateError("readiness report %s is unreadable: %s" % (path, exc))
    if not isinstance(report, dict) or str(report.get("schema_version", "")).split(".", maxsplit=1)[0] != "1":
        raise GateError("%s is not a readiness report of schema 1.x" % path)
    return report


def phase_policy(name, rules=None):
    """The gate policy of a phase (ANY_PHASE when ``name`` is empty): scope and requires from its room, remediates
    from the rules (``rules``, default the shipped catalog) whose ``fixed_by`` names it."""
    if not name:
        return ANY_PHASE
    try:
        phase = get_phase(name)
    except UnknownPhase as exc:
        raise GateError(str(exc)) from None
    rules = load_catalog(CHECKS) if rules is None else rules
    return PhasePolicy(name, phase.GATE_SCOPE, tuple(phase.GATE_REQUIRES), tuple(r.id for r in rules if r.fixed_by == name))


def _matches(rule, patterns):
    return any(fnmatch.fnmatchcase(rule, pattern) for pattern in patterns)


def _blocking_findings(report, policy):
    blockers = {}
    for finding in report.get("findings", []):
        rule = finding.get("rule", "")
        if not finding.get("blocks") or _matches(rule, policy.remediates) or not _matches(rule, policy.requires):
            continue
        blockers.setdefault(finding["host"], []).append(
            "%s [%s] %s" % (rule, ", ".join(finding.get("checklist", [])), finding.get("message", "")))
    return blockers


def evaluate_gate(report, hosts, max_age_seconds, now, policy=ANY_PHASE):
    """Decide whether ``hosts`` may proceed under a phase ``policy``.

    Hierarchy-wide blockers apply to every host. With scope ``host`` the gate stays open for the hosts
    without blockers and lists the others in ``blocked_hosts``; a stale report closes it for all.
    """
    reasons = []
    age = (now - parse_timestamp(report["generated_at"])).total_seconds()
    if age > max_age_seconds:
        reasons.append("readiness report %s is %.1f days old; the limit is %.1f days: run the readiness playbook "
                       "again" % (report.get("run_id"), age / 86400, max_age_seconds / 86400))
    in_report = {h["host"] for h in report.get("hosts", [])}
    missing = sorted(h for h in hosts if h not in in_report)
    all_blockers = _blocking_findings(report, policy)
    blockers = {h: all_blockers[h] for h in list(hosts) + [HIERARCHY_HOST] if h in all_blockers}
    hierarchy_blocked = HIERARCHY_HOST in blockers
    blocked = set(hosts) if hierarchy_blocked else set(missing) | (set(blockers) & set(hosts))
    if policy.scope == "play" or hierarchy_blocked:
        if missing:
            reasons.append("hosts not in readiness report %s: %s" % (report.get("run_id"), ", ".join(missing)))
        if blockers:
            reasons.append("%d blocking finding(s) left unanswered on %s" % (
                sum(len(v) for v in blockers.values()), ", ".join(sorted(blockers))))
    elif blocked and blocked >= set(hosts):
        reasons.append("every host of the phase %s is blocked: %s" % (policy.name, ", ".join(sorted(blocked))))
    return GateResult(not reasons, reasons, blockers, report.get("run_id"), round(age / 3600, 2), sorted(blocked))
