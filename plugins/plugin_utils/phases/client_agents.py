"""The client_agents phase (PRE-26, PRE-27): its room. Plans from a client snapshot what the agents phase turns off.

A plan is a list of explicit compare-and-set changes the PowerShell hands apply (SmsApply.psm1):

- ``service``: set a service's start mode ``from`` -> ``to`` and stop it;
- ``user_value``: set one value of a user's hive (loaded under HKU, or an NTUSER.DAT) ``from`` -> ``to``;
- ``file_content``: replace a file whose SHA-256 is ``from_sha256`` by new bytes (backup first).

What is turned off comes from ``data/client_agents.yml``; the token editing is
:func:`remove_startup_program` and the WIN.INI editing :func:`plan_program_removal`, so a plan changes
exactly the entries that name the program and leaves every other byte alone.
"""
import base64
import functools
import hashlib

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.changeset import ChangeSetPhase
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.startup import names_program, remove_startup_program
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.win_ini import WinIniError, plan_program_removal

RUNNING_STATES = ("running", "start_pending", "paused", "unknown", None)


class PlanError(ValueError):
    """A change cannot be planned from what the snapshot holds (named item and cause)."""


@functools.lru_cache(maxsize=1)
def phase_data():
    """The phase's data file: services, user values, WIN.INI program and backup name (read once per process)."""
    return read_yaml("client_agents.yml")


WIN_INI_FAMILIES = tuple(phase_data()["win_ini"]["families"])


def latin1_bytes(text):
    """The bytes of a text read byte for byte as latin-1 (how the gather returns files)."""
    return text.encode("latin-1")


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


# ------------------------------------------------------------------ single changes
def plan_service(spec, start_mode, state):
    """A ``service`` change from the current start mode and state, or None when it is already as wanted."""
    change = {"kind": "service", "id": "service:%s" % spec["name"], "name": spec["name"]}
    if start_mode != spec["start_mode"]:
        if start_mode is None:
            raise PlanError("service %s: its start mode was not read" % spec["name"])
        change["start_mode"] = {"from": start_mode, "to": spec["start_mode"]}
    if spec.get("state") == "stopped" and state in RUNNING_STATES:
        change["state"] = {"from": state or "unknown", "to": "stopped"}
    return change if "start_mode" in change or "state" in change else None


def plan_user_value(entry, value_name, old, program, key):
    """A ``user_value`` change removing ``program`` from one Load/Run value, or None when it names none."""
    if old is None or not names_program(old, program):
        return None
    where = entry.get("sid") or entry.get("profile_path")
    if entry["source"] == "loaded_hive" and not entry.get("sid"):
        raise PlanError("user %s: a loaded hive without a SID cannot be opened" % entry["user"])
    if entry["source"] != "loaded_hive" and not entry.get("profile_path"):
        raise PlanError("user %s: no profile path for its NTUSER.DAT" % entry["user"])
    return {"kind": "user_value", "id": "user:%s:%s" % (where, value_name), "user": entry["user"],
            "sid": entry.get("sid"), "source": entry["source"], "profile_path": entry.get("profile_path"),
            "key": key, "value": value_name, "from": old, "to": remove_startup_program(old, program)}


def plan_win_ini(path, text, program, backup_pattern):
    """A ``file_content`` change removing ``program`` from load=/run= of [windows], or None."""
    try:
        new_text, edits = plan_program_removal(text, program, remove_startup_program)
    except WinIniError as exc:
        raise PlanError("WIN.INI %s: %s" % (path, exc)) from None
    if not edits:
        return None
    old, new = latin1_bytes(text), latin1_bytes(new_text)
    return {"kind": "file_content", "id": "file:win_ini", "path": path, "from_sha256": sha256_hex(old),
            "to_sha256": sha256_hex(new), "content_b64": base64.b64encode(new).decode("ascii"),
            "previous_b64": base64.b64encode(old).decode("ascii"), "backup_pattern": backup_pattern, "edits": edits}


# ------------------------------------------------------------------ a whole client
def _section_error(snapshot, section):
    for error in snapshot.get("errors") or []:
        if error.get("section") == section:
            return "%s (%s)" % (error.get("message"), error.get("cause"))
    return None


