"""A model of SQL Server 6.5 servers and the Windows machines around them, behind the module sms.upgrade.database.

``FakeSql65.execute_module`` answers what the PowerShell module would return: ``mode: sql`` runs a script as one
isql session does (batches separated by ``go``; result sets as a header, a line of dashes, the rows and ``(n rows
affected)``; errors as ``Msg n, Level l, State s`` and their text; informational lines as plain text), ``mode: files``
stats, sizes and hashes files with the free space of their volume, ``mode: conv20`` runs CONV20.EXE against a (lab)
server and returns its log. The model keeps devices (sysdevices), database fragments (sysusages), status bits
(sysdatabases), connections (sysprocesses) and the SMS 1.2 tables the survey reads, and changes them as DISK INIT,
ALTER DATABASE, sp_dboption, sp_logdevice, sp_dropdevice, KILL, DUMP and LOAD would.

Faults a test can plant: ``hang`` (a statement kind that never finishes: the session times out), ``damage`` (Msg
lines a DBCC command prints), ``volumes`` (free bytes: a full disk fails DUMP and DISK INIT), ``before`` (free bytes a
volume has when a statement kind starts: the disk filled up after the check), ``login`` (the only login that
connects), ``conv20_log`` (lines CONV20 writes), ``unreachable`` machines, ``missing_client``.
It answers the statements the database phase builds (and the gather's survey); anything else is a ModelError, so a
test notices when the phase sends something the model was not written for. It is a model of documented behaviour,
not SQL Server: message numbers of failures are chosen to look like 6.5's, the phase does not depend on them.

The state is a plain dict (JSON), so the playbook tests can keep it in a file between module calls; this file only
imports the standard library (it is copied into a test collection as a module_util).
"""
import contextlib
import copy
import datetime
import fcntl
import hashlib
import json
import os
import re

PAGES_PER_MB = 512
VDEV = 2 ** 24
BITS = {"select into/bulkcopy": 4, "trunc. log on chkpt.": 8, "single user": 4096}
SEGMAP = {"data": 3, "log": 4, "data_and_log": 7}
SYSTEM_PROCESSES = [(1, "MIRROR HANDLER"), (2, "LAZY WRITER"), (3, "CHECKPOINT SLEEP"), (4, "RA MANAGER")]
DBCC_DONE = "DBCC execution completed. If DBCC printed error messages, see your System Administrator."


class ModelError(AssertionError):
    """The phase sent something this model was not written to answer."""


class SessionTimeout(Exception):
    """A statement planted with ``hang`` never finishes."""


