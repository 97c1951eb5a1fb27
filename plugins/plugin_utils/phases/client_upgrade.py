"""The client_upgrade phase (CLI-01 to CLI-04, UPG-05): its room. Brings one SMS 1.2 client over to SMS 2.0.

One client, one run (the playbook runs clients in batches):

1. **which clients** (CLI-03, from the readiness snapshot and the upgrade plan): Windows NT, 9x, 3.x and WfW clients
   upgrade; MS-DOS and OS/2 clients need an OS upgrade (the plan's ``os_upgrades``) or stay on a kept 1.2 site;
   Macintosh clients stay on SMS 1.2. Only the first group is contacted.
2. **preconditions** (CLI-01, from the site's post-upgrade record): the discovery and client installation methods the
   method needs are enabled (read back, or confirmed), and the site's boundaries cover the client's address. Until
   then the client is not touched.
3. **re-gather** (``sms.upgrade.client_facts``, read-only): the client now, including the 1.2 and 2.0 client trees.
   A client that already passes every UPG-05 check is upgraded: nothing more happens.
4. **just before the upgrade** (PRE-27, CLI-04): the SMSRUN entries 1.2 logon scripts put back are removed by the
   client_agents room (planned from the re-gather, same module, same journal); SMS.INI must still be there (the 2.0
   migration needs it, KB Q262949); optionally the SMS.INI ``[Local]`` settings of KB Q215125.
5. **upgrade** (CLI-02) by the site's method: logon installation and NT remote client installation need nothing
   pushed (the run waits, and fails the client after ``watch_hours``); the installation wizard starts SMSMAN.EXE on
   the client through the relay, once.
6. **verify** (UPG-05) from a re-gather: SMS.INI gone, the client tree under %WINDIR%\\MS\\SMS and none left in the 1.2
   tree, ID and NOID MIFs moved, Noidbios.mif deleted, no profile starts SMSRUN, 2.0 client components installed.

The client's record (``upgrade_records.py``) keeps its status, what it was waiting for and since when, and the MIFs it
had before the upgrade. Nothing here imports Ansible; the model of the machines is in the unit tests.
"""
import base64
import fnmatch
import functools
import hashlib
import ipaddress
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import cause_of_message
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp, parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import collection_version, read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import GatherError, build_client, envelope, gather_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import validate_snapshot
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import client_agents, upgrade_records
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase, RunContext
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, resolve_site

FACTS_MODULE = "sms.upgrade.client_facts"
METHODS = ("logon_installation", "installation_wizard", "nt_remote_client_installation")
STATUSES = ("upgraded", "started", "waiting", "pending", "planned", "unreachable", "stays_on_1_2", "needs_os_upgrade",
            "failed")
_KEY = re.compile(r"^(\s*)([^=;\s][^=]*?)(\s*=\s*)(.*?)(\s*)$")
_SECTION = re.compile(r"^\s*\[([^\]]*)\]")


@functools.lru_cache(maxsize=1)
def phase_data():
    """The phase's data file (families, methods, paths, [Local] settings)."""
    return read_yaml("client_upgrade.yml")


def status_label(status):
    """A status as words (``stays_on_1_2`` -> ``stays on 1.2``)."""
    return status.replace("_1_2", " 1.2").replace("_", " ")


def progress_bucket(status):
    """upgraded / pending / staying_on_1_2 / failed for a client status."""
    return next(bucket for bucket, statuses in phase_data()["progress"].items() if status in statuses)


# ------------------------------------------------------------------ CLI-03: which clients
def classify(snapshot, site, plan, data=None):
    """``(group, reason)``: ``upgrade`` (reason None), ``needs_os_upgrade`` or ``stays_on_1_2`` with the reason."""
    data = data or phase_data()
    if site and plan.kept(site):
        return "stays_on_1_2", "its site %s stays on SMS 1.2 (%s)" % (site, plan.kept(site).reason)
    family = (snapshot.get("os") or {}).get("family")
    kind = data["families"].get(family)
    if kind is None:
        return "stays_on_1_2", "OS family %r is unknown: gather the client again" % (family,)
    if kind == "upgrade":
        return "upgrade", None
    kept_for = [k.site for k in plan.kept_sites if family in k.clients]
    kept = "kept site %s (stay_on_1_2 with clients: %s)" % (", ".join(kept_for), family) if kept_for else None
    if kind == "os_upgrade_or_1_2" and family in plan.os_upgrades:
        return "needs_os_upgrade", ("SMS 2.0 does not support %s; the upgrade plan upgrades its OS first (os_upgrades: %s): "
                                    "upgrade it, gather it again and run again" % (family, family))
    where = ("move it into %s" % kept) if kept else \
        "no site of the upgrade plan stays on SMS 1.2 for it (plan.unsupported_clients)"
    reason = "SMS 2.0 does not support %s: it stays on SMS 1.2; %s" % (family, where)
    if kind == "os_upgrade_or_1_2":
        reason += ", or upgrade its OS (os_upgrades)"
    return "stays_on_1_2", reason


