"""The statements of the database phase: compare-and-set changes (each inside a T-SQL ``if`` that checks the server
still holds what the plan was made from), dump and DBCC scripts, and the parsing of their output (docs/database.md)."""

import ntpath
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import phase_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_survey import (
    as_int, DatabaseError, mb_of_pages, PAGE_BYTES, PAGES_PER_MB, VDEVNO_DIVISOR)


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
                      database, device, mb, segment, mb_of_pages(current_pages), mb_of_pages(current_pages + mb * PAGES_PER_MB)),
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
                findings.append({"number": as_int(groups.get("number")), "text": (groups.get("text") or line).strip(),
                                 "line": line.strip()})
                break
    if rc not in (0, None):
        findings.append({"number": None, "text": "CONV20.EXE ended with exit code %s" % rc, "line": None})
    if log_text is None:
        findings.append({"number": None, "text": "Conv20.log was not found after the run", "line": None})
    return not findings, findings
