"""A simulated Windows host for running roles/lab_seed with ansible-playbook on the controller.

PowerShell cannot run here, so the role's own logic (guards, record, order of steps, templates, idempotence,
removal) is exercised against stand-ins of the ansible.windows modules it calls. ``build_collections`` writes an
``ansible_collections`` tree with a fake ``ansible.windows`` whose plugins (action plugins, run in the controller
process) read and write one JSON file: the host's registry, files, services, shares, users and loaded hives. This
file is copied into it as ``module_utils/sim.py``. The stand-ins follow the documented behaviour of the real
modules (options, return keys, case-insensitive names); they prove the role's logic, not Windows.
"""
import base64
import copy
import fnmatch
import hashlib
import json
import os
import re

from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template

STATE_ENV = "SMS_LAB_SIM_STATE"
ADMIN_SID = "S-1-5-21-1000-1000-1000-500"
HIVE_ALIASES = {"HKEY_LOCAL_MACHINE": "HKLM", "HKEY_USERS": "HKU", "HKEY_CURRENT_USER": "HKCU"}
MODULE_OPTIONS = {
    "win_reg_stat": ["path", "name"],
    "win_regedit": ["path", "name", "data", "type", "state", "delete_key", "hive"],
    "win_service_info": ["name"],
    "win_service": ["name", "display_name", "description", "path", "username", "start_mode", "state"],
    "win_share": ["name", "path", "description", "full", "read", "change", "deny", "state", "list"],
    "win_stat": ["path", "get_checksum"],
    "win_file": ["path", "state"],
    "win_copy": ["dest", "content", "content_b64", "src", "remote_src", "force"],
    "win_template": ["dest", "src", "content_b64"],
    "slurp": ["src"],
    "win_command": ["argv", "cmd", "creates", "chdir"],
    "win_user": ["name", "state", "password", "update_password", "description", "account_disabled",
                 "password_never_expires"],
    "win_user_profile": ["username", "name", "state"],
    "win_whoami": [],
}


class SimError(Exception):
    """The real module would fail here."""


def _up(text):
    return text.upper()


def key_path(path):
    """'HKLM:\\SOFTWARE\\X' or 'HKU\\X' -> 'HKLM\\SOFTWARE\\X' (original case)."""
    hive, _sep, rest = path.replace("/", "\\").partition("\\")
    hive = hive.rstrip(":").upper()
    hive = HIVE_ALIASES.get(hive, hive)
    if hive == "HKCU":
        hive = "HKU\\" + ADMIN_SID
    return (hive + "\\" + rest).rstrip("\\")


