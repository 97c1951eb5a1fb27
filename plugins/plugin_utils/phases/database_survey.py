"""The database phase's view of a SQL Server 6.5: the survey's queries, what they read (:class:`State`), the
phase's constants and step statuses (docs/database.md)."""

import copy
import math

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import phase_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import collection_version
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build, database as gathered, isql


MODULE = "sms.upgrade.database"
RECORD_VERSION = "1.0"
PAGES_PER_MB = 512
PAGE_BYTES = 2048
MB = 1024 * 1024
VDEVNO_DIVISOR = 2 ** 24
SEGMAP = {"data": 3, "log": 4, "data_and_log": 7}
MAIN_STEPS = ("safety_dump", "site_db_size", "tempdb", "transaction_log", "history", "duplicates", "consistency",
              "baseline_dump", "connections")
# What a step can end as. ``planned`` only in check mode; ``manual`` and ``needs_approval`` wait for a person.
GOOD = ("ok", "verified", "changed")
# A run fails on these; ``blocked`` (a step that could not be planned or waits for another) and ``unverified`` (a
# verify-only step whose query is not configured) are warnings, as are the statuses that wait for a person.
BAD = ("failed", "conflict", "findings")
WAITING = ("manual", "needs_approval", "open", "blocked", "unverified")


class DatabaseError(RuntimeError):
    """The host cannot run the phase at all (unusable options, client missing, server unreadable); names the cause."""


def step_spec(name):
    return next(step for step in phase_data()["steps"] if step["name"] == name)


def mb_of_pages(pages):
    return round(pages / PAGES_PER_MB, 2)


def ceil_mb(value):
    return int(math.ceil(value - 1e-9))


# ================================================================== the server as the survey reads it
class State:
    """What the survey read: the site_database snapshot (as the gather builds it) plus the exact pages, status bits,
    devices and this session's spid the statements are planned from."""

    def __init__(self, snapshot, fragments, devices, status, spid=None, master_used_pages=None, unused_records=None,
                 source="live"):
        self.snapshot = snapshot
        self.fragments = fragments          # [{database, segmap, pages, device}]
        self.devices = devices              # {name: {physical_name, vdevno, pages}}
        self.status = status                # {database (lower): status bits}
        self.spid = spid
        self.master_used_pages = master_used_pages
        self.unused_records = unused_records
        self.source = source

    @property
    def database(self):
        return self.snapshot["site_database"]

    def has_database(self, name):
        return any(f["database"].lower() == name.lower() for f in self.fragments)

    def pages(self, database, segment):
        """Pages of a database's data (every fragment but the log-only ones) or log (log-only fragments)."""
        wanted = [f for f in self.fragments if f["database"].lower() == database.lower()]
        if segment == "log":
            return sum(f["pages"] for f in wanted if f["segmap"] == SEGMAP["log"])
        return sum(f["pages"] for f in wanted if f["segmap"] != SEGMAP["log"])

    def used_pages(self, database):
        if database.lower() == "master":
            return self.master_used_pages
        entry = self._db(database)
        return None if not entry or entry.get("used_mb") is None else int(round(entry["used_mb"] * PAGES_PER_MB))

    def _db(self, name):
        return next((d for d in self.snapshot.get("databases") or [] if d["name"].lower() == name.lower()), None)

    def device_free_pages(self, device):
        spec = self.devices.get(device)
        if spec is None:
            return 0
        return spec["pages"] - sum(f["pages"] for f in self.fragments if f["device"] == device)

    def devices_of(self, database, segment):
        """Devices holding the database's ``segment`` (data: any non-log fragment; log: log-only ones), in order."""
        found = []
        for fragment in self.fragments:
            if fragment["database"].lower() != database.lower():
                continue
            is_log = fragment["segmap"] == SEGMAP["log"]
            if (segment == "log") == is_log and fragment["device"] not in found:
                found.append(fragment["device"])
        return found

    def option_on(self, database, option):
        bit = phase_data()["option_bits"][option]
        return bool(self.status.get(database.lower(), 0) & bit)


