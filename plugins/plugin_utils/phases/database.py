"""The site database preparation phase (PRE-14 to PRE-16, PRE-29, PRE-30, PRE-32, UPG-07, FAQ-01): its room.

One SQL Server 6.5 per host, through the isql/osql channel of the gather: every script is built and checked here,
run in one client session by the module ``sms.upgrade.database`` (on the SQL host, or on its relay acting on
``computer``), and its output is parsed here. The steps (``data/database.yml``, docs/database.md):

1. **safety_dump**: the site database and master dumped to files named for the run, after a free-space check,
   verified with LOAD HEADERONLY, sized and hashed, recorded next to the host's vault manifest; taken in every run
   that changes something, before the first change: it is the rollback point of every later step.
2. **site_db_size** (PRE-14), 3. **tempdb** (PRE-15, PRE-29), 4. **transaction_log** (PRE-29): planned from a survey
   of the server (the gather's queries plus the phase's), applied compare-and-set (each statement runs in a T-SQL
   ``if`` that checks, in the same session, that the server still holds what the plan was made from), verified by
   reading the server back in the same session, journaled with how to undo it (or why it cannot be undone).
5. **history** and 6. **duplicates** (PRE-29, PRE-30): no supported SQL way exists; the phase says what a person
   does (Delete Special in 30-day steps, DBClean, SMS Administrator and the clones' SMS.INI) and verifies the result
   from the database.
7. **consistency** (PRE-16): DBCC CHECKDB, NEWALLOC, CHECKCATALOG; every Msg line is a finding, an error blocks.
8. **baseline_dump**: the site database and master again once the above holds, the rollback point of the upgrade.
9. **rehearsal** (PRE-32): on a lab SQL Server (its own task, delegated to the lab server or its relay) the baseline
   dump is loaded and CONV20.EXE run against it; its log becomes findings. Production is never touched.
10. **connections** (UPG-07, FAQ-01): the connections that would keep CONV20 from single-user mode, by program and
    host; KILL only for the spids the operator lists. The phase never sets single-user mode.

Check mode plans every step (the exact statements, and why) from a live survey, or from the saved snapshot for hosts
in ``sms_snapshots_only``, and changes nothing. A second run finds everything in place and changes nothing.
"""
import copy
import datetime
import json
import math
import ntpath
import os
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import (
    RECORD, RECORD_SCHEMA, blocking_connections, phase_data)
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.sizing import site_db_sizing, tempdb_sizing
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp, iso_stamp, parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import collection_version
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build, isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import database as gathered
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, resolve_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import read_record, record_paths, write_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import host_dir, make_private_dirs

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


def _mb(pages):
    return round(pages / PAGES_PER_MB, 2)


def _ceil_mb(value):
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


def _int(value):
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
    fragments = [{"database": name, "segmap": _int(segmap) or 0, "pages": _int(size) or 0, "device": device}
                 for name, segmap, size, device in usages]
    devices = {}
    for name, phyname, low, high, cntrltype in _rows(blocks, "devices", 5) or []:
        if str(cntrltype).strip() == "0" and _int(low) is not None and _int(high) is not None:
            devices[name] = {"physical_name": phyname, "vdevno": _int(low) // VDEVNO_DIVISOR,
                             "pages": _int(high) - _int(low) + 1}
    status_rows = _rows(blocks, "db_status", 2)
    if status_rows is None:
        raise DatabaseError("the database options (master..sysdatabases) of %s could not be read" % (computer or host))
    status = {name.lower(): _int(bits) or 0 for name, bits in status_rows}
    spid = _int(isql.first_value(blocks.get("spid", [])))
    master_used = _int(isql.first_value(blocks.get("master_used", [])))
    unused = _int(isql.first_value(blocks["unused_records"])) if "unused_records" in blocks and \
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


# ================================================================== changes (compare-and-set statements)
def _q(text):
    return isql.quote(text)


def cond_pages(database, segment, pages):
    op = "=" if segment == "log" else "!="
    return "(select isnull(sum(size), 0) from master..sysusages where dbid = db_id(%s) and segmap %s 4) = %d" % (
        _q(database), op, pages)


def cond_option(database, option, on):
    bit = phase_data()["option_bits"][option]
    return "(select status & %d from master..sysdatabases where name = %s) = %d" % (bit, _q(database), bit if on else 0)


def cond_device(name, exists=True):
    return "%sexists (select * from master..sysdevices where name = %s)" % ("" if exists else "not ", _q(name))


def cond_vdevno_free(vdevno):
    return "not exists (select * from master..sysdevices where cntrltype = 0 and low / %d = %d)" % (VDEVNO_DIVISOR, vdevno)


def cond_device_unused(name):
    return ("not exists (select * from master..sysusages u, master..sysdevices v where v.name = %s "
            "and u.vstart between v.low and v.high)" % _q(name))


def cond_fragment_on(database, device):
    return ("exists (select * from master..sysusages u, master..sysdevices v where u.dbid = db_id(%s) and v.name = %s "
            "and u.vstart between v.low and v.high)" % (_q(database), _q(device)))


def cond_process(connection):
    values = (connection["spid"], _q(connection.get("program") or ""), _q(connection.get("hostname") or ""),
              _q(connection.get("login") or ""))
    return ("exists (select * from master..sysprocesses where spid = %d and program_name = %s and hostname = %s "
            "and suser_name(suid) = %s)" % values)


def cond_database(name, exists=True):
    return "%sexists (select * from master..sysdatabases where name = %s)" % ("" if exists else "not ", _q(name))


def cond_not_in_use(database):
    return "not exists (select * from master..sysprocesses where dbid = db_id(%s) and spid != @@spid)" % _q(database)


def change(step, cid, kind, description, conditions, statement, procedure=False, undo=None, irreversible=None,
           expect=None):
    """One compare-and-set change. ``undo`` is the change that reverts it (None: ``irreversible`` says why not)."""
    return {"id": "%s:%s" % (step, cid), "step": step, "kind": kind, "description": description,
            "conditions": list(conditions), "statement": statement, "procedure": procedure, "undo": undo,
            "irreversible": irreversible, "expect": expect or {}}


def option_change(step, database, option, on):
    verb = "on" if on else "off"
    undo = option_change(step, database, option, not on) if on else None
    made = change(step, "%s.%s" % (database.lower(), re.sub(r"[^a-z]+", "_", option.lower()).strip("_")), "dboption",
                  "%s: '%s' %s" % (database, option, verb), [cond_option(database, option, not on)],
                  "master..sp_dboption %s, %s, %s" % (_q(database), _q(option), _q("true" if on else "false")),
                  procedure=True, undo=undo, expect={"database": database, "option": option, "on": on})
    if undo:
        undo["id"] = made["id"] + ":undo"
    return made


def kill_change(step, connection):
    return change(step, "kill.%d" % connection["spid"], "kill", "KILL spid %d (%s on %s, login %s)" % (
        connection["spid"], connection.get("program") or "?", connection.get("hostname") or "?",
        connection.get("login") or "?"), [cond_process(connection)], "KILL %d" % connection["spid"],
        irreversible="a killed connection cannot be restored; SQL Server rolls back its open transaction",
        expect={"spid": connection["spid"]})


NOT_SHRINKABLE = ("a database fragment cannot be taken back in SQL Server 6.5 (only by dropping and re-creating the "
                  "database); the safety dump restores the data, not the size")


def new_device_changes(step, database, segment, name, path, vdevno, mb, current_pages, add_only=False):
    """DISK INIT a new device and ALTER DATABASE onto it (and sp_logdevice for a log): three changes in order."""
    pages = mb * PAGES_PER_MB
    drop = change(step, "%s.drop" % name.lower(), "dropdevice", "sp_dropdevice %s (the file %s stays: delete it by hand)"
                  % (name, path), [cond_device(name), cond_device_unused(name)], "master..sp_dropdevice %s" % _q(name),
                  procedure=True, expect={"device": name, "exists": False})
    init = change(step, "%s.init" % name.lower(), "disk_init", "DISK INIT device %s, %d MB, %s (VDEVNO %d)" % (
        name, mb, path, vdevno), [cond_device(name, False), cond_vdevno_free(vdevno)],
        "DISK INIT NAME = %s, PHYSNAME = %s, VDEVNO = %d, SIZE = %d" % (_q(name), _q(isql.check_path(path)), vdevno, pages),
        undo=drop, expect={"device": name, "exists": True, "path": path, "mb": mb})
    changes = [init] if not add_only else []
    changes.append(alter_change(step, database, segment, name, mb, current_pages))
    if segment == "log":
        changes.append(change(step, "%s.logdevice" % name.lower(), "logdevice", "sp_logdevice %s, %s (the new fragment "
                              "holds the log)" % (database, name), [cond_fragment_on(database, name)],
                              "master..sp_logdevice %s, %s" % (_q(database), _q(name)), procedure=True,
                              irreversible="sp_logdevice cannot be undone; the fragment stays in the log segment",
                              expect={"database": database, "device": name, "segment": "log"}))
    return changes


def alter_change(step, database, segment, device, mb, current_pages):
    return change(step, "%s.%s.%s" % (database.lower(), segment, device.lower()), "alter_database",
                  "ALTER DATABASE %s ON %s = %d MB (%s %s -> %s MB)" % (
                      database, device, mb, segment, _mb(current_pages), _mb(current_pages + mb * PAGES_PER_MB)),
                  [cond_pages(database, segment, current_pages), cond_device(device)],
                  "ALTER DATABASE %s ON %s = %d" % (isql.check_identifier(database), isql.check_identifier(device), mb),
                  irreversible=NOT_SHRINKABLE,
                  expect={"database": database, "segment": segment, "device": device,
                          "pages_at_least": current_pages + mb * PAGES_PER_MB})