def new_state():
    """A fresh Windows Server 2016 VM as the gather and the lab seed see it."""
    state = {"registry": {}, "files": {}, "dirs": {}, "hives": {}, "loaded": {}, "services": {}, "users": {},
             "next_rid": 1001}
    for directory in ["C:\\", "C:\\Windows", "C:\\ProgramData", "C:\\Users", "C:\\Users\\Default",
                      "C:\\Users\\Administrator", "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319"]:
        state["dirs"][_up(directory)] = directory
    nt = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion"
    set_value(state, nt, "SystemRoot", "REG_SZ", "C:\\Windows")
    set_value(state, nt, "CurrentVersion", "REG_SZ", "6.3")
    set_value(state, nt, "CurrentBuildNumber", "REG_SZ", "14393")
    set_value(state, nt, "ProductName", "REG_SZ", "Windows Server 2016 Standard")
    set_value(state, "HKLM\\SYSTEM\\CurrentControlSet\\Control\\ProductOptions", "ProductType", "REG_SZ", "ServerNT")
    set_value(state, "HKLM\\SOFTWARE\\Microsoft\\Internet Explorer", "Version", "REG_SZ", "9.11.14393.0")
    set_value(state, "HKLM\\SYSTEM\\CurrentControlSet\\Control\\ComputerName\\ComputerName", "ComputerName", "REG_SZ",
              "LABVM1")
    profiles = nt + "\\ProfileList"
    set_value(state, profiles, "Default", "REG_EXPAND_SZ", "%SystemDrive%\\Users\\Default")
    set_value(state, profiles, "ProfilesDirectory", "REG_EXPAND_SZ", "%SystemDrive%\\Users")
    set_value(state, profiles + "\\" + ADMIN_SID, "ProfileImagePath", "REG_EXPAND_SZ", "C:\\Users\\Administrator")
    make_key(state, "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Shares")
    windows_key = "Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows"
    parts = windows_key.split("\\")
    state["hives"][_up("C:\\Users\\Default\\NTUSER.DAT")] = {
        _up("\\".join(parts[:index])): {"name": "\\".join(parts[:index]), "values": {}} for index in range(1, len(parts) + 1)}
    state["hives"][_up("C:\\Users\\Default\\NTUSER.DAT")][_up(windows_key)]["values"] = {
        "DEVICE": {"name": "Device", "type": "REG_SZ", "data": ""}}
    write_file(state, "C:\\Users\\Default\\NTUSER.DAT", b"regf")
    write_file(state, "C:\\Users\\Administrator\\NTUSER.DAT", b"regf")
    set_value(state, "HKU\\" + ADMIN_SID + "\\" + windows_key, "Device", "REG_SZ", "")
    state["loaded"][_up("HKU\\" + ADMIN_SID)] = _up("C:\\Users\\Administrator\\NTUSER.DAT")
    write_file(state, "C:\\Windows\\win.ini", b"; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n"
               b"[mci extensions]\r\n[files]\r\n[Mail]\r\nMAPI=1\r\n")
    write_file(state, "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\csc.exe", b"MZ csc")
    return state


# ---- registry ------------------------------------------------------------------------------------------------
def make_key(state, path):
    parts = key_path(path).split("\\")
    for index in range(1, len(parts) + 1):
        sub = "\\".join(parts[:index])
        state["registry"].setdefault(_up(sub), {"name": sub, "values": {}})
    return state["registry"][_up(key_path(path))]


def set_value(state, path, name, kind, data):
    make_key(state, path)["values"][_up(name)] = {"name": name, "type": kind, "data": data}


def sub_keys(state, path):
    prefix = _up(key_path(path)) + "\\"
    return sorted(entry["name"].split("\\")[-1] for upper, entry in state["registry"].items()
                  if upper.startswith(prefix) and "\\" not in upper[len(prefix):])


def delete_key(state, path):
    upper = _up(key_path(path))
    for key in [k for k in state["registry"] if k == upper or k.startswith(upper + "\\")]:
        del state["registry"][key]


def expand(text):
    return text.replace("%SystemDrive%", "C:").replace("%SystemRoot%", "C:\\Windows")


def property_info(value):
    data = value["data"]
    shown = expand(data) if value["type"] == "REG_EXPAND_SZ" else data
    return {"type": value["type"], "value": shown, "raw_value": data}


# ---- files ---------------------------------------------------------------------------------------------------
def parent(path):
    return path.rstrip("\\").rsplit("\\", 1)[0] if "\\" in path.rstrip("\\")[3:] else path[:3]


def write_file(state, path, data):
    if _up(parent(path)) not in state["dirs"]:
        raise SimError("Destination directory '%s' does not exist" % parent(path))
    if _up(path) in state["dirs"]:
        raise SimError("%s is a directory" % path)
    old = state["files"].get(_up(path))
    state["files"][_up(path)] = {"path": old["path"] if old else path, "b64": base64.b64encode(data).decode("ascii")}


def read_file(state, path):
    entry = state["files"].get(_up(path))
    if entry is None:
        raise SimError("Could not find file '%s'" % path)
    return base64.b64decode(entry["b64"])


def remove_tree(state, path):
    upper = _up(path.rstrip("\\"))
    for store in ("files", "dirs", "hives"):
        for key in [k for k in state[store] if k == upper or k.startswith(upper + "\\")]:
            if store == "files" and any(f == key for f in state["loaded"].values()):
                raise SimError("The process cannot access the file '%s' because it is being used" % key)
            del state[store][key]