# ------------------------------------------------------------------ CLI-01: preconditions from the site's record
def _setting_ok(settings, kind, name):
    entry = ((settings.get(kind) or {}).get(name)) or {}
    return entry.get("status") in ("verified", "confirmed")


def preconditions(site_record, site, method, data=None, requires=None):
    """What keeps the clients of ``site`` from being upgraded by ``method`` (empty: nothing)."""
    data = data or phase_data()
    if method not in data["methods"]:
        return ["no client upgrade method for site %s: set sms_upgrade_client_method (%s)" % (site, ", ".join(METHODS))]
    if site_record is None:
        return ["site %s has no post-upgrade record: run sms.upgrade.post_upgrade for it first (POST-02)" % site]
    settings = site_record.get("settings") or {}
    need = requires or data["methods"][method]["requires"]
    missing = ["%s %s" % (kind.replace("_", " ").rstrip("s"), name) for kind in ("discovery_methods", "client_installation_methods")
               for name in need.get(kind) or [] if not _setting_ok(settings, kind, name)]
    problems = []
    if missing:
        problems.append("site %s: %s not enabled and verified (read back by sms.upgrade.post_upgrade, or confirmed)" % (
            site, ", ".join(missing)))
    if not [b for b in (settings.get("boundaries") or {}).get("items") or [] if b.get("status") in ("verified", "confirmed")]:
        problems.append("site %s: no site boundary verified (POST-02)" % site)
    return problems


def covering_boundary(addresses, site_record):
    """The verified IP subnet boundary of the site that holds one of ``addresses`` (None: none does)."""
    items = ((site_record or {}).get("settings") or {}).get("boundaries", {}).get("items") or []
    for item in items:
        if item.get("type") != "ip_subnet" or item.get("status") not in ("verified", "confirmed"):
            continue
        network = ipaddress.ip_network(item["subnet"], strict=False)
        for address in addresses or []:
            try:
                if ipaddress.ip_address(address) in network:
                    return item["subnet"]
            except ValueError:
                continue
    return None


# ------------------------------------------------------------------ paths and the re-gather
def _sms_key(snapshot, key):
    sections = ((snapshot.get("sms_ini") or {}).get("sections") or {})
    return (sections.get("SMS") or {}).get(key)


def _join(*parts):
    return "\\".join(p.strip("\\") if i else p.rstrip("\\") for i, p in enumerate(parts) if p)


def client_paths(snapshot, overrides=None, data=None):
    """Where the client is before and after: SMS.INI, the 1.2 tree and MIF directories, %WINDIR% and the 2.0 tree."""
    spec = dict((data or phase_data())["paths"], **(overrides or {}))
    old_tree = _sms_key(snapshot, "SMSPath") or spec["old_tree_default"]
    windir = spec.get("windir") or _sms_key(snapshot, "LocalWindowsPath")
    win_ini = (snapshot.get("win_ini") or {}).get("path")
    if not windir and win_ini and "\\" in win_ini:
        windir = win_ini.rsplit("\\", 1)[0]
    if not windir:
        raise ValueError("the Windows directory of the client is unknown (no [SMS] LocalWindowsPath in SMS.INI, no WIN.INI "
                         "path in the snapshot): set sms_upgrade_client_paths: {windir: 'C:\\WINDOWS'}")
    new_tree = spec["new_tree"].replace("{windir}", windir.rstrip("\\"))
    return {
        "sms_ini": (snapshot.get("sms_ini") or {}).get("path") or "C:\\SMS.INI",
        "win_ini": win_ini,
        "old_tree": old_tree,
        "old_idmifs": _sms_key(snapshot, "StandaloneISVMIFPath") or _join(old_tree, spec["idmifs"]),
        "old_noidmifs": _sms_key(snapshot, "MachineISVMIFPath") or _join(old_tree, spec["noidmifs"]),
        "windir": windir,
        "new_tree": new_tree,
        "new_idmifs": _join(new_tree, spec["idmifs"]),
        "new_noidmifs": _join(new_tree, spec["noidmifs"]),
    }


