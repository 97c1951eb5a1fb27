"""Build schema-valid snapshots from what a gather module read (the module's raw result).

The PowerShell side returns registry values, service and share lists, file inventories and raw
text files, each with per-section errors. This module decides what they mean: OS family and
version, SMS identity from the site control file, roles, SMS.INI and WIN.INI values, and which
snapshot sections an unreadable source makes incomplete.
"""
import base64
import binascii
import hashlib

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import database as db
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.ini import ini_value, parse_csdver, parse_ini
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.resources import ResourceListError, memory_mb
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.site_control import interpret_site_control
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import ROLE_GROUPS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.win_ini import read_windows_section

SCHEMA_VERSION = "1.0"
PRODUCT_TYPES = {"winnt": "workstation", "servernt": "server", "lanmannt": "domain_controller"}
# Snapshot sections left incomplete when a raw source could not be read.
AFFECTED_SECTIONS = {
    "site_server": {"registry": ["os", "ie", "sms", "registry", "hardware"], "services": ["services"],
                    "shares": ["shares", "roles"], "disks": ["hardware"], "files": ["sms_tree"],
                    "text.site_control": ["site_control", "sms"], "text.csdver": ["sms"]},
    "client": {"registry": ["os", "remote_control"], "services": ["services", "remote_control"],
               "profiles": ["user_entries"], "text.sms_ini": ["sms_ini", "site_code"], "text.csdver": ["csdver"],
               "text.win_ini": ["win_ini"]},
}


class GatherError(ValueError):
    """The raw result cannot become a snapshot at all (the message names host and cause)."""


def gather_data():
    return read_yaml("gather.yml")


def envelope(kind, host, computer, collected_at, collector_version, relay=None):
    return {
        "schema": "sms.upgrade.snapshot", "schema_version": SCHEMA_VERSION, "kind": kind, "host": host,
        "computer": computer, "collected_at": collected_at,
        "collector": {"name": "sms.upgrade.%s" % {"site_server": "site_facts", "client": "client_facts",
                                                  "site_database": "sql_facts"}[kind],
                      "version": collector_version, "mode": "relay" if relay else "direct", "relay": relay},
        "errors": [],
    }


def _source(section):
    return "files" if section.startswith("files.") else section


def section_errors(kind, raw_errors):
    """Map raw errors to snapshot sections (one error per affected section, first cause wins)."""
    errors, seen = [], set()
    for error in raw_errors or []:
        for section in AFFECTED_SECTIONS[kind].get(_source(error["section"]), [error["section"]]):
            if section not in seen:
                seen.add(section)
                errors.append({"section": section, "cause": error["cause"],
                               "message": "%s: %s" % (error["section"], error["message"])})
    return errors


def add_error(snapshot, section, cause, message):
    if all(error["section"] != section for error in snapshot["errors"]):
        snapshot["errors"].append({"section": section, "cause": cause, "message": message})


def reg(raw, name):
    """A registry value by its gather.yml name (None when absent or unread)."""
    path = gather_data()["registry"][name]
    entry = ((raw.get("registry") or {}).get("values") or {}).get(path)
    return entry.get("value") if isinstance(entry, dict) else None


def _text(raw, name):
    return ((raw.get("text_files") or {}).get(name)) or {"present": False, "path": None, "content": None}


def build_os(raw, family_hint=None):
    """OS family, name, version, build, service pack and product type from the registry."""
    nt_version = reg(raw, "os_nt_version")
    if nt_version:
        product = PRODUCT_TYPES.get(str(reg(raw, "os_product_type") or "").lower(), "unknown")
        build = reg(raw, "os_nt_build")
        name = reg(raw, "os_nt_product_name") or "Windows NT %s" % ("Workstation" if product == "workstation" else "Server")
        result = {"family": "windows_nt", "name": name, "version": str(nt_version), "csd_version": reg(raw, "os_nt_csd"),
                  "product_type": product}
        if build is not None:
            result["build"] = int(build) if str(build).isdigit() else str(build)
        return result
    version_9x = reg(raw, "os_9x_version")
    if version_9x:
        parts = str(version_9x).split(".")
        result = {"family": "windows_9x", "name": reg(raw, "os_9x_product_name") or "Windows 9x",
                  "version": ".".join(parts[:2])}
        if len(parts) > 2 and parts[2].isdigit():
            result["build"] = int(parts[2])
        return result
    return {"family": family_hint} if family_hint else None


def _memory(raw, snapshot):
    value = reg(raw, "physical_memory")
    if value is None:
        return None
    try:
        return memory_mb(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError, ResourceListError, TypeError) as exc:
        add_error(snapshot, "hardware", "parse_error", "physical memory resource list: %s" % exc)
        return None


def _files(file_set):
    return [{key: entry[key] for key in ("path", "size", "sha256", "modified") if entry.get(key) is not None}
            for entry in file_set.get("files") or []]