# ---- modules -------------------------------------------------------------------------------------------------
def win_reg_stat(state, p, check):
    upper = _up(key_path(p["path"]))
    entry = state["registry"].get(upper)
    if p.get("name") is not None:
        value = (entry or {"values": {}})["values"].get(_up(p["name"]))
        return dict(changed=False, exists=value is not None, **(property_info(value) if value else {}))
    if entry is None:
        return {"changed": False, "exists": False}
    return {"changed": False, "exists": True, "sub_keys": sub_keys(state, p["path"]),
            "properties": {v["name"]: property_info(v) for v in entry["values"].values()}}


REG_TYPES = {"string": "REG_SZ", "expandstring": "REG_EXPAND_SZ", "multistring": "REG_MULTI_SZ",
             "dword": "REG_DWORD", "qword": "REG_QWORD", "binary": "REG_BINARY", "none": "REG_NONE"}


def win_regedit(state, p, check):
    path, name, upper = p["path"], p.get("name"), _up(key_path(p["path"]))
    if not re.match(r"^HK(CC|CR|CU|LM|U):\\", path):
        raise SimError("path: %s is not a valid powershell path" % path)
    if p.get("hive"):
        raise SimError("the simulation does not load hives through win_regedit")
    if (p.get("state") or "present") == "absent":
        entry = state["registry"].get(upper)
        if entry is None:
            return {"changed": False}
        if name is None:
            if p.get("delete_key", True):
                delete_key(state, path)
            return {"changed": True}
        return {"changed": entry["values"].pop(_up(name), None) is not None}
    kind = REG_TYPES[p.get("type") or "string"]
    if upper.split("\\")[0] == "HKU" and upper.count("\\") >= 1 and \
            "\\".join(upper.split("\\")[:2]) not in state["registry"]:
        raise SimError("HKEY_USERS does not allow to create keys in its root: %s" % path)
    changed = upper not in state["registry"]
    if name is None and p.get("data") is None:
        make_key(state, path)
        return {"changed": changed}
    data = p.get("data")
    if kind == "REG_DWORD":
        data = int(data)
    elif kind == "REG_MULTI_SZ":
        data = [str(item) for item in (data or [])]
    elif data is not None:
        data = str(data)
    entry = make_key(state, path)
    old = entry["values"].get(_up(name or ""))
    new = {"name": name or "", "type": kind, "data": data}
    if old is None or old["type"] != kind or old["data"] != data:
        entry["values"][_up(name or "")] = new if old is None else dict(new, name=old["name"])
        changed = True
    return {"changed": changed}


def service_record(service):
    return {key: service[key] for key in ("name", "display_name", "description", "path", "start_mode", "state",
                                          "username")}


def win_service_info(state, p, check):
    pattern = p.get("name")
    found = [service_record(s) for s in state["services"].values()
             if pattern is None or fnmatch.fnmatch(_up(s["name"]), _up(pattern)) or s["display_name"] == pattern]
    return {"changed": False, "exists": bool(found), "services": found}


def _exe(path):
    match = re.match(r'^"([^"]+)"|^(\S+)', path or "")
    return match.group(1) or match.group(2)


def win_service(state, p, check):
    upper = _up(p["name"])
    service = state["services"].get(upper)
    if (p.get("state") or "") == "absent":
        if service:
            del state["services"][upper]
        return {"changed": service is not None}
    if service is None:
        if not p.get("path"):
            raise SimError("Service '%s' is not installed, need to set 'path' to create a new service" % p["name"])
        service = {"name": p["name"], "display_name": p["name"], "description": None, "path": None,
                   "start_mode": "auto", "state": "stopped", "username": "LocalSystem"}
        state["services"][upper] = service
        changed = True
    else:
        changed = False
    for option in ("display_name", "description", "path", "start_mode", "username"):
        if p.get(option) is not None and service[option] != p[option]:
            service[option] = p[option]
            changed = True
    wanted = p.get("state")
    if wanted in ("started", "stopped") and service["state"] != wanted:
        if wanted == "started" and _up(_exe(service["path"])) not in state["files"]:
            raise SimError("Service '%s' cannot be started: %s does not exist" % (p["name"], _exe(service["path"])))
        service["state"] = wanted
        changed = True
    return {"changed": changed}