def facts_args(paths, data=None):
    """Arguments of sms.upgrade.client_facts for the re-gather: the gather's read list, the client's own SMS.INI and
    WIN.INI, both client trees listed (names only, no hashes) and the 2.0 client components' key."""
    data = data or phase_data()
    gather = gather_data()
    registry = gather["registry"]
    texts = []
    for item in gather["client_text_files"]:
        item = {k: v for k, v in item.items() if k != "override"}
        if item["name"] in ("sms_ini", "win_ini") and paths.get(item["name"]):
            item["path"] = paths[item["name"]]
        texts.append(item)
    return {"registry_values": list(registry.values()),
            "registry_keys": list(gather["registry_keys"].values()) + [data["components_key"]],
            "system_root_values": [registry["os_nt_system_root"], registry["os_9x_system_root"]],
            "service_patterns": gather["client_service_patterns"], "text_files": texts,
            "user_values": gather["user_values"], "hash_files": False,
            "file_sets": [{"name": "old_tree", "path": paths["old_tree"], "include": ["*"], "recurse": True},
                          {"name": "new_tree", "path": paths["new_tree"], "include": ["*"], "recurse": True}]}


class Regathered:
    """The client as the re-gather saw it: its snapshot, SMS.INI's text and the files of both trees."""

    def __init__(self, raw, snapshot):
        self.raw = raw
        self.snapshot = snapshot
        self.files = {s["name"]: [f["path"] for f in s.get("files") or []] for s in raw.get("file_sets") or []}
        self.subkeys = ((raw.get("registry") or {}).get("subkeys") or {})

    def sms_ini_text(self):
        entry = (self.raw.get("text_files") or {}).get("sms_ini") or {}
        return entry.get("content") if entry.get("present") and not entry.get("truncated") else None


def regather(ctx, hands, paths, family):
    """Re-read the client (read-only); ``(Regathered, None)`` or ``(None, (cause, message))``."""
    args = facts_args(paths)
    if ctx.args.get("share_map"):
        args["share_map"] = ctx.args["share_map"]
    raw = hands.module(FACTS_MODULE, args)
    if raw.get("failed"):
        message = raw.get("msg") or "client_facts failed"
        return None, (cause_of_message(message), message)
    computer = raw.get("computer") or ctx.target.computer or ctx.host
    snapshot = envelope("client", ctx.host, computer, iso_stamp(ctx.now), collection_version(), relay=ctx.target.relay)
    try:
        snapshot = build_client(raw, snapshot, family_hint=family)
    except GatherError as exc:
        return None, ("other", "the re-gather cannot be read: %s" % exc)
    problems = validate_snapshot(ctx.host, snapshot)
    if problems:
        return None, ("other", "the re-gather does not satisfy the client schema: %s" % "; ".join(
            "%s: %s" % (p.path, p.message) for p in problems[:3]))
    return Regathered(raw, snapshot), None


# ------------------------------------------------------------------ UPG-05: verification
def _under(path, directory):
    return path.upper().startswith(directory.rstrip("\\").upper() + "\\")


def _name(path):
    return path.rsplit("\\", 1)[-1]


def mif_names(files, directory):
    """Names of the MIF files directly in ``directory`` among ``files``."""
    return sorted({_name(f) for f in files if _under(f, directory) and "\\" not in f[len(directory.rstrip("\\")) + 1:]
                   and fnmatch.fnmatch(f.upper(), "*.MIF")}, key=str.upper)


def startup_entries(snapshot):
    """The SMSRUN start-up entries the client_agents room would remove (user values and WIN.INI), as descriptions."""
    changes, _problems = client_agents.plan_client(snapshot)
    return [client_agents.describe(c) for c in changes if c["kind"] in ("user_value", "file_content")]