def change_batches(changes):
    """The script text of a list of changes, each its own compare-and-set batch (block ``c:<id>``)."""
    return "".join(isql.batch("c:%s" % c["id"], isql.guarded(c["conditions"], c["statement"], c["procedure"]))
                   for c in changes)


def statement_text(c):
    """The statement as an operator would run it (for the plan and the diff)."""
    return ("EXEC %s" % c["statement"]) if c["procedure"] else c["statement"]


def in_place(c, state):
    """Whether the server (read back) holds what ``c`` makes; None when the read-back cannot tell."""
    expect = c.get("expect") or {}
    kind = c["kind"]
    if kind in ("disk_init", "dropdevice"):
        return (expect["device"] in state.devices) == expect["exists"]
    if kind == "alter_database":
        return state.pages(expect["database"], expect["segment"]) >= expect["pages_at_least"]
    if kind == "logdevice":
        return expect["device"] in state.devices_of(expect["database"], "log")
    if kind == "dboption":
        return state.option_on(expect["database"], expect["option"]) == expect["on"]
    if kind == "kill":
        return all(conn["spid"] != expect["spid"] for conn in state.snapshot.get("connections") or [])
    if kind == "load":
        return None
    return None


# ================================================================== planning the changing steps
class Planner:
    """Plans steps 2-4 and 10 from a State; new devices get names and VDEVNOs no other planned device takes."""

    def __init__(self, state, options, params):
        self.state = state
        self.o = options
        self.params = params
        self.taken_names = {name.upper() for name in state.devices}
        self.taken_vdevnos = {d["vdevno"] for d in state.devices.values() if d.get("vdevno") is not None}
        self.new_files = []       # [(path, mb)] physical files a plan creates (checked absent, with free space)
        self.growth = {}          # {(database, segment): pages} this plan adds (later steps size from the result)
        self.claimed = set()      # spare devices this plan uses

    def pages_after(self, database, segment):
        """A database's pages once the changes planned so far are applied."""
        return self.state.pages(database, segment) + self.growth.get((database.lower(), segment), 0)

    # -------------------------------------------------------------- devices
    def _vdevno(self):
        for number in range(1, phase_data()["devices"]["max_vdevno"] + 1):
            if number not in self.taken_vdevnos:
                self.taken_vdevnos.add(number)
                return number
        raise isql.SqlScriptError("no free VDEVNO between 1 and 255")

    def _spare_device(self, database, segment, mb):
        """An unused device this phase named for the database and segment (a DISK INIT whose ALTER DATABASE did not
        follow: a conflict, a session cut short) with room for ``mb``: used instead of initialising another one."""
        base = self._base_name(database, segment).upper()
        for name in sorted(self.state.devices):
            if re.match(r"^%s\d*$" % re.escape(base), name.upper()) and \
                    not any(f["device"] == name for f in self.state.fragments) and \
                    self.state.device_free_pages(name) >= mb * PAGES_PER_MB and name.upper() not in self.claimed:
                self.claimed.add(name.upper())
                return name
        return None

    @staticmethod
    def _base_name(database, segment):
        spec = phase_data()["devices"]
        if database.lower() == "tempdb":
            return spec["tempdb_names"][segment]
        return spec["name_pattern"].format(database=database, segment=segment.upper(), n="")

    def _name(self, database, segment):
        base = self._base_name(database, segment)
        for n in [""] + [str(i) for i in range(2, 100)]:
            name = base + n
            if len(name) <= 30 and name.upper() not in self.taken_names:
                self.taken_names.add(name.upper())
                return isql.check_identifier(name)
        raise isql.SqlScriptError("no free device name for %s %s" % (database, segment))

    def _directory(self, segment):
        """Where a new device goes: the option, else beside the site database's first device of that segment."""
        if self.o.get("device_dir"):
            return isql.check_path(self.o["device_dir"]).rstrip("\\")
        site = self.state.database
        other = "data" if segment == "log" else "log"
        for device in self.state.devices_of(site, segment) + self.state.devices_of(site, other):
            path = (self.state.devices.get(device) or {}).get("physical_name")
            if path and device.lower() != "master":
                return ntpath.dirname(path)
        raise isql.SqlScriptError("the site database's device directory is unknown: set database_device_dir")

    def grow(self, step, database, segment, mb, avoid_master=False):
        """Changes that add ``mb`` MB to a database's data or log: on a device of that segment with room, else new."""
        current = self.state.pages(database, segment)
        self.growth[(database.lower(), segment)] = self.growth.get((database.lower(), segment), 0) + mb * PAGES_PER_MB
        for device in self.state.devices_of(database, segment):
            if avoid_master and device.lower() == "master":
                continue
            if self.state.device_free_pages(device) >= mb * PAGES_PER_MB:
                return [alter_change(step, database, segment, device, mb, current)]
        spare = self._spare_device(database, segment, mb)
        if spare:
            return new_device_changes(step, database, segment, spare, self.state.devices[spare]["physical_name"], 0, mb,
                                      current, add_only=True)
        name = self._name(database, segment)
        path = ntpath.join(self._directory(segment), name + ".DAT")
        self.new_files.append((path, mb))
        return new_device_changes(step, database, segment, name, path, self._vdevno(), mb, current)

    # -------------------------------------------------------------- steps
    def site_db_size(self):
        """PRE-14: data >= 100 KB per computer, log >= 10 % of the data (after growth)."""
        db = self.state.database
        computers = self.state.snapshot.get("computer_count")
        if computers is None:
            return [], "blocked", "the computer count is unknown (query computer_count, UNCONFIRMED): set " \
                "sms_upgrade_sql_queries.computer_count", {}
        need = site_db_sizing(computers)
        data, log = self.state.pages(db, "data"), self.state.pages(db, "log")
        want_data = max(data, need["data_mb"] * PAGES_PER_MB)
        want_log = max(log, _ceil_mb(max(need["log_mb"], want_data / PAGES_PER_MB * need["basis"]["log_ratio"])) * PAGES_PER_MB)
        facts = {"computers": computers, "data_mb": _mb(data), "log_mb": _mb(log), "need_data_mb": _mb(want_data),
                 "need_log_mb": _mb(want_log)}
        changes = []
        if want_data > data:
            changes += self.grow("site_db_size", db, "data", _ceil_mb((want_data - data) / PAGES_PER_MB))
        if want_log > log:
            changes += self.grow("site_db_size", db, "log", _ceil_mb((want_log - log) / PAGES_PER_MB))
        text = "%s: data %g MB, log %g MB for %d computers; needs data >= %g MB, log >= %g MB" % (
            db, facts["data_mb"], facts["log_mb"], computers, facts["need_data_mb"], facts["need_log_mb"])
        return changes, "ok" if not changes else "planned", text, facts

    def tempdb(self):
        """PRE-15/PRE-29: tempdb data >= 20 % of the site data, log from that, >= 20 % of all databases; off master;
        'select into/bulkcopy' on."""
        state, site = self.state, self.state.database
        if not state.has_database("tempdb"):
            return [], "blocked", "tempdb is not in master..sysusages of this server", {}
        need = tempdb_sizing(self.pages_after(site, "data") / PAGES_PER_MB)
        others = sum(self.pages_after(f, "data") + self.pages_after(f, "log") for f in {x["database"] for x in state.fragments}
                     if f.lower() != "tempdb") / PAGES_PER_MB
        total_need = _ceil_mb(others * self.params["tempdb_all_databases_ratio"])
        need_data = max(need["tempdb_data_mb"], total_need - need["tempdb_log_mb"])
        data, log = state.pages("tempdb", "data"), state.pages("tempdb", "log")
        changes = []
        if data < need_data * PAGES_PER_MB:
            changes += self.grow("tempdb", "tempdb", "data", _ceil_mb(need_data - data / PAGES_PER_MB), avoid_master=True)
        if log < need["tempdb_log_mb"] * PAGES_PER_MB:
            changes += self.grow("tempdb", "tempdb", "log", _ceil_mb(need["tempdb_log_mb"] - log / PAGES_PER_MB), avoid_master=True)
        if not state.option_on("tempdb", "select into/bulkcopy"):
            changes.append(option_change("tempdb", "tempdb", "select into/bulkcopy", True))
        only_master = all(d.lower() == "master" for d in state.devices_of("tempdb", "data") + state.devices_of("tempdb", "log"))
        facts = {"data_mb": _mb(data), "log_mb": _mb(log), "need_data_mb": need_data, "need_log_mb": need["tempdb_log_mb"],
                 "all_databases_mb": round(others, 2), "only_master": only_master,
                 "select_into_bulkcopy": state.option_on("tempdb", "select into/bulkcopy"), "need_select_into_bulkcopy": True}
        if any(c["kind"] == "alter_database" for c in changes):
            facts["need_only_master"] = False
        text = "tempdb data %g MB, log %g MB%s; needs data >= %d MB, log >= %d MB (20 %% of the %s data, %g MB: %d MB and " \
            "%d MB; data and log together >= 20 %% of all databases, %g MB: %d MB)" % (
                facts["data_mb"], facts["log_mb"], " (only on the master device)" if only_master else "", need_data,
                need["tempdb_log_mb"], site, _mb(self.pages_after(site, "data")), need["tempdb_data_mb"], need["tempdb_log_mb"],
                facts["all_databases_mb"], total_need)
        grows = any(c["kind"] == "alter_database" for c in changes)
        if only_master and not grows:
            return changes, "manual" if not changes else "planned", text + "; tempdb is large enough but lives only on the " \
                "master device: move it to its own device (KB Q187824)", facts
        return changes, "ok" if not changes else "planned", text, facts

    def transaction_log(self):
        """PRE-29: 'trunc. log on chkpt.' on, or the log at 50 % of the space used (option ``log_method``)."""
        state, db = self.state, self.state.database
        used = state.used_pages(db)
        log = state.pages(db, "log")
        on = state.option_on(db, "trunc. log on chkpt.")
        facts = {"trunc_log_on_chkpt": on, "log_mb": _mb(log), "used_mb": None if used is None else _mb(used)}
        if on:
            return [], "ok", "%s truncates its log on checkpoint" % db, facts
        if used is None:
            return [], "blocked", "the space used by %s could not be read and 'trunc. log on chkpt.' is off" % db, facts
        need = _ceil_mb(used / PAGES_PER_MB * self.params["log_used_ratio"])
        facts["need_log_mb"] = need
        text = "%s: 'trunc. log on chkpt.' off, log %g MB, %g MB used (needs >= %d MB)" % (db, _mb(log), _mb(used), need)
        if log >= need * PAGES_PER_MB:
            return [], "ok", text, facts
        if self.o.get("log_method") == "size":
            return self.grow("transaction_log", db, "log", _ceil_mb(need - log / PAGES_PER_MB)), "planned", text, facts
        facts["need_trunc_log_on_chkpt"] = True
        del facts["need_log_mb"]
        return [option_change("transaction_log", db, "trunc. log on chkpt.", True)], "planned", text, facts

    def connections(self):
        """UPG-07: the connections to the site database but the SMS services' own, this session and system processes;
        KILL for the spids listed in ``kill``."""
        blocking = blocking_connections(self.state.snapshot, self.params["sms_service_programs"], self.state.spid)
        listed = set(self.o.get("kill") or [])
        by_spid = {c["spid"]: c for c in blocking}
        problems = ["spid %d is not an open connection to %s other than the SMS services' own: not killed" % (spid, self.state.database)
                    for spid in sorted(listed - set(by_spid))]
        changes = [kill_change("connections", by_spid[spid]) for spid in sorted(listed & set(by_spid))]
        lines = ["spid %d: %s on %s (login %s, %s)" % (c["spid"], c.get("program") or "?", c.get("hostname") or "?",
                                                       c.get("login") or "?", c.get("cmd") or "?") for c in blocking]
        facts = {"open": [{k: c.get(k) for k in ("spid", "program", "hostname", "login", "cmd")} for c in blocking]}
        if not blocking:
            return changes, "ok", "no other connection to %s" % self.state.database, facts, problems, []
        text = "%d connection(s) would keep CONV20 from single-user mode: %s" % (len(blocking), "; ".join(lines))
        manual = [] if changes else ["at upgrade time close them (SMS Administrator, SQL Enterprise Manager, isql windows), "
                                     "or end them with database_kill: [%s] (KILL, as sa)" % ", ".join(
                                         str(c["spid"]) for c in blocking)]
        return changes, "planned" if changes else "open", text, facts, problems, manual