SHARES = "HKLM\\SYSTEM\\CurrentControlSet\\Services\\LanmanServer\\Shares"


def win_share(state, p, check):
    values = make_key(state, SHARES)["values"]
    upper = _up(p["name"])
    if (p.get("state") or "present") == "absent":
        return {"changed": values.pop(upper, None) is not None}
    if _up(p["path"]) not in state["dirs"]:
        raise SimError("%s directory does not exist on the host" % p["path"])
    data = ["CSCFlags=0", "MaxUses=4294967295", "Path=" + p["path"], "Permissions=0"]
    data += ["Remark=" + p["description"]] if p.get("description") else []
    data += ["ShareName=" + p["name"], "Type=0"]
    old = values.get(upper)
    values[upper] = {"name": p["name"], "type": "REG_MULTI_SZ", "data": data}
    return {"changed": old is None or old["data"] != data}


def win_stat(state, p, check):
    upper = _up(p["path"].rstrip("\\") if len(p["path"]) > 3 else p["path"])
    if upper in state["dirs"]:
        return {"changed": False, "stat": {"exists": True, "isdir": True, "path": p["path"]}}
    if upper in state["files"]:
        return {"changed": False, "stat": {"exists": True, "isdir": False, "path": p["path"]}}
    return {"changed": False, "stat": {"exists": False}}


def win_file(state, p, check):
    path = p["path"].rstrip("\\")
    if p.get("state") == "directory":
        if _up(path) in state["files"]:
            raise SimError("path %s is not a directory" % path)
        changed = False
        parts = path.split("\\")
        for index in range(2, len(parts) + 1):
            sub = "\\".join(parts[:index])
            if _up(sub) not in state["dirs"]:
                state["dirs"][_up(sub)] = sub
                changed = True
        return {"changed": changed}
    if p.get("state") == "absent":
        exists = _up(path) in state["dirs"] or _up(path) in state["files"]
        remove_tree(state, path)
        return {"changed": exists}
    raise SimError("win_file state %s is not simulated" % p.get("state"))


def win_copy(state, p, check):
    dest = p["dest"]
    if p.get("remote_src"):
        data = read_file(state, p["src"])
    elif p.get("content_b64") is not None:
        data = base64.b64decode(p["content_b64"])
    elif p.get("content") is not None:
        data = p["content"].encode("utf-8")
    else:
        raise SimError("src (or content) is required")
    exists = _up(dest) in state["files"]
    if exists and p.get("force") is False:
        return {"changed": False}
    if exists and read_file(state, dest) == data:
        return {"changed": False}
    write_file(state, dest, data)
    return {"changed": True}


def slurp(state, p, check):
    return {"changed": False, "content": base64.b64encode(read_file(state, p["src"])).decode("ascii"),
            "encoding": "base64", "source": p["src"]}


def _load_hive(state, name, path):
    upper_name, upper_file = _up(key_path(name)), _up(path)
    if upper_name in state["loaded"] or upper_name in state["registry"]:
        raise SimError("ERROR: The process cannot access the file because it is being used by another process.")
    if upper_file in state["loaded"].values():
        raise SimError("ERROR: The process cannot access the file because it is being used by another process.")
    if upper_file not in state["files"]:
        raise SimError("ERROR: The system was unable to find the specified registry key or value.")
    make_key(state, name)
    for relative, entry in state["hives"].get(upper_file, {}).items():
        full = key_path(name) + "\\" + entry["name"]
        make_key(state, full)["values"].update(copy.deepcopy(entry["values"]))
    state["loaded"][upper_name] = upper_file


def _unload_hive(state, name):
    upper_name = _up(key_path(name))
    if upper_name not in state["loaded"]:
        raise SimError("ERROR: The parameter is incorrect.")
    hive = {}
    for upper, entry in state["registry"].items():
        if upper.startswith(upper_name + "\\"):
            relative = entry["name"][len(key_path(name)) + 1:]
            hive[_up(relative)] = {"name": relative, "values": copy.deepcopy(entry["values"])}
    state["hives"][state["loaded"].pop(upper_name)] = hive
    delete_key(state, name)