# ------------------------------------------------------------------ building a server from a lab snapshot
def server_from_snapshot(snapshot, **faults):
    """A server state from a site_database snapshot of the lab (devices, fragments, options, connections, tables)."""
    devices, by_name = {}, {}
    for device in snapshot.get("devices") or []:
        by_name[device["name"]] = device
    used_vdev = {d.get("vdevno") for d in by_name.values()}
    spare = [n for n in range(127, 1, -1) if n not in used_vdev]
    sizes = {}
    for db in snapshot["databases"]:
        for frag in db.get("devices") or []:
            sizes[frag["device"]] = sizes.get(frag["device"], 0) + frag["size_mb"]
    for name in list(sizes) + list(by_name):
        spec = by_name.get(name, {"name": name, "size_mb": sizes[name], "vdevno": None,
                                  "physical_name": "C:\\MSSQL\\DATA\\%s.DAT" % name})
        vdevno = spec["vdevno"] if spec.get("vdevno") is not None else spare.pop(0)
        pages = int(round(max(spec["size_mb"], sizes.get(name, 0)) * PAGES_PER_MB))
        devices[name] = {"phyname": spec.get("physical_name"), "low": vdevno * VDEV, "high": vdevno * VDEV + pages - 1,
                         "cntrltype": 0}
    databases, next_free = {}, {name: 0 for name in devices}
    ids = {"master": 1, "tempdb": 2, "model": 3, "msdb": 4}
    for index, db in enumerate(snapshot["databases"]):
        frags = []
        for frag in db.get("devices") or []:
            pages = int(round(frag["size_mb"] * PAGES_PER_MB))
            frags.append({"device": frag["device"], "segmap": SEGMAP[frag["segment"]], "size": pages,
                          "vstart": devices[frag["device"]]["low"] + next_free[frag["device"]]})
            next_free[frag["device"]] += pages
        status = sum(bit for option, bit in BITS.items() if option in (db.get("options") or []))
        used = db.get("used_mb")
        databases[db["name"]] = {"dbid": ids.get(db["name"].lower(), 10 + index), "status": status, "fragments": frags,
                                 "used": int(round((used if used is not None else sum(f["size"] for f in frags) / 1024.0)
                                                   * PAGES_PER_MB)), "loaded_from": None, "converted": False}
    site = snapshot["site_database"]
    processes = [{"spid": spid, "status": "sleeping", "login": "sa", "hostname": "", "program": "", "dbname": "master",
                  "cmd": cmd} for spid, cmd in SYSTEM_PROCESSES]
    for conn in snapshot.get("connections") or []:
        processes.append({"spid": conn["spid"], "status": conn.get("status") or "sleeping", "login": conn.get("login") or "",
                          "hostname": conn.get("hostname") or "", "program": conn.get("program") or "",
                          "dbname": conn.get("dbname") or "master", "cmd": conn.get("cmd") or "AWAITING COMMAND"})
    oldest = (snapshot.get("machine_history") or {}).get("oldest")
    state = {"version": snapshot["sql"]["version"], "site_database": site, "devices": devices, "databases": databases,
             "processes": processes, "history_oldest": oldest, "computers": snapshot.get("computer_count"),
             "jobs": [[j["id"], j.get("name") or "", j.get("status") or "", ",".join(j.get("target_sites") or [])]
                      for j in snapshot.get("jobs") or []],
             "tables": ["GroupMap", "JobDetails", "MachineDataHistoryTable", "MachineDataTable", "Machines"],
             "queries": {}, "login": "sa", "hang": [], "damage": {}, "conv20_log": None, "next_spid": 20}
    dup_rows = [[d["smsid"], m] for d in snapshot.get("duplicate_smsids") or [] for m in d["machines"]]
    state["queries"]["select SMSID, Name from %s..MachineIdentity" % site] = {"columns": ["SMSID", "Name"], "rows": dup_rows}
    state.update(copy.deepcopy(faults))
    return state


def machine(volumes=None, directories=None, files=None):
    """A Windows machine: free bytes per drive, the directories that exist, files by path (size and content id)."""
    return {"volumes": volumes or {"C:": 2 * 1024 ** 3, "D:": 4 * 1024 ** 3, "E:": 1024 ** 3},
            "dirs": sorted(d.upper() for d in (directories or ["C:\\MSSQL\\DATA", "C:\\MSSQL\\BACKUP", "D:\\MSSQL\\DATA",
                                                               "E:\\MSSQL\\DATA"])),
            "files": files or {}, "unreachable": False, "missing_client": False}


