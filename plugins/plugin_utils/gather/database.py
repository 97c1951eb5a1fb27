"""Turn the parsed isql blocks of a site-database gather into the ``site_database`` snapshot fields.

Units: SQL Server 6.5 pages are 2 KB, so 512 pages make 1 MB; a device's virtual device number is
``low / 2**24`` (SQL6x BOL, DISK INIT and sysdevices); sysusages ``segmap`` 4 is a log-only
fragment, a fragment that includes bit 4 and others holds data and log.
"""
import re
from datetime import datetime

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql

PAGES_PER_MB = 512
VDEVNO_DIVISOR = 2 ** 24
LOG_SEGMENT = 4
_VERSION = re.compile(r"(\d+\.\d+\.\d+)")
_DATETIME_FORMATS = ("%b %d %Y %I:%M%p", "%b %d %Y %I:%M:%S:%f%p", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S")
NO_OPTIONS = "no options set"


class SectionProblem(Exception):
    """One snapshot section could not be built: carries the schema cause and a message."""

    def __init__(self, cause, message):
        super().__init__(message)
        self.cause = cause
        self.message = message


def _number(value, what):
    try:
        return float(value) if "." in str(value) else int(value)
    except (TypeError, ValueError) as exc:
        raise SectionProblem("parse_error", "%s is not a number: %r" % (what, value)) from exc


def _rows(blocks, name, min_columns=0):
    if name not in blocks:
        raise SectionProblem("other", "query %s produced no output (isql stopped before it?)" % name)
    error = isql.block_error(blocks[name])
    if error:
        raise SectionProblem("not_found" if error[0] == 208 else "sql_error", "query %s: Msg %d: %s" % (name, error[0], error[1]))
    sets = isql.result_sets(blocks[name])
    if not sets:
        return [], []
    if len(sets[0]["columns"]) < min_columns:
        raise SectionProblem("parse_error", "query %s returned %d columns, expected %d"
                             % (name, len(sets[0]["columns"]), min_columns))
    return sets[0]["columns"], sets[0]["rows"]


def sql_version(blocks):
    """``{version, version_banner}`` from ``select @@version``."""
    if "version" not in blocks:
        raise SectionProblem("unreachable", "no output from the server (see the isql error)")
    error = isql.block_error(blocks["version"])
    if error:
        raise SectionProblem("sql_error", "select @@version: Msg %d: %s" % error)
    text = "\n".join(line for line in blocks["version"] if line.strip() and not set(line.strip()) <= {"-"})
    match = _VERSION.search(text)
    if not match:
        raise SectionProblem("parse_error", "no version number in %r" % text[:120])
    banner = next((line.strip() for line in text.splitlines() if match.group(1) in line), text.strip())
    return {"version": match.group(1), "version_banner": banner}


def devices(blocks):
    """Disk devices (cntrltype 0) with size and virtual device number."""
    dummy_columns, rows = _rows(blocks, "devices", 5)
    result = []
    for name, phyname, low, high, cntrltype in (row[:5] for row in rows):
        if str(cntrltype).strip() != "0":
            continue
        low, high = _number(low, "sysdevices.low"), _number(high, "sysdevices.high")
        result.append({"name": name, "physical_name": phyname, "size_mb": round((high - low + 1) / PAGES_PER_MB, 2),
                       "vdevno": low // VDEVNO_DIVISOR})
    return result


def _segment(segmap):
    if segmap == LOG_SEGMENT:
        return "log"
    return "data_and_log" if segmap & LOG_SEGMENT else "data"


def _options(status):
    if not status or status.strip().lower() == NO_OPTIONS:
        return []
    return [option.strip() for option in status.split(",") if option.strip()]


def databases(blocks, site_database):
    """Per database: sizes by segment, fragments, options that are on; used space of the site DB."""
    dummy_columns, usage_rows = _rows(blocks, "usages", 4)
    dummy_columns, helpdb_rows = _rows(blocks, "databases", 6)
    found = {}
    for dbname, segmap, size, device in (row[:4] for row in usage_rows):
        entry = found.setdefault(dbname, {"name": dbname, "data_mb": 0, "log_mb": 0, "used_mb": None,
                                          "options": [], "devices": []})
        segment = _segment(_number(segmap, "sysusages.segmap"))
        size_mb = round(_number(size, "sysusages.size") / PAGES_PER_MB, 2)
        entry["devices"].append({"device": device, "segment": segment, "size_mb": size_mb})
        entry["log_mb" if segment == "log" else "data_mb"] += size_mb
        if segment == "data_and_log":
            entry["log_shares_data_device"] = True
    for row in helpdb_rows:
        if row[0] in found:
            found[row[0]]["options"] = _options(row[5])
    if site_database in found:
        found[site_database]["used_mb"] = _used_mb(blocks)
    return [found[name] for name in sorted(found, key=lambda db: (db != site_database, db.lower()))]


def _used_mb(blocks):
    try:
        value = isql.first_value(_checked(blocks, "used"))
    except SectionProblem:
        return None
    return None if value is None else round(_number(value, "sysindexes reserved") / PAGES_PER_MB, 2)


def _checked(blocks, name):
    _rows(blocks, name)
    return blocks[name]


def connections(blocks):
    """Open connections as sp_who shows them (from master..sysprocesses, which also has the program)."""
    dummy_columns, rows = _rows(blocks, "connections", 7)
    keys = ("status", "login", "hostname", "program", "dbname", "cmd")
    return [dict({"spid": int(_number(row[0], "spid"))}, **{key: value or None for key, value in zip(keys, row[1:7])})
            for row in rows]


def tables(blocks):
    """User table names of the site database (run-time discovery of the 1.2 schema)."""
    dummy_columns, rows = _rows(blocks, "tables", 1)
    return [row[0] for row in rows if row[0]]


def _iso(value):
    text = " ".join(value.split())
    for fmt in _DATETIME_FORMATS:
        try:
            return iso_stamp(datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise SectionProblem("parse_error", "unrecognised date %r" % value)


def machine_history(blocks):
    """``{oldest}``: select min(TimeKey) from MachineDataHistoryTable (server local time)."""
    value = isql.first_value(_checked(blocks, "machine_history"))
    return {"oldest": None if value is None else _iso(value)}


def computer_count(blocks):
    value = isql.first_value(_checked(blocks, "computer_count"))
    return None if value is None else int(_number(value, "computer count"))


def _column(columns, candidates):
    lowered = [column.lower() for column in columns]
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered.index(candidate.lower())
    return None


def _is_system(row, where, system_types):
    """A system job: a true system column, else a NULL JobType (KB Q183236) or a system job type of the SMS API."""
    if where["system"] is not None:
        return str(row[where["system"]]).strip().lower() in ("1", "true", "yes")
    if where.get("type") is not None:
        kind = (row[where["type"]] or "").strip().lower()
        return kind == "" or kind in system_types
    return False


def jobs(blocks, column_candidates, inactive_statuses, system_types=()):
    """Map ``select * from Jobs`` by the first matching column names (UNCONFIRMED names); see gather.yml."""
    columns, rows = _rows(blocks, "jobs")
    where = {key: _column(columns, names) for key, names in column_candidates.items()}
    if where["id"] is None:
        raise SectionProblem("parse_error", "no job id column among %s; alias one AS ID in sms_upgrade_sql_queries.jobs"
                             % ", ".join(columns))
    inactive = {status.lower() for status in inactive_statuses}
    system_types = {kind.lower() for kind in system_types}
    result = []
    for row in rows:
        status = row[where["status"]] if where["status"] is not None else None
        target = row[where["target_sites"]] if where["target_sites"] is not None else None
        entry = {
            "id": row[where["id"]] or "",
            "name": row[where["name"]] if where["name"] is not None else None,
            "system": _is_system(row, where, system_types),
            "active": status is None or status.strip().lower() not in inactive,
            "status": status,
            "target_sites": [site.strip() for site in re.split(r"[,; ]+", target or "") if site.strip()],
        }
        if where.get("type") is not None:
            entry["type"] = row[where["type"]]
        result.append(entry)
    return result


def machine_groups(blocks):
    """Rows of the configured machine-group query: name[, id]."""
    dummy_columns, rows = _rows(blocks, "machine_groups", 1)
    return [{"name": row[0], "id": row[1] if len(row) > 1 else None} for row in rows if row[0]]


def duplicate_smsids(blocks):
    """Group the configured query's (smsid, machine) rows; keep SMSIDs held by two or more machines."""
    dummy_columns, rows = _rows(blocks, "duplicate_smsids", 2)
    held = {}
    for smsid, machine in (row[:2] for row in rows):
        if smsid and machine and machine not in held.setdefault(smsid, []):
            held[smsid].append(machine)
    return [{"smsid": smsid, "machines": machines} for smsid, machines in sorted(held.items()) if len(machines) > 1]