def win_command(state, p, check):
    argv = p.get("argv") or p["cmd"].split()
    program = argv[0].lower().rsplit("\\", 1)[-1]
    try:
        if program == "reg.exe" and argv[1].lower() == "load":
            _load_hive(state, argv[2], argv[3])
        elif program == "reg.exe" and argv[1].lower() == "unload":
            _unload_hive(state, argv[2])
        elif program == "csc.exe":
            if _up(argv[0]) not in state["files"]:
                raise SimError("The system cannot find the file specified: %s" % argv[0])
            out = [a[5:] for a in argv if a.lower().startswith("/out:")][0]
            read_file(state, argv[-1])
            write_file(state, out, b"MZ stand-in service")
        else:
            raise SimError("%s is not simulated" % argv)
    except SimError as exc:
        return {"changed": True, "rc": 1, "stdout": "", "stderr": str(exc), "failed": True, "msg": "non-zero return code"}
    return {"changed": True, "rc": 0, "stdout": "The operation completed successfully.", "stderr": ""}


def _user(state, name_or_sid):
    for user in state["users"].values():
        if _up(user["name"]) == _up(name_or_sid) or user["sid"] == name_or_sid:
            return user
    return None


def win_user(state, p, check):
    user = _user(state, p["name"])
    wanted = p.get("state") or "present"
    if wanted == "query":
        return dict({"changed": False, "state": "present" if user else "absent"}, **(user or {"name": p["name"]}))
    if wanted == "absent":
        if user:
            del state["users"][_up(user["name"])]
        return {"changed": user is not None, "state": "absent"}
    changed = user is None
    if user is None:
        if not p.get("password"):
            raise SimError("The password does not meet the password policy requirements.")
        user = {"name": p["name"], "sid": "S-1-5-21-1000-1000-1000-%d" % state["next_rid"], "description": None,
                "account_disabled": False}
        state["next_rid"] += 1
        state["users"][_up(p["name"])] = user
    for option in ("description", "account_disabled"):
        if p.get(option) is not None and user[option] != p[option]:
            user[option] = p[option]
            changed = True
    return dict({"changed": changed, "state": "present"}, **user)


def win_user_profile(state, p, check):
    profiles = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
    user = _user(state, p["username"])
    sid = user["sid"] if user else p["username"]
    entry = state["registry"].get(_up(profiles + "\\" + sid))
    if (p.get("state") or "present") == "absent":
        if entry is None:
            return {"changed": False, "path": None}
        path = entry["values"]["PROFILEIMAGEPATH"]["data"]
        if _up("HKU\\" + sid) in state["loaded"]:
            raise SimError("Failed to delete the profile for %s: the profile is in use" % sid)
        remove_tree(state, path)
        delete_key(state, profiles + "\\" + sid)
        return {"changed": True, "path": path}
    if user is None:
        raise SimError("Fail to map the account '%s' to a valid user" % p["username"])
    if entry is not None:
        return {"changed": False, "path": entry["values"]["PROFILEIMAGEPATH"]["data"]}
    path = "C:\\Users\\" + user["name"]
    state["dirs"][_up(path)] = path
    write_file(state, path + "\\NTUSER.DAT", b"regf")
    state["hives"][_up(path + "\\NTUSER.DAT")] = copy.deepcopy(state["hives"][_up("C:\\Users\\Default\\NTUSER.DAT")])
    set_value(state, profiles + "\\" + sid, "ProfileImagePath", "REG_EXPAND_SZ", path)
    return {"changed": True, "path": path}


def win_whoami(state, p, check):
    return {"changed": False, "sid": ADMIN_SID, "account": {"account_name": "Administrator", "domain_name": "LABVM1"}}


