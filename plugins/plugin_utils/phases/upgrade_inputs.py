"""What the site upgrade reads from the phases before it, each through one small function (docs/site_upgrade.md).

- :func:`readiness`: the readiness report, judged by the gate (``phases/gate.py`` ``evaluate_gate``) as the gate of
  every phase judges it: fresh, made for this inventory with this upgrade plan from the snapshots as they are now, and
  nothing blocking on the site's hosts under the site_upgrade phase's policy for this wave; :func:`finding_status` reads one rule's finding for one host.
- :func:`vault_problems`: the preserve vault (``vault/manifest.py``): every category recorded for the host verifies.
- :func:`database_readiness`: the database phase's record of the site's SQL Server, read by that phase's own functions
  (``phases/database_record.py``: ``record_path``, ``load_record``, ``latest_dump``, its ``GOOD`` statuses; freshness as the
  readiness rules judge it, ``assess/database_evidence.py``): the steps the site upgrade needs (``data/site_upgrade.yml``,
  preflight ``database_steps``) done at most ``max_age_days`` ago, and the newest verified baseline dump of the site
  database, the one the recovery restores.
"""
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import is_fresh
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, UnknownWave, load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_record import latest_dump, load_record, record_path
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_survey import GOOD, DatabaseError
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import VaultError, preservation


def readiness(report_dir, hosts, max_age, now, plan_file, wave, phase="site_upgrade", inventory=None):
    """``(report or None, [reason])``: a report that is fresh, made with the upgrade plan at ``plan_file`` (no plan file:
    the whole inventory is one wave), for the inventory whose sources are ``inventory`` (when given), from the snapshots
    as they are now, and clears ``hosts`` for ``phase`` in ``wave`` gives no reason."""
    # The gate reads the phase registry, which lists the room that calls this: imported when first used.
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import (  # pylint: disable=import-outside-toplevel
        GateError, evaluate_gate, load_report, parse_max_age, phase_policy)
    try:
        plan = load_plan(plan_file)
        report = load_report(report_dir)
        verdict = evaluate_gate(report, hosts, parse_max_age(max_age), now, phase_policy(phase), plan, plan.wave(wave).name,
                                inventory=inventory, verify_snapshots=True)
    except (GateError, PlanError, UnknownWave) as exc:
        return None, [str(exc)]
    # The gate's summary lines are replaced by one line per host naming its blocking rules.
    reasons = [reason for reason in verdict.reasons if "blocking finding(s) left unanswered" not in reason
               and not reason.startswith("hosts not in readiness report")]
    for host in sorted(set(verdict.blocked_hosts) | set(verdict.blockers)):
        reasons.append("%s: %s" % (host, _blocked_by(verdict.blockers.get(host) or []) or
                                   "not in readiness report %s" % verdict.run_id))
    return report, reasons


def _blocked_by(blockers):
    """``blocked by RULE, RULE; other reason`` from the gate's blockers (``RULE [checklist] message``, or a sentence such
    as a snapshot that changed since the report)."""
    rules, others = [], []
    for blocker in blockers:
        rule, rest = (blocker.split(" ", 1) + [""])[:2]
        if rest.startswith("["):
            rules.append(rule)
        else:
            others.append(blocker)
    return "; ".join((["blocked by %s" % ", ".join(rules)] if rules else []) + others)


def finding_status(report, host, rule):
    """``(status, message)`` of ``rule``'s finding for ``host`` in the report; ``(None, why)`` when it has none."""
    for finding in (report or {}).get("findings", []):
        if finding.get("host") == host and finding.get("rule") == rule:
            return finding.get("status"), finding.get("message")
    return None, "no finding of %s for %s in the readiness report" % (rule, host)


def vault_problems(vault_dir, hosts, now):
    """``{host: [problem]}`` for the hosts whose preserve vault does not verify (none recorded is a problem too)."""
    found = preservation(vault_dir, iso_stamp(now), set(hosts)) if vault_dir else {}
    problems = {}
    for host in hosts:
        categories = found.get(host)
        if not categories:
            problems[host] = ["nothing preserved in %s: run sms.upgrade.preserve first" % (vault_dir or "(no vault_dir)")]
            continue
        bad = ["%s: %s" % (name, "; ".join(entry["problems"][:2]) or "not verified")
               for name, entry in sorted(categories.items()) if not entry["verified"]]
        if bad:
            problems[host] = bad
    return problems


def _fresh(at, now, max_age_days):
    try:
        return is_fresh(at, now, max_age_days)
    except (TypeError, ValueError):
        return False


def database_readiness(vault_dir, site, sql_host, database, steps, now, max_age_days):
    """``([reason], baseline dump or None)``: no reason when every step in ``steps`` is done and fresh and the site
    database ``database`` has a verified baseline dump (the newest is returned)."""
    try:
        path = record_path(vault_dir, site, sql_host)
        if not os.path.exists(path):
            return ["no database preparation record %s: run sms.upgrade.database for %s first" % (path, sql_host)], None
        record = load_record(path)
    except (DatabaseError, VaultError) as exc:
        return [str(exc)], None
    reasons = []
    for name in steps:
        step = record["steps"].get(name) or {}
        if step.get("status") not in GOOD:
            reasons.append("database step %s is %s%s" % (name, step.get("status") or "not done",
                                                         ": %s" % step["message"] if step.get("message") else ""))
        elif not _fresh(step.get("at"), now, max_age_days):
            reasons.append("database step %s was done at %s, more than %s day(s) ago: run sms.upgrade.database again"
                           % (name, step.get("at"), max_age_days))
    baseline = latest_dump(record, "baseline", database)
    if baseline is None:
        reasons.append("no verified baseline dump of %s in %s" % (database, path))
    return reasons, baseline
