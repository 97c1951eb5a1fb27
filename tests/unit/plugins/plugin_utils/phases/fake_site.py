"""A model of SMS 1.2 sites for testing the site upgrade end to end: site servers, their SQL, helper and logon servers.

It answers like the PowerShell hands (the contracts the modules implement): ``sms.upgrade.site_services`` (services and
shares, compare-and-set), ``sms.upgrade.site_upgrade`` (state reads: registry, services, Setup's and the conversion's
logs, the Setup media, MIF queues, reachability, a process; and starting Setup), ``sms.upgrade.preserve_files`` (through
``fake_host.FakeHost``, for the rollback point) and ``sms.upgrade.sql_facts`` (the isql output of the blocks the
verification reads). Everything lives in one JSON-compatible ``state`` dict, so a playbook run can keep it in a file
between module calls (``model_connection.py``).

SMS 2.0 Setup is a small script per site server (``scenario``), advanced one step per state read while it runs:

- ``success``: the 1.2 site shuts down, Conv20 runs (the database in single-user mode, then back), the 1.2 services and
  shares go from the site server and from every reachable server of the site except those in ``unreached``, the 2.0
  services start and ``Full Version`` appears;
- ``fail_before_conversion``: Setup stops with KB Q235768's message before Conv20 starts;
- ``fail_in_conversion``: Conv20 starts and exits with the seed's FAQ error, the database left in single-user mode;
- ``hang``: Setup keeps running.

``run_wizard(machine)`` does what an administrator running the upgrade wizard (or the Secondary Site Upgrade Wizard)
would leave behind: the site on SMS 2.0.
"""
import base64
import copy
import fnmatch
import hashlib
import re

from .fake_host import FakeHost

NEW_SERVICES = {"primary": ["SMS_SITE_COMPONENT_MANAGER", "SMS_EXECUTIVE", "SMS_SQL_MONITOR"],
                "secondary": ["SMS_SITE_COMPONENT_MANAGER", "SMS_EXECUTIVE"]}
OLD_SERVICES = ["SMS_SITE_CONFIG_MANAGER", "SMS_HIERARCHY_MANAGER", "SMS_EXECUTIVE", "SMS_INVENTORY_AGENT_NT",
                "SMS_PACKAGE_COMMAND_MANAGER_NT", "SMS_CLIENT_CONFIG_MANAGER"]
FULL_VERSION = "SOFTWARE\\Microsoft\\SMS\\Setup\\Full Version"
INSTALL_DIR = "SOFTWARE\\Microsoft\\SMS\\Identification\\Installation Directory"
SDDL = {"SMS_SHR": "D:(A;;FA;;;WD)(A;;FA;;;BA)", "SMS_SITE": "D:(A;;FA;;;BA)"}
SDDL_SHRX = "D:(A;;FR;;;WD)(A;;FA;;;BA)"
UNREACHABLE = {"status": "failed", "cause": "unreachable", "message": "The network path was not found"}


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def _up(text):
    return (text or "").upper()


PROGRAMS = {"SMS_SITE_CONFIG_MANAGER": "SITEINS.EXE", "SMS_HIERARCHY_MANAGER": "HMAN.EXE", "SMS_EXECUTIVE": "SMSEXEC.EXE",
            "SMS_INVENTORY_AGENT_NT": "INVSVC32.EXE", "SMS_PACKAGE_COMMAND_MANAGER_NT": "PCMSVC32.EXE",
            "SMS_CLIENT_CONFIG_MANAGER": "CLICFG.EXE"}


def program_1_2(name, helper=False):
    """Where a 1.2 service's program lives: SITE.SRV or HELPER.SRV, X86.BIN (RG-1.2 S3CEE)."""
    return "C:\\SMS\\%s\\X86.BIN\\%s" % ("HELPER.SRV" if helper else "SITE.SRV", PROGRAMS.get(_up(name), "SMS.EXE"))