def verify(gathered, paths, before_mifs, data=None):
    """The UPG-05 checks from a re-gather: ``[{name, ok, detail}]`` (every ``ok``: the client came over)."""
    data = data or phase_data()
    old = gathered.files.get("old_tree", [])
    new = gathered.files.get("new_tree", [])
    noidbios = data["paths"]["noidbios"].upper()
    checks = []

    def check(name, ok, detail):
        checks.append({"name": name, "ok": bool(ok), "detail": detail})

    sms_ini = gathered.snapshot.get("sms_ini") or {}
    check("sms_ini_gone", not sms_ini.get("present"), "%s %s" % (paths["sms_ini"], "is still there" if sms_ini.get("present")
                                                                 else "is gone"))
    check("tree_moved", new and not old, "%s holds %d file(s); %s holds %d" % (paths["new_tree"], len(new), paths["old_tree"], len(old)))
    moved = []
    for kind in ("idmifs", "noidmifs"):
        names = [n for n in before_mifs.get(kind) or [] if n.upper() != noidbios]
        now = {n.upper() for n in mif_names(new, paths["new_" + kind])}
        moved += ["%s (%s)" % (n, kind.upper()) for n in names if n.upper() not in now]
    check("mifs_moved", not moved, "not in the 2.0 tree: %s" % ", ".join(moved) if moved else
          "%d ID/NOID MIF(s) in the 2.0 tree" % sum(len(before_mifs.get(k) or []) for k in ("idmifs", "noidmifs")))
    left = [f for f in old + new if _name(f).upper() == noidbios]
    check("noidbios_deleted", not left, "still there: %s" % ", ".join(left) if left else "%s is gone" % data["paths"]["noidbios"])
    starts = startup_entries(gathered.snapshot)
    check("no_smsrun", not starts, "still started: %s" % "; ".join(starts) if starts else "no profile or WIN.INI starts SMSRUN")
    components = gathered.subkeys.get(data["components_key"]) or []
    check("components_installed", components, "%s: %s" % (data["components_key"], ", ".join(components) or "missing or empty"))
    return checks


def failed_checks(checks):
    return [c for c in checks if not c["ok"]]


# ------------------------------------------------------------------ CLI-04: SMS.INI [Local]
def set_ini_values(text, section, values):
    """``(new_text, edits)``: ``values`` set in ``[section]`` of an INI text, every other byte unchanged.

    Existing keys keep their place (first occurrence), missing ones are added at the end of the section (the
    section at the end of the file when there is none), with the file's own line ending.
    """
    lines = text.splitlines(keepends=True)
    ending = "\r\n" if "\r\n" in text or not text else "\n"
    wanted = {k.lower(): (k, v) for k, v in values.items()}
    seen, edits, start, end = set(), [], None, len(lines)
    for index, line in enumerate(lines):
        body = line.rstrip("\r\n")
        header = _SECTION.match(body)
        if header:
            if start is not None:
                end = index
                break
            if header.group(1).strip().lower() == section.lower():
                start = index
            continue
        match = _KEY.match(body) if start is not None and not body.lstrip().startswith(";") else None
        if match and match.group(2).strip().lower() in wanted and match.group(2).strip().lower() not in seen:
            key = match.group(2).strip().lower()
            seen.add(key)
            if match.group(4) != wanted[key][1]:
                edits.append({"key": wanted[key][0], "old": match.group(4), "new": wanted[key][1]})
                lines[index] = "%s%s%s%s%s%s" % (match.group(1), match.group(2), match.group(3), wanted[key][1],
                                                 match.group(5), line[len(body):])
    added = ["%s=%s%s" % (name, value, ending) for key, (name, value) in wanted.items() if key not in seen]
    edits += [{"key": name, "old": None, "new": value} for key, (name, value) in wanted.items() if key not in seen]
    if added and start is None:
        if lines and not lines[-1].endswith(("\n", "\r")):
            lines[-1] += ending
        lines += ["[%s]%s" % (section, ending)] + added
    elif added:
        while end > start + 1 and not lines[end - 1].strip():
            end -= 1
        if not lines[end - 1].endswith(("\n", "\r")):
            lines[end - 1] += ending
        lines[end:end] = added
    return "".join(lines), edits


def local_settings_change(path, text, data=None):
    """A ``file_content`` change setting KB Q215125's [Local] values in SMS.INI, or None when they are set."""
    spec = (data or phase_data())["local_settings"]
    new_text, edits = set_ini_values(text, spec["section"], spec["values"])
    if not edits:
        return None
    old, new = text.encode("latin-1"), new_text.encode("latin-1")
    return {"kind": "file_content", "id": "file:sms_ini", "path": path, "from_sha256": hashlib.sha256(old).hexdigest(),
            "to_sha256": hashlib.sha256(new).hexdigest(), "content_b64": base64.b64encode(new).decode("ascii"),
            "previous_b64": base64.b64encode(old).decode("ascii"), "backup_pattern": spec["backup_pattern"], "edits": edits}


def start_change(logon_point, arguments=None, data=None):
    """A ``start_process`` change: SMSMAN.EXE from the logon point, unless it runs already."""
    spec = (data or phase_data())["smsman"]
    return {"kind": "start_process", "id": "start:smsman", "command": spec["path"].replace("{logon_point}", logon_point),
            "arguments": spec["arguments"] if arguments is None else arguments, "process_name": spec["process_name"]}