def survey_queries(sql_queries=None, phase_queries=None):
    """``[(name, sql)]``: the gather's queries (with the site's overrides) and the phase's own."""
    phase_queries = phase_queries or {}
    known = {q["name"] for q in phase_data()["queries"]}
    unknown = sorted(set(phase_queries) - known)
    if unknown:
        raise DatabaseError("sms_upgrade_database_queries names unknown queries: %s (known: %s)" % (
            ", ".join(unknown), ", ".join(sorted(known))))
    try:
        queries = build.sql_queries(sql_queries)
    except build.GatherError as exc:
        raise DatabaseError(str(exc)) from None
    extra = [(q["name"], phase_queries.get(q["name"], q["sql"])) for q in phase_data()["queries"]]
    return queries + [(name, sql) for name, sql in extra if sql]


def survey_batches(database, queries):
    """The survey as script text (read-only: every query checked by isql.build_script)."""
    try:
        return isql.build_script(queries, database)
    except isql.SqlScriptError as exc:
        raise DatabaseError(str(exc)) from None


def _rows(blocks, name, columns):
    if name not in blocks or isql.block_error(blocks[name]):
        return None
    sets = isql.result_sets(blocks[name])
    if not sets:
        return []
    return [row[:columns] for row in sets[0]["rows"] if len(row) >= columns]


def as_int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def read_state(output, database, queries, host, computer, now, site_code=None):
    """The State of the server from the survey's output; DatabaseError when the essentials cannot be read."""
    envelope = build.envelope("site_database", host, computer or host, iso_stamp(now), collection_version())
    try:
        snapshot = build.build_site_database(output, envelope, database, site_code=site_code, queries=queries)
    except (build.GatherError, gathered.SectionProblem) as exc:
        raise DatabaseError("the survey of %s could not be read: %s" % (computer or host, exc)) from None
    blocks = isql.split_output(output)
    usages = _rows(blocks, "usages", 4) or []
    fragments = [{"database": name, "segmap": as_int(segmap) or 0, "pages": as_int(size) or 0, "device": device}
                 for name, segmap, size, device in usages]
    devices = {}
    for name, phyname, low, high, cntrltype in _rows(blocks, "devices", 5) or []:
        if str(cntrltype).strip() == "0" and as_int(low) is not None and as_int(high) is not None:
            devices[name] = {"physical_name": phyname, "vdevno": as_int(low) // VDEVNO_DIVISOR,
                             "pages": as_int(high) - as_int(low) + 1}
    status_rows = _rows(blocks, "db_status", 2)
    if status_rows is None:
        raise DatabaseError("the database options (master..sysdatabases) of %s could not be read" % (computer or host))
    status = {name.lower(): as_int(bits) or 0 for name, bits in status_rows}
    spid = as_int(isql.first_value(blocks.get("spid", [])))
    master_used = as_int(isql.first_value(blocks.get("master_used", [])))
    unused = as_int(isql.first_value(blocks["unused_records"])) if "unused_records" in blocks and \
        not isql.block_error(blocks["unused_records"]) else None
    return State(snapshot, fragments, devices, status, spid, master_used, unused, "live")


def state_from_snapshot(snapshot):
    """The State a saved site_database snapshot describes (check mode of hosts in sms_snapshots_only): pages from MB."""
    fragments = []
    for db in snapshot.get("databases") or []:
        for device in db.get("devices") or []:
            fragments.append({"database": db["name"], "segmap": SEGMAP[device["segment"]],
                              "pages": int(round(device["size_mb"] * PAGES_PER_MB)), "device": device["device"]})
    devices = {d["name"]: {"physical_name": d.get("physical_name"), "vdevno": d.get("vdevno"),
                           "pages": int(round(d["size_mb"] * PAGES_PER_MB))} for d in snapshot.get("devices") or []}
    bits = phase_data()["option_bits"]
    status = {db["name"].lower(): sum(bit for option, bit in bits.items() if option in (db.get("options") or []))
              for db in snapshot.get("databases") or []}
    master = next((d for d in snapshot.get("databases") or [] if d["name"].lower() == "master"), {})
    used = master.get("used_mb")
    return State(copy.deepcopy(snapshot), fragments, devices, status, None,
                 None if used is None else int(round(used * PAGES_PER_MB)), None, "snapshot")
