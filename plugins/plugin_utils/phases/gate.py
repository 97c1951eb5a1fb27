"""The readiness gate: later phases run only on hosts with a fresh report and nothing blocking.

A phase's policy comes from its room (scope, the rules it requires) and from the rule catalog (the rules whose
``fixed_by`` names the phase: their failures never close its gate, the phase is what fixes them; their errors do,
since what could not be read the phase can neither judge nor fix).

A run acts on one wave of the upgrade plan (``hierarchy/upgrade_plan.py``): :func:`scope_run` leaves out every host
outside the wave, each with the reason, and the gate then judges the wave's hosts. With a plan, the report must have
been made with this very plan (its SHA-256), the plan's own findings (``plan.*``) count for every phase, and a
hierarchy-wide finding counts only for the waves it blocks (``waves`` of the finding).

A report is trusted only as far as it holds together: :func:`load_report` refuses a malformed report with a clear
message (never a traceback) and recomputes every finding's ``blocks`` and the summary's counts from the findings
(a report edited by hand to look clean is refused). :func:`evaluate_gate` refuses a report dated in the future,
one made for another inventory (the directories of its recorded sources), and leaves out every host whose snapshot is no longer the
one the report assessed (its recorded SHA-256).
"""
import fnmatch
import hashlib
import os
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import host_sites, window_dict
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import UnknownPhase, get_phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import (
    LATEST, inventory_dirs, legacy_report, load_report_json, recorded_dirs)

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


STATUSES = ("pass", "fail", "not_applicable", "skipped", "error")
RERUN = "run the readiness playbook again"


# What the gate never reads of a finding: left out while the report is parsed (at 100,000 hosts a whole readiness.json
# is over 400 MB, several gigabytes as Python objects).
UNREAD_FINDING_FIELDS = ("evidence", "remediation", "references", "title")


def _without_unread(finding):
    """A finding without the fields the gate never reads."""
    for field in UNREAD_FINDING_FIELDS:
        finding.pop(field, None)
    return finding


def load_report(path):
    """Read a readiness report (a readiness.json, or a report directory holding latest.json) and check that it holds
    together (:func:`report_problems`); GateError names the file and the problem. The findings come without
    :data:`UNREAD_FINDING_FIELDS`."""
    if os.path.isdir(path) or not path.endswith(".json"):
        directory, path = path, os.path.join(path, LATEST)
        legacy = legacy_report(directory) if not os.path.exists(path) else None
        if legacy:
            raise GateError("no readiness report at %s: reports are kept per inventory now, and %s is from before (it "
                            "may be another inventory's): %s so that it writes to %s" % (path, legacy, RERUN, directory))
    if not os.path.exists(path):
        raise GateError("no readiness report at %s: run 'ansible-playbook -i <inventory> sms.upgrade.readiness "
                        "--check' first" % path)
    try:
        with open(path, encoding="utf-8") as handle:
            report = load_report_json(handle, _without_unread)
    except (OSError, ValueError, RecursionError) as exc:
        raise GateError("readiness report %s is unreadable: %s" % (path, shorten(exc, 300)))
    if not isinstance(report, dict) or str(report.get("schema_version", "")).split(".", maxsplit=1)[0] not in ("1", "2"):
        raise GateError("%s is not a readiness report of schema 1.x or 2.x" % path)
    problems = report_problems(report)
    if problems:
        raise GateError("readiness report %s cannot be trusted: %s%s; it is damaged or was changed after it was written: "
                        "%s" % (path, "; ".join(problems[:5]), " (and %d more)" % (len(problems) - 5) if len(problems) > 5
                                else "", RERUN))
    return report


def _shape_problems(report):
    """What a report must hold for the gate to read it at all."""
    problems = []
    if not isinstance(report.get("run_id"), str):
        problems.append("run_id is missing")
    try:
        parse_timestamp(report.get("generated_at"))
    except (TypeError, ValueError):
        problems.append("generated_at %s is not a time" % shorten(repr(report.get("generated_at")), 60))
    hosts, findings = report.get("hosts"), report.get("findings")
    if not isinstance(hosts, list) or not all(isinstance(h, dict) and isinstance(h.get("host"), str) for h in hosts):
        problems.append("'hosts' is not a list of hosts")
    if not isinstance(findings, list):
        return problems + ["'findings' is not a list"]
    for index, finding in enumerate(findings, start=1):
        if not isinstance(finding, dict) or not all(isinstance(finding.get(k), str) for k in ("host", "rule", "message")) \
                or finding.get("status") not in STATUSES or not isinstance(finding.get("blocking"), bool) \
                or not isinstance(finding.get("blocks"), bool) or not isinstance(finding.get("checklist", []), list):
            problems.append("finding #%d is malformed" % index)
    return problems


def should_block(finding):
    """Whether a finding blocks, from its status, its rule's blocking and its answer (as the assessment decides)."""
    return finding["blocking"] and (finding["status"] == "error" or (finding["status"] == "fail" and not finding.get("answer")))


