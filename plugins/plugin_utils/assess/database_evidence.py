"""What the database phase verified, for the readiness rules of the site database (PRE-14 to PRE-16, PRE-29,
PRE-30, PRE-32, UPG-07).

The phase keeps one record per SQL host next to the host's vault manifest (``<vault>/<SITE>/<host>/database-record.json``):
the server as it read it back after its changes (a ``site_database`` snapshot), the dumps it verified, the DBCC
findings, the lab rehearsal and each step's status. A rule reads the newer of the gathered snapshot and that
read-back, and the phase's results count while they are fresh (``database_results_max_age_days``: the seed asks for
the maintenance "shortly before" the upgrade). A record that cannot be read is evidence of nothing: the rule says so.
"""
import fnmatch
import functools
import json
import os
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml

RECORD = "database-record.json"
RECORD_SCHEMA = "sms.upgrade.database_record"
_SITE = re.compile(r"^[A-Za-z0-9]{3}$")


@functools.lru_cache(maxsize=1)
def phase_data():
    """The database phase's data file (connections, steps)."""
    return read_yaml("database.yml")


def load_records(vault_root, hosts=None):
    """``{host: record}`` of every database record under the vault; an unreadable one is ``{"unreadable": cause}``."""
    found = {}
    if not vault_root or not os.path.isdir(vault_root):
        return found
    for site in sorted(os.listdir(vault_root)):
        site_dir = os.path.join(vault_root, site)
        if not _SITE.match(site) or not os.path.isdir(site_dir):
            continue
        for host in sorted(os.listdir(site_dir)):
            path = os.path.join(site_dir, host, RECORD)
            if (hosts is not None and host not in hosts) or not os.path.isfile(path):
                continue
            found[host] = _read(path)
    return found


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError, RecursionError) as exc:
        return {"unreadable": "%s: %s" % (path, str(exc)[:300])}
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA:
        return {"unreadable": "%s is not an sms.upgrade database record" % path}
    return record


def _age_days(at, now):
    return (now - parse_timestamp(at)).total_seconds() / 86400.0


def is_fresh(at, now, max_days):
    return bool(at) and _age_days(at, now) <= max_days


def effective_snapshot(snapshot, record, now, max_days):
    """``(snapshot, note)``: the phase's read-back when it is fresh and newer than the gathered snapshot, else the
    snapshot itself; ``note`` says where the values come from (empty for the gathered snapshot)."""
    state = (record or {}).get("state")
    if not state or not state.get("collected_at") or not is_fresh(state["collected_at"], now, max_days):
        return snapshot, ""
    gathered = snapshot.get("collected_at")
    if gathered and parse_timestamp(gathered) >= parse_timestamp(state["collected_at"]):
        return snapshot, ""
    return state, " (read back by the database phase at %s)" % state["collected_at"]


def blocking_connections(snapshot, sms_programs, own_spid=None, data=None):
    """Connections to the site database that would keep CONV20 from single-user mode: not the SMS services' own (by
    program name, ``sms_programs``), not SQL Server's system processes and not the phase's own session."""
    spec = (data or phase_data())["connections"]
    programs = [p.upper() for p in sms_programs]
    system = {c.upper() for c in spec["system_commands"]}
    site = (snapshot.get("site_database") or "").lower()
    found = []
    for conn in snapshot.get("connections") or []:
        if (conn.get("dbname") or "").lower() != site or conn["spid"] == own_spid:
            continue
        if (conn.get("cmd") or "").strip().upper() in system:
            continue
        if any(fnmatch.fnmatchcase((conn.get("program") or "").strip().upper(), p) for p in programs):
            continue
        found.append(conn)
    return found


# ------------------------------------------------------------------ the phase's verified results
def _dump_state(record, now, max_days):
    """What a fresh verified baseline dump of the site database and master says, or why there is none."""
    database = record.get("database")
    dumps = {}
    for dump in record.get("dumps") or []:
        if dump.get("kind") == "baseline" and dump.get("verified"):
            current = dumps.get(dump["database"].lower())
            if current is None or dump["at"] > current["at"]:
                dumps[dump["database"].lower()] = dump
    missing = [name for name in (database or "site database", "master") if name.lower() not in dumps]
    if missing:
        return None, "no verified baseline dump of %s" % " and ".join(missing)
    stale = [d for d in dumps.values() if not is_fresh(d["at"], now, max_days)]
    if stale:
        return None, "the baseline dump is from %s, older than %s days" % (stale[0]["at"], max_days)
    site = dumps[database.lower()]
    return site, None


