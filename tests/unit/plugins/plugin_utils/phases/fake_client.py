"""A model of a client behind SmsApply.psm1, for testing the controller side end to end.

It keeps the state the PowerShell hands change (service start mode and state, user hive values, file
bytes) and applies changes with the same compare-and-set rules and result shapes as
``Invoke-SmsChange``: changed / unchanged / would_change / conflict (with ``current``) / failed.
"""
import base64
import copy
import hashlib


def _sha(data):
    return hashlib.sha256(data).hexdigest()


class FakeClient:
    def __init__(self, snapshot, unreachable=False):
        rc = snapshot.get("remote_control") or {}
        self.services = {"Wuser32": {"start_mode": rc.get("start_mode"), "state": rc.get("state")}} if rc.get("present") else {}
        self.values = {}
        for entry in snapshot.get("user_entries") or []:
            where = entry.get("sid") or entry.get("profile_path")
            for attr, name in (("load", "Load"), ("run", "Run")):
                self.values["user:%s:%s" % (where, name)] = entry.get(attr)
        win_ini = snapshot.get("win_ini") or {}
        self.files = {}
        if win_ini.get("content") is not None:
            self.files[win_ini["path"]] = win_ini["content"].encode("latin-1")
        self.backups = {}
        self.unreachable = unreachable
        self.calls = []
        self.answers = {}  # change id -> the result the client gives instead (to model what the model does not)

    def snapshot_after(self, snapshot):
        """The snapshot a new gather would produce from the current state."""
        from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import build_win_ini
        after = copy.deepcopy(snapshot)
        if "Wuser32" in self.services:
            after["remote_control"].update(self.services["Wuser32"])
        for entry in after.get("user_entries") or []:
            where = entry.get("sid") or entry.get("profile_path")
            entry["load"] = self.values["user:%s:Load" % where]
            entry["run"] = self.values["user:%s:Run" % where]
        win_ini = after.get("win_ini") or {}
        if win_ini.get("path") in self.files:
            after["win_ini"] = build_win_ini({"present": True, "path": win_ini["path"],
                                              "content": self.files[win_ini["path"]].decode("latin-1")})
        return after

    # ------------------------------------------------------------------ Invoke-SmsChange
    def apply(self, change, check_mode):
        if self.unreachable:
            return {"id": change["id"], "status": "failed", "cause": "unreachable", "message": "The network path was not found"}
        if change["id"] in self.answers:
            return dict(self.answers[change["id"]], id=change["id"])
        kind = change["kind"]
        return getattr(self, "_" + kind)(change, check_mode)

    def _service(self, change, check_mode):
        now = self.services.get(change["name"])
        if now is None:
            return {"id": change["id"], "status": "conflict", "current": {}, "message": "does not exist"}
        set_mode = "start_mode" in change and now["start_mode"] != change["start_mode"]["to"]
        if set_mode and now["start_mode"] != change["start_mode"]["from"]:
            return {"id": change["id"], "status": "conflict", "current": dict(now), "message": "start mode changed"}
        want = change.get("state", {}).get("to")
        set_state = bool(want) and now["state"] != want
        if not (set_mode or set_state):
            return {"id": change["id"], "status": "unchanged", "current": dict(now)}
        if check_mode:
            return {"id": change["id"], "status": "would_change", "current": dict(now)}
        if set_mode:
            now["start_mode"] = change["start_mode"]["to"]
        if set_state:
            now["state"] = want
        return {"id": change["id"], "status": "changed", "current": dict(now)}

    def _user_value(self, change, check_mode):
        current = self.values.get(change["id"])
        if current == change["to"]:
            return {"id": change["id"], "status": "unchanged", "current": {"value": current}}
        if current != change["from"]:
            return {"id": change["id"], "status": "conflict", "current": {"value": current}, "message": "changed since read"}
        if check_mode:
            return {"id": change["id"], "status": "would_change", "current": {"value": current}}
        self.values[change["id"]] = change["to"]
        return {"id": change["id"], "status": "changed", "current": {"value": change["to"]}}

    def _file_content(self, change, check_mode):
        data = self.files[change["path"]]
        sha = _sha(data)
        if sha == change["to_sha256"]:
            return {"id": change["id"], "status": "unchanged", "current": {"sha256": sha}}
        if sha != change["from_sha256"]:
            return {"id": change["id"], "status": "conflict", "message": "changed since read",
                    "current": {"sha256": sha, "content_b64": base64.b64encode(data).decode("ascii")}}
        if check_mode:
            return {"id": change["id"], "status": "would_change", "current": {"sha256": sha}}
        number = 1
        while change["backup_pattern"].replace("{0:000}", "%03d" % number) in self.backups:
            number += 1
        backup = change["backup_pattern"].replace("{0:000}", "%03d" % number)
        self.backups[backup] = data
        self.files[change["path"]] = base64.b64decode(change["content_b64"])
        directory = change["path"].rsplit("\\", 1)[0]
        return {"id": change["id"], "status": "changed", "backup": directory + "\\" + backup,
                "current": {"sha256": change["to_sha256"]}}

    # ------------------------------------------------------------------ as _execute_module
    def execute_module(self, module_name, module_args, task_vars, check_mode=False):
        self.calls.append(module_args)
        for change in module_args["changes"]:
            assert "previous_b64" not in change and "edits" not in change
        results = [self.apply(change, check_mode) for change in module_args["changes"]]
        return {"changed": any(r["status"] in ("changed", "would_change") for r in results), "changes": results,
                "computer": module_args.get("computer")}