def _add(changes, problems, planner, *args):
    """Append what ``planner(*args)`` plans to ``changes``, or why it cannot to ``problems``."""
    try:
        change = planner(*args)
    except PlanError as exc:
        problems.append(str(exc))
        return
    if change:
        changes.append(change)


def _plan_services(snapshot, data, changes, problems):
    family = snapshot["os"]["family"]
    for spec in data["services"]:
        if family not in spec["families"]:
            continue
        section = snapshot.get(spec["section"])
        if section is None:
            problems.append("%s: %s was not read: %s" % (spec["name"], spec["section"],
                                                         _section_error(snapshot, spec["section"]) or "missing"))
            continue
        if not section.get("present"):
            continue
        _add(changes, problems, plan_service, spec, section.get("start_mode"), section.get("state"))


def _plan_user_values(snapshot, data, changes, problems):
    spec = data["user_values"]
    if "user_entries" not in snapshot:
        error = _section_error(snapshot, "user_entries")
        if error or snapshot["os"]["family"] == "windows_nt":
            problems.append("per-user Load/Run values were not read: %s" % (error or "missing"))
        return
    for entry in snapshot["user_entries"]:
        for attr, value_name in spec["values"].items():
            old = entry.get(attr)
            if old is not None and not isinstance(old, str):
                problems.append("user %s: %s is a %s, not a string" % (entry["user"], value_name, type(old).__name__))
                continue
            _add(changes, problems, plan_user_value, entry, value_name, old, spec["program"], spec["key"])


def _plan_win_ini(snapshot, data, changes, problems):
    spec = data["win_ini"]
    win_ini = snapshot.get("win_ini")
    if snapshot["os"]["family"] not in data["win_ini"]["families"]:
        return
    if win_ini is None:
        problems.append("WIN.INI was not read: %s" % (_section_error(snapshot, "win_ini") or "missing"))
        return
    if not win_ini.get("present"):
        return
    if not (names_program(win_ini.get("load"), spec["program"]) or names_program(win_ini.get("run"), spec["program"])):
        return
    if win_ini.get("content") is None:
        problems.append("WIN.INI %s starts %s but its text is not in the snapshot (%s): gather it again" % (
            win_ini.get("path"), spec["program"], "larger than the read limit" if win_ini.get("truncated") else "older snapshot"))
        return
    _add(changes, problems, plan_win_ini, win_ini["path"], win_ini["content"], spec["program"], spec["backup_pattern"])


def plan_client(snapshot, data=None):
    """Return ``(changes, problems)`` for one client snapshot; problems name what could not be planned."""
    data = data or phase_data()
    changes, problems = [], []
    _plan_services(snapshot, data, changes, problems)
    _plan_user_values(snapshot, data, changes, problems)
    _plan_win_ini(snapshot, data, changes, problems)
    return changes, problems


# ------------------------------------------------------------------ conflicts, rollback, display
def replan(change, current, data=None):
    """Plan a change again from what the target holds now (``current`` from a conflict); None if nothing to do."""
    data = data or phase_data()
    if change["kind"] == "service":
        spec = next(s for s in data["services"] if s["name"].lower() == change["name"].lower())
        return plan_service(spec, current.get("start_mode"), current.get("state"))
    if change["kind"] == "user_value":
        entry = {key: change[key] for key in ("user", "sid", "source", "profile_path")}
        return plan_user_value(entry, change["value"], current.get("value"), data["user_values"]["program"], change["key"])
    if change["kind"] == "file_content":
        text = base64.b64decode(current["content_b64"]).decode("latin-1")
        return plan_win_ini(change["path"], text, data["win_ini"]["program"], change["backup_pattern"])
    raise PlanError("unknown change kind %r" % change["kind"])


def invert(change):
    """The change that puts back what ``change`` replaced (for rollback from the journal)."""
    undo = dict(change)
    if change["kind"] == "service":
        for field in ("start_mode", "state"):
            if field in change:
                undo[field] = {"from": change[field]["to"], "to": change[field]["from"]}
        if undo.get("state", {}).get("to") not in ("running", "stopped"):
            undo.pop("state", None)
    elif change["kind"] == "user_value":
        undo.update({"from": change["to"], "to": change["from"]})
    elif change["kind"] == "file_content":
        undo.update(from_sha256=change["to_sha256"], to_sha256=change["from_sha256"],
                    content_b64=change["previous_b64"], previous_b64=change["content_b64"],
                    edits=[{"key": e["key"], "old": e["new"], "new": e["old"]} for e in change.get("edits", [])])
    else:
        raise PlanError("unknown change kind %r" % change["kind"])
    return undo