# ------------------------------------------------------------------ isql output
def table(columns, rows):
    """A result set as isql prints it."""
    cells = [["NULL" if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [" ".join(c.ljust(w) for c, w in zip(columns, widths)), " ".join("-" * w for w in widths)]
    lines += [" ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return lines + ["", "(%d row%s affected)" % (len(rows), "" if len(rows) == 1 else "s")]


def msg(number, level, text, state=1):
    return ["Msg %d, Level %d, State %d" % (number, level, state), text]


def _sql_date(iso):
    moment = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%b %d %Y %I:%M%p").replace(" 0", "  ")


# ------------------------------------------------------------------ one session
class Session:
    """One isql session of ``login`` against a server state, on behalf of the machines of the network."""

    def __init__(self, model, server_name, login):
        self.model = model
        self.name = server_name.upper()
        self.s = model.state["servers"][self.name]
        self.login = login or "sa"
        self.spid = self.s["next_spid"]
        self.s["next_spid"] += 1
        self.out = []
        self.rc = 0

    # -------------------------------------------------------------- the script
    def run(self, script):
        if self.login.lower() != self.s["login"].lower():
            return msg(4002, 14, "Login failed"), 1
        self.s["processes"].append({"spid": self.spid, "status": "runnable", "login": self.login, "hostname": "MGMT",
                                    "program": "ISQL-32", "dbname": "master", "cmd": "SELECT"})
        try:
            for batch in re.split(r"^\s*go\s*$", script, flags=re.IGNORECASE | re.MULTILINE):
                if batch.strip():
                    self.batch(batch.strip())
            return self.out, self.rc
        finally:
            self.s["processes"] = [p for p in self.s["processes"] if p["spid"] != self.spid]

    def batch(self, text):
        printed = re.match(r"^print '(.*)'$", text)
        if printed:
            self.out.append(printed.group(1))
            return
        if text.startswith("declare @rc int, @err int"):
            self.guarded(text)
            return
        self.out += self.statement(text)

    def guarded(self, text):
        match = re.search(r"\nif (.*?)\nbegin\n    (.*?)\n    select @err = @@error\n", text, re.DOTALL)
        if not match:
            raise ModelError("a guarded batch of an unknown form: %r" % text[:200])
        conditions = match.group(1).split("\n  and ")
        if not all(self.condition(c) for c in conditions):
            self.out.append("SMSUPG!conflict")
            return
        statement = match.group(2)
        procedure = statement.startswith("exec @rc = ")
        lines = self.statement(statement[len("exec @rc = "):] if procedure else statement)
        self.out += lines
        failed = any(re.match(r"^Msg \d+, Level (1[1-9]|2\d)", line) for line in lines) or self._rc_failed
        self.out.append("SMSUPG!failed" if failed else "SMSUPG!applied")

    # -------------------------------------------------------------- conditions
    def condition(self, text):
        s = self.s
        m = re.match(r"^\(select isnull\(sum\(size\), 0\) from master\.\.sysusages where dbid = db_id\('(.+?)'\) and "
                     r"segmap (=|!=) 4\) = (\d+)$", text)
        if m:
            frags = self._db(m.group(1))["fragments"]
            pages = sum(f["size"] for f in frags if (f["segmap"] == 4) == (m.group(2) == "="))
            return pages == int(m.group(3))
        m = re.match(r"^\(select status & (\d+) from master\.\.sysdatabases where name = '(.+?)'\) = (\d+)$", text)
        if m:
            return self._db(m.group(2))["status"] & int(m.group(1)) == int(m.group(3))
        m = re.match(r"^(not )?exists \(select \* from master\.\.sysdevices where name = '(.+?)'\)$", text)
        if m:
            return (m.group(2) in s["devices"]) != bool(m.group(1))
        m = re.match(r"^not exists \(select \* from master\.\.sysdevices where cntrltype = 0 and low / 16777216 = (\d+)\)$", text)
        if m:
            return all(d["low"] // VDEV != int(m.group(1)) for d in s["devices"].values() if d["cntrltype"] == 0)
        m = re.match(r"^not exists \(select \* from master\.\.sysusages u, master\.\.sysdevices v where v\.name = '(.+?)' "
                     r"and u\.vstart between v\.low and v\.high\)$", text)
        if m:
            return not any(f["device"] == m.group(1) for db in s["databases"].values() for f in db["fragments"])
        m = re.match(r"^exists \(select \* from master\.\.sysusages u, master\.\.sysdevices v where u\.dbid = db_id\('(.+?)'\) "
                     r"and v\.name = '(.+?)' and u\.vstart between v\.low and v\.high\)$", text)
        if m:
            return any(f["device"] == m.group(2) for f in self._db(m.group(1))["fragments"])
        m = re.match(r"^exists \(select \* from master\.\.sysprocesses where spid = (\d+) and program_name = '(.*?)' and "
                     r"hostname = '(.*?)' and suser_name\(suid\) = '(.*?)'\)$", text)
        if m:
            return any(p["spid"] == int(m.group(1)) and p["program"] == m.group(2).replace("''", "'") and
                       p["hostname"] == m.group(3) and p["login"] == m.group(4) for p in s["processes"])
        m = re.match(r"^(not )?exists \(select \* from master\.\.sysdatabases where name = '(.+?)'\)$", text)
        if m:
            return (m.group(2) in s["databases"]) != bool(m.group(1))
        m = re.match(r"^not exists \(select \* from master\.\.sysprocesses where dbid = db_id\('(.+?)'\) and spid != @@spid\)$", text)
        if m:
            return not any(p["dbname"] == m.group(1) and p["spid"] != self.spid for p in s["processes"])
        raise ModelError("unknown condition %r" % text)

    def _db(self, name):
        if name not in self.s["databases"]:
            raise ModelError("the phase named database %r the server does not have" % name)
        return self.s["databases"][name]

    # -------------------------------------------------------------- statements
    _rc_failed = False

    def statement(self, text):
        self._rc_failed = False
        for kind, pattern, handler in self.HANDLERS:
            m = re.match(pattern, text, re.IGNORECASE | re.DOTALL)
            if m:
                if kind in self.s["hang"]:
                    raise SessionTimeout(kind)
                for drive, free in ((self.s.get("before") or {}).get(kind) or {}).get("volumes", {}).items():
                    self.model.machine(self.name)["volumes"][drive] = free    # the disk fills up meanwhile
                return getattr(self, handler)(*m.groups())
        if text.lower().startswith("select ") and text in self.s["queries"]:
            found = self.s["queries"][text]
            if "error" in found:
                return msg(*found["error"])
            return table(found["columns"], found["rows"])
        if text.lower().startswith("select "):
            name = re.search(r"from (\S+)", text, re.IGNORECASE)
            return msg(208, 16, "Invalid object name '%s'." % (name.group(1) if name else "?"))
        raise ModelError("unknown statement %r" % text[:200])

    HANDLERS = [
        ("select", r"^select @@version$", "version"),
        ("select", r"^select @@spid$", "spid_"),
        ("select", r"^select name, phyname, low, high, cntrltype from master\.\.sysdevices$", "sysdevices"),
        ("select", r"^select d\.name, u\.segmap, u\.size, v\.name from master\.\.sysdatabases d, master\.\.sysusages u, "
                   r"master\.\.sysdevices v where u\.dbid = d\.dbid and u\.vstart between v\.low and v\.high and "
                   r"v\.cntrltype = 0$", "sysusages"),
        ("select", r"^exec master\.\.sp_helpdb$", "helpdb"),
        ("select", r"^select sum\(reserved\) from (\w+)\.\.sysindexes where indid in \(0, 1, 255\)$", "used"),
        ("select", r"^select spid, status, suser_name\(suid\), hostname, program_name, db_name\(dbid\), cmd from "
                   r"master\.\.sysprocesses$", "sysprocesses"),
        ("select", r"^select name from (\w+)\.\.sysobjects where type = 'U' order by name$", "tables"),
        ("select", r"^select min\(TimeKey\) from (\w+)\.\.MachineDataHistoryTable$", "history"),
        ("select", r"^select count\(\*\) from (\w+)\.\.Machines$", "computers"),
        ("select", r"^select \* from (\w+)\.\.JobDetails$", "jobdetails"),
        ("select", r"^select name, status from master\.\.sysdatabases$", "dbstatus"),
        ("DISK INIT", r"^DISK INIT NAME = '(.+?)', PHYSNAME = '(.+?)', VDEVNO = (\d+), SIZE = (\d+)$", "disk_init"),
        ("ALTER DATABASE", r"^ALTER DATABASE (\w+) ON (\w+) = (\d+)$", "alter"),
        ("sp_logdevice", r"^master\.\.sp_logdevice '(.+?)', '(.+?)'$", "logdevice"),
        ("sp_dboption", r"^master\.\.sp_dboption '(.+?)', '(.+?)', '(true|false)'$", "dboption"),
        ("sp_dropdevice", r"^master\.\.sp_dropdevice '(.+?)'$", "dropdevice"),
        ("KILL", r"^KILL (\d+)$", "kill"),
        ("DUMP", r"^DUMP DATABASE (\w+) TO DISK = '(.+?)' WITH INIT$", "dump"),
        ("LOAD HEADERONLY", r"^LOAD HEADERONLY FROM DISK = '(.+?)'$", "headeronly"),
        ("LOAD DATABASE", r"^LOAD DATABASE (\w+) FROM DISK = '(.+?)'$", "load"),
        ("DBCC", r"^DBCC (CHECKDB|NEWALLOC|CHECKCATALOG) \((\w+)\)$", "dbcc"),
    ]

    # reads
    def version(self):
        banner = "Microsoft SQL Server  6.50 - %s (Intel X86) " % self.s["version"]
        return ["", " " + "-" * 60, banner, "\tMar 23 1998 14:18:05 ", "", "(1 row affected)"]

    def spid_(self):
        return table(["     "], [[self.spid]])

    def sysdevices(self):
        return table(["name", "phyname", "low", "high", "cntrltype"],
                     [[n, d["phyname"], d["low"], d["high"], d["cntrltype"]] for n, d in sorted(self.s["devices"].items())])

    def sysusages(self):
        rows = [[name, f["segmap"], f["size"], f["device"]] for name, db in sorted(self.s["databases"].items())
                for f in db["fragments"]]
        return table(["name", "segmap", "size", "name"], rows)

    def helpdb(self):
        rows = []
        for name, db in sorted(self.s["databases"].items()):
            options = [o for o, bit in BITS.items() if db["status"] & bit]
            size = sum(f["size"] for f in db["fragments"]) / PAGES_PER_MB
            rows.append([name, "%.2f MB" % size, "sa", db["dbid"], "Jun 12 1997", ", ".join(options) or "no options set"])
        return table(["name", "db_size", "owner", "dbid", "created", "status"], rows)

    def used(self, database):
        if database not in self.s["databases"]:
            return msg(911, 16, "Attempt to locate entry in Sysdatabases for database '%s' by name failed." % database)
        return table(["           "], [[self.s["databases"][database]["used"]]])

    def sysprocesses(self):
        return table(["spid", "status", "login", "hostname", "program_name", "dbname", "cmd"],
                     [[p["spid"], p["status"], p["login"], p["hostname"], p["program"], p["dbname"], p["cmd"]]
                      for p in sorted(self.s["processes"], key=lambda p: p["spid"])])

    def tables(self, database):
        return table(["name"], [[t] for t in sorted(self.s["tables"])])

    def history(self, database):
        oldest = self.s["history_oldest"]
        return table(["                          "], [[_sql_date(oldest) if oldest else None]])

    def computers(self, database):
        return table(["           "], [[self.s["computers"]]])

    def jobdetails(self, database):
        return table(["JobID", "Comment", "Status", "TargetSite"], self.s["jobs"])

    def dbstatus(self):
        return table(["name", "status"], [[n, db["status"]] for n, db in sorted(self.s["databases"].items())])

    # changes
    def disk_init(self, name, path, vdevno, size):
        vdevno, size = int(vdevno), int(size)
        host = self.model.machine(self.name)
        if name in self.s["devices"] or any(d["low"] // VDEV == vdevno for d in self.s["devices"].values()):
            return msg(5122, 16, "Device activation error. The physical filename '%s' or the device name or number is "
                                 "already in use." % path)
        if self.model.file(self.name, path) or ntpath_dir(path).upper() not in host["dirs"] or \
                host["volumes"].get(path[:2].upper(), 0) < size * 2048:
            return msg(5123, 16, "DISK INIT encountered an error while attempting to open/create the physical file. "
                                 "Please consult the SQL Server error log (in the SQL Server directory) for more details.")
        host["volumes"][path[:2].upper()] -= size * 2048
        self.model.put_file(self.name, path, size * 2048, "device %s" % name)
        self.s["devices"][name] = {"phyname": path, "low": vdevno * VDEV, "high": vdevno * VDEV + size - 1, "cntrltype": 0}
        return []

    def alter(self, database, device, mb):
        db, pages = self._db(database), int(mb) * PAGES_PER_MB
        spec = self.s["devices"].get(device)
        if spec is None:
            return msg(1803, 16, "CREATE/ALTER DATABASE failed. Some disk names listed in the statement were not found.")
        taken = sum(f["size"] for d in self.s["databases"].values() for f in d["fragments"] if f["device"] == device)
        if spec["high"] - spec["low"] + 1 - taken < pages:
            return msg(1803, 16, "CREATE/ALTER DATABASE failed: there is not enough free space on device %s." % device)
        log_device = any(f["device"] == device and f["segmap"] == 4 for f in db["fragments"])
        db["fragments"].append({"device": device, "segmap": 4 if log_device else 3, "size": pages, "vstart": spec["low"] + taken})
        return ["Extending database by %d pages on disk %s" % (pages, device)]

    def logdevice(self, database, device):
        db = self._db(database)
        frags = [f for f in db["fragments"] if f["device"] == device]
        if not frags:
            self._rc_failed = True
            return ["The specified device is not used by database '%s'." % database]
        for frag in frags:
            frag["segmap"] = 4
        return ["syslogs moved."]

    def dboption(self, database, option, value):
        if option not in BITS:
            self._rc_failed = True
            return msg(15011, 16, "Database option '%s' does not exist." % option)
        db = self._db(database)
        db["status"] = (db["status"] | BITS[option]) if value == "true" else (db["status"] & ~BITS[option])
        return ["CHECKPOINTing database that was changed."]

    def dropdevice(self, name):
        if any(f["device"] == name for db in self.s["databases"].values() for f in db["fragments"]):
            self._rc_failed = True
            return ["Device is being used by a database. You can't drop it."]
        self.s["devices"].pop(name, None)
        return ["Device dropped."]

    def kill(self, spid):
        spid = int(spid)
        if spid == self.spid:
            return msg(6104, 16, "Cannot use KILL to kill your own process.")
        if self.login.lower() != "sa":
            return msg(6102, 14, "Only the System Administrator may use the KILL command.")
        target = next((p for p in self.s["processes"] if p["spid"] == spid), None)
        if target is None:
            return msg(6106, 16, "Process id %d is not an active process id." % spid)
        if target["cmd"] in dict(SYSTEM_PROCESSES).values():
            return msg(6107, 14, "Only user processes can be killed.")
        self.s["processes"].remove(target)
        return []

    def dump(self, database, path):
        db, host = self._db(database), self.model.machine(self.name)
        if ntpath_dir(path).upper() not in host["dirs"]:
            return msg(3201, 16, "Can't open dump device '%s', device error or device off line. Please consult the SQL "
                                 "Server error log for more details." % path)
        size = db["used"] * 2048 + 65536
        free = host["volumes"].get(path[:2].upper(), 0)
        if free < size:
            self.model.put_file(self.name, path, free, "partial dump of %s" % database, partial=True)
            host["volumes"][path[:2].upper()] = 0
            return msg(3202, 16, "Write on dump device '%s' failed, vsn=1 return=112 status=0 (There is not enough space "
                                 "on the disk.)" % path)
        host["volumes"][path[:2].upper()] = free - size
        self.model.put_file(self.name, path, size, "dump of %s pages %s" % (database, json.dumps(db, sort_keys=True)),
                            dump={"database": database, "pages": db["used"], "source": self.name,
                                  "content": copy.deepcopy(db)})
        return []

    def headeronly(self, path):
        entry = self.model.file(self.name, path)
        if entry is None:
            return msg(3201, 16, "Can't open dump device '%s', device error or device off line." % path)
        if entry.get("partial") or not entry.get("dump"):
            return msg(3206, 16, "The dump on device '%s' is incomplete or not a SQL Server dump." % path)
        dump = entry["dump"]
        return table(["Dumptype", "Database", "Devicetype", "Dumpsize", "CreationDate", "CreationTime"],
                     [[1, dump["database"], 2, dump["pages"], "Nov 25, 26", "08:00"]])

    def load(self, database, path):
        entry = self.model.file(self.name, path)
        if entry is None or not entry.get("dump"):
            return msg(3201, 16, "Can't open dump device '%s', device error or device off line." % path)
        db, dump = self._db(database), entry["dump"]
        have = sum(f["size"] for f in db["fragments"])
        need = sum(f["size"] for f in dump["content"]["fragments"])
        if have < need:
            return msg(3105, 16, "Data on dump will not fit into current database. Need %d Mbyte database." % (
                need // PAGES_PER_MB))
        db.update(loaded_from=path, converted=False, used=dump["content"]["used"])
        return ["Database '%s' loaded (model)." % database]

    def dbcc(self, command, database):
        self._db(database)
        lines = ["Checking %s" % database]
        for number, level, text in self.s["damage"].get(command, []):
            lines += msg(number, level, text)
        return lines + [DBCC_DONE]


def ntpath_dir(path):
    return path.rsplit("\\", 1)[0]


# ------------------------------------------------------------------ the network and the module
class FakeSql65:
    """Servers and machines by name; ``execute_module`` is the module ``sms.upgrade.database``."""

    def __init__(self, state=None):
        self.state = state or {"servers": {}, "machines": {}}
        self.calls = []

    @classmethod
    def lab(cls, *snapshots, **faults):
        """A network of the lab's SQL hosts (each its own machine), built from their snapshots."""
        model = cls()
        for snapshot in snapshots:
            model.add_server(snapshot["computer"], server_from_snapshot(snapshot, **faults))
        return model

    def add_server(self, name, server, host=None):
        self.state["servers"][name.upper()] = server
        self.state["machines"].setdefault(name.upper(), host or machine())
        return server

    def server(self, name):
        return self.state["servers"][name.upper()]

    def machine(self, name):
        return self.state["machines"].setdefault(name.upper(), machine())

    # -------------------------------------------------------------- files
    def _where(self, server, path):
        """The machine and local path a path names (a UNC \\\\MACHINE\\D$\\x is D:\\x on MACHINE)."""
        m = re.match(r"^\\\\([^\\]+)\\([A-Za-z])\$\\(.*)$", path)
        if m:
            return m.group(1).upper(), "%s:\\%s" % (m.group(2).upper(), m.group(3))
        return server.upper(), path

    def file(self, server, path):
        name, local = self._where(server, path)
        return self.machine(name)["files"].get(local.upper())

    def put_file(self, server, path, size, content, partial=False, dump=None):
        name, local = self._where(server, path)
        self.machine(name)["files"][local.upper()] = {
            "path": local, "size": size, "sha256": hashlib.sha256(("%s|%d" % (content, size)).encode("utf-8")).hexdigest(),
            "partial": partial, "dump": dump}

    # -------------------------------------------------------------- the module
    def execute_module(self, module_name, module_args, task_vars=None, check_mode=False):
        """What sms.upgrade.database returns for ``module_args`` (run on the relay or host, acting on ``computer``)."""
        assert module_name == "sms.upgrade.database", module_name
        args = dict(module_args)
        self.calls.append(args)
        runner = ((task_vars or {}).get("inventory_hostname") or "MGMT").upper()
        computer = (args.get("computer") or runner).upper()
        mode = args.get("mode", "sql")
        if check_mode and mode == "sql" and not args.get("read_only"):
            return {"failed": True, "msg": "check mode runs read-only scripts only: the action plugin marks those with read_only"}
        if self.machine(computer).get("unreachable"):
            return {"failed": True, "msg": "the network path was not found (%s)" % computer, "cause": "unreachable"}
        if mode == "sql":
            return self._sql(computer, args)
        if mode == "files":
            return self._files(computer, args)
        if mode == "conv20":
            return self._conv20(runner, computer, args)
        raise ModelError("unknown mode %r" % mode)

    def _sql(self, computer, args):
        if self.state.get("missing_client"):
            return {"failed": True, "msg": "SQL client '%s' not found" % args.get("client")}
        if computer not in self.state["servers"]:
            stderr = "DB-Library: Unable to connect: SQL Server is unavailable or does not exist."
            return {"changed": False, "output": "", "stderr": stderr, "rc": 1, "timed_out": False}
        session = Session(self, computer, args.get("login_user"))
        try:
            out, rc = session.run(args["script"])
            timed_out = False
        except SessionTimeout:
            out, rc, timed_out = session.out, None, True
        return {"changed": False, "output": "\n".join(out) + "\n", "stderr": "", "rc": rc, "timed_out": timed_out,
                "client_path": "C:\\MSSQL\\BINN\\ISQL.EXE", "computer": computer}

    def _files(self, computer, args):
        found = []
        for item in args.get("paths") or []:
            name, local = self._where(computer, item["path"])
            host = self.machine(name)
            entry = host["files"].get(local.upper())
            directory = ntpath_dir(local).upper()
            record = {"path": item["path"], "exists": entry is not None, "dir_exists": directory in host["dirs"],
                      "free_bytes": host["volumes"].get(local[:2].upper()), "size": None, "sha256": None, "error": None}
            if entry is not None:
                record["size"] = entry["size"]
                if item.get("hash"):
                    record["sha256"] = entry["sha256"]
            found.append(record)
        return {"changed": False, "files": found, "computer": computer}

    def _conv20(self, runner, computer, args):
        server = self.state["servers"].get(computer)
        if server is None:
            return {"failed": True, "msg": "CONV20.EXE could not reach %s" % computer}
        db = server["databases"].get(args.get("conv20_database"))
        lines = ["Connecting to %s - [11/25/26 08:00:00]" % computer, "Putting database in single-user mode. - [11/25/26 08:00:01]"]
        others = [p for p in server["processes"] if p["dbname"] == args.get("conv20_database")]
        rc = 0
        if (args.get("login_user") or "sa").lower() != "sa" or others:
            lines += ["SQL Msg #6102> Only the System Administrator may use the KILL command.", "Could not kill a process",
                      "Unable to put database in single-user mode.  Exiting."]
            rc = 1
        elif db is None:
            lines += ["SQL Msg #911> Attempt to locate entry in Sysdatabases for database '%s' by name failed."
                      % args.get("conv20_database"), "Unable to open the database.  Exiting."]
            rc = 1
        else:
            lines += list(server.get("conv20_log") or [])
            lines += ["Converting the database schema to SMS 2.0. - [11/25/26 08:03:00]",
                      "Database conversion complete. - [11/25/26 08:20:00]"]
            db["converted"] = True
        log_path = (args.get("conv20_log") or "%SystemDrive%\\Conv20.log").replace("%SystemDrive%", "C:")
        text = "\r\n".join(lines) + "\r\n"
        self.machine(runner)["files"][log_path.upper()] = {"path": log_path, "size": len(text), "content": text,
                                                           "sha256": hashlib.sha256(text.encode()).hexdigest()}
        command = "%s /S %s /D %s /U %s /P ********" % (
            args.get("conv20_path"), computer, args.get("conv20_database"), args.get("login_user") or "sa")
        return {"changed": True, "rc": rc, "output": "", "log": text, "log_path": log_path, "timed_out": False,
                "command": command}


def load(path):
    """The model kept in a JSON file (the playbook tests)."""
    with open(path, encoding="utf-8") as handle:
        return FakeSql65(json.load(handle))


def save(model, path):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(model.state, handle, indent=1, sort_keys=True)
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(path):
    """One module process at a time changes the model kept in ``path`` (hosts run in parallel forks)."""
    with open(path + ".lock", "a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