# ================================================================== verifying steps and the manual ones
def history_step(state, params, now, step_days):
    """PRE-29: machine history older than the limit, and DBClean's unused records (when a query counts them)."""
    history = state.snapshot.get("machine_history")
    limit = params["machine_history_max_days"]
    facts = {"oldest": (history or {}).get("oldest"), "max_days": limit, "unused_records": state.unused_records}
    manual, parts = [], []
    if history is None:
        error = _section_error(state.snapshot, "machine_history")
        return "unverified", "the oldest machine history could not be read: %s" % error, facts, manual
    oldest = history.get("oldest")
    cutoff = now - _days(limit)
    if oldest and parse_timestamp(oldest) < cutoff:
        steps, moment = [], parse_timestamp(oldest) + _days(step_days)
        while moment < cutoff:
            steps.append(moment.strftime("%Y-%m-%d"))
            moment += _days(step_days)
        steps.append(cutoff.strftime("%Y-%m-%d"))
        manual.append("SMS Administrator > Sites > Edit > Delete Special > Machine History Records, one range at a "
                      "time (KB Q196229: small ranges avoid timeouts): records older than %s" % ", then ".join(steps))
        parts.append("machine history from %s, older than %d days" % (oldest, limit))
    else:
        parts.append("oldest machine history %s (limit %d days)" % (oldest or "none", limit))
    if state.unused_records is None:
        manual.append("SMS Database Manager (DBCLEAN.EXE) > Delete Unused Common/Specific Records (KB Q196229); "
                      "not verifiable from the database until sms_upgrade_database_queries.unused_records counts them")
        facts["unused_verified"] = False
    elif state.unused_records:
        manual.append("SMS Database Manager (DBCLEAN.EXE) > Delete Unused Common/Specific Records: %d left"
                      % state.unused_records)
        parts.append("%d unused common/specific records" % state.unused_records)
        facts["unused_verified"] = False
    else:
        facts["unused_verified"] = True
    history_ok = not (oldest and parse_timestamp(oldest) < cutoff)
    facts["history_ok"] = history_ok
    status = "ok" if history_ok and facts["unused_verified"] else "manual"
    return status, "; ".join(parts), facts, manual


def duplicates_step(state):
    """PRE-30: duplicate SMSIDs from the database; deleting them is a person's confirmed step."""
    duplicates = state.snapshot.get("duplicate_smsids")
    if duplicates is None:
        return "unverified", "duplicate SMSIDs could not be read: %s" % _section_error(state.snapshot, "duplicate_smsids"), {}, [
            "set sms_upgrade_sql_queries.duplicate_smsids (columns smsid, machine; UNCONFIRMED tables) or run SMSIDDUP "
            "(KB Q192859) and record the result in the answers file"]
    facts = {"duplicates": duplicates}
    if not duplicates:
        return "ok", "no duplicate SMSID in %s" % state.database, facts, []
    listed = "; ".join("%s on %s" % (d["smsid"], ", ".join(d["machines"])) for d in duplicates)
    manual = ["delete the duplicate computers in the SMS Administrator (or with DBClean) and remove SMS.INI of the clones "
              "so that they install again with a new SMSID (KB Q192859): %s" % listed]
    return "manual", "%d duplicate SMSID(s): %s" % (len(duplicates), listed), facts, manual


def _section_error(snapshot, section):
    for error in snapshot.get("errors") or []:
        if error["section"] == section:
            return "%s (%s)" % (error["message"], error["cause"])
    return "not in the survey"


def _days(n):
    return datetime.timedelta(days=n)


# ================================================================== dumps, DBCC, rehearsal: scripts and output
def dump_dir(state, options):
    """The dump directory on the SQL Server: the option, else BACKUP beside the master device's directory."""
    if options.get("dump_dir"):
        return isql.check_path(options["dump_dir"]).rstrip("\\")
    master = (state.devices.get("master") or {}).get("physical_name")
    if not master or not re.match(r"^[A-Za-z]:\\", master):
        raise DatabaseError("the master device's path is unknown, so the dump directory cannot be derived: set "
                            "database_dump_dir")
    relative = phase_data()["dumps"]["dir_default"]["relative_to_master"]
    return ntpath.normpath(ntpath.join(ntpath.dirname(master), relative))


def dump_plan(state, options, kind, stamp):
    """``[{database, path, estimate_bytes}]`` of one dump (safety or baseline): the site database and master."""
    spec, directory = phase_data()["dumps"], dump_dir(state, options)
    plan = []
    for name in (state.database, "master"):
        path = ntpath.join(directory, spec["file_pattern"].format(database=name, kind=kind, stamp=stamp))
        used = state.used_pages(name)
        pages = used if used is not None else state.pages(name, "data") + state.pages(name, "log")
        plan.append({"database": name, "path": isql.check_path(path), "kind": kind,
                     "estimate_bytes": int(pages * PAGE_BYTES * spec["size_factor"])})
    return plan


def dump_statements(item):
    return ["DUMP DATABASE %s TO DISK = %s WITH INIT" % (isql.check_identifier(item["database"]), _q(item["path"])),
            "LOAD HEADERONLY FROM DISK = %s" % _q(item["path"])]


def dump_script(plan):
    batches = []
    for index, item in enumerate(plan):
        dump, header = dump_statements(item)
        batches.append(isql.batch("dump:%d" % index, dump))
        batches.append(isql.batch("header:%d" % index, header))
    return "".join(batches)


def header_row(lines, database):
    """The LOAD HEADERONLY row of a database dump of ``database`` (SQL6x BOL: Dumptype 1 = database), or None."""
    for result in isql.result_sets(lines):
        columns = [c.lower() for c in result["columns"]]
        if "database" not in columns or "dumptype" not in columns:
            continue
        for row in result["rows"]:
            record = dict(zip(columns, row))
            if (record.get("database") or "").lower() == database.lower() and str(record.get("dumptype")).strip() == "1":
                return {k: v for k, v in record.items() if v is not None}
    return None


def dbcc_script(database):
    return "".join(isql.batch("dbcc:%s" % command, "DBCC %s (%s)" % (command, isql.check_identifier(database)))
                   for command in phase_data()["dbcc"]["commands"])