def machine(name, services=(), shares=(), files=None, registry=None, role=None, site=None, reachable=True, helper=False):
    """One server's state. ``shares``: (name, path, remark) tuples; ``services`` running and automatic."""
    state = {"name": name, "reachable": reachable, "role": role, "site": site, "system_drive": "C:",
             "services": {_up(s): {"name": s, "start_mode": "auto", "state": "running", "path": program_1_2(s, helper)}
                          for s in services},
             "shares": {}, "registry": dict(registry or {}), "files": {}, "databases": {}, "setup": None,
             "media": None, "scenario": "success", "unreached": [], "leaves": [], "processes": 0}
    for share, path, remark in shares:
        sddl = SDDL_SHRX if share.upper().startswith("SMS_SHR") and share.upper() != "SMS_SHR" else SDDL.get(share.upper(), "D:(A;;FA;;;BA)")
        state["shares"][_up(share)] = {"name": share, "path": path, "remark": remark, "max_uses": -1, "sddl": sddl}
    for path, data in (files or {}).items():
        state["files"][_up(path)] = {"path": path, "b64": _b64(data)}
    return state


def server_from_snapshot(snapshot, reachable=True):
    """A model server from a lab snapshot: its services, shares, SMS tree (content made up, listed sizes) and registry."""
    sms = snapshot.get("sms") or {}
    files = {}
    for name, entries in (snapshot.get("sms_tree") or {}).items():
        if name == "root":
            continue
        for entry in entries:
            files[entry["path"]] = ("content of %s" % entry["path"]).encode("utf-8")
    root = sms.get("install_dir") or "C:\\SMS"
    files[root + "\\SITE.SRV\\X86.BIN\\SITEINS.EXE"] = b"MZ siteins"
    files[root + "\\LOGS\\SITECFG.LOG"] = b"site configuration manager log\r\n"
    role = sms.get("site_role") if "site" in (snapshot.get("roles") or []) else None
    state = machine(snapshot.get("computer") or snapshot["host"], services=[s["name"] for s in snapshot.get("services") or []],
                    shares=[(s["name"], s["path"], s.get("remark")) for s in snapshot.get("shares") or []], files=files,
                    registry={INSTALL_DIR: root, "SOFTWARE\\Microsoft\\SMS\\Setup\\Version": sms.get("setup_version")},
                    role=role, site=sms.get("site_code"), reachable=reachable, helper=role is None)
    for entry in snapshot.get("services") or []:
        state["services"][_up(entry["name"])].update(start_mode=entry["start_mode"], state=entry["state"])
    for entry in (snapshot.get("sms_tree") or {}).get("logon_scripts") or []:
        share = {"netlogon": "NETLOGON", "repl": "REPL$"}.get(entry.get("location"))
        if share and _up(share) not in state["shares"]:
            directory = entry["path"].rsplit("\\", 1)[0]
            if share == "REPL$":
                directory = directory.rsplit("\\", 1)[0]
            state["shares"][_up(share)] = {"name": share, "path": directory, "remark": "Logon server share",
                                           "max_uses": -1, "sddl": "D:(A;;FR;;;WD)(A;;FA;;;BA)"}
    return state


def sql_from_snapshot(snapshot, reachable=True):
    """A model SQL Server from a lab site_database snapshot: its databases and their options."""
    state = machine(snapshot.get("computer") or snapshot["host"], services=["MSSQLServer"], site=snapshot.get("site_code"),
                    reachable=reachable)
    for database in snapshot.get("databases") or []:
        state["databases"][_up(database["name"])] = {"name": database["name"], "options": list(database.get("options") or []),
                                                     "data_mb": database.get("data_mb") or 1, "log_mb": database.get("log_mb") or 0}
    return state


