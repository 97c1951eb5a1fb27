"""A MODEL of an SMS 1.2 client on its way to SMS 2.0, behind the three modules the client_upgrade phase drives.

It extends fake_client.FakeClient (the client_agents hands: Wuser32, profile Load/Run values, WIN.INI bytes) with what
the upgrade moves (SEED "MS\\SMS Tree Moved"; KB Q199227 Migrat1x/Copy1x; KB Q160718 Noidbios.mif; KB Q262949):

- ``sms.upgrade.client_facts``: the raw read of the gather (registry, services, SMS.INI/WIN.INI text, user entries,
  file sets of the two client trees, the 2.0 components' key);
- ``sms.upgrade.client_agents``: the compare-and-set changes of FakeClient;
- ``sms.upgrade.client_upgrade``: ``read`` (addresses, running processes) and ``apply`` (SMS.INI file_content, start
  SMSMAN.EXE).

How the client comes over is its ``behaviour``: ``start`` (when SMSMAN.EXE is started), ``logon`` (the user logs on
while the run waits: on the ``logon_after``-th gather), ``never``. When it upgrades, SMS.INI goes, the 1.2 tree goes,
its ID/NOID MIFs appear under %WINDIR%\\MS\\SMS except Noidbios.mif, the SMSRUN entries go and 2.0 components and (NT)
CLISVC appear. The file names of the 1.2 and 2.0 trees are the model's own, not a list of what SMS installs.
``dump``/``load`` keep it in a JSON file for the playbook tests.
"""
import base64
import copy
import hashlib

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.startup import names_program, remove_startup_program
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.win_ini import plan_program_removal
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import gather_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import client_upgrade

from .fake_client import FakeClient

COMPONENTS_KEY = client_upgrade.phase_data()["components_key"]


def ini_text(sections):
    """SMS.INI text (CRLF) from a snapshot's parsed sections."""
    lines = []
    for name, values in sections.items():
        lines.append("[%s]" % name)
        lines += ["%s=%s" % kv for kv in values.items()]
        lines.append("")
    return "\r\n".join(lines) + "\r\n"


