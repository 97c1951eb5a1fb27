"""The database phase's record next to the host's vault manifest: where it is, reading and writing it, the latest
verified dump, and what a result is of (fingerprint, freshness)."""

import json
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import RECORD, RECORD_SCHEMA
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_survey import DatabaseError, RECORD_VERSION
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import host_dir, make_private_dirs


# ================================================================== the record next to the vault manifest
def record_path(vault_root, site, host):
    return os.path.join(host_dir(vault_root, site, host), RECORD)


def find_record(vault_root, host):
    """The path of a host's record under any site of the vault, or None."""
    if not vault_root or not os.path.isdir(vault_root):
        return None
    found = sorted(os.path.join(vault_root, site, host, RECORD) for site in os.listdir(vault_root)
                   if os.path.isfile(os.path.join(vault_root, site, host, RECORD)))
    return found[0] if found else None


def load_record(path):
    """The host's database record, or an empty one; an unreadable file is an error naming it (never overwritten)."""
    if not os.path.exists(path):
        return {"schema": RECORD_SCHEMA, "schema_version": RECORD_VERSION, "dumps": [], "steps": {}}
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DatabaseError("the database record %s is unreadable: %s; move it away to start a new one" % (path, exc)) from None
    if not isinstance(record, dict) or record.get("schema") != RECORD_SCHEMA or \
            str(record.get("schema_version", "")).split(".", maxsplit=1)[0] != "1":
        raise DatabaseError("%s is not an sms.upgrade database record of schema 1.x" % path)
    record.setdefault("dumps", [])
    record.setdefault("steps", {})
    return record


def save_record(path, record):
    make_private_dirs(os.path.dirname(path))
    replace_atomically(path, json.dumps(record, indent=1, sort_keys=True) + "\n")


def latest_dump(record, kind, database):
    found = [d for d in record.get("dumps") or [] if d["kind"] == kind and d["database"].lower() == database.lower()
             and d.get("verified")]
    return max(found, key=lambda d: d["at"]) if found else None


def fingerprint(state):
    """What a dump or DBCC result is of: the site database's and tempdb's pages and options, its history and duplicates.
    A result of another fingerprint is stale (the phase or a person changed the database since)."""
    site = state.database
    return {"site_pages": [state.pages(site, "data"), state.pages(site, "log")],
            "tempdb_pages": [state.pages("tempdb", "data"), state.pages("tempdb", "log")],
            "site_status": state.status.get(site.lower(), 0), "tempdb_status": state.status.get("tempdb", 0),
            "history_oldest": (state.snapshot.get("machine_history") or {}).get("oldest"),
            "duplicates": len(state.snapshot.get("duplicate_smsids") or []), "unused_records": state.unused_records}


def fresh(at, now, max_age_days, after=None):
    """True when ``at`` is within the max age and not older than ``after`` (both ISO stamps)."""
    if not at:
        return False
    moment = parse_timestamp(at)
    if after and moment < parse_timestamp(after):
        return False
    return (now - moment).total_seconds() <= max_age_days * 86400