class FakeSite:
    """Machines by name; ``execute`` answers a module call made on ``host`` (acting on ``computer`` when given)."""

    def __init__(self, state=None):
        self.state = state if state is not None else {"machines": {}, "calls": []}

    # ------------------------------------------------------------------ building
    def add(self, state):
        self.state["machines"][_up(state["name"])] = state
        return state

    def m(self, name):
        return self.state["machines"][_up(name)]

    def set_media(self, name, version, root="D:\\", alpha=True):
        dirs = ["SMSSETUP\\BIN\\I386"] + (["SMSSETUP\\BIN\\ALPHA"] if alpha else [])
        self.m(name)["media"] = {"root": root, "version": version, "dirs": dirs}

    def file(self, name, path):
        entry = self.m(name)["files"].get(_up(path))
        return None if entry is None else base64.b64decode(entry["b64"])

    def put(self, name, path, data):
        self.m(name)["files"][_up(path)] = {"path": path, "b64": _b64(data)}

    def calls_to(self, module):
        return [c for c in self.state["calls"] if c["module"] == module]

    # ------------------------------------------------------------------ the network
    def execute(self, module, args, check_mode=False, host=None):
        args = dict(args)
        target = args.get("computer") or host
        self.state["calls"].append({"module": module, "host": host, "computer": args.get("computer"),
                                    "mode": args.get("mode"), "check_mode": check_mode})
        if _up(target) not in self.state["machines"]:
            return {"failed": True, "msg": "The network path was not found (%s)" % target}
        server = self.m(target)
        if module == "sms.upgrade.sql_facts":
            return self._sql(server, args)
        if not server["reachable"]:
            if module == "sms.upgrade.site_services" and args.get("mode") == "apply":
                return {"changed": False, "computer": target, "changes": [dict(UNREACHABLE, id=c["id"]) for c in args["changes"]]}
            return {"failed": True, "msg": "%s: The network path was not found" % target}
        if module == "sms.upgrade.site_services":
            return self._site_services(server, args, check_mode)
        if module == "sms.upgrade.site_upgrade":
            return self._site_upgrade(server, args, check_mode)
        if module in ("sms.upgrade.preserve_files", "sms.upgrade.restore_files"):
            return self._preserve(server, module, args, check_mode)
        return {"failed": True, "msg": "the model does not know module %s" % module}

    def fetch(self, host, remote, local):
        for server in self.state["machines"].values():
            entry = server["files"].get(_up(remote))
            if entry is not None:
                with open(local, "wb") as handle:
                    handle.write(base64.b64decode(entry["b64"]))
                return
        raise OSError("failed to transfer %s: it does not exist" % remote)

    # ------------------------------------------------------------------ sms.upgrade.site_services
    @staticmethod
    def _service_view(server, name):
        entry = server["services"].get(_up(name))
        if entry is None:
            return {"name": name, "present": False, "start_mode": None, "state": None, "path": None}
        return {"name": entry["name"], "present": True, "start_mode": entry["start_mode"], "state": entry["state"],
                "path": entry.get("path")}

    @staticmethod
    def _share_view(share):
        return {key: share[key] for key in ("name", "path", "remark", "max_uses", "sddl")}

    def _site_services(self, server, args, check_mode):
        if args.get("mode", "read") == "read":
            names = [_up(n) for n in args.get("share_names") or []]
            return {"changed": False, "computer": server["name"], "errors": [],
                    "services": [self._service_view(server, n) for n in args.get("service_names") or []],
                    "shares": [self._share_view(server["shares"][n]) for n in names if n in server["shares"]]}
        results = [self._change(server, change, check_mode) for change in args.get("changes") or []]
        return {"changed": any(r["status"] == "changed" for r in results), "computer": server["name"], "changes": results}

    def _change(self, server, change, check_mode):
        if change["kind"] == "service":
            return self._service_change(server, change, check_mode)
        return self._share_change(server, change, check_mode)

    def _service_change(self, server, change, check_mode):
        now = self._service_view(server, change["name"])
        result = {"id": change["id"]}
        if not now["present"]:
            return dict(result, status="conflict", message="service %s does not exist" % change["name"])
        set_mode = "start_mode" in change and now["start_mode"] != change["start_mode"]["to"]
        if set_mode and now["start_mode"] != change["start_mode"]["from"]:
            return dict(result, status="conflict", current=now, message="service %s starts %s" % (change["name"], now["start_mode"]))
        want = change.get("state", {}).get("to")
        set_state = bool(want) and now["state"] != want
        if not (set_mode or set_state):
            return dict(result, status="unchanged", current=now)
        if check_mode:
            return dict(result, status="would_change", current=now)
        entry = server["services"][_up(change["name"])]
        if set_mode:
            entry["start_mode"] = change["start_mode"]["to"]
        if set_state:
            entry["state"] = want
        return dict(result, status="changed", current=self._service_view(server, change["name"]))

    def _share_change(self, server, change, check_mode):
        now = server["shares"].get(_up(change["name"]))
        current = self._share_view(now) if now else None
        result = {"id": change["id"], "current": current}
        if change["to"] is None:
            if now is None:
                return dict(result, status="unchanged", message="share %s does not exist" % change["name"])
            if _up(now["path"]) != _up(change["from"]["path"]):
                return dict(result, status="conflict", message="share %s points to %s" % (change["name"], now["path"]))
            if check_mode:
                return dict(result, status="would_change")
            del server["shares"][_up(change["name"])]
            return dict(result, status="changed", backup=now["sddl"])
        if now is not None:
            if _up(now["path"]) == _up(change["to"]["path"]):
                return dict(result, status="unchanged")
            return dict(result, status="conflict", message="share %s exists on %s" % (change["name"], now["path"]))
        if check_mode:
            return dict(result, status="would_change")
        server["shares"][_up(change["name"])] = dict(change["to"], name=change["name"])
        return dict(result, status="changed", current=self._share_view(server["shares"][_up(change["name"])]))

    # ------------------------------------------------------------------ sms.upgrade.site_upgrade
    def _site_upgrade(self, server, args, check_mode):
        if args.get("mode") == "start":
            return self._start(server, args, check_mode)
        if args.get("process_id") and server["setup"] and server["setup"]["running"]:
            self._advance(server)
        sms_root = server["registry"].get(INSTALL_DIR)
        result = {"changed": False, "computer": server["name"], "system_drive": server["system_drive"], "errors": [],
                  "sms_root": sms_root,
                  "registry": {path: server["registry"].get(path) for path in args.get("registry_values") or []},
                  "services": [self._service_view(server, n) for n in args.get("service_names") or []],
                  "logs": [self._log(server, log, args.get("max_log_bytes") or 65536) for log in args.get("logs") or []],
                  "media": self._media(server, args.get("media")) if args.get("media") else None,
                  "media_dirs": [{"path": p, "present": self._media_dir(server, p)} for p in args.get("media_dirs") or []],
                  "queues": [self._queue(server, q, sms_root) for q in args.get("queues") or []],
                  "reach": [self._reach(name) for name in args.get("reach") or []],
                  "unc_files": [{"path": p, "present": self._unc(server, p)} for p in args.get("unc_files") or []],
                  "process": None}
        if args.get("process_id") and not server.get("wmi", True):
            result["process"] = {"id": args["process_id"], "running": None, "message": "The RPC server is unavailable"}
        elif args.get("process_id"):
            setup = server["setup"]
            running = bool(setup and setup["pid"] == args["process_id"] and setup["running"])
            result["process"] = {"id": args["process_id"], "running": running}
        return result

    def _log(self, server, log, max_bytes):
        path = log["path"].replace("%SYSTEMDRIVE%", server["system_drive"])
        data = self.file(server["name"], path)
        if data is None:
            return {"name": log["name"], "path": path, "present": False, "size": None, "offset": 0, "text": ""}
        offset = log.get("offset") or 0
        offset = 0 if offset > len(data) else offset
        chunk = data[offset:offset + max_bytes]
        return {"name": log["name"], "path": path, "present": True, "size": len(data), "offset": offset + len(chunk),
                "text": chunk.decode("latin-1")}

    def _media(self, server, path):
        media = server["media"]
        if not media or not _up(path).startswith(_up(media["root"])):
            return {"path": path, "present": False, "file_version": None, "product_version": None}
        return {"path": path, "present": True, "file_version": media["version"], "product_version": media["version"]}

    @staticmethod
    def _media_dir(server, path):
        media = server["media"]
        return bool(media) and any(_up(path) == _up(media["root"].rstrip("\\") + "\\" + d) for d in media["dirs"])

    def _queue(self, server, queue, sms_root):
        path = queue["path"].replace("%SMS_ROOT%", sms_root or "")
        prefix = _up(path) + "\\"
        names = []
        for upper, entry in sorted(server["files"].items()):
            rest = upper[len(prefix):]
            if not upper.startswith(prefix) or any(rest.startswith(_up(d) + "\\") for d in queue.get("exclude_dirs") or []):
                continue
            if any(fnmatch.fnmatchcase(rest.rsplit("\\", 1)[-1], _up(p)) for p in queue.get("include") or ["*"]):
                names.append(entry["path"])
        return {"path": path, "present": True, "files": len(names), "names": names[:10]}

    def _reach(self, name):
        target = self.state["machines"].get(_up(name))
        if target and target["reachable"]:
            return {"name": name, "reachable": True}
        return {"name": name, "reachable": False, "cause": "unreachable", "message": "The network path was not found"}

    def _unc(self, server, path):
        share, _sep, rest = path.partition("\\")
        held = server["shares"].get(_up(share))
        return bool(held) and self.file(server["name"], held["path"] + "\\" + rest) is not None

    def _start(self, server, args, check_mode):
        if not server.get("wmi", True):
            return {"failed": True, "msg": "%s: Invoke-WmiMethod: The RPC server is unavailable" % server["name"]}
        setup = server["setup"]
        if setup and setup["running"]:
            return {"changed": False, "computer": server["name"], "status": "conflict", "process_id": setup["pid"],
                    "message": "Setup is already running (process %d)" % setup["pid"]}
        if not self._media(server, args["program"])["present"]:
            return {"failed": True, "msg": "%s: cannot start %s: The system cannot find the file specified" % (
                server["name"], args["program"])}
        if check_mode:
            return {"changed": True, "computer": server["name"], "status": "would_change", "process_id": None}
        server["processes"] += 1
        server["setup"] = {"pid": 4000 + server["processes"], "running": True, "tick": 0, "arguments": args.get("arguments")}
        self._append(server, "C:\\SMSSETUP.LOG", "Setup started: %s %s" % (args["program"], " ".join(args.get("arguments") or [])))
        return {"changed": True, "computer": server["name"], "status": "changed", "process_id": server["setup"]["pid"]}

    def _append(self, server, path, line):
        data = (self.file(server["name"], path) or b"") + (line + "\r\n").encode("latin-1")
        self.put(server["name"], path, data)

    def _advance(self, server):
        setup = server["setup"]
        setup["tick"] += 1
        tick, scenario = setup["tick"], server["scenario"]
        log, conv = "C:\\SMSSETUP.LOG", "C:\\Conv20.log"
        if scenario == "hang":
            self._append(server, log, "Setup is waiting")
            return
        if tick == 1:
            self._append(server, log, "Shutting down the SMS 1.2 site")
            for name in OLD_SERVICES:
                if _up(name) in server["services"]:
                    server["services"][_up(name)]["state"] = "stopped"
            return
        if scenario == "fail_before_conversion":
            self._append(server, log, "Setup cannot upgrade the Systems Management Server database. Contact your SQL Administrator.")
            setup["running"] = False
            return
        sql = self._site_sql(server)
        if tick == 2:
            self._append(server, conv, "Putting database in single-user mode. - [12/05/26 18:43:29]")
            if sql:
                sql["options"] = sorted(set(sql["options"]) | {"single user"})
            return
        if scenario == "fail_in_conversion":
            self._append(server, conv, "SQL Msg #6102> Only the System Administrator may use the KILL command.")
            self._append(server, conv, "Unable to put database in single-user mode.  Exiting.")
            self._append(server, log, "The database conversion did not complete")
            setup["running"] = False
            return
        if tick == 3:
            self._append(server, conv, "Database conversion complete.")
            if sql:
                sql["options"] = [o for o in sql["options"] if o != "single user"]
            return
        self._finish_upgrade(server)
        self._append(server, log, "Setup completed the upgrade of site %s" % server["site"])
        setup["running"] = False

    def _site_sql(self, server):
        for other in self.state["machines"].values():
            if other["site"] == server["site"] and other["databases"]:
                return other["databases"].get(_up("SMS_%s" % server["site"]))
        return None

    def _finish_upgrade(self, server):
        """What Setup leaves: SMS 2.0 on the site server, 1.2 gone from the servers of the site it could reach."""
        kind = "secondary" if server["role"] == "secondary" else "primary"
        for other in self.state["machines"].values():
            if other["site"] != server["site"] or other["databases"]:
                continue
            if other is not server and (not other["reachable"] or _up(other["name"]) in map(_up, server["unreached"])):
                continue
            for name in OLD_SERVICES:
                if other is server and _up(name) in map(_up, server["leaves"]):
                    continue
                other["services"].pop(_up(name), None)
            for share in list(other["shares"]):
                if share.startswith("SMS_SHR") or share == "SMS_SITE":
                    if not (other is server and share in map(_up, server["leaves"])):
                        del other["shares"][share]
        for name in NEW_SERVICES[kind]:
            server["services"][_up(name)] = {"name": name, "start_mode": "auto", "state": "running",
                                             "path": "C:\\SMS\\BIN\\I386\\%s" % PROGRAMS.get(name, name + ".EXE")}
        server["registry"][FULL_VERSION] = "2.00.1380.1000"

    def start_by_hand(self, name):
        """Someone started Setup on the server outside the run (the wizard)."""
        server = self.m(name)
        server["processes"] += 1
        server["setup"] = {"pid": 4000 + server["processes"], "running": True, "tick": 0, "arguments": []}

    def run_wizard(self, name):
        """An administrator ran the upgrade wizard: the site is on SMS 2.0 (and its logs say so)."""
        server = self.m(name)
        self._append(server, "C:\\SMSSETUP.LOG", "Upgrade wizard: site %s upgraded" % server["site"])
        self._finish_upgrade(server)

    # ------------------------------------------------------------------ preserve_files / sql_facts
    def _preserve(self, server, module, args, check_mode):
        files = {entry["path"]: base64.b64decode(entry["b64"]) for entry in server["files"].values()}
        registry = [{"path": "SOFTWARE\\Microsoft\\SMS\\Identification", "values": [
            {"name": "Installation Directory", "type": "String", "value": server["registry"].get(INSTALL_DIR)}]}]
        host = FakeHost(files, shares={s["name"]: s["path"] for s in server["shares"].values()}, registry=registry,
                        computer=server["name"])
        host.sms_root = server["registry"].get(INSTALL_DIR)
        result = host.run_module(module, args)
        if not check_mode:
            server["files"] = {_up(path): {"path": path, "b64": _b64(data)} for path, data in host.files.values()}
        return result

    def _sql(self, server, args):
        """isql output for the script's queries: the databases and their options as the server holds them, one row of
        made-up data for the others (the preserve phase's exports)."""
        if not server["reachable"]:
            return {"failed": True, "msg": "isql: [DBNETLIB] SQL Server does not exist or access denied (%s)" % server["name"]}
        lines = []
        for name in re.findall(r"print 'SMSUPG>>(\w+)'", args.get("script") or ""):
            lines.append("SMSUPG>>%s" % name)
            lines += getattr(self, "_sql_" + name, self._sql_other)(server)
        return {"changed": False, "computer": server["name"], "output": "\r\n".join(lines) + "\r\n", "rc": 0}

    @staticmethod
    def _sql_usages(server):
        lines = ["name                           segmap      size        name",
                 "-" * 30 + " " + "-" * 11 + " " + "-" * 11 + " " + "-" * 30]
        for database in server["databases"].values():
            lines.append("%-30s %11d %11d %-30s" % (database["name"], 3, int(database["data_mb"] * 512), database["name"] + "_DATA"))
        return lines + ["", "(%d rows affected)" % len(server["databases"])]

    @staticmethod
    def _sql_databases(server):
        lines = ["name                     db_size       owner                    dbid   created     status",
                 "-" * 24 + " " + "-" * 13 + " " + "-" * 24 + " " + "-" * 6 + " " + "-" * 11 + " " + "-" * 60]
        for number, database in enumerate(server["databases"].values(), 1):
            lines.append("%-24s %10.2f MB %-24s %6d Jan  1 1997 %-60s" % (
                database["name"], database["data_mb"], "sa", number, ", ".join(database["options"]) or "no options set"))
        return lines + ["", "(%d rows affected)" % len(server["databases"])]

    @staticmethod
    def _sql_other(server):
        return ["value      ", "-----------", "%-11s" % server["name"][:11], "", "(1 row affected)"]


def lab_site(snapshots, hosts, media=None):
    """A FakeSite of lab hosts (``{host: snapshot}``); ``media``: {site server: Setup version} puts media in D:\\."""
    site = FakeSite()
    for host in hosts:
        snapshot = snapshots[host]
        site.add(sql_from_snapshot(snapshot) if snapshot["kind"] == "site_database" else server_from_snapshot(snapshot))
    for host, version in (media or {}).items():
        site.set_media(host, version)
    return site


def sha(data):
    return hashlib.sha256(data).hexdigest()


def copy_state(site):
    return FakeSite(copy.deepcopy(site.state))