class SimAction(ActionBase):
    """Every stand-in runs as an action plugin in the controller process (no module execution: fast)."""

    _supports_check_mode = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        name = self._task.action.rsplit(".", 1)[-1]
        params = {key: value for key, value in self._task.args.items() if value is not None}
        unknown = sorted(set(params) - set(MODULE_OPTIONS[name]))
        if unknown:
            return dict(result, failed=True, msg="Unsupported parameters for %s: %s" % (name, ", ".join(unknown)))
        if name == "win_template":
            with open(self._find_needle("templates", params.pop("src")), encoding="utf-8") as handle:
                text = handle.read()
            templar = self._templar.copy_with_new_env(available_variables=task_vars)
            rendered = templar.template(trust_as_template(text)).replace("\r\n", "\n").replace("\n", "\r\n")
            params["content_b64"], name = base64.b64encode(rendered.encode("utf-8")).decode("ascii"), "win_copy"
        elif name == "win_copy" and params.get("src") and not params.get("remote_src"):
            with open(self._find_needle("files", params.pop("src")), "rb") as handle:
                params["content_b64"] = base64.b64encode(handle.read()).decode("ascii")
        with open(os.environ[STATE_ENV], encoding="utf-8") as handle:
            state = json.load(handle)
        try:
            outcome = globals()[name](state, params, self._task.check_mode)
        except SimError as exc:
            return dict(result, failed=True, msg=str(exc))
        if not self._task.check_mode and not outcome.get("failed"):
            with open(os.environ[STATE_ENV], "w", encoding="utf-8") as handle:
                json.dump(state, handle, indent=1, sort_keys=True)
        result.update(outcome)
        return result


# ---- what the gather modules would read ---------------------------------------------------------------------------
SERVICE_STATES = {"started": "running", "stopped": "stopped"}
START_MODES = {"auto": "auto", "delayed": "auto", "manual": "manual", "disabled": "disabled"}


def _registry_value(state, path):
    key, _sep, name = path.rpartition("\\")
    value = state["registry"].get(_up(key_path(key)), {"values": {}})["values"].get(_up(name))
    return None if value is None else {"type": value["type"], "value": value["data"]}


def _resolve(path, tokens):
    for token in re.findall(r"%([A-Z_]+(?::[^%]+)?)%", path):
        if not tokens.get(_up(token)):
            return None
        path = path.replace("%" + token + "%", tokens[_up(token)].rstrip("\\"))
    return path


