"""What the site upgrade reads from the phases before it, each through one small function (docs/site_upgrade.md).

- :func:`readiness`: the readiness report, judged by the gate (``phases/gate.py`` ``evaluate_gate``) as the gate of
  every phase judges it: fresh, made with this upgrade plan, and nothing blocking on the site's hosts under the
  site_upgrade phase's policy for this wave; :func:`finding_status` reads one rule's finding for one host.
- :func:`vault_problems`: the preserve vault (``vault/manifest.py``): every category recorded for the host verifies.
- :func:`database_readiness`: **the integration point with the database phase** (``phases/database.py``, built
  separately). That phase keeps one record per SQL host at ``<vault>/<SITE>/<SQL host>/database-record.json``
  (schema ``sms.upgrade.database_record`` 1.x). Only these fields are read: ``steps.<name>.status`` and
  ``steps.<name>.at`` (ISO 8601) of the steps the site upgrade needs (``data/site_upgrade.yml``, preflight
  ``database_steps``), and the newest ``dumps[]`` entry with ``kind: baseline``, ``verified: true`` (its ``path``,
  ``at``, ``database``, ``sha256``): the baseline dump the recovery restores. A status of ``ok``, ``verified`` or
  ``changed`` at most ``max_age_days`` old counts as done.
"""
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp, parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, UnknownWave, load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_status import read_json_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import VaultError, host_dir, preservation

DATABASE_RECORD = "database-record.json"
DATABASE_RECORD_SCHEMA = "sms.upgrade.database_record"
DONE = ("ok", "verified", "changed")


def readiness(report_dir, hosts, max_age, now, plan_file, wave, phase="site_upgrade"):
    """``(report or None, [reason])``: a report that is fresh, made with the upgrade plan at ``plan_file`` and clears
    ``hosts`` for ``phase`` in ``wave`` gives no reason (no plan file: the whole inventory is one wave)."""
    # The gate reads the phase registry, which lists the room that calls this: imported when first used.
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import (  # pylint: disable=import-outside-toplevel
        GateError, evaluate_gate, load_report, parse_max_age, phase_policy)
    try:
        plan = load_plan(plan_file)
        report = load_report(report_dir)
        verdict = evaluate_gate(report, hosts, parse_max_age(max_age), now, phase_policy(phase), plan, plan.wave(wave).name)
    except (GateError, PlanError, UnknownWave) as exc:
        return None, [str(exc)]
    # The gate's summary lines are replaced by one line per host naming its blocking rules.
    reasons = [reason for reason in verdict.reasons if "blocking finding(s) left unanswered" not in reason
               and not reason.startswith("hosts not in readiness report")]
    for host in sorted(set(verdict.blocked_hosts) | set(verdict.blockers)):
        rules = [blocker.split(" ", 1)[0] for blocker in verdict.blockers.get(host) or []]
        reasons.append("%s: %s" % (host, "blocked by %s" % ", ".join(rules) if rules else
                                   "not in readiness report %s" % verdict.run_id))
    return report, reasons


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


def database_record_path(vault_dir, site, sql_host):
    return os.path.join(host_dir(vault_dir, site, sql_host), DATABASE_RECORD)


def _fresh(at, now, max_age_days):
    try:
        return (now - parse_timestamp(at)).total_seconds() <= max_age_days * 86400
    except (TypeError, ValueError):
        return False


def read_database_record(path):
    """The database phase's record, or None when there is none; ValueError names an unusable file."""
    return read_json_record(path, DATABASE_RECORD_SCHEMA, "database record")


def database_readiness(vault_dir, site, sql_host, steps, now, max_age_days):
    """``([reason], baseline dump or None)``: no reason when every step in ``steps`` is done and fresh."""
    try:
        path = database_record_path(vault_dir, site, sql_host)
        record = read_database_record(path)
    except (ValueError, VaultError) as exc:
        return [str(exc)], None
    if record is None:
        return ["no database preparation record %s: run sms.upgrade.database for %s first" % (path, sql_host)], None
    reasons = []
    for name in steps:
        step = (record.get("steps") or {}).get(name) or {}
        if step.get("status") not in DONE:
            reasons.append("database step %s is %s%s" % (name, step.get("status") or "not done",
                                                         ": %s" % step["message"] if step.get("message") else ""))
        elif not _fresh(step.get("at"), now, max_age_days):
            reasons.append("database step %s was done at %s, more than %s day(s) ago: run sms.upgrade.database again"
                           % (name, step.get("at"), max_age_days))
    dumps = [d for d in record.get("dumps") or [] if isinstance(d, dict) and d.get("kind") == "baseline" and d.get("verified")]
    baseline = max(dumps, key=lambda d: d.get("at") or "") if dumps else None
    if baseline is None:
        reasons.append("no verified baseline dump of the site database in %s" % path)
    return reasons, baseline