def dbcc_findings(blocks):
    """``(clean, findings)``: every Msg line of each DBCC command; a command that did not complete is a finding too."""
    spec, findings = phase_data()["dbcc"], []
    for command in spec["commands"]:
        lines = blocks.get("dbcc:%s" % command)
        if lines is None:
            findings.append({"command": command, "level": 16, "number": None, "state": None,
                             "text": "DBCC %s produced no output (the session ended before it)" % command})
            continue
        for message in isql.messages(lines):
            findings.append(dict(message, command=command))
        if not any(spec["completed"].lower() in line.lower() for line in lines):
            findings.append({"command": command, "level": 16, "number": None, "state": None,
                             "text": "DBCC %s did not complete" % command})
    clean = all(f["level"] < spec["error_level"] for f in findings)
    return clean, findings


def conv20_findings(log_text, rc):
    """Findings from Conv20.log (SQL messages and the run giving up) and the exit code; ``(clean, findings)``."""
    patterns = [re.compile(p) for p in phase_data()["rehearsal"]["error_patterns"]]
    findings = []
    for line in (log_text or "").splitlines():
        for pattern in patterns:
            match = pattern.search(line)
            if match:
                groups = match.groupdict()
                findings.append({"number": _int(groups.get("number")), "text": (groups.get("text") or line).strip(),
                                 "line": line.strip()})
                break
    if rc not in (0, None):
        findings.append({"number": None, "text": "CONV20.EXE ended with exit code %s" % rc, "line": None})
    if log_text is None:
        findings.append({"number": None, "text": "Conv20.log was not found after the run", "line": None})
    return not findings, findings


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