def describe(change):
    if change["kind"] == "start_process":
        return "start %s %s on the client (unless %s runs)" % (change["command"], change["arguments"], change["process_name"])
    edits = ", ".join("%s=%s -> %s" % (e["key"], "(absent)" if e["old"] is None else e["old"], e["new"])
                      for e in change.get("edits", []))
    return "%s [Local] %s (backup %s first; KB Q215125)" % (change["path"], edits, change["backup_pattern"].replace("{0:000}", "nnn"))


def wire(change):
    """What the module needs of a change (no previous content, no display fields)."""
    return {k: v for k, v in change.items() if k not in ("edits", "previous_b64")}


# ------------------------------------------------------------------ the phase
class ClientUpgradePhase(Phase):
    """Bring one SMS 1.2 client over to SMS 2.0 (CLI-01 to CLI-04, UPG-05)."""

    NAME = "client_upgrade"
    DESCRIPTION = "Upgrade SMS 1.2 clients to SMS 2.0 in batches (CLI-01 to CLI-04, UPG-05)"
    MODULE = "sms.upgrade.client_upgrade"
    SNAPSHOT_KIND = None
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*",)
    CHECKLIST = {
        "CLI-01": "Phase client_upgrade (playbook sms.upgrade.client_upgrade): a client is contacted only when its site's "
                  "post-upgrade record shows the discovery and client installation methods its method needs enabled (read "
                  "back through the SMS 2.0 provider, or confirmed) and a verified IP subnet boundary holding the client's "
                  "address; otherwise it is listed as pending with the reason.",
        "CLI-02": "Phase client_upgrade: by the site's method (sms_upgrade_client_method): logon installation and Windows NT "
                  "remote client installation are watched (a client not over after sms_upgrade_client_watch_hours fails), "
                  "the installation wizard starts SMSLOGON\\x86.bin\\00000409\\SMSMAN.EXE on Windows NT clients through the "
                  "relay; in batches with a failure threshold and progress.",
        "CLI-03": "Phase client_upgrade: Windows NT, 9x, 3.x and WfW clients upgrade; MS-DOS and OS/2 clients need the plan's "
                  "OS upgrade or stay on a kept 1.2 site; Macintosh clients stay on SMS 1.2; each listed with the reason.",
        "CLI-04": "Phase client_upgrade, just before each client: SMSRUN entries removed again (the client_agents room, from a "
                  "re-gather; PRE-27), SMS.INI required in place, the KB Q215125 [Local] settings on request; the site's 1.2 "
                  "jobs, whose pending PCM packages no longer run, are POST-05 items of the post-upgrade phase.",
        "UPG-05": "Phase client_upgrade, from a re-gather of each client: SMS.INI gone, the client tree under "
                  "%WINDIR%\\MS\\SMS and nothing left in the 1.2 tree, ID/NOID MIFs moved, Noidbios.mif deleted, no "
                  "profile or WIN.INI starts SMSRUN, 2.0 client components installed; the others listed with the failed checks.",
    }
    OPTIONS = {
        "snapshot_dir": {"type": "path"},
        "records_dir": {"type": "path"},
        "journal_dir": {"type": "path"},
        "plan_file": {"type": "path"},
        "site_code": {"type": "str"},
        "method": {"type": "str", "choices": list(METHODS)},
        "method_requires": {"type": "dict"},
        "plan_only": {"type": "bool", "default": False},
        "local_settings": {"type": "bool", "default": False},
        "logon_point": {"type": "str"},
        "smsman_arguments": {"type": "str"},
        "watch_hours": {"type": "float"},
        "paths": {"type": "dict", "default": {}},
        "share_map": {"type": "dict", "default": {}},
        "stop_timeout": {"type": "int", "default": 60},
    }
    MODULE_OPTIONS = ("share_map",)
    SET_BY_ACTION = ("op", "changes")

    def run(self, ctx, hands):
        return ClientRun(self, ctx, hands).run()

    def describe(self, change):
        return describe(change)

    def invert(self, change):
        raise NotImplementedError("a client upgrade is not rolled back; the SMS.INI backup stays beside it")


PHASE = ClientUpgradePhase()