def report_problems(report):
    """Why a report does not hold together: malformed, or ``blocks`` and the summary disagree with the findings."""
    problems = _shape_problems(report)
    if problems:
        return problems
    blocking_hosts = set()
    for finding in report["findings"]:
        if finding["blocks"] != should_block(finding):
            problems.append("finding %s of %s says blocks=%s, but a %s%s finding of a %sblocking rule %s" % (
                finding["rule"], finding["host"], str(finding["blocks"]).lower(), finding["status"],
                " answered" if finding.get("answer") else "", "" if finding["blocking"] else "non-",
                "blocks" if should_block(finding) else "does not block"))
        if should_block(finding):
            blocking_hosts.add(finding["host"])
    summary = report.get("summary")
    if isinstance(summary, dict):
        counted = (summary.get("counts") or {}).get("blocking") if isinstance(summary.get("counts"), dict) else None
        actual = sum(1 for f in report["findings"] if should_block(f))
        if counted is not None and counted != actual:
            problems.append("the summary counts %s blocking finding(s), the findings hold %d" % (counted, actual))
        hosts = [h for h in report["hosts"] if h.get("kind") != "hierarchy" and h["host"] != HIERARCHY_HOST]
        blocked = sum(1 for h in hosts if h["host"] in blocking_hosts)
        if "blocked_hosts" in summary and summary["blocked_hosts"] != blocked:
            problems.append("the summary counts %s blocked host(s), the findings block %d" % (summary["blocked_hosts"], blocked))
    for host in report["hosts"]:
        if "blocked" in host and host["blocked"] != (host["host"] in blocking_hosts):
            problems.append("host %s says blocked=%s, its findings say otherwise" % (host["host"], str(host["blocked"]).lower()))
    return problems


def snapshot_changes(report, hosts):
    """``{host: reason}`` for the hosts whose snapshot is no longer the file the report assessed (SHA-256)."""
    recorded = {h["host"]: h for h in report.get("hosts", [])}
    changed = {}
    for host in hosts:
        entry = recorded.get(host)
        if entry is None or entry.get("snapshot_sha256", "") is None:
            continue  # not in the report, or no snapshot was assessed: the report's own findings say so
        if "snapshot_sha256" not in entry:
            changed[host] = "readiness report %s does not record which snapshot of %s it assessed (made by an older " \
                            "version): %s" % (report.get("run_id"), host, RERUN)
            continue
        path, why = entry.get("snapshot"), "changed"
        try:
            with open(path, "rb") as handle:
                digest = hashlib.sha256(handle.read()).hexdigest()
        except (OSError, TypeError) as exc:
            digest, why = None, "cannot be read now (%s)" % shorten(exc, 200)
        if digest != entry["snapshot_sha256"]:
            changed[host] = "the snapshot of %s (%s) %s since readiness report %s assessed it: %s" % (
                host, path, why, report.get("run_id"), RERUN)
    return changed


def inventory_problem(report, sources):
    """Why the report cannot vouch for a run over the inventory ``sources`` (None when it can): the directories of the
    sources must be those the report records (report/store.inventory_dirs)."""
    recorded, wanted = recorded_dirs(report), inventory_dirs(sources)
    if recorded is None:
        return "readiness report %s does not record the inventory it was made for: %s" % (report.get("run_id"), RERUN)
    if recorded != wanted:
        return "readiness report %s was made for inventory %s, not %s: %s with this inventory" % (
            report.get("run_id"), ", ".join(recorded) or "(none)", ", ".join(wanted), RERUN)
    return None


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


def _counts(finding, policy):
    """Whether a blocking finding stops the phase: it must be one the phase requires clear. A failure the phase
    remediates does not stop it (the phase fixes it); an error does (what could not be read, the phase cannot judge or
    fix either: the gather must be fixed first)."""
    rule = finding.get("rule", "")
    if _matches(rule, policy.remediates):
        return finding.get("status") == "error"
    return _matches(rule, policy.requires)


def _blocking_findings(report, policy, wave=None):
    blockers = {}
    for finding in report.get("findings", []):
        rule = finding.get("rule", "")
        if not finding.get("blocks") or not _counts(finding, policy) or _outside_wave(finding, wave):
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


def evaluate_gate(report, hosts, max_age_seconds, now, policy=ANY_PHASE, plan=None, wave=None, inventory=None,
                  verify_snapshots=False):
    """Decide whether ``hosts`` may proceed under a phase ``policy``.

    Hierarchy-wide blockers apply to every host. With scope ``host`` the gate stays open for the hosts
    without blockers and lists the others in ``blocked_hosts``; a stale report, or one dated in the future, closes it
    for all. With an upgrade ``plan`` and its ``wave`` (``hosts`` are the wave's: :func:`scope_run`), the report must
    have been made with this plan, the plan's findings count for every phase, and hierarchy-wide blockers only for
    their waves. With ``inventory`` (the run's inventory sources) the report must have been made for it; with
    ``verify_snapshots`` a host whose snapshot changed since the report is blocked.
    """
    reasons = []
    age = (now - parse_timestamp(report["generated_at"])).total_seconds()
    if age > max_age_seconds:
        reasons.append("readiness report %s is %.1f days old; the limit is %.1f days: run the readiness playbook "
                       "again" % (report.get("run_id"), age / 86400, max_age_seconds / 86400))
    if age < 0:
        reasons.append("readiness report %s is dated %s, %.0f seconds after now (%s): a report from the future cannot "
                       "vouch for anything; check the controller's clock, then %s" % (
                           report.get("run_id"), report["generated_at"], -age, now.isoformat(), RERUN))
    if inventory is not None:
        reasons += [p for p in [inventory_problem(report, inventory)] if p]
    reasons += _plan_reasons(report, plan)
    if plan is not None and not plan.implicit:
        policy = policy._replace(requires=tuple(policy.requires) + PLAN_RULES)
    in_report = {h["host"] for h in report.get("hosts", [])}
    missing = sorted(h for h in hosts if h not in in_report)
    all_blockers = _blocking_findings(report, policy, wave if plan is not None and not plan.implicit else None)
    if verify_snapshots:
        for host, why in snapshot_changes(report, hosts).items():
            all_blockers.setdefault(host, []).append(why)
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