# ================================================================== one run
class DatabaseRun:
    """One host's run: ``hands.module`` reaches the SQL Server (or the lab server for the rehearsal)."""

    def __init__(self, phase, ctx, hands):
        self.phase = phase
        self.ctx = ctx
        self.hands = hands
        self.o = ctx.args
        self.now = ctx.now
        self.stamp = compact_stamp(ctx.now)
        self.at = iso_stamp(ctx.now)
        self.params = merge_params(self.o.get("params") or {})
        self.max_age = self.o["results_max_age"]
        self.steps = []
        self.warnings = []
        self.diff = []
        self.changed = False
        self.calls = 0
        self.journal_path = None
        self.record = None
        self.record_file = None
        self.queries = None
        self.fingerprint = None

    # -------------------------------------------------------------- module calls
    def _module(self, args):
        self.calls += 1
        raw = self.hands.module(MODULE, args)
        return raw if isinstance(raw, dict) else {"failed": True, "msg": "no result"}

    def _login(self, args):
        for key in ("login_user", "login_password"):
            if self.o.get(key):
                args[key] = self.o[key]
        return args

    def sql(self, script, timeout=None, what="script", read_only=False):
        """Run one script in one session; ``(output, blocks, timed_out)``. A client that cannot run is a DatabaseError.
        ``read_only`` marks the scripts the module may run in check mode (the survey: isql.build_script checked it)."""
        raw = self._module(self._login({"mode": "sql", "script": script, "client": self.o["sql_client"],
                                        "timeout": timeout or self.o["timeout"], "read_only": read_only}))
        if raw.get("failed"):
            raise DatabaseError("%s could not be run on %s: %s" % (what, self.who(), raw.get("msg") or "module failed"))
        if raw.get("timed_out"):
            self.warnings.append("%s: %s did not finish within %s s; what it printed is used" % (
                self.ctx.host, what, timeout or self.o["timeout"]))
        output = raw.get("output") or ""
        return output, isql.split_output(output), bool(raw.get("timed_out"))

    def files(self, paths):
        """``{path: {exists, size, sha256, free_bytes, error}}`` for paths on the SQL Server."""
        if not paths:
            return {}
        raw = self._module({"mode": "files", "paths": paths, "share_map": self.o.get("share_map") or {}})
        if raw.get("failed"):
            raise DatabaseError("the files of %s could not be read: %s" % (self.who(), raw.get("msg")))
        return {entry.get("path"): entry for entry in raw.get("files") or []}

    def who(self):
        return self.ctx.target.computer or self.ctx.host

    # -------------------------------------------------------------- survey
    def survey(self, site_code):
        self.queries = survey_queries(self.o.get("sql_queries"), self.o.get("queries"))
        script = survey_batches(self.database, self.queries)
        output, _blocks, _timed_out = self.sql(script, what="the survey", read_only=True)
        return self._state_of(output, site_code)

    def _state_of(self, output, site_code):
        state = read_state(output, self.database, self.queries, self.ctx.host, self.ctx.target.computer, self.now,
                           site_code)
        version = state.snapshot["sql"]["version"]
        if not version.startswith("6.5"):
            raise DatabaseError("%s runs SQL Server %s; this phase speaks SQL Server 6.5 only (DUMP, DISK INIT, "
                                "sp_dboption): the site database must stay on 6.5 until SMS 2.0 runs (seed FAQ)" % (
                                    self.who(), version))
        return state

    # -------------------------------------------------------------- the plan
    def plan(self, state):
        """Plan every requested step from ``state``: ``{name: step}`` in order."""
        planner = Planner(state, self.o, self.params)
        wanted = self.o["steps"]
        steps = {}
        # tempdb last: it is sized from the site database and all databases as the other steps leave them
        for name, method in (("site_db_size", planner.site_db_size), ("transaction_log", planner.transaction_log),
                             ("tempdb", planner.tempdb)):
            if name in wanted:
                try:
                    changes, status, text, facts = method()
                except isql.SqlScriptError as exc:
                    changes, status, text, facts = [], "blocked", "cannot be planned: %s" % exc, {}
                steps[name] = self._step(name, status, text, facts, changes)
        if "history" in wanted:
            status, text, facts, manual = history_step(state, self.params, self.now, phase_data()["history"]["step_days"])
            steps["history"] = self._step("history", status, text, facts, manual=manual)
        if "duplicates" in wanted:
            status, text, facts, manual = duplicates_step(state)
            steps["duplicates"] = self._step("duplicates", status, text, facts, manual=manual)
        if "connections" in wanted:
            changes, status, text, facts, problems, manual = planner.connections()
            steps["connections"] = self._step("connections", status, text, facts, changes, manual=manual, problems=problems)
        return steps, planner

    def _step(self, name, status, text, facts, changes=(), manual=(), problems=()):
        spec = step_spec(name)
        step = {"name": name, "checklist": list(spec["checklist"]), "why": " ".join(spec["why"].split()),
                "status": status, "message": text, "facts": facts, "changes": list(changes), "manual": list(manual),
                "problems": list(problems), "sql": [statement_text(c) for c in changes]}
        if name in phase_data()["approval_steps"] and changes and name not in (self.o.get("approve") or []):
            step["needs_approval"] = True
        return step

    # -------------------------------------------------------------- display
    def _diff(self, name, before, after, statements, why):
        header = "%s %s: step %s (%s)" % (self.who(), self.database, name, ", ".join(step_spec(name)["checklist"]))
        prepared = "-- %s\n-- why: %s\n%s\n" % (header, why, "\n".join(statements)) if statements else ""
        entry = {"before_header": header, "after_header": header, "before": before, "after": after}
        if prepared:
            entry["prepared"] = prepared
        self.diff.append(entry)

    def _step_diff(self, step):
        """Before: what the survey read; after: the targets (a step that only verifies shows no change, only its
        prepared text: what a person does)."""
        if not step["sql"] and not step["manual"]:
            return
        facts = step["facts"]
        before = "".join("%s: %s\n" % (k, json.dumps(v, sort_keys=True)) for k, v in sorted(facts.items())
                         if not k.startswith("need_"))
        targets = {k[len("need_"):]: v for k, v in facts.items() if k.startswith("need_")}
        after = "".join("%s: %s\n" % (k, json.dumps(targets.get(k, v), sort_keys=True)) for k, v in sorted(facts.items())
                        if not k.startswith("need_")) if step["sql"] else before
        statements = list(step["sql"]) + ["-- to do by hand: %s" % line for line in step["manual"]]
        self._diff(step["name"], before, after, statements, step["why"])

    def _dump_diff(self, plan, why_name):
        statements = []
        for item in plan:
            statements += dump_statements(item)
        self._diff(why_name, "", "".join("%s %s dump: %s (about %d MB)\n" % (
            item["database"], item["kind"], item["path"], math.ceil(item["estimate_bytes"] / MB)) for item in plan),
            statements, " ".join(step_spec(why_name)["why"].split()))

    # -------------------------------------------------------------- the whole run
    @property
    def database(self):
        return self.o["_database"]

    def rehearse(self, record_file, from_snapshot):
        """Step 9 for the host the record belongs to (``source_host``), on the lab server this task reaches."""
        if from_snapshot and not self.ctx.check_mode:
            raise DatabaseError("%s is in sms_snapshots_only: it is never contacted; run with --check to see the plan"
                                % self.ctx.host)
        self.record_file = record_file
        self.record = load_record(record_file)
        return Rehearsal(self).run(from_snapshot)

    def run(self, snapshot, site, from_snapshot):
        if from_snapshot and not self.ctx.check_mode:
            raise DatabaseError("%s is in sms_snapshots_only: the site database cannot be prepared from a saved snapshot; "
                                "run with --check to see the plan" % self.ctx.host)
        self.record_file = record_path(self.o["vault_dir"], site, self.ctx.host)
        self.record = load_record(self.record_file)
        if self.o["rollback"]:
            return self.rollback(site, from_snapshot)
        state = state_from_snapshot(snapshot) if from_snapshot else self.survey(site)
        steps, planner = self.plan(state)
        mode = "snapshot" if from_snapshot else ("relay" if self.ctx.target.relay else "direct")
        if self.ctx.check_mode:
            return self._check(state, steps, planner, mode, from_snapshot)
        return self._apply(state, steps, planner, mode)

    # -------------------------------------------------------------- check mode
    def _file_checks(self, planner, plans):
        """Free space for the dumps and new devices, and that none of the files to create exists (read-only)."""
        wanted = [(item["path"], item["estimate_bytes"], "database_dump_dir") for plan in plans for item in plan]
        wanted += [(path, size_mb * MB, "database_device_dir") for path, size_mb in planner.new_files]
        found = self.files([{"path": path, "hash": False} for path, _size, _option in wanted])
        problems, by_dir = [], {}
        for path, size, option in wanted:
            stat = found.get(path) or {}
            if stat.get("exists"):
                problems.append("%s already exists on %s: nothing is overwritten; move it away or set %s" % (
                    path, self.who(), option))
            slot = by_dir.setdefault(ntpath.dirname(path), {"needed": 0, "stat": stat, "option": option})
            slot["needed"] += size
        margin = max(phase_data()["dumps"]["free_margin_mb"], phase_data()["devices"]["free_margin_mb"]) * MB
        for directory, slot in sorted(by_dir.items()):
            stat = slot["stat"]
            if stat.get("error"):
                problems.append("%s on %s cannot be checked (%s): %s" % (
                    directory, self.who(), stat.get("cause") or "other", stat["error"]))
            elif stat.get("dir_exists") is False:
                problems.append("directory %s does not exist on %s: create it or set %s" % (directory, self.who(), slot["option"]))
            elif stat.get("free_bytes") is not None and stat["free_bytes"] < slot["needed"] + margin:
                problems.append("disk_full: %s on %s has %d MB free; what is planned there needs %d MB (+%d MB kept free)" % (
                    directory, self.who(), stat["free_bytes"] // MB, math.ceil(slot["needed"] / MB), margin // MB))
        return problems

    def _check(self, state, steps, planner, mode, from_snapshot):
        self.fingerprint = fingerprint(state)
        safety = dump_plan(state, self.o, "safety", self.stamp)
        baseline = dump_plan(state, self.o, "baseline", self.stamp)
        changing = [s for s in steps.values() if s["changes"]]
        for step in changing:
            if step.get("needs_approval"):
                step["message"] += "; needs approval: database_approve: [%s]" % step["name"]
        ordered = []
        if changing:
            self._dump_diff(safety, "safety_dump")
            ordered.append(self._plain_step("safety_dump", "planned", "before the first change: %s" % ", ".join(
                i["path"] for i in safety), sql=[s for i in safety for s in dump_statements(i)]))
        for name in MAIN_STEPS:
            step = steps.get(name)
            if name in steps:
                self._step_diff(step)
            elif name == "consistency" and name in self.o["steps"]:
                step = self._consistency_plan(changing)
            elif name == "baseline_dump" and name in self.o["steps"]:
                step = self._baseline_plan(baseline, changing)
            if step is not None:
                ordered.append(step)
        dumps = [p for p, wanted in ((safety, bool(changing)), (baseline, any(
            s["name"] == "baseline_dump" and s["status"] == "planned" for s in ordered))) if wanted]
        problems = [] if from_snapshot else self._file_checks(planner, dumps)
        result = self._result(ordered, state, mode, check=True)
        result["problems"] = problems
        if problems:
            result["warnings"] = result.get("warnings", []) + ["%s: %s" % (self.ctx.host, p) for p in problems]
        result["changed"] = any(s["status"] == "planned" for s in ordered)
        return result

    def _consistency_fresh(self):
        record = self.record.get("consistency") or {}
        return bool(record.get("clean")) and record.get("fingerprint") == self.fingerprint and \
            fresh(record.get("at"), self.now, self.max_age)

    def _baseline_fresh(self):
        dumps = [latest_dump(self.record, "baseline", name) or {} for name in (self.database, "master")]
        return all(d.get("fingerprint") == self.fingerprint and fresh(d.get("at"), self.now, self.max_age) for d in dumps)

    def _consistency_plan(self, changing):
        statements = ["DBCC %s (%s)" % (c, self.database) for c in phase_data()["dbcc"]["commands"]]
        if changing or not self._consistency_fresh():
            self._diff("consistency", "", "", statements, " ".join(step_spec("consistency")["why"].split()))
            return self._plain_step("consistency", "planned", "DBCC on %s" % self.database, sql=statements)
        return self._plain_step("consistency", "ok", "clean at %s" % self.record["consistency"]["at"])

    def _baseline_plan(self, baseline, changing):
        if changing or not self._baseline_fresh():
            self._dump_diff(baseline, "baseline_dump")
            return self._plain_step("baseline_dump", "planned", "after the steps above: %s" % ", ".join(
                i["path"] for i in baseline), sql=[s for i in baseline for s in dump_statements(i)])
        return self._plain_step("baseline_dump", "ok", "verified at %s" % latest_dump(self.record, "baseline", self.database)["at"])

    def _plain_step(self, name, status, message, sql=(), facts=None, findings=None):
        spec = step_spec(name)
        step = {"name": name, "checklist": list(spec["checklist"]), "why": " ".join(spec["why"].split()),
                "status": status, "message": message, "facts": facts or {}, "changes": [], "manual": [],
                "problems": [], "sql": list(sql)}
        if findings is not None:
            step["findings"] = findings
        return step

    # -------------------------------------------------------------- real run
    def _apply(self, state, steps, planner, mode):
        approved = [c for s in steps.values() if not s.get("needs_approval") for c in s["changes"]]
        for step in steps.values():
            if step.get("needs_approval"):
                step["status"] = "needs_approval"
                step["message"] += "; not applied: approve it with database_approve: [%s] (see the plan with --check " \
                    "--diff)" % step["name"]
        ordered, stopped = [], False
        if approved:
            safety = self._take_dump(state, "safety", planner)
            ordered.append(safety)
            if safety["status"] != "verified":
                stopped = True
                for step in steps.values():
                    if step["changes"] and step["status"] == "planned":
                        step["status"] = "blocked"
                        step["message"] += "; not applied: no verified safety dump"
            else:
                state = self._apply_changes(state, steps, approved)
        self.record.update(state=state.snapshot, computer=self.who(), database=self.database)
        self.fingerprint = fingerprint(state)
        for name in MAIN_STEPS:
            step = steps.get(name)
            if name == "consistency" and name in self.o["steps"] and not stopped:
                step = self._consistency()
            elif name == "baseline_dump" and name in self.o["steps"] and not stopped:
                step = self._baseline(state, planner)
            if step is not None:
                ordered.append(step)
                self.record["steps"][name] = {"status": step["status"], "at": self.at, "message": step["message"],
                                              "facts": step["facts"]}
        self.record["updated_at"] = self.at
        save_record(self.record_file, self.record)
        return self._result(ordered, state, mode, check=False)

    def _run_changes(self, changes, what):
        """One session: the changes compare-and-set, then the survey again (read back); ``(outcomes, after)``.
        What the session printed is journaled even when the read-back is missing (a session cut short)."""
        script = change_batches(changes) + survey_batches(self.database, self.queries)
        output, blocks, timed_out = self.sql(script, timeout=self.o["long_timeout"], what=what)
        try:
            after, unread = self._state_of(output, None), None
        except DatabaseError as exc:
            after, unread = None, exc
        outcomes = []
        for c in changes:
            lines = blocks.get("c:%s" % c["id"])
            status = isql.block_status(lines or []) or ("not_run" if lines is None else "failed")
            errors = [m for m in isql.messages(lines or []) if m["level"] >= 11]
            message = "; ".join("Msg %d: %s" % (m["number"], m["text"]) for m in errors) or None
            if timed_out and lines is None:
                message = "not run: the session timed out before it"
            outcomes.append({"change": c, "status": status, "message": message,
                             "in_place": in_place(c, after) if after else None})
        self._journal(outcomes)
        if any((o["in_place"] or (o["in_place"] is None and o["status"] == "applied")) and o["status"] != "conflict"
               for o in outcomes):
            self.changed = True
            self.record["last_change_at"] = self.at
        if unread is not None:
            applied = [o["change"]["description"] for o in outcomes if o["status"] == "applied"]
            self.record["updated_at"] = self.at
            save_record(self.record_file, self.record)
            raise DatabaseError("%s%s; the server could not be read back (%s): run the phase again to read it; the journal "
                                "%s holds what was applied (%s) and how to undo it" % (
                                    what, " timed out" if timed_out else " ended early", unread, self.journal_path,
                                    "; ".join(applied) or "nothing"))
        return outcomes, after

    def _apply_changes(self, state, steps, changes, again=True):
        """Apply the approved changes; conflicts are planned again from the read-back and applied once more."""
        outcomes, after = self._run_changes(changes, "the changes")
        if again and any(o["status"] == "conflict" for o in outcomes):
            return self._replan(after, steps, outcomes)
        self._settle(steps, outcomes, after)
        return after

    def _replan(self, after, steps, outcomes):
        """Conflicts: the server changed since the survey; plan again from what it holds now and apply once more."""
        replanned, _planner = self.plan(after)
        retry = []
        for name, step in steps.items():
            if any(o["status"] == "conflict" and o["change"]["step"] == name for o in outcomes):
                new = replanned.get(name) or step
                step["replanned"] = True
                # a KILL is never aimed again: the spid now names another connection than the one the operator listed
                again = [c for c in new["changes"] if c["kind"] != "kill"]
                if not new.get("needs_approval"):
                    retry += again
                step["changes"], step["sql"] = again, [statement_text(c) for c in again]
        self._settle(steps, outcomes, after)
        if retry:
            return self._apply_changes(after, steps, retry, again=False)
        return after

    def _settle(self, steps, outcomes, after):
        """Each step's status from its changes' outcomes and the read-back (verified only when its target holds)."""
        by_step = {}
        for outcome in outcomes:
            by_step.setdefault(outcome["change"]["step"], []).append(outcome)
        fresh_plan, _planner = self.plan(after)
        for name, found in by_step.items():
            step = steps[name]
            step.setdefault("outcomes", []).extend(
                {"id": o["change"]["id"], "description": o["change"]["description"], "status": o["status"],
                 "in_place": o["in_place"], "message": o["message"]} for o in found)
            again = fresh_plan.get(name)
            kills = [o for o in found if o["change"]["kind"] == "kill" and o["status"] == "conflict"]
            if again is not None and not again["changes"] and again["status"] not in BAD and \
                    all(o["in_place"] for o in found if o["status"] != "conflict"):
                step["status"], step["message"] = "verified", again["message"]
                step["facts"] = again["facts"]
            elif kills:
                step["status"] = "conflict"
                step["message"] = "; ".join("%s: not killed, the spid names another connection now (or it ended); list it "
                                            "again from a new plan if it must end" % o["change"]["description"] for o in kills)
            elif any(o["status"] == "conflict" for o in found):
                step["status"] = "conflict"
                step["message"] = "the server changed since the survey; planned again: %s" % (
                    "; ".join(c["description"] for c in (again or {}).get("changes", [])) or "nothing left to do")
            else:
                step["status"] = "failed"
                bad = [o for o in found if o["status"] != "applied" or o["in_place"] is False]
                step["message"] = "; ".join("%s: %s%s" % (o["change"]["description"], o["status"],
                                                          " (%s)" % o["message"] if o["message"] else "") for o in bad) or \
                    "the read-back does not show the target: %s" % ((again or {}).get("message"))

    def _journal(self, outcomes):
        if not self.o.get("journal_dir") or not any(o["in_place"] or o["status"] == "applied" for o in outcomes):
            return
        dump = [d for d in self.record.get("dumps") or [] if d.get("run") == self.stamp and d["kind"] == "safety"]
        entry = {"computer": self.who(), "database": self.database, "rollback": bool(self.o["rollback"]),
                 "safety_dump": dump, "changes": [{
                     "change": o["change"], "status": o["status"], "in_place": o["in_place"], "message": o["message"],
                     "undo": "possible" if o["change"].get("undo") else o["change"].get("irreversible")} for o in outcomes]}
        phase = "database_rollback" if self.o["rollback"] else "database"
        self.journal_path = write_record(self.o["journal_dir"], self.ctx.host, phase, self.stamp, entry)

    # -------------------------------------------------------------- dumps
    def _take_dump(self, state, kind, planner):
        """Dump the site database and master, verify the headers, size and hash the files, record them."""
        plan = dump_plan(state, self.o, kind, self.stamp)
        problems = self._file_checks(planner if kind == "safety" else Planner(state, self.o, self.params), [plan])
        name = "%s_dump" % kind
        statements = [s for item in plan for s in dump_statements(item)]
        if problems:
            return self._plain_step(name, "failed", "not dumped: %s" % "; ".join(problems), sql=statements)
        _output, blocks, timed_out = self.sql(dump_script(plan), timeout=self.o["long_timeout"], what="the %s dump" % kind)
        files = self.files([{"path": item["path"], "hash": True} for item in plan])
        dumps, bad = [], []
        for index, item in enumerate(plan):
            errors = [m for m in isql.messages(blocks.get("dump:%d" % index, [])) if m["level"] >= 11]
            header = header_row(blocks.get("header:%d" % index, []), item["database"])
            stat = files.get(item["path"]) or {}
            dump = {"kind": kind, "database": item["database"], "path": item["path"], "at": self.at, "run": self.stamp,
                    "computer": self.who(), "size": stat.get("size"), "sha256": stat.get("sha256"),
                    "hash_error": stat.get("error"), "header": header, "fingerprint": self.fingerprint,
                    "verified": bool(header) and not errors and bool(stat.get("exists")) and bool(stat.get("size"))}
            if not dump["verified"]:
                why = "; ".join("Msg %d: %s" % (m["number"], m["text"]) for m in errors) or \
                    ("the session timed out" if timed_out else "") or \
                    ("LOAD HEADERONLY shows no database dump of %s" % item["database"] if not header else "the file is missing or empty")
                bad.append("%s: %s" % (item["path"], why))
            dumps.append(dump)
        self.record["dumps"] = (self.record.get("dumps") or []) + dumps
        if bad:
            return self._plain_step(name, "failed", "not verified: %s" % "; ".join(bad), sql=statements,
                                    facts={"dumps": dumps})
        self.changed = True
        unhashed = [d["path"] for d in dumps if not d["sha256"]]
        if unhashed:
            self.warnings.append("%s: %s verified by its header but not hashed (%s)" % (
                self.ctx.host, ", ".join(unhashed), "; ".join(filter(None, (d["hash_error"] for d in dumps)))))
        text = ", ".join("%s %d bytes sha256 %s" % (d["path"], d["size"] or 0, d["sha256"]) for d in dumps)
        return self._plain_step(name, "verified", text, sql=statements, facts={"dumps": dumps})

    def _baseline(self, state, planner):
        blocking = self._open_steps()
        if blocking:
            return self._plain_step("baseline_dump", "blocked", "not taken: %s not done" % ", ".join(blocking))
        if self._baseline_fresh():
            return self._plain_step("baseline_dump", "ok", "verified at %s" % latest_dump(self.record, "baseline", self.database)["at"])
        return self._take_dump(state, "baseline", planner)

    def _open_steps(self):
        """Steps of this run that must hold before the baseline: the changing steps and a clean DBCC."""
        consistency = self.record.get("consistency") or {}
        open_ = [] if consistency.get("clean") and consistency.get("fingerprint") == self.fingerprint else ["consistency"]
        open_ += [name for name in ("site_db_size", "tempdb", "transaction_log")
                  if (self.record["steps"].get(name) or {}).get("status") in BAD + ("needs_approval", "blocked")]
        return open_

    # -------------------------------------------------------------- DBCC
    def _consistency(self):
        statements = ["DBCC %s (%s)" % (c, self.database) for c in phase_data()["dbcc"]["commands"]]
        if self._consistency_fresh():
            record = self.record["consistency"]
            return self._plain_step("consistency", "ok", "clean at %s" % record["at"], findings=record.get("findings"))
        _output, blocks, timed_out = self.sql(dbcc_script(self.database), timeout=self.o["long_timeout"], what="DBCC")
        clean, findings = dbcc_findings(blocks)
        self.record["consistency"] = {"at": self.at, "clean": clean, "findings": findings, "timed_out": timed_out,
                                      "fingerprint": self.fingerprint}
        if clean:
            text = "DBCC %s clean%s" % (", ".join(phase_data()["dbcc"]["commands"]),
                                        " (%d informational message(s))" % len(findings) if findings else "")
            return self._plain_step("consistency", "verified", text, sql=statements, findings=findings)
        errors = [f for f in findings if f["level"] >= phase_data()["dbcc"]["error_level"]]
        text = "%d error(s): %s" % (len(errors), "; ".join("DBCC %s%s: %s" % (
            f["command"], " Msg %d" % f["number"] if f["number"] else "", f["text"]) for f in errors[:5]))
        return self._plain_step("consistency", "findings", text, sql=statements, findings=findings)

    # -------------------------------------------------------------- results
    def _result(self, ordered, state, mode, check):
        statuses = {}
        for step in ordered:
            statuses[step["status"]] = statuses.get(step["status"], 0) + 1
        shown = [{k: v for k, v in step.items() if k != "changes"} for step in ordered]
        result = {"phase": "database", "mode": mode, "computer": self.who(), "database": self.database,
                  "steps": shown, "module_calls": self.calls, "diff": self.diff, "record_path": self.record_file,
                  "journal_path": self.journal_path, "changed": self.changed}
        bad = [s for s in ordered if s["status"] in BAD]
        manual = [s for s in ordered if s["status"] in WAITING]
        summary = ", ".join("%d %s" % (n, status.replace("_", " ")) for status, n in sorted(statuses.items()))
        text = "%s: database %s on %s: %s" % (self.ctx.host, self.database, self.who(), summary or "nothing to do")
        if bad:
            text += "; " + "; ".join("%s %s: %s" % (s["name"], s["status"], s["message"]) for s in bad)
            if not check:
                result["failed"] = True
        if manual:
            self.warnings += ["%s: %s %s: %s%s" % (
                self.ctx.host, s["name"], s["status"].replace("_", " "), s["message"],
                "".join("; to do: %s" % m for m in s["manual"])) for s in manual]
        for step in ordered:
            self.warnings += ["%s: %s: %s" % (self.ctx.host, step["name"], p) for p in step.get("problems") or []]
            if step["name"] == "tempdb" and any(c["kind"] == "alter_database" for c in step.get("changes", [])):
                self.warnings.append("%s: starting SQL Server with -f (minimal configuration) drops the fragments added to "
                                     "tempdb (KB Q170124): run this phase again after such a start" % self.ctx.host)
        result["msg"] = text
        if self.warnings:
            result["warnings"] = list(self.warnings)
        return result

    # -------------------------------------------------------------- rollback
    def rollback(self, site, from_snapshot):
        """Undo, compare-and-set, what the journal says is in place and can be undone; name what cannot be."""
        undo, cannot = [], []
        paths = record_paths(self.o["journal_dir"], self.ctx.host, "database") if self.o.get("journal_dir") else []
        items = [item for path in paths for item in read_record(path)["changes"]
                 if item.get("in_place") or (item.get("in_place") is None and item.get("status") == "applied")]
        used = {item["change"]["expect"].get("device") for item in items if item["change"]["kind"] == "alter_database"}
        for item in reversed(items):
            c = item["change"]
            if c["kind"] == "disk_init" and c["expect"]["device"] in used:
                cannot.append("%s: the device holds a database fragment now, so it cannot be dropped (%s)" % (
                    c["description"], NOT_SHRINKABLE))
            elif c.get("undo"):
                if all(u["id"] != c["undo"]["id"] for u in undo):
                    undo.append(c["undo"])
            else:
                cannot.append("%s: %s" % (c["description"], c.get("irreversible")))
        state = None if from_snapshot else self.survey(site)
        if state is not None:
            undo = [u for u in undo if not in_place(u, state)]
        text = "%s: database rollback on %s: %d change(s) to undo" % (self.ctx.host, self.who(), len(undo))
        step = {"name": "rollback", "checklist": [], "why": "undo from the journal what can be undone",
                "status": "planned" if undo else "ok", "message": text, "facts": {}, "manual": [], "problems": [],
                "sql": [statement_text(u) for u in undo], "cannot_undo": cannot}
        if undo:
            self._diff("safety_dump", "", "", step["sql"], step["why"])
        result = {"phase": "database", "rollback": True, "computer": self.who(), "database": self.database,
                  "steps": [step], "cannot_undo": cannot, "diff": self.diff, "changed": bool(undo),
                  "record_path": self.record_file, "module_calls": self.calls}
        if cannot:
            self.warnings.append("%s: cannot be undone: %s" % (self.ctx.host, "; ".join(cannot)))
        result["warnings"] = self.warnings
        if not undo or self.ctx.check_mode:
            result["msg"] = text + ("" if not cannot else "; %d cannot be undone" % len(cannot))
            return result
        safety = self._take_dump(state, "safety", Planner(state, self.o, self.params))
        if safety["status"] != "verified":
            result.update(failed=True, changed=self.changed, msg="%s; not undone: %s" % (text, safety["message"]),
                          steps=[safety, dict(step, status="blocked")])
            save_record(self.record_file, self.record)
            return result
        outcomes, after = self._run_changes(undo, "the rollback")
        self.record.update(state=after.snapshot, updated_at=self.at)
        save_record(self.record_file, self.record)
        shown = [{"id": o["change"]["id"], "description": o["change"]["description"], "status": o["status"],
                  "in_place": o["in_place"], "message": o["message"]} for o in outcomes]
        failed = [o for o in shown if not o["in_place"]]
        result.update(steps=[safety, dict(step, outcomes=shown, status="failed" if failed else "verified")],
                      changed=True, journal_path=self.journal_path, module_calls=self.calls,
                      msg=text + ("; not undone: %s" % "; ".join(o["description"] for o in failed) if failed else "; done"))
        if failed:
            result["failed"] = True
        return result


# ================================================================== the rehearsal on the lab server
class Rehearsal:
    """Step 9: the baseline dump loaded on a lab SQL Server and CONV20.EXE run against it (the task is delegated to
    the lab server or its relay; ``computer`` is the lab server)."""

    def __init__(self, run):
        self.r = run
        self.o = run.o

    def _lab(self):
        """The lab SQL Server: the task's host (in sms_lab_sql), reached directly or through its relay; never the
        production server whose baseline is rehearsed."""
        lab = self._lab_name()
        source = self.o["source_host"]
        production = {n.upper() for n in filter(None, [self.r.record.get("computer"), source])}
        if lab.upper() in production:
            raise DatabaseError("the lab server %s is the production SQL Server of %s: the rehearsal never touches "
                                "production" % (lab, source))
        return lab

    def _baseline(self):
        dump = latest_dump(self.r.record, "baseline", self.r.database)
        if not dump or not fresh(dump["at"], self.r.now, self.r.max_age):
            return None
        return dump

    def lab_path(self, dump):
        """The baseline dump as the lab server reads it: the option, else the production server's admin share."""
        if self.o.get("lab_dump_path"):
            return isql.check_path(self.o["lab_dump_path"])
        match = re.match(r"^([A-Za-z]):\\(.*)$", dump["path"])
        if not match:
            return isql.check_path(dump["path"])
        return isql.check_path("\\\\%s\\%s$\\%s" % (dump["computer"], match.group(1).upper(), match.group(2)))

    def statements(self, lab_db, path):
        return ["LOAD DATABASE %s FROM DISK = %s" % (isql.check_identifier(lab_db), isql.quote(path)),
                "CONV20.EXE /S %s /D %s /U %s /P ********" % (self._lab_name(), lab_db, self.o.get("login_user") or "sa")]

    def _lab_name(self):
        return self.r.ctx.target.computer or self.r.ctx.host

    def run(self, from_snapshot):
        result = self._run(from_snapshot)
        host, database, source = self.r.ctx.host, self.r.database, self.o["source_host"]
        result["msg"] = result["msg"].replace("%s: database %s on" % (host, database),
                                              "%s: rehearsal of %s (%s) on" % (host, database, source), 1)
        result["source_host"] = self.o["source_host"]
        return result

    def _run(self, from_snapshot):
        r = self.r
        lab_db = isql.check_identifier(self.o.get("lab_database") or r.database)
        dump = self._baseline()
        record = r.record.get("rehearsal") or {}
        if from_snapshot or r.ctx.check_mode:
            path = self.lab_path(dump) if dump else "<baseline dump of the next run>"
            statements = self.statements(lab_db, path)
            r._diff("rehearsal", "", "", statements, " ".join(step_spec("rehearsal")["why"].split()))
            step = r._plain_step("rehearsal", "planned", "on lab server %s: load %s into %s and run CONV20.EXE%s" % (
                self._lab_name(), path, lab_db, "" if dump else " (no verified baseline dump yet)"), sql=statements)
            result = r._result([step], None, "snapshot" if from_snapshot else "lab", check=True)
            result["changed"] = True
            return result
        lab = self._lab()
        if not dump:
            step = r._plain_step("rehearsal", "blocked", "no verified baseline dump of %s within %s days: run the phase "
                                 "first" % (r.database, r.max_age))
            return r._result([step], None, "lab", check=False)
        if record.get("clean") and record.get("baseline_sha256") == dump.get("sha256") and \
                record.get("baseline_path") == dump["path"] and fresh(record.get("at"), r.now, r.max_age):
            step = r._plain_step("rehearsal", "ok", "the baseline %s converted cleanly on %s at %s" % (
                dump["path"], record.get("lab_server"), record["at"]), findings=record.get("findings"))
            return r._result([step], None, "lab", check=False)
        if not self.o.get("conv20_path"):
            step = r._plain_step("rehearsal", "blocked", "set sms_upgrade_conv20_path to CONV20.EXE on %s (the seed names "
                                 "%s on the SMS 2.0 compact disc)" % (lab, phase_data()["rehearsal"]["conv20_relative"]))
            return r._result([step], None, "lab", check=False)
        path = self.lab_path(dump)
        statements = self.statements(lab_db, path)
        problem = self._load(lab, lab_db, path)
        if problem:
            step = r._plain_step("rehearsal", "failed", "not loaded on %s: %s" % (lab, problem), sql=statements)
            self._save(lab, dump, False, [{"number": None, "text": problem, "line": None}], None)
            return r._result([step], None, "lab", check=False)
        raw = r._module(r._login({"mode": "conv20", "conv20_path": self.o["conv20_path"], "conv20_database": lab_db,
                                  "conv20_log": self.o.get("conv20_log") or phase_data()["rehearsal"]["log_path_default"],
                                  "timeout": self.o["long_timeout"]}))
        if raw.get("failed"):
            raise DatabaseError("CONV20.EXE could not be run for %s: %s" % (lab, raw.get("msg")))
        clean, findings = conv20_findings(raw.get("log"), raw.get("rc"))
        if raw.get("timed_out"):
            clean = False
            findings.append({"number": None, "text": "CONV20.EXE did not finish within %s s" % self.o["long_timeout"],
                             "line": None})
        self._save(lab, dump, clean, findings, raw.get("log_path"))
        r.changed = True
        text = "the baseline %s loaded into %s on %s and converted by CONV20.EXE: %s" % (
            dump["path"], lab_db, lab, "clean" if clean else "%d finding(s): %s" % (
                len(findings), "; ".join(f["text"] for f in findings[:5])))
        step = r._plain_step("rehearsal", "verified" if clean else "findings", text, sql=statements, findings=findings)
        return r._result([step], None, "lab", check=False)

    def _load(self, lab, lab_db, path):
        """Check the lab server and LOAD the dump into ``lab_db``, compare-and-set; a problem text, or None."""
        r = self.r
        _output, blocks, _timed_out = r.sql(isql.batch("lab:version", "select @@version"), what="the lab server's version",
                                            read_only=True)
        try:
            version = gathered.sql_version({"version": blocks.get("lab:version", [])})["version"]
        except gathered.SectionProblem as exc:
            return "the lab server could not be read: %s" % exc
        minimum = "6.50.281"
        if not version.startswith("6.5") or tuple(int(x) for x in version.split(".")) < tuple(int(x) for x in minimum.split(".")):
            return "the lab server runs SQL Server %s; the rehearsal needs 6.5 SP4 (%s) or later 6.5 like production" % (
                version, minimum)
        load = isql.batch("lab:load", isql.guarded([cond_database(lab_db), cond_not_in_use(lab_db)],
                                                   "LOAD DATABASE %s FROM DISK = %s" % (lab_db, isql.quote(path))))
        _output, blocks, timed_out = r.sql(load, timeout=self.o["long_timeout"], what="the lab load")
        lines = blocks.get("lab:load")
        status = isql.block_status(lines or [])
        errors = [m for m in isql.messages(lines or []) if m["level"] >= 11]
        if status == "conflict":
            return "database %s does not exist on %s or is in use (create it at least as large as %s, close its " \
                "connections)" % (lab_db, lab, r.database)
        if status != "applied" or errors:
            return "; ".join("Msg %d: %s" % (m["number"], m["text"]) for m in errors) or (
                "the session timed out" if timed_out else "LOAD DATABASE printed no result")
        return None

    def _save(self, lab, dump, clean, findings, log_path):
        r = self.r
        r.record["rehearsal"] = {"at": r.at, "lab_server": lab, "clean": clean, "findings": findings,
                                 "baseline_path": dump["path"], "baseline_sha256": dump.get("sha256"),
                                 "log_path": log_path}
        r.record["updated_at"] = r.at
        save_record(r.record_file, r.record)


# ================================================================== the phase
STEP_NAMES = MAIN_STEPS + ("rehearsal",)


class DatabasePhase(Phase):
    """Prepare the SMS site database on SQL Server 6.5 for the upgrade (one SQL Server per host)."""

    NAME = "database"
    DESCRIPTION = "Prepare the site database on SQL Server 6.5 (PRE-14 to PRE-16, PRE-29, PRE-30, PRE-32, UPG-07)"
    MODULE = MODULE
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*", "sql.not_sql7")
    CHECKLIST = {
        "PRE-14": "Phase database (playbook sms.upgrade.database; docs/database.md): step site_db_size grows the data and log "
                  "devices to 100 KB per computer and 10 % of the data with DISK INIT and ALTER DATABASE (approved with "
                  "database_approve), compare-and-set, verified from sysusages.",
        "PRE-15": "Phase database: step tempdb sizes tempdb from the site database data device(s) (200 MB -> 40 MB data, "
                  "8 MB log) on its own devices and turns 'select into/bulkcopy' on; warns that -f drops the fragments.",
        "PRE-16": "Phase database: steps consistency (DBCC CHECKDB, NEWALLOC, CHECKCATALOG, every Msg line a finding), "
                  "duplicates, and the safety and baseline dumps of the site and master databases (LOAD HEADERONLY, "
                  "SHA-256); manual.routine_maintenance passes from these verified results.",
        "PRE-29": "Phase database: dumps, tempdb at 20 % of all databases, 'trunc. log on chkpt.' (journaled for putting "
                  "back), machine history and DBClean unused records verified from the database (the deletion stays a "
                  "person's step), DBCC and the lab rehearsal; manual.site_data_prepared passes from them. The SMS tree "
                  "and registry backups are the preserve phase's.",
        "PRE-30": "Phase database: step duplicates reports duplicate SMSIDs from the database (query UNCONFIRMED, "
                  "overridable); deleting them stays a confirmed step (SMS Administrator, the clones' SMS.INI), verified "
                  "when none remain.",
        "PRE-32": "Phase database: step rehearsal loads the baseline dump on a lab SQL Server 6.5 SP4 named in the "
                  "inventory (the first host of sms_lab_sql) and runs CONV20.EXE (path sms_upgrade_conv20_path); Conv20.log "
                  "becomes findings; manual.conversion_tested passes from a clean, fresh rehearsal.",
        "UPG-07": "Phase database: step connections lists the connections that would keep CONV20 from single-user mode "
                  "(not the SMS services' own) with program and host, and KILLs only the spids listed in database_kill; "
                  "never sets single-user mode itself.",
        "FAQ-01": "Phase database: step connections (SQL Msg 6102, 'Unable to put database in single-user mode').",
    }
    OPTIONS = {
        "vault_dir": {"type": "path", "required": True},
        "snapshot_dir": {"type": "path"},
        "journal_dir": {"type": "path"},
        "from_snapshot": {"type": "bool", "default": False},
        "database": {"type": "str"},
        "site_code": {"type": "str"},
        "steps": {"type": "list", "elements": "str", "default": list(MAIN_STEPS)},
        "approve": {"type": "list", "elements": "str", "default": []},
        "kill": {"type": "list", "elements": "int", "default": []},
        "rollback": {"type": "bool", "default": False},
        "dump_dir": {"type": "str"},
        "device_dir": {"type": "str"},
        "log_method": {"type": "str", "default": "option", "choices": ["option", "size"]},
        "sql_client": {"type": "str", "default": "isql.exe"},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "timeout": {"type": "int", "default": 600},
        "long_timeout": {"type": "int", "default": 7200},
        "sql_queries": {"type": "dict", "default": {}},
        "queries": {"type": "dict", "default": {}},
        "params": {"type": "dict", "default": {}},
        "share_map": {"type": "dict", "default": {}},
        "results_max_age": {"type": "int"},
        "source_host": {"type": "str"},
        "lab_database": {"type": "str"},
        "lab_dump_path": {"type": "str"},
        "conv20_path": {"type": "str"},
        "conv20_log": {"type": "str"},
    }
    MODULE_OPTIONS = ()
    SET_BY_ACTION = ("mode", "script", "read_only", "client", "paths", "conv20_database", "width")

    def run(self, ctx, hands):
        args = dict(ctx.args)
        unknown = sorted(set(args["steps"]) - set(STEP_NAMES))
        if unknown or not args["steps"]:
            raise ValueError("steps names unknown steps %s (known: %s)" % (", ".join(unknown) or "(none)", ", ".join(STEP_NAMES)))
        if "rehearsal" in args["steps"] and len(args["steps"]) > 1:
            raise ValueError("the rehearsal runs in its own task (delegated to the lab server): steps must be [rehearsal] "
                             "alone")
        bad = sorted(set(args["approve"]) - set(phase_data()["approval_steps"]))
        if bad:
            raise ValueError("approve names %s; only %s need approval" % (", ".join(bad), ", ".join(phase_data()["approval_steps"])))
        if args.get("results_max_age") is None:
            args["results_max_age"] = merge_params(args.get("params") or {})["database_results_max_age_days"]
        if "rehearsal" in args["steps"]:
            return self._rehearsal(ctx, hands, args)
        snapshot = host_snapshot(args.get("snapshot_dir"), ctx.host, args["from_snapshot"])
        if args["from_snapshot"] and (snapshot or {}).get("kind") != "site_database":
            raise ValueError("the snapshot of %s is no site_database snapshot: gather it as a SQL host (sms_sql)" % ctx.host)
        database = args.get("database") or (snapshot or {}).get("site_database")
        if not database:
            raise ValueError("the site database is unknown: set sms_upgrade_site_database (or gather the host first)")
        args["_database"] = isql.check_identifier(database)
        site = resolve_site(args.get("site_code"), snapshot, ctx.groups, args["vault_dir"], ctx.host)
        if not site:
            raise ValueError("site code unknown: set site_code, put the host in an sms_site_XXX group or gather it")
        run = DatabaseRun(self, ctx._replace(args=args), hands)
        try:
            return run.run(snapshot, site.upper(), args["from_snapshot"])
        except (DatabaseError, isql.SqlScriptError) as exc:
            raise DatabaseError(str(exc)) from None

    def _rehearsal(self, ctx, hands, args):
        """The rehearsal task runs for the lab SQL Server (an inventory host in sms_lab_sql) and rehearses the baseline
        of ``source_host``, whose record (found in the vault) and snapshot say which database and dump."""
        source = args.get("source_host")
        if not source:
            raise ValueError("the rehearsal needs source_host: the production SQL host whose baseline dump is loaded here")
        snapshot = host_snapshot(args.get("snapshot_dir"), source)
        database = args.get("database") or (snapshot or {}).get("site_database")
        if not database:
            raise ValueError("the site database of %s is unknown: set its sms_upgrade_site_database or gather it" % source)
        args["_database"] = isql.check_identifier(database)
        path = find_record(args["vault_dir"], source)
        if path is None:
            site = resolve_site(args.get("site_code"), snapshot, (), None, None)
            if not site:
                raise ValueError("site code of %s unknown: set site_code or gather it" % source)
            path = record_path(args["vault_dir"], site.upper(), source)
        run = DatabaseRun(self, ctx._replace(args=args), hands)
        try:
            return run.rehearse(path, args["from_snapshot"])
        except (DatabaseError, isql.SqlScriptError) as exc:
            raise DatabaseError(str(exc)) from None


PHASE = DatabasePhase()