class ClientRun:
    """One client of the phase (the steps of the module docstring)."""

    def __init__(self, phase, ctx, hands):
        self.phase, self.ctx, self.hands = phase, ctx, hands
        self.args = ctx.args
        self.data = phase_data()
        self.snapshot = host_snapshot(self.args.get("snapshot_dir"), ctx.host, required=True)
        self.site = resolve_site(self.args.get("site_code"), self.snapshot, ctx.groups)
        if not self.site:
            raise ValueError("the site of the client is unknown: its snapshot names none and it is in no sms_site_XXX group")
        if not self.args.get("records_dir"):
            raise ValueError("records_dir is required (the site's post-upgrade record and the client's record are there)")
        self.record_path = upgrade_records.client_path(self.args["records_dir"], self.site, ctx.host)
        self.record = upgrade_records.load(self.record_path, "client", host=ctx.host, site=self.site)
        self.record_waiting_since = self.record.get("waiting_since")
        self.steps, self.diff, self.calls_before = [], [], 0
        self.result = {"phase": phase.NAME, "site": self.site, "method": self.args.get("method"), "steps": self.steps}

    # -------------------------------------------------------------- helpers
    def step(self, name, status, message, **extra):
        self.steps.append(dict(extra, step=name, status=status, message=message))

    def finish(self, status, reason, changed=False, failed=False, **extra):
        self.result.update(extra, status=status, reason=reason, progress=progress_bucket(status), changed=changed)
        self.result["msg"] = "%s: client_upgrade: %s%s" % (self.ctx.host, status_label(status), ": %s" % reason if reason else "")
        if self.diff:
            self.result["diff"] = self.diff
        if failed:
            self.result["failed"] = True
        if not self.ctx.check_mode and not self.args["plan_only"]:
            self.record.update(status=status, reason=reason, method=self.args.get("method"), updated_at=iso_stamp(self.ctx.now),
                               progress=progress_bucket(status))
            upgrade_records.add_history(self.record, {"at": iso_stamp(self.ctx.now), "status": status, "message": reason})
            self.result["record_path"] = upgrade_records.save(self.record_path, self.record)
        return self.result

    def plan(self):
        try:
            return load_plan(self.args.get("plan_file"))
        except PlanError as exc:
            raise ValueError(str(exc)) from None

    # -------------------------------------------------------------- the run
    def run(self):
        group, reason = classify(self.snapshot, self.site, self.plan(), self.data)
        self.step("which_clients", group, reason or "%s client: upgrades" % self.snapshot["os"]["family"])
        if group != "upgrade":
            return self.finish(group, reason)
        method = self.args.get("method")
        site_record = upgrade_records.read(upgrade_records.site_path(self.args["records_dir"], self.site), "site")
        problems = preconditions(site_record, self.site, method, self.data, self.args.get("method_requires"))
        family = self.snapshot["os"]["family"]
        if method and family not in self.data["methods"][method]["families"]:
            problems.append("method %s reaches only %s clients: start SMSMAN.EXE at this %s client by hand, or use another "
                            "method" % (method, ", ".join(self.data["methods"][method]["families"]), family))
        if method and self.data["methods"][method]["action"] == "start" and not self.args.get("logon_point"):
            problems.append("method %s needs the logon point that holds SMSLOGON: set sms_upgrade_logon_point" % method)
        paths = client_paths(self.snapshot, self.args.get("paths"), self.data)
        if self.args["plan_only"]:
            return self.plan_only(problems, paths, method)
        if problems:
            self.step("preconditions", "pending", "; ".join(problems))
            return self.finish("pending", "not touched: %s" % "; ".join(problems))
        address = self.read_address()
        if address is None:
            return self.result
        boundary = covering_boundary(address, site_record)
        if not boundary:
            why = "its address %s is in no verified site boundary of %s" % (", ".join(address) or "(unresolved)", self.site)
            self.step("preconditions", "pending", why)
            return self.finish("pending", "not touched: %s" % why)
        self.step("preconditions", "ok", "methods enabled; address %s in boundary %s" % (", ".join(address), boundary))
        return self.upgrade(paths, method)

    def plan_only(self, problems, paths, method):
        """The lab (sms_snapshots_only): what the run would do, from the snapshot, without contacting the client."""
        planned = ["re-gather the client (read-only) and verify UPG-05 (SMS.INI gone, tree in %s, MIFs moved, Noidbios.mif "
                   "deleted, no SMSRUN, 2.0 components)" % paths["new_tree"]]
        starts = startup_entries(self.snapshot)
        planned += ["before the upgrade remove (client_agents room): %s" % s for s in starts]
        if self.args["local_settings"]:
            planned.append("set SMS.INI [Local] %s (KB Q215125)" % ", ".join(
                "%s=%s" % kv for kv in self.data["local_settings"]["values"].items()))
        if method:
            spec = self.data["methods"][method]
            planned.append("upgrade by %s: %s" % (method, "start %s" % start_change(self.logon_point(), self.args.get(
                "smsman_arguments"), self.data)["command"] if spec["action"] == "start" else "nothing to push; watch the client"))
        self.result.update(planned=planned, problems=problems)
        for line in planned:
            self.step("plan", "planned", line)
        reason = "; ".join(problems) if problems else None
        return self.finish("pending" if problems else "planned", ("not touched until: %s" % reason) if reason else
                           "%d step(s) planned" % len(planned), changed=bool(self.ctx.check_mode and not problems))

    def logon_point(self):
        return self.args.get("logon_point") or "<logon point>"

    def read_address(self):
        raw = self.hands.module(self.phase.MODULE, {"op": "read", "process_names": [self.data["smsman"]["process_name"]]})
        if raw.get("failed"):
            cause = cause_of_message(raw.get("msg"))
            self.step("read", "failed", raw.get("msg"), cause=cause)
            self.finish("unreachable" if cause == "unreachable" else "failed", "cannot read the client: %s" % raw.get("msg"),
                        failed=cause != "unreachable")
            return None
        self.processes = raw.get("processes") or {}
        return list(raw.get("addresses") or [])

    def upgrade(self, paths, method):
        gathered, error = regather(self.ctx, self.hands, paths, self.snapshot["os"]["family"])
        if error:
            cause, message = error
            self.step("re-gather", "failed", message, cause=cause)
            return self.finish("unreachable" if cause == "unreachable" else "failed", "re-gather failed: %s" % message,
                               failed=cause != "unreachable")
        before = self.record.get("before_mifs")
        if before is None:
            before = {"idmifs": mif_names(gathered.files.get("old_tree", []), paths["old_idmifs"]),
                      "noidmifs": mif_names(gathered.files.get("old_tree", []), paths["old_noidmifs"])}
            if gathered.files.get("old_tree"):
                self.record["before_mifs"] = before
        checks = verify(gathered, paths, before, self.data)
        if not failed_checks(checks):
            self.step("verify", "ok", "every UPG-05 check passes")
            if not self.record.get("upgraded_at"):
                self.record["upgraded_at"] = iso_stamp(self.ctx.now)
            self.record["checks"] = checks
            return self.finish("upgraded", "verified: %s" % "; ".join(c["detail"] for c in checks))
        return self.before_upgrade(gathered, paths, method, before)

    def before_upgrade(self, gathered, paths, method, before):
        changed = False
        agents = self.quiesce(gathered)
        if agents is None:
            return self.result
        changed = changed or agents.get("changed", False)
        if not (gathered.snapshot.get("sms_ini") or {}).get("present"):
            why = ("SMS.INI (%s) is gone but the client is not on SMS 2.0: the 2.0 migration needs it (KB Q262949); restore it "
                   "from a backup, or install the 2.0 client and set Client Components\\Remote Control\\Installation Properties to "
                   "Done" % paths["sms_ini"])
            self.step("sms_ini", "failed", why)
            return self.finish("failed", why, changed=changed, failed=True)
        changes = []
        if self.args["local_settings"]:
            text = gathered.sms_ini_text()
            if text is None:
                self.step("local_settings", "failed", "SMS.INI was not read whole; [Local] not set")
            else:
                change = local_settings_change(paths["sms_ini"], text, self.data)
                if change:
                    changes.append(change)
                else:
                    self.step("local_settings", "ok", "SMS.INI [Local] already holds the KB Q215125 settings")
        spec = self.data["methods"][method]
        waiting_since = self.record.get("waiting_since")
        if spec["action"] == "start" and not self.record.get("started_at"):
            changes.append(start_change(self.logon_point(), self.args.get("smsman_arguments"), self.data))
        outcomes = self.apply(changes) if changes else []
        if outcomes is None:
            return self.result
        changed = changed or any(o["status"] in ("changed", "would_change") for o in outcomes)
        bad = [o for o in outcomes if o["status"] in ("conflict", "failed")]
        if bad:
            why = "; ".join("%s: %s %s" % (o["description"], o["status"], o.get("message") or o.get("cause")) for o in bad)
            return self.finish("failed", why, changed=changed, failed=True)
        if self.ctx.check_mode:
            what = "would start SMSMAN.EXE" if spec["action"] == "start" and not self.record.get("started_at") else \
                "would wait for the client (%s)" % method
            return self.finish("planned", what, changed=changed)
        now = iso_stamp(self.ctx.now)
        if spec["action"] == "start" and not self.record.get("started_at"):
            self.record["started_at"] = now
        if not waiting_since:
            self.record["waiting_since"] = waiting_since = now
        return self.after_start(paths, method, before, changed, waiting_since)

    @property
    def waited_before(self):
        """The run waited for this client before (the deadline counts from that run, never from this one)."""
        return bool(self.record_waiting_since)

    def after_start(self, paths, method, before, changed, waiting_since):
        gathered, error = regather(self.ctx, self.hands, paths, self.snapshot["os"]["family"])
        checks = verify(gathered, paths, before, self.data) if gathered else []
        if gathered and not failed_checks(checks):
            self.record.update(upgraded_at=iso_stamp(self.ctx.now), checks=checks)
            self.step("verify", "ok", "every UPG-05 check passes")
            return self.finish("upgraded", "verified: %s" % "; ".join(c["detail"] for c in checks), changed=changed)
        self.record["checks"] = checks
        missing = "; ".join("%s: %s" % (c["name"], c["detail"]) for c in failed_checks(checks)) if gathered else error[1]
        hours = self.args.get("watch_hours")
        hours = self.data["watch_hours"] if hours is None else hours
        waited = (self.ctx.now - parse_timestamp(waiting_since)).total_seconds() / 3600.0
        if self.waited_before and waited > hours:
            why = "did not come over within %g h of %s (%s): %s" % (hours, waiting_since, method, missing)
            self.step("verify", "failed", why)
            return self.finish("failed", why, changed=changed, failed=True)
        status = "started" if self.record.get("started_at") else "waiting"
        self.step("verify", status, missing)
        return self.finish(status, "%s since %s; not yet over: %s" % (
            "SMSMAN.EXE started" if status == "started" else "waiting for %s" % method, waiting_since, missing), changed=changed)

    def quiesce(self, gathered):
        """PRE-27 re-timed (CLI-04): the client_agents room removes what 1.2 logon scripts put back, from the re-gather."""
        changes, problems = client_agents.plan_client(gathered.snapshot)
        changes = [c for c in changes if c["kind"] in ("user_value", "file_content")]
        if not changes and not problems:
            self.step("smsrun", "ok", "no profile or WIN.INI starts SMSRUN")
            return {"changed": False}
        args = {"plan": {"changes": changes, "problems": problems, "source": "re-gather at %s" % iso_stamp(self.ctx.now)},
                "snapshot_dir": None, "journal_dir": self.args.get("journal_dir"), "plan_only": False, "rollback": False,
                "stop_timeout": self.args["stop_timeout"], "share_map": self.args["share_map"], "computer": None}
        sub = RunContext(self.ctx.host, args, self.ctx.check_mode, self.ctx.groups, self.ctx.target, self.ctx.now,
                         self.ctx.machine_names)
        result = client_agents.PHASE.run(sub, self.hands)
        self.diff += result.get("diff") or []
        self.result["client_agents"] = {k: result.get(k) for k in ("msg", "changes", "journal_path") if result.get(k)}
        if result.get("unreachable_target"):
            self.step("smsrun", "failed", result["msg"], cause="unreachable")
            self.finish("unreachable", result["msg"])
            return None
        if result.get("failed"):
            self.step("smsrun", "failed", result["msg"])
            self.finish("failed", "SMSRUN entries not removed: %s" % result["msg"], changed=result.get("changed", False), failed=True)
            return None
        self.step("smsrun", "changed" if result.get("changed") else "ok", result["msg"])
        return result

    def apply(self, changes):
        raw = self.hands.module(self.phase.MODULE, self.phase.module_args(self.ctx, op="apply", changes=[wire(c) for c in changes]))
        if raw.get("failed"):
            cause = cause_of_message(raw.get("msg"))
            self.finish("unreachable" if cause == "unreachable" else "failed", "cannot apply: %s" % raw.get("msg"),
                        failed=cause != "unreachable")
            return None
        by_id = {r.get("id"): r for r in raw.get("changes") or []}
        outcomes = []
        for change in changes:
            got = by_id.get(change["id"]) or {"status": "failed", "message": "the module returned no result"}
            outcome = {"id": change["id"], "status": got.get("status"), "description": describe(change)}
            outcome.update({k: got[k] for k in ("message", "cause", "backup") if got.get(k)})
            outcomes.append(outcome)
            self.step(change["kind"], outcome["status"], outcome["description"], **{k: got[k] for k in ("message", "backup") if got.get(k)})
            if change["kind"] == "file_content" and outcome["status"] in ("changed", "would_change"):
                self.diff.append({"before_header": change["path"], "after_header": change["path"],
                                  "before": base64.b64decode(change["previous_b64"]).decode("latin-1"),
                                  "after": base64.b64decode(change["content_b64"]).decode("latin-1")})
        self.result["changes"] = outcomes
        return outcomes