def build_sms_tree(raw):
    """Group the file sets into the snapshot's sms_tree lists; logon scripts get their location. A file that an earlier
    set listed is not listed again (the queue directories come before the scans of the whole SMS root: a pending MIF
    is not also a custom one)."""
    tree, seen = {"root": raw.get("sms_root")}, set()
    for file_set in raw.get("file_sets") or []:
        name = file_set["name"]
        files = []
        for entry in _files(file_set):
            key = str(entry.get("path")).upper()
            if key not in seen:
                seen.add(key)
                files.append(entry)
        if name.startswith("logon_scripts."):
            location = name.split(".", 1)[1]
            tree.setdefault("logon_scripts", []).extend(dict(entry, location=location) for entry in files)
        else:
            tree.setdefault(name, []).extend(files)
    return tree


def detect_roles(raw, inventory_groups):
    """Roles from what the machine holds, plus what the inventory says about it."""
    share_names = {share["name"].upper() for share in raw.get("shares") or []}
    roles = set()
    if _text(raw, "site_control")["present"]:
        roles.add("site")
    if "SMS_SHR" in share_names:
        roles.add("logon")
    if any(name.startswith("SMS_PKG") for name in share_names):
        roles.add("distribution")
    roles.update(ROLE_GROUPS[group] for group in inventory_groups or [] if group in ROLE_GROUPS)
    return sorted(roles, key=["site", "logon", "helper", "distribution"].index)


def _site_identity(raw, snapshot, site_code_hint):
    text = _text(raw, "site_control")
    identity, site_control = {}, None
    if text["present"] and text.get("content") is not None:
        facts, problems = interpret_site_control(text["content"])
        identity, site_control = facts["identity"], facts["site_control"]
        if problems:
            add_error(snapshot, "site_control", "parse_error", "%s: %s" % (text["path"], "; ".join(problems)))
    site_code = identity.get("site_code") or site_code_hint
    if not site_code:
        raise GatherError("site code unknown: the site control file was not read (%s) and the host is in no "
                          "sms_site_XXX group" % (text.get("path") or "no path"))
    return identity, site_control, site_code.upper()


def _disks(raw):
    return [{"drive": disk["drive"], "filesystem": disk.get("filesystem") or "unknown",
             "total_mb": disk.get("total_mb"), "free_mb": disk.get("free_mb")} for disk in raw.get("disks") or []]


def build_site_server(raw, snapshot, inventory_groups=(), site_code_hint=None):
    """Fill a site_server snapshot from the raw site_facts result."""
    snapshot["errors"].extend(section_errors("site_server", raw.get("errors")))
    identity, site_control, site_code = _site_identity(raw, snapshot, site_code_hint)
    csdver = _text(raw, "csdver")
    snapshot.update({
        "os": build_os(raw) or {"family": "windows_nt"},
        "roles": detect_roles(raw, inventory_groups) or ["logon"],
        "ie": {"version": reg(raw, "ie_version")},
        "hardware": {"memory_mb": _memory(raw, snapshot), "processors": None, "disks": _disks(raw)},
        "sms": {"setup_version": _str(reg(raw, "sms_setup_version")), "full_version": reg(raw, "sms_full_version"),
                "csdver": parse_csdver(csdver["content"]) if csdver["present"] else None,
                "install_dir": reg(raw, "sms_install_dir") or identity.get("install_dir"), "site_code": site_code,
                "site_name": identity.get("site_name"), "site_role": identity.get("site_role"),
                "parent_site_code": identity.get("parent_site_code"), "domain": identity.get("domain")},
        "services": raw.get("services") or [],
        "shares": [{key: share.get(key) for key in ("name", "path", "remark")} for share in raw.get("shares") or []],
        "sms_tree": build_sms_tree(raw),
        "registry": {"sms_subkeys": _subkeys(raw, "sms")},
    })
    if site_control is not None:
        snapshot["site_control"] = site_control
    if not snapshot["os"].get("name") and any(e["section"] == "os" for e in snapshot["errors"]):
        snapshot["os"] = {"family": "windows_nt"}
    return snapshot, identity


def _str(value):
    return None if value is None else str(value)


def _subkeys(raw, name):
    path = gather_data()["registry_keys"][name]
    return ((raw.get("registry") or {}).get("subkeys") or {}).get(path) or []


def _start_mode_from_registry(value):
    return {0: "boot", 1: "system", 2: "auto", 3: "manual", 4: "disabled"}.get(value)


def build_remote_control(raw):
    """The 1.2 remote control agent: the Wuser32 service (KB Q160798)."""
    service = next((s for s in raw.get("services") or [] if s["name"].lower() == "wuser32"), None)
    if service:
        return {"present": True, "service": service["name"], "state": service["state"], "start_mode": service["start_mode"]}
    start = reg(raw, "wuser32_start")
    if start is not None:
        return {"present": True, "service": "Wuser32", "state": "unknown", "start_mode": _start_mode_from_registry(start)}
    return {"present": False, "service": "Wuser32", "state": None, "start_mode": None}