def wire_change(change):
    """What the PowerShell module needs of a change (no previous content, no display fields)."""
    return {key: value for key, value in change.items() if key not in ("previous_b64", "edits")}


def _user_value_label(change):
    hive = "HKU\\%s" % change["sid"] if change["source"] == "loaded_hive" else "%s\\NTUSER.DAT" % change["profile_path"]
    return "%s (%s) %s\\%s" % (change["user"], hive, change["key"], change["value"])


def _quoted(value):
    return "(absent)" if value is None else "'%s'" % value


def describe(change):
    """One line: what changes from what to what."""
    if change["kind"] == "service":
        parts = ["%s %s -> %s" % (field.replace("_", " "), change[field]["from"], change[field]["to"])
                 for field in ("start_mode", "state") if field in change]
        return "service %s: %s" % (change["name"], ", ".join(parts))
    if change["kind"] == "user_value":
        return "%s: %s -> %s" % (_user_value_label(change), _quoted(change["from"]), _quoted(change["to"]))
    edits = ", ".join("%s=%s -> %s" % (e["key"], _quoted(e["old"]), _quoted(e["new"])) for e in change.get("edits", []))
    return "%s [windows] %s (backup %s first)" % (change["path"], edits, change["backup_pattern"].replace("{0:000}", "nnn"))


def diff_entry(change):
    """An Ansible diff (before/after with headers) for one change."""
    if change["kind"] == "file_content":
        before = base64.b64decode(change["previous_b64"]).decode("latin-1")
        after = base64.b64decode(change["content_b64"]).decode("latin-1")
        return {"before_header": change["path"], "after_header": change["path"], "before": before, "after": after}
    if change["kind"] == "service":
        before = "".join("%s: %s\n" % (f, change[f]["from"]) for f in ("start_mode", "state") if f in change)
        after = "".join("%s: %s\n" % (f, change[f]["to"]) for f in ("start_mode", "state") if f in change)
        header = "service %s" % change["name"]
        return {"before_header": header, "after_header": header, "before": before, "after": after}
    header = _user_value_label(change)
    return {"before_header": header, "after_header": header, "before": "%s\n" % change["from"],
            "after": "%s\n" % change["to"]}


# ------------------------------------------------------------------ the phase
class ClientAgentsPhase(ChangeSetPhase):
    """Turn off the SMS 1.2 client agents (PRE-26, PRE-27), one compare-and-set change set per client."""

    NAME = "client_agents"
    DESCRIPTION = "Quiesce SMS 1.2 client agents (PRE-26, PRE-27)"
    MODULE = "sms.upgrade.client_agents"
    SNAPSHOT_KIND = "client"
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*",)
    CHECKLIST = {
        "PRE-26": "Phase client_agents (playbook sms.upgrade.client_agents, role sms.upgrade.client_agents, module "
                  "sms.upgrade.client_agents): Wuser32 disabled and stopped on NT clients; the site's proposed client "
                  "properties stay a manual item (no supported programmatic way in SMS 1.2, docs/client_agents.md), "
                  "verified from the site control file.",
        "PRE-27": "Phase client_agents: SMSRUN32.EXE removed from Load/Run of every profile (loaded hives, NTUSER.DAT, "
                  "default user) and SMSRUN16.EXE from WIN.INI load=/run= (backup first), compare-and-set, rollback "
                  "playbook sms.upgrade.client_agents_rollback.",
    }
    OPTIONS = dict(ChangeSetPhase.OPTIONS, stop_timeout={"type": "int", "default": 60},
                   share_map={"type": "dict", "default": {}})
    MODULE_OPTIONS = ("stop_timeout", "share_map")
    SET_BY_ACTION = ("changes",)

    def plan_snapshot(self, snapshot):
        return plan_client(snapshot)

    def replan(self, change, current):
        return replan(change, current)

    def invert(self, change):
        return invert(change)

    def describe(self, change):
        return describe(change)

    def diff(self, change):
        return diff_entry(change)

    def wire(self, change):
        return wire_change(change)


PHASE = ClientAgentsPhase()
