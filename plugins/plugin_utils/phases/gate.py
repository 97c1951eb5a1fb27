"""The readiness gate: later phases run only on hosts with a fresh report and nothing blocking.

A phase's policy comes from its room (scope, the rules it requires) and from the rule catalog (the rules whose
``fixed_by`` names the phase: their findings never close its gate, the phase is what fixes them).

A run acts on one wave of the upgrade plan (``hierarchy/upgrade_plan.py``): :func:`scope_run` leaves out every host
outside the wave, each with the reason, and the gate then judges the wave's hosts. With a plan, the report must have
been made with this very plan (its SHA-256), the plan's own findings (``plan.*``) count for every phase, and a
hierarchy-wide finding counts only for the waves it blocks (``waves`` of the finding).
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
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import host_sites, window_dict
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import UnknownPhase, get_phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import LATEST

GateResult = namedtuple("GateResult", ["passed", "reasons", "blockers", "run_id", "age_hours", "blocked_hosts"])
PhasePolicy = namedtuple("PhasePolicy", ["name", "scope", "requires", "remediates"])
ANY_PHASE = PhasePolicy(None, "play", ("*",), ())
# Findings of the plan itself: with a plan, every phase needs them clear for its wave (the wave rests on the plan).
PLAN_RULES = ("plan.*",)
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


def _outside_wave(finding, wave):
    """A hierarchy-wide finding that names the waves it blocks, and not this one (reports before 1.1 name none)."""
    return wave is not None and finding.get("host") == HIERARCHY_HOST and "waves" in finding and wave not in finding["waves"]


def _blocking_findings(report, policy, wave=None):
    blockers = {}
    for finding in report.get("findings", []):
        rule = finding.get("rule", "")
        if not finding.get("blocks") or _matches(rule, policy.remediates) or not _matches(rule, policy.requires) \
                or _outside_wave(finding, wave):
            continue
        blockers.setdefault(finding["host"], []).append(
            "%s [%s] %s" % (rule, ", ".join(finding.get("checklist", [])), finding.get("message", "")))
    return blockers


def _plan_reasons(report, plan):
    """Why the report cannot vouch for this plan (made with another plan, or none); [] without a plan."""
    if plan is None or plan.implicit:
        return []
    made_with = (report.get("plan") or {}).get("sha256")
    if made_with == plan.sha256:
        return []
    return ["readiness report %s was made %s, not with upgrade plan %s as it is now: run the readiness playbook again so "
            "it checks this plan" % (report.get("run_id"), "with another version of the upgrade plan" if made_with else
                                     "without an upgrade plan", plan.source)]


def evaluate_gate(report, hosts, max_age_seconds, now, policy=ANY_PHASE, plan=None, wave=None):
    """Decide whether ``hosts`` may proceed under a phase ``policy``.

    Hierarchy-wide blockers apply to every host. With scope ``host`` the gate stays open for the hosts
    without blockers and lists the others in ``blocked_hosts``; a stale report closes it for all.
    With an upgrade ``plan`` and its ``wave`` (``hosts`` are the wave's: :func:`scope_run`), the report must have been
    made with this plan, the plan's findings count for every phase, and hierarchy-wide blockers only for their waves.
    """
    reasons = []
    age = (now - parse_timestamp(report["generated_at"])).total_seconds()
    if age > max_age_seconds:
        reasons.append("readiness report %s is %.1f days old; the limit is %.1f days: run the readiness playbook "
                       "again" % (report.get("run_id"), age / 86400, max_age_seconds / 86400))
    reasons += _plan_reasons(report, plan)
    if plan is not None and not plan.implicit:
        policy = policy._replace(requires=tuple(policy.requires) + PLAN_RULES)
    in_report = {h["host"] for h in report.get("hosts", [])}
    missing = sorted(h for h in hosts if h not in in_report)
    all_blockers = _blocking_findings(report, policy, wave if plan is not None and not plan.implicit else None)
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


# ------------------------------------------------------------------ the wave a run acts on
def scope_run(plan, wave_name, hosts, report, groups_sites):
    """``WaveScope`` of a run: the hosts of ``hosts`` in the wave, and why each other host is left out.

    A host's site is the one the report recorded from its snapshot, else its ``sms_site_XXX`` group's
    (``groups_sites``: host -> site code).
    """
    recorded = {h["host"]: h.get("site") for h in report.get("hosts", [])} if report else {}
    return plan.scope(wave_name, hosts, host_sites(hosts, recorded, groups_sites))


def announce(plan, scope, verdict, total):
    """One line for the start of a run: which wave, which sites, how many hosts it acts on and what is left out."""
    acting = len(scope.hosts) - len(verdict.blocked_hosts)
    left = ["%d outside the wave" % len(scope.left_out)] if scope.left_out else []
    left += ["%d not cleared by readiness report %s" % (len(verdict.blocked_hosts), verdict.run_id)] if verdict.blocked_hosts else []
    tail = "this run acts on %d of %d host(s) of the play%s." % (acting, total, " (left out: %s)" % ", ".join(left) if left else "")
    if plan.implicit:
        return "No upgrade plan: the whole inventory is one wave; %s" % tail
    window = window_dict(scope.wave.window)
    return "Wave %s of upgrade plan %s (window %s to %s): sites %s, in this order; %s" % (
        scope.wave.name, plan.source, window["start"], window["end"], ", ".join(e.site for e in scope.wave.sites), tail)