def _step(record, name, now, max_days):
    step = (record.get("steps") or {}).get(name) or {}
    if not step:
        return None, "step %s has not run" % name
    if not is_fresh(step.get("at"), now, max_days):
        return None, "step %s last ran at %s, more than %s days ago" % (name, step.get("at"), max_days)
    if step["status"] not in ("ok", "verified"):
        return None, "step %s: %s (%s)" % (name, step["status"], step.get("message"))
    return step, None


def _consistency(record, now, max_days):
    dbcc = record.get("consistency") or {}
    if not dbcc:
        return None, "DBCC has not run"
    if not is_fresh(dbcc.get("at"), now, max_days):
        return None, "DBCC ran at %s, more than %s days ago" % (dbcc.get("at"), max_days)
    if not dbcc.get("clean"):
        errors = [f for f in dbcc.get("findings") or [] if f.get("level", 0) >= phase_data()["dbcc"]["error_level"]]
        return None, "DBCC found %d error(s): %s" % (len(errors), "; ".join(
            "%s Msg %s: %s" % (f.get("command"), f.get("number"), f.get("text")) for f in errors[:3]))
    return dbcc, None


def _no_record(record):
    """Why a record is evidence of nothing (missing or unreadable), or None."""
    if not record:
        return "the database phase has not run on this host"
    return record.get("unreadable")


def _sorted(record, checks):
    """``(done, open)``: each check gives ``(text, None)`` when it holds, else ``(None, why)``."""
    if _no_record(record):
        return [], [_no_record(record)]
    done, missing = [], []
    for check in checks:
        text, why = check()
        (done if text else missing).append(text or why)
    return done, missing


def _held(found_why, text):
    """``(text % found, None)`` when found, else ``(None, why)``."""
    found, why = found_why
    return (text(found), None) if found else (None, why)


def routine_maintenance(record, now, max_days):
    """PRE-16: a clean DBCC, no duplicates left, the site and master databases dumped - all fresh. ``(done, open)``."""
    return _sorted(record, [
        lambda: _held(_consistency(record, now, max_days),
                      lambda d: "DBCC CHECKDB, NEWALLOC and CHECKCATALOG clean at %s" % d["at"]),
        lambda: _held(_dump_state(record, now, max_days), lambda d: "site and master databases dumped and verified at %s" % d["at"]),
        lambda: _held(_step(record, "duplicates", now, max_days), lambda s: "no duplicate SMSID at %s" % s["at"]),
    ])


def site_data_prepared(record, now, max_days):
    """PRE-29 (the database part): baseline, tempdb, log, history and unused records, DBCC and the lab rehearsal."""
    steps = [lambda name=name: _held(_step(record, name, now, max_days),
                                     lambda s, name=name: "%s verified at %s" % (name.replace("_", " "), s["at"]))
             for name in ("tempdb", "transaction_log", "history")]
    return _sorted(record, [
        lambda: _held(_dump_state(record, now, max_days), lambda d: "site database dumped and verified at %s" % d["at"]),
    ] + steps + [
        lambda: _held(_consistency(record, now, max_days), lambda d: "DBCC clean at %s" % d["at"]),
        lambda: conversion_tested(record, now, max_days),
    ])


def conversion_tested(record, now, max_days):
    """PRE-32: a clean rehearsal (LOAD on a lab server, CONV20.EXE, Conv20.log without findings), fresh.
    ``(text, None)`` when it holds, else ``(None, why)``."""
    if _no_record(record):
        return None, _no_record(record)
    rehearsal = record.get("rehearsal") or {}
    if not rehearsal:
        return None, "no conversion rehearsal yet (the playbook runs it on the first host of sms_lab_sql)"
    if not is_fresh(rehearsal.get("at"), now, max_days):
        return None, "the rehearsal ran at %s, more than %s days ago" % (rehearsal.get("at"), max_days)
    if not rehearsal.get("clean"):
        return None, "the rehearsal on %s found: %s" % (rehearsal.get("lab_server"), "; ".join(
            f.get("text") or "" for f in (rehearsal.get("findings") or [])[:3]))
    return "CONV20.EXE converted the baseline %s cleanly on %s at %s" % (
        rehearsal.get("baseline_path"), rehearsal.get("lab_server"), rehearsal["at"]), None