def _file_records(state, directory, include, recurse):
    prefix = _up(directory.rstrip("\\")) + "\\"
    records = []
    for upper, entry in sorted(state["files"].items()):
        rest = upper[len(prefix):]
        if not upper.startswith(prefix) or (not recurse and "\\" in rest):
            continue
        if any(fnmatch.fnmatch(rest.rsplit("\\", 1)[-1], _up(pattern)) for pattern in include):
            data = base64.b64decode(entry["b64"])
            records.append({"path": entry["path"], "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                            "modified": "2026-11-25T08:00:00Z"})
    return records


def _hive_values(hive_keys, value_paths):
    found = {}
    for name, path in value_paths.items():
        key, _sep, value = path.rpartition("\\")
        entry = hive_keys.get(_up(key), {"values": {}})["values"].get(_up(value))
        found[name] = None if entry is None else entry["data"]
    return found


def _user_entries(state, value_paths):
    entries, loaded = [], []
    profiles = "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList"
    for hive in sub_keys(state, "HKU"):
        if not (hive.startswith("S-1-5-21-") or hive == ".DEFAULT") or hive.endswith("_Classes"):
            continue
        loaded.append(hive)
        prefix = _up("HKU\\" + hive) + "\\"
        keys = {upper[len(prefix):]: entry for upper, entry in state["registry"].items() if upper.startswith(prefix)}
        entries.append(dict(_hive_values(keys, value_paths), user=hive, sid=hive, source="loaded_hive", profile_path=None))
    pending = [(sid, _registry_value(state, profiles + "\\" + sid + "\\ProfileImagePath")["value"], "ntuser_dat")
               for sid in sub_keys(state, profiles) if sid.startswith("S-1-5-21-") and sid not in loaded]
    pending.append((None, expand(_registry_value(state, profiles + "\\Default")["value"]), "default_user"))
    for sid, path, source in pending:
        hive = state["hives"][_up(path + "\\NTUSER.DAT")]
        entries.append(dict(_hive_values(hive, value_paths), user=sid or "Default User", sid=sid, source=source,
                            profile_path=path))
    return entries


def gather_raw(state, kind, data):
    """The raw result SmsGather.psm1 (Invoke-SmsGather) would return for this host, with the read list the action
    plugins build from gather.yml (``data``): a Python rendition of the PowerShell reads, for the builders."""
    prefix = "site_server" if kind == "site_server" else "client"
    values = {path: _registry_value(state, "HKLM\\" + path) for path in data["registry"].values()}
    sms_root = (values[data["registry"]["sms_install_dir"]] or {}).get("value")
    system_root = values[data["registry"]["os_nt_system_root"]]["value"]
    shares = []
    for entry in state["registry"].get(_up(SHARES), {"values": {}})["values"].values():
        lines = dict(line.split("=", 1) for line in entry["data"])
        shares.append({"name": entry["name"], "path": lines["Path"], "remark": lines.get("Remark"), "type": 0})
    tokens = dict({"SMS_ROOT": sms_root, "SYSTEM_ROOT": system_root},
                  **{"SHARE:" + _up(share["name"]): share["path"] for share in shares})
    patterns = data[prefix + "_service_patterns"]
    raw = {
        "computer": "LABVM1", "errors": [], "sms_root": sms_root, "system_root": system_root, "shares": shares,
        "registry": {"values": values, "subkeys": {path: sub_keys(state, "HKLM\\" + path)
                                                   if _up("HKLM\\" + path) in state["registry"] else None
                                                   for path in data["registry_keys"].values()}},
        "services": [{"name": s["name"], "display_name": s["display_name"], "state": SERVICE_STATES[s["state"]],
                      "start_mode": START_MODES[s["start_mode"]]} for s in state["services"].values()
                     if any(fnmatch.fnmatch(_up(s["name"]), _up(pattern)) for pattern in patterns)],
        "disks": [{"drive": "C:", "filesystem": "NTFS", "total_mb": 61000, "free_mb": 40000}],
        "file_sets": [], "text_files": {},
    }
    if kind == "site_server":
        for file_set in data["site_server_file_sets"]:
            path = _resolve(file_set["path"], tokens)
            if path:
                raw["file_sets"].append({"name": file_set["name"], "path": path, "files": _file_records(
                    state, path, file_set["include"], file_set["recurse"])})
    for text in data[prefix + "_text_files"]:
        path = _resolve(text["path"], tokens)
        present = path is not None and _up(path) in state["files"]
        raw["text_files"][text["name"]] = {"path": path, "present": present, "truncated": False,
                                           "content": read_file(state, path).decode("latin-1") if present else None}
    if kind == "client":
        raw["user_entries"] = _user_entries(state, data["user_values"])
    return raw


# ---- the fake collection ----------------------------------------------------------------------------------------
ACTION_STUB = "from ansible_collections.ansible.windows.plugins.module_utils.sim import SimAction as ActionModule  # noqa\n"


def build_collections(root, repo):
    """Write <root>/ansible_collections with sms.upgrade (a link to the repository) and the fake ansible.windows."""
    base = os.path.join(root, "ansible_collections")
    windows = os.path.join(base, "ansible", "windows")
    for sub in ("plugins/module_utils", "plugins/action"):
        os.makedirs(os.path.join(windows, sub), exist_ok=True)
    with open(os.path.join(windows, "galaxy.yml"), "w", encoding="utf-8") as handle:
        handle.write("namespace: ansible\nname: windows\nversion: 0.0.0\n")
    with open(__file__, encoding="utf-8") as source, \
            open(os.path.join(windows, "plugins", "module_utils", "sim.py"), "w", encoding="utf-8") as target:
        target.write(source.read())
    for name in MODULE_OPTIONS:
        with open(os.path.join(windows, "plugins", "action", name + ".py"), "w", encoding="utf-8") as handle:
            handle.write(ACTION_STUB)
    os.makedirs(os.path.join(base, "sms"), exist_ok=True)
    link = os.path.join(base, "sms", "upgrade")
    if not os.path.islink(link):
        os.symlink(repo, link)
    return root