class FakeClient20(FakeClient):
    def __init__(self, snapshot, behaviour="start", logon_after=2, unreachable=False, addresses=("10.1.2.3",)):
        super().__init__(snapshot, unreachable)
        self.snapshot = copy.deepcopy(snapshot)
        self.behaviour, self.logon_after, self.addresses = behaviour, logon_after, list(addresses)
        # Clients without Windows (MS-DOS, OS/2, Macintosh) never upgrade; the model gives them a Windows directory anyway.
        self.paths = client_upgrade.client_paths(snapshot, None if (snapshot.get("win_ini") or {}).get("path") else
                                                 {"windir": "C:\\WINDOWS"})
        sms_ini = snapshot.get("sms_ini") or {}
        self.sms_ini = ini_text(sms_ini.get("sections") or {}).encode("latin-1") if sms_ini.get("present") else None
        nt = snapshot["os"]["family"] == "windows_nt"
        self.tree = ["%s\\BIN\\%s" % (self.paths["old_tree"], "SMSRUN32.EXE" if nt else "SMSRUN16.EXE"),
                     "%s\\ASSET.MIF" % self.paths["old_idmifs"], "%s\\CUSTOM.MIF" % self.paths["old_noidmifs"]]
        if nt:
            self.tree.append("%s\\Noidbios.mif" % self.paths["old_noidmifs"])
        self.components = None
        self.processes = []
        self.extra_services = []
        self.facts_reads = 0
        self.upgraded = False
        self.calls_by_module = {}
        self.access_denied = False

    # ------------------------------------------------------------------ the upgrade the model performs
    def upgrade(self):
        moved = []
        for path in self.tree:
            name = path.rsplit("\\", 1)[-1]
            for kind in ("idmifs", "noidmifs"):
                if path.upper().startswith(self.paths["old_" + kind].upper() + "\\") and name.upper() != "NOIDBIOS.MIF":
                    moved.append("%s\\%s" % (self.paths["new_" + kind], name))
        self.tree = moved + ["%s\\LOGS\\CLISVC.LOG" % self.paths["new_tree"]]
        self.sms_ini = None
        for key, value in list(self.values.items()):
            if value and names_program(value, "SMSRUN32.EXE"):
                self.values[key] = remove_startup_program(value, "SMSRUN32.EXE")
        for path, data in list(self.files.items()):
            text, edits = plan_program_removal(data.decode("latin-1"), "SMSRUN16.EXE", remove_startup_program)
            if edits:
                self.files[path] = text.encode("latin-1")
        self.components = ["Remote Control"]
        if self.snapshot["os"]["family"] == "windows_nt":
            self.extra_services = [{"name": "CLISVC", "display_name": "SMS Client Service", "state": "running",
                                    "start_mode": "auto"}]
        self.upgraded = True

    # ------------------------------------------------------------------ module answers
    def _unreachable(self):
        return {"failed": True, "msg": "The network path was not found (%s)" % self.snapshot["computer"]}

    def execute(self, name, args, check_mode=False):
        self.calls_by_module[name] = self.calls_by_module.get(name, 0) + 1
        if self.unreachable:
            if name == "sms.upgrade.client_agents":
                return self.execute_module(name, args, {}, check_mode)
            return self._unreachable()
        if self.access_denied:
            return {"failed": True, "msg": "Access is denied"}
        if name == "sms.upgrade.client_facts":
            return self.facts(args)
        if name == "sms.upgrade.client_agents":
            return self.execute_module(name, args, {}, check_mode)
        if name == "sms.upgrade.client_upgrade":
            return self.read(args) if args.get("op") == "read" else self.apply_upgrade(args, check_mode)
        raise AssertionError("the client model has no module %s" % name)

    def facts(self, args):
        self.facts_reads += 1
        if self.behaviour == "logon" and not self.upgraded and self.facts_reads >= self.logon_after:
            self.upgrade()
        snap = self.snapshot_after(self.snapshot)
        reg = gather_data()["registry"]
        family = snap["os"]["family"]
        values = {}
        if family == "windows_nt":
            values[reg["os_nt_version"]] = {"type": "REG_SZ", "value": snap["os"].get("version", "4.0")}
            values[reg["os_product_type"]] = {"type": "REG_SZ", "value": "WinNT"}
            values[reg["os_nt_system_root"]] = {"type": "REG_SZ", "value": self.paths["windir"]}
        elif family == "windows_9x":
            values[reg["os_9x_version"]] = {"type": "REG_SZ", "value": "4.00.950"}
        subkeys = {COMPONENTS_KEY: self.components} if self.components is not None else {}
        win_ini = snap.get("win_ini") or {}
        texts = {"sms_ini": {"path": self.paths["sms_ini"], "present": self.sms_ini is not None, "truncated": False,
                             "content": None if self.sms_ini is None else self.sms_ini.decode("latin-1")},
                 "csdver": {"path": "C:\\MS\\SMS\\BIN\\CSDVER.SMS", "present": False, "content": None},
                 "win_ini": {"path": win_ini.get("path"), "present": bool(win_ini.get("present")), "truncated": False,
                             "content": win_ini.get("content")}}
        sets = []
        for file_set in args.get("file_sets") or []:
            root = file_set["path"].rstrip("\\").upper() + "\\"
            sets.append({"name": file_set["name"], "path": file_set["path"],
                         "files": [{"path": p} for p in self.tree if p.upper().startswith(root)]})
        services = [{"name": n, "display_name": n, "state": s["state"], "start_mode": s["start_mode"]}
                    for n, s in self.services.items()] + self.extra_services
        raw = {"computer": self.snapshot["computer"], "errors": [], "registry": {"values": values, "subkeys": subkeys},
               "services": services, "shares": [], "text_files": texts, "file_sets": sets}
        if "user_entries" in snap:
            raw["user_entries"] = snap["user_entries"]
        return raw

    def read(self, args):
        running = {name: sum(1 for p in self.processes if p.lower() == name.lower()) for name in args.get("process_names") or []}
        return {"changed": False, "computer": self.snapshot["computer"], "addresses": self.addresses, "processes": running}

    def apply_upgrade(self, args, check_mode):
        results = []
        for change in args.get("changes") or []:
            if change["kind"] == "file_content":
                results.append(self._sms_ini(change, check_mode))
            elif change["kind"] == "start_process":
                results.append(self._start(change, check_mode))
            else:
                results.append({"id": change["id"], "status": "failed", "cause": "other", "message": "unknown kind"})
        return {"changed": any(r["status"] in ("changed", "would_change") for r in results), "changes": results}

    def _sms_ini(self, change, check_mode):
        if self.sms_ini is None:
            return {"id": change["id"], "status": "conflict", "message": "SMS.INI does not exist", "current": {}}
        sha = hashlib.sha256(self.sms_ini).hexdigest()
        if sha == change["to_sha256"]:
            return {"id": change["id"], "status": "unchanged", "current": {"sha256": sha}}
        if sha != change["from_sha256"]:
            return {"id": change["id"], "status": "conflict", "message": "changed since read", "current": {"sha256": sha}}
        if check_mode:
            return {"id": change["id"], "status": "would_change", "current": {"sha256": sha}}
        self.backups["SMSINI.001"] = self.sms_ini
        self.sms_ini = base64.b64decode(change["content_b64"])
        return {"id": change["id"], "status": "changed", "backup": "C:\\SMSINI.001", "current": {"sha256": change["to_sha256"]}}

    def _start(self, change, check_mode):
        if any(p.lower() == change["process_name"].lower() for p in self.processes):
            return {"id": change["id"], "status": "unchanged", "message": "%s runs already" % change["process_name"]}
        if check_mode:
            return {"id": change["id"], "status": "would_change"}
        self.started = change["command"]
        if self.behaviour == "start":
            self.upgrade()
        else:
            self.processes.append(change["process_name"])
        return {"id": change["id"], "status": "changed"}

    # ------------------------------------------------------------------ persistence (playbook tests)
    def dump(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("files", "backups", "sms_ini")}
        state["files"] = {k: base64.b64encode(v).decode() for k, v in self.files.items()}
        state["backups"] = {k: base64.b64encode(v).decode() for k, v in self.backups.items()}
        state["sms_ini"] = None if self.sms_ini is None else base64.b64encode(self.sms_ini).decode()
        return state

    @classmethod
    def load(cls, state):
        client = cls.__new__(cls)
        client.__dict__.update(state)
        client.files = {k: base64.b64decode(v) for k, v in state["files"].items()}
        client.backups = {k: base64.b64decode(v) for k, v in state["backups"].items()}
        client.sms_ini = None if state["sms_ini"] is None else base64.b64decode(state["sms_ini"])
        return client