def build_win_ini(win_ini):
    """The snapshot's ``win_ini``: the [windows] load/run values, and the whole text with its SHA-256 so that
    the client_agents phase can plan a byte-exact edit (content and hash are null when the read was truncated)."""
    if not win_ini["present"]:
        return {"present": False, "path": win_ini["path"]}
    truncated = bool(win_ini.get("truncated"))
    content = None if truncated else (win_ini["content"] or "")
    section = read_windows_section(win_ini["content"] or "")
    return dict(section, present=True, path=win_ini["path"], truncated=truncated, content=content,
                sha256=None if content is None else hashlib.sha256(content.encode("latin-1")).hexdigest())


def build_client(raw, snapshot, family_hint=None):
    """Fill a client snapshot from the raw client_facts result."""
    snapshot["errors"].extend(section_errors("client", raw.get("errors")))
    os_facts = build_os(raw, family_hint)
    if os_facts is None:
        raise GatherError("OS family unknown: the registry was not read and sms_upgrade_os_family is not set")
    snapshot["os"] = os_facts
    sms_ini = _text(raw, "sms_ini")
    sections = {}
    if sms_ini["present"]:
        sections, problems = parse_ini(sms_ini["content"] or "")
        if problems:
            add_error(snapshot, "sms_ini", "parse_error", "%s: %s" % (sms_ini["path"], "; ".join(problems[:5])))
    snapshot["sms_ini"] = {"present": sms_ini["present"], "path": sms_ini["path"], "sections": sections}
    snapshot["site_code"] = ini_value(sections, "SMS", "SiteCode")
    csdver = _text(raw, "csdver")
    snapshot["csdver"] = parse_csdver(csdver["content"]) if csdver["present"] else None
    snapshot["win_ini"] = build_win_ini(_text(raw, "win_ini"))
    if os_facts["family"] == "windows_nt" or raw.get("user_entries"):
        snapshot["user_entries"] = raw.get("user_entries") or []
    snapshot["remote_control"] = build_remote_control(raw)
    snapshot["services"] = [s for s in raw.get("services") or [] if s["name"].lower() != "wuser32"]
    return snapshot


def sql_queries(overrides=None):
    """[(name, sql)] from gather.yml with per-site overrides; queries without SQL are left out."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - {q["name"] for q in gather_data()["sql_queries"]})
    if unknown:
        raise GatherError("sms_upgrade_sql_queries names unknown queries: %s" % ", ".join(unknown))
    queries = []
    for query in gather_data()["sql_queries"]:
        sql = overrides.get(query["name"], query["sql"])
        if sql:
            queries.append((query["name"], sql))
    return queries


def _candidates(tables, section):
    patterns = gather_data()["sql_candidate_patterns"].get(section, [])
    found = [t for t in tables if any(p in t.lower() for p in patterns)]
    return ("; candidate tables: %s" % ", ".join(found[:15])) if found else ""


def build_site_database(output, snapshot, site_database, site_code=None, queries=None):
    """Fill a site_database snapshot from the isql output of the script made by isql.build_script."""
    data = gather_data()
    blocks = isql.split_output(output)
    snapshot["sql"] = db.sql_version(blocks)
    snapshot["site_database"] = site_database
    if site_code:
        snapshot["site_code"] = site_code.upper()
    tables = _discovered_tables(blocks)
    configured = {name for name, dummy in (queries or sql_queries())}
    steps = [("devices", lambda: db.devices(blocks)), ("databases", lambda: db.databases(blocks, site_database)),
             ("connections", lambda: db.connections(blocks)), ("machine_history", lambda: db.machine_history(blocks)),
             ("computer_count", lambda: db.computer_count(blocks)),
             ("jobs", lambda: db.jobs(blocks, data["sql_job_columns"], data["sql_inactive_job_statuses"],
                                      data["sql_system_job_types"])),
             ("machine_groups", lambda: db.machine_groups(blocks)),
             ("duplicate_smsids", lambda: db.duplicate_smsids(blocks))]
    for section, step in steps:
        if section not in configured:
            add_error(snapshot, section, "not_found", "the SMS 1.2 query for %s is UNCONFIRMED and not configured: set "
                      "sms_upgrade_sql_queries.%s%s" % (section, section, _candidates(tables, section)))
            continue
        value = _optional(snapshot, section, step, tables)
        if value is not None or section == "computer_count":
            snapshot[section] = value
    if not snapshot.get("databases"):
        raise GatherError("no database sizes could be read from %s: %s" % (
            site_database, "; ".join(e["message"] for e in snapshot["errors"]) or "empty output"))
    if all(d["name"] != site_database for d in snapshot["databases"]):
        raise GatherError("site database %s does not exist on the server (databases: %s); set sms_upgrade_site_database"
                          % (site_database, ", ".join(d["name"] for d in snapshot["databases"])))
    return snapshot


def _discovered_tables(blocks):
    """User tables of the site database, for naming candidates in errors; empty when unreadable."""
    try:
        return db.tables(blocks)
    except db.SectionProblem:
        return []


def _optional(snapshot, section, step, tables=()):
    try:
        return step()
    except db.SectionProblem as problem:
        suffix = _candidates(tables, section) if problem.cause == "not_found" else ""
        add_error(snapshot, section, problem.cause, problem.message + suffix)
        return None
