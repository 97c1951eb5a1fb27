"""The post_upgrade phase (POST-01 to POST-06): its room. Makes one upgraded site whole again.

Per site server of the wave, after the site upgrade verified it on SMS 2.0:

1. **ready?** The site server's (re-gathered) snapshot reports SMS 2.0 (``Full Version`` 2.x, KB Q267258) and, where the
   site upgrade phase keeps a record for the site (``<site_upgrade_dir>/sites/<SITE>.json``, issue 13), it says
   ``verified``. Otherwise nothing is contacted.
2. **one read** through the SMS 2.0 provider (module ``sms.upgrade.post_upgrade``, namespace ``root\\SMS\\site_<code>``):
   packages, programs, distribution points, collections, discovered systems, the site control items of the settings,
   the current logon scripts, the live Full Version.
3. **POST-01**: the database phase's dump and DBCC after the upgrade (its record, the integration point), the registry
   export the preserve phase made after the upgrade (the vault), the tree backup and the new emergency repair disk as
   recorded confirmations.
4. **POST-02**: site boundaries, discovery and client installation methods as the inventory wants them
   (``sms_upgrade_site_settings``), read back; compare-and-set only for the kinds listed in ``scripted``; otherwise a
   manual step that says what is missing.
5. **POST-03 to POST-06**: the package review and its optional changes, converted static collections with their
   machine group and a proposed rule, the plan of what to re-create from the vault (each an item to approve), the
   data-conversion table.
6. **apply** the changes (one module call, compare-and-set), journal them, read again and verify.

The site's record (``upgrade_records.py``) keeps the outcome; the client phase reads its settings (CLI-01).
"""
import copy
import functools
import ipaddress
import json
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import cause_of_message
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp, iso_stamp, parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import post_upgrade_review as review
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import upgrade_records
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, resolve_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import write_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.records import read_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_status import SITE_SCHEMA, site_path
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import MANIFEST, VaultError, load_manifest, verify

SETTING_KINDS = ("boundaries", "discovery_methods", "client_installation_methods")
STATUSES = ("verified", "pending", "failed", "not_upgraded", "planned")
DONE = ("done", "confirmed", "verified", "changed")


@functools.lru_cache(maxsize=1)
def phase_data():
    """The phase's data file (provider names, settings, POST-01 items, re-creation kinds, conversion table)."""
    return read_yaml("post_upgrade.yml")


def _merge(base, extra):
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = value
    return base


def effective_data(overrides=None):
    """The data file with ``sms_upgrade_provider_overrides`` merged over ``provider`` and ``site_settings``."""
    unknown = sorted(set(overrides or {}) - {"provider", "site_settings"})
    if unknown:
        raise ValueError("provider_overrides: only 'provider' and 'site_settings' can be overridden, not %s" % ", ".join(unknown))
    return _merge(copy.deepcopy(phase_data()), copy.deepcopy(overrides or {}))


# ------------------------------------------------------------------ 1. is the site on SMS 2.0?
def is_sms2(full_version):
    return str(full_version or "").startswith("2.")


def site_upgrade_state(site_upgrade_dir, site):
    """The site upgrade phase's record of ``site`` (``phases/site_status.py``): ``(status, updated_at)``, or None without
    one; a file that is no site upgrade record of schema 1.x is an error naming it."""
    if not site_upgrade_dir:
        return None
    record = read_record(site_path(site_upgrade_dir, site), SITE_SCHEMA, "site upgrade record")
    return None if record is None else (record.get("status"), record.get("updated_at"))


def site_ready(snapshot, upgrade_state):
    """``(ready, upgraded_at, reason)`` from the site server's snapshot and the site upgrade record."""
    version = (snapshot.get("sms") or {}).get("full_version")
    if not is_sms2(version):
        return False, None, ("its snapshot of %s reports no SMS 2.0 (Full Version %s): upgrade the site "
                             "(sms.upgrade.site_upgrade), gather it again, then run again" % (snapshot.get("collected_at"), version))
    if upgrade_state is not None and upgrade_state[0] != "verified":
        return False, None, "the site upgrade record says %s, not verified" % upgrade_state[0]
    upgraded_at = (upgrade_state or (None, None))[1] or snapshot.get("collected_at")
    return True, upgraded_at, "on SMS %s since %s" % (version, upgraded_at)


# ------------------------------------------------------------------ inputs
def wanted_settings(given, data):
    """The validated ``sms_upgrade_site_settings``: boundaries (IP subnets as CIDR, IPX networks) and method names."""
    given = given or {}
    unknown = sorted(set(given) - set(SETTING_KINDS))
    if unknown:
        raise ValueError("site_settings: unknown key(s) %s (known: %s)" % (", ".join(unknown), ", ".join(SETTING_KINDS)))
    boundaries = []
    for index, entry in enumerate(given.get("boundaries") or []):
        if not isinstance(entry, dict) or len(entry) != 1 or next(iter(entry)) not in ("ip_subnet", "ipx_network"):
            raise ValueError("site_settings.boundaries #%d: give one of ip_subnet: 10.1.0.0/16 or ipx_network: 0000ABCD, "
                             "not %r" % (index + 1, entry))
        kind, value = next(iter(entry.items()))
        if kind == "ip_subnet":
            try:
                network = ipaddress.ip_network(str(value), strict=False)
            except ValueError as exc:
                raise ValueError("site_settings.boundaries #%d: %s" % (index + 1, exc)) from None
            boundaries.append({"type": kind, "subnet": str(network), "detail": str(network.network_address)})
        else:
            boundaries.append({"type": kind, "detail": str(value).upper()})
    wanted = {"boundaries": boundaries}
    for kind in SETTING_KINDS[1:]:
        names = list(given.get(kind) or [])
        bad = sorted(set(names) - set(data["site_settings"][kind]))
        if bad:
            raise ValueError("site_settings.%s: unknown %s (known: %s)" % (kind, ", ".join(bad), ", ".join(data["site_settings"][kind])))
        wanted[kind] = names
    return wanted


def check_confirmations(confirmations):
    """Each confirmation records a decision, who made it and when (like the answers file)."""
    for key, entry in sorted((confirmations or {}).items()):
        if not isinstance(entry, dict) or not all(entry.get(field) for field in ("decision", "by", "at")):
            raise ValueError("confirmations[%r]: give decision, by and at (got %r)" % (key, entry))
    return confirmations or {}


def _decision(confirmations, key, decisions):
    entry = (confirmations or {}).get(key)
    return entry if entry and entry.get("decision") in decisions else None


def wmi_cause(data, code, cause, message):
    """The cause of a provider failure: its WMI code's (data file), else the module's general cause, else the message's."""
    mapped = data["provider"]["wmi_codes"].get(code or "")
    if mapped:
        return mapped
    if cause and cause != "other":
        return cause
    return cause_of_message(message)


# ------------------------------------------------------------------ 2. what to read
def _where(template, site_code):
    return template.replace("{site_code}", site_code)


def provider_reads(data, site_code, wanted, settings_only=False):
    """The module's reads: the POST-03/04 classes (not for a secondary) and the site control items of POST-02."""
    reads = []
    if not settings_only:
        for name, spec in data["provider"]["reads"].items():
            reads.append({"name": name, "class": spec["class"], "properties": spec["properties"],
                          "lazy": spec.get("lazy", []), "where": _where(spec.get("where", ""), site_code)})
    boundaries = data["site_settings"]["boundaries"]
    reads.append({"name": "site_assignment", "class": boundaries["class"],
                  "properties": boundaries["keys"] + [boundaries["details"], boundaries["types"]], "lazy": [],
                  "where": _where(boundaries.get("where", "SiteCode = '{site_code}'"), site_code)})
    item = data["site_settings"]["item_property"]
    for kind in SETTING_KINDS[1:]:
        for name in wanted[kind]:
            spec = data["site_settings"][kind][name]
            if spec.get("item_name"):
                reads.append({"name": "item:%s" % name, "class": item["class"], "properties": item["keys"] + [item["array"]],
                              "lazy": [item["array"]], "where": "SiteCode = '%s' AND ItemName = '%s'" % (
                                  site_code, spec["item_name"].replace("'", "''"))})
    return reads


# ------------------------------------------------------------------ POST-01
def database_evidence(record, database, since):
    """The integration point with the database phase: ``{database_dump, database_consistency}`` -> (ok, detail) from
    its record (schema sms.upgrade.database_record: ``dumps`` [{kind, database, at, verified, path}], ``consistency``
    {at, clean, findings})."""
    if not record:
        return {}
    found = {}
    dumps = [d for d in record.get("dumps") or [] if d.get("verified") and d.get("at") and
             (not database or str(d.get("database", "")).lower() == database.lower()) and
             parse_timestamp(d["at"]) >= parse_timestamp(since)]
    if dumps:
        newest = max(dumps, key=lambda d: d["at"])
        found["database_dump"] = (True, "verified dump %s of %s at %s" % (newest.get("path"), newest.get("database"), newest["at"]))
    check = record.get("consistency") or {}
    if check.get("at") and parse_timestamp(check["at"]) >= parse_timestamp(since):
        found["database_consistency"] = (bool(check.get("clean")), "DBCC at %s: %s" % (check["at"], "clean" if check.get("clean")
                                         else "%d finding(s)" % len(check.get("findings") or [])))
    return found


def registry_evidence(entries, host, since):
    """The registry export of the site server preserved (and verified) after the upgrade, from the vault."""
    for owner, entry in entries:
        if owner != host or entry["category"] != "registry":
            continue
        version = next(v for v in entry["versions"] if v["version"] == entry["current"])
        if version.get("preserved_at") and parse_timestamp(version["preserved_at"]) >= parse_timestamp(since):
            return True, "registry/%s v%d preserved at %s" % (entry["path"], version["version"], version["preserved_at"])
        return False, "the newest registry export in the vault is from %s, before the upgrade: run sms.upgrade.preserve " \
                      "for %s again" % (version.get("preserved_at"), host)
    return None


def post01_items(evidence, confirmations, data):
    items = []
    for item_id, spec in data["post01"].items():
        ok, detail = evidence.get(item_id, (None, None))
        confirmed = _decision(confirmations, item_id, spec["decisions"])
        if ok:
            status = "done"
        elif confirmed:
            note = " (%s)" % confirmed["note"] if confirmed.get("note") else ""
            status, detail = "confirmed", "%s by %s at %s%s" % (confirmed["decision"], confirmed["by"], confirmed["at"], note)
        else:
            status = "pending"
            how = {"database_record": "run the database phase's dump and consistency steps for the site's SQL host",
                   "vault_registry": "run sms.upgrade.preserve for the site server (it exports the SMS registry keys again)"}.get(
                       spec.get("evidence"), "do it")
            detail = "%s%s; or record it: sms_upgrade_post_upgrade_confirmations: {%s: {decision: %s, by: <name>, at: <date>}}" % (
                (detail + "; ") if detail else "", how, item_id, spec["decisions"][0])
        items.append({"id": item_id, "title": spec["title"], "status": status, "detail": detail})
    return items


# ------------------------------------------------------------------ POST-02
def _first(objects, name):
    found = review.instances(objects, name)
    return found[0] if found else None


def _keys(instance, keys):
    return {k: instance.get(k) for k in keys if instance.get(k) is not None}


def boundary_state(wanted, objects, data, confirmations, scripted):
    """``(state, changes, manual)`` of the site boundaries."""
    spec = data["site_settings"]["boundaries"]
    instance = _first(objects, "site_assignment")
    error = review.read_error(objects, "site_assignment") or (None if instance else "no %s item was returned" % spec["class"])
    details = list((instance or {}).get(spec["details"]) or [])
    types = list((instance or {}).get(spec["types"]) or [])
    current = list(zip(types, details))
    items, missing = [], []
    for boundary in wanted:
        pair = (spec["type_names"][boundary["type"]], boundary["detail"])
        if instance and pair in current:
            status = "verified"
        elif _decision(confirmations, "boundary:%s" % boundary["detail"], ["present"]):
            status = "confirmed"
        else:
            status = "missing"
            missing.append(boundary)
        items.append(dict(boundary, status=status))
    state = {"items": items, "current": ["%s %s" % p for p in current], "read_error": error}
    changes, manual = [], []
    if missing and "boundaries" in scripted and instance:
        new_types = types + [spec["type_names"][b["type"]] for b in missing]
        new_details = details + [b["detail"] for b in missing]
        changes.append({"kind": "wmi_instance", "id": "boundaries", "class": spec["class"], "keys": _keys(instance, spec["keys"]),
                        "set": {spec["types"]: {"from": types, "to": new_types},
                                spec["details"]: {"from": details, "to": new_details}},
                        "title": "site boundaries: add %s" % ", ".join(b.get("subnet") or b["detail"] for b in missing)})
        for item in items:
            if item["status"] == "missing":
                item["status"] = "planned"
    elif missing:
        manual.append("Site Properties > Boundaries: add %s%s; then run again (read back) or record each as "
                      "boundary:<subnet or network>: {decision: present, by, at}" % (
                          ", ".join("%s %s" % (spec["type_names"][b["type"]], b.get("subnet") or b["detail"]) for b in missing),
                          " (cannot be read back: %s)" % error if error else ""))
    return state, changes, manual


def method_state(kind, names, objects, data, confirmations, scripted):
    """``(state, changes, manual)`` of the discovery or client installation methods the inventory wants enabled."""
    item_spec = data["site_settings"]["item_property"]
    components = sorted({c.get("ComponentName") for c in review.instances(objects, "components") if c.get("ComponentName")})
    state, changes, manual = {}, [], []
    for name in names:
        spec = data["site_settings"][kind][name]
        key = "setting:%s:%s" % (kind, name)
        if spec.get("item_name"):
            instance = _first(objects, "item:%s" % name)
            props = (instance or {}).get(item_spec["array"]) or []
            prop = next((p for p in props if p.get(item_spec["name_field"]) == spec.get("prop_name")), None)
            value = prop.get(item_spec["value_field"]) if prop else None
            if prop is not None and value == spec.get("enabled_value"):
                state[name] = {"status": "verified", "detail": "%s %s = %s" % (spec["item_name"], spec.get("prop_name"), value)}
                continue
            if instance and prop is not None and kind in scripted:
                changes.append({"kind": "wmi_embedded", "id": key, "class": item_spec["class"],
                                "keys": _keys(instance, item_spec["keys"]), "array": item_spec["array"],
                                "name_field": item_spec["name_field"], "name": spec["prop_name"],
                                "value_field": item_spec["value_field"], "from": value, "to": spec["enabled_value"],
                                "title": "%s: %s %s -> %s" % (spec["title"], spec["prop_name"], value, spec["enabled_value"])})
                state[name] = {"status": "planned", "detail": "%s %s = %s" % (spec["item_name"], spec["prop_name"], value)}
                continue
            detail = "read back %s: %s" % (spec["item_name"], "%s = %s" % (spec.get("prop_name"), value) if prop is not None
                                           else review.read_error(objects, "item:%s" % name) or "item or property not found")
        else:
            detail = "no site control item is named for it (UNCONFIRMED, docs/post_upgrade.md)"
        confirmed = _decision(confirmations, key, ["enabled"])
        if confirmed:
            state[name] = {"status": "confirmed", "detail": "enabled, confirmed by %s at %s" % (confirmed["by"], confirmed["at"])}
            continue
        state[name] = {"status": "missing", "detail": detail}
        manual.append("%s: enable it (SMS Administrator console > Site Settings); %s; then record {%s: {decision: enabled, "
                      "by, at}} in sms_upgrade_post_upgrade_confirmations, or name its item in sms_upgrade_provider_overrides "
                      "to have it read back%s" % (spec["title"], detail, key,
                                                  " (components in the site control file: %s)" % ", ".join(components)
                                                  if components else ""))
    return state, changes, manual


def settings_state(wanted, objects, data, confirmations, scripted):
    state, changes, manual = {}, [], []
    state["boundaries"], c, m = boundary_state(wanted["boundaries"], objects, data, confirmations, scripted)
    changes, manual = changes + c, manual + m
    for kind in SETTING_KINDS[1:]:
        state[kind], c, m = method_state(kind, wanted[kind], objects, data, confirmations, scripted)
        changes, manual = changes + c, manual + m
    return state, changes, manual


def settings_done(state):
    statuses = [i["status"] for i in state["boundaries"]["items"]] + [
        v["status"] for kind in SETTING_KINDS[1:] for v in state[kind].values()]
    return all(s in ("verified", "confirmed") for s in statuses)


# ------------------------------------------------------------------ changes: display, diff
def _text(value):
    if isinstance(value, list):
        return "[%s]" % ", ".join(str(v) for v in value)
    return "(absent)" if value is None else str(value)


def describe(change):
    return change["title"]


def diff_entry(change):
    header = "%s %s" % (change["class"], " ".join("%s=%s" % kv for kv in sorted(change["keys"].items())))
    if change["kind"] == "wmi_embedded":
        field = "%s[%s].%s" % (change["array"], change["name"], change["value_field"])
        return {"before_header": header, "after_header": header, "before": "%s: %s\n" % (field, _text(change["from"])),
                "after": "%s: %s\n" % (field, _text(change["to"]))}
    return {"before_header": header, "after_header": header,
            "before": "".join("%s: %s\n" % (k, _text(v["from"])) for k, v in sorted(change["set"].items())),
            "after": "".join("%s: %s\n" % (k, _text(v["to"])) for k, v in sorted(change["set"].items()))}


def wire(change):
    return {k: v for k, v in change.items() if k != "title"}


# ------------------------------------------------------------------ the vault and the 1.2 snapshots
def vault_view(vault_root, site, now):
    """Every verified current file the vault holds for the site's hosts, the database records, and problems."""
    view = {"entries": [], "problems": [], "database": {}, "hosts": []}
    directory = os.path.join(vault_root or "", site)
    if not vault_root or not os.path.isdir(directory):
        view["problems"].append("the vault holds nothing for site %s (%s)" % (site, directory if vault_root else "no vault_dir"))
        return view
    record_file = phase_data()["database_record"]["file"]
    for host in sorted(os.listdir(directory)):
        host_dir = os.path.join(directory, host)
        if not os.path.isdir(host_dir) or host.startswith("."):
            continue
        view["hosts"].append(host)
        if os.path.isfile(os.path.join(host_dir, MANIFEST)):
            try:
                manifest = load_manifest(os.path.join(host_dir, MANIFEST), site, host)
                verified = verify(host_dir, manifest, now)
            except VaultError as exc:
                view["problems"].append(str(exc))
                continue
            names = {(c, n) for c, info in verified.items() for n in info["names"]}
            view["entries"] += [(host, e) for e in manifest["entries"] if (e["category"], e["path"]) in names]
        path = os.path.join(host_dir, record_file)
        if os.path.isfile(path):
            try:
                with open(path, encoding="utf-8") as handle:
                    record = json.load(handle)
            except (OSError, ValueError) as exc:
                view["problems"].append("database record %s is unreadable: %s" % (path, exc))
                continue
            if isinstance(record, dict) and record.get("schema") == phase_data()["database_record"]["schema"]:
                view["database"][host] = record
            else:
                view["problems"].append("%s is not a database record (%s)" % (path, phase_data()["database_record"]["schema"]))
    return view


def sql_snapshot(snapshot_dir, hosts, site):
    """The site database snapshot (SMS 1.2: machine groups, jobs, computers) of one of ``hosts``, or None."""
    for host in hosts:
        snapshot = host_snapshot(snapshot_dir, host)
        if snapshot and snapshot.get("kind") == "site_database" and str(snapshot.get("site_code") or "").upper() == site:
            return host, snapshot
    return None, None


def counters(objects, snapshot, sql, vault):
    """The counts of the conversion table."""
    preserved = {}
    for _host, entry in vault["entries"]:
        preserved[entry["category"]] = preserved.get(entry["category"], 0) + 1
    senders = ((snapshot.get("site_control") or {}).get("senders")) or []
    found = {"machine_groups": len(sql["machine_groups"]) if sql and "machine_groups" in sql else None,
             "jobs": len(sql["jobs"]) if sql and "jobs" in sql else None,
             "computers": sql.get("computer_count") if sql else None,
             "sna_senders": sum(1 for s in senders if str(s.get("type", "")).startswith("sna")) if snapshot.get("site_control") else None}
    for name in ("packages", "programs"):
        found[name] = len(review.instances(objects, name)) if objects and name in objects and not review.read_error(objects, name) else None
    found["site_clients"] = len(review.instances(objects, "systems")) if objects and "systems" in objects else None
    for category in ("query_files", "mif_files", "collected_files", "package_definition_files", "logon_scripts"):
        found[category] = preserved.get(category, 0)
    return found, preserved


# ------------------------------------------------------------------ the phase
class PostUpgradePhase(Phase):
    """Make an upgraded site whole again (POST-01 to POST-06)."""

    NAME = "post_upgrade"
    DESCRIPTION = "Post-upgrade tasks of an upgraded site (POST-01 to POST-06)"
    MODULE = "sms.upgrade.post_upgrade"
    SNAPSHOT_KIND = None
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*",)
    CHECKLIST = {
        "POST-01": "Phase post_upgrade (playbook sms.upgrade.post_upgrade): a verified dump and a clean DBCC of the converted "
                   "database after the upgrade (the database phase's record, the integration point), the SMS registry keys "
                   "exported again into the vault by the preserve phase, the tree backup and the new emergency repair disk as "
                   "recorded confirmations.",
        "POST-02": "Phase post_upgrade: site boundaries, discovery and client installation methods from sms_upgrade_site_settings, "
                   "read back through the SMS 2.0 provider (root\\SMS\\site_<code>); compare-and-set with diff for the kinds "
                   "listed in sms_upgrade_post_upgrade_scripted; otherwise a manual step naming what is missing, closed by a "
                   "read-back or a recorded confirmation.",
        "POST-03": "Phase post_upgrade: every converted package reviewed (compressed copy, source and share paths, distribution "
                   "points, Normal priority, programs disabled for unattended command lines, MS Test) with recommendations; "
                   "priority, source and program changes from the inventory, compare-and-set.",
        "POST-04": "Phase post_upgrade: converted static collections listed with the SMS 1.2 machine group they came from and, "
                   "where their members share a discovery property no other system has, a proposed query rule.",
        "POST-05": "Phase post_upgrade: a plan item per thing to re-create from the vault (security, queries, advertisements for "
                   "former jobs, file collection, SMSLS.BAT after logon discovery rewrote it), each closed by a recorded "
                   "decision; approved logon scripts are put back through the restore phase.",
        "POST-06": "Phase post_upgrade: the data-conversion table per SMS 1.2 object kind (converted, preserved and re-created, "
                   "or lost, with counts) in the site's record and the run's result.",
        "PRE-34": "Phase post_upgrade: the new emergency repair disk is a recorded confirmation of POST-01.",
    }
    OPTIONS = {
        "snapshot_dir": {"type": "path"},
        "vault_dir": {"type": "path"},
        "records_dir": {"type": "path"},
        "journal_dir": {"type": "path"},
        "site_upgrade_dir": {"type": "path"},
        "site_code": {"type": "str"},
        "plan_only": {"type": "bool", "default": False},
        "site_settings": {"type": "dict", "default": {}},
        "scripted": {"type": "list", "elements": "str", "default": [], "choices": list(SETTING_KINDS)},
        "provider_overrides": {"type": "dict", "default": {}},
        "provider_computer": {"type": "str"},
        "package_changes": {"type": "dict", "default": {}},
        "program_changes": {"type": "dict", "default": {}},
        "confirmations": {"type": "dict", "default": {}},
    }
    MODULE_OPTIONS = ()
    SET_BY_ACTION = ("op", "namespace", "reads", "files", "registry_values", "changes")

    def run(self, ctx, hands):
        return SiteRun(self, ctx, hands).run()

    def describe(self, change):
        return describe(change)

    def invert(self, change):
        undo = copy.deepcopy(change)
        if change["kind"] == "wmi_embedded":
            undo.update({"from": change["to"], "to": change["from"]})
        else:
            undo["set"] = {k: {"from": v["to"], "to": v["from"]} for k, v in change["set"].items()}
        undo["title"] = "undo: " + change["title"]
        return undo


PHASE = PostUpgradePhase()


class SiteRun:
    """One site server of the phase (the steps of the module docstring)."""

    def __init__(self, phase, ctx, hands):
        self.phase, self.ctx, self.hands, self.args = phase, ctx, hands, ctx.args
        self.data = effective_data(self.args.get("provider_overrides"))
        self.snapshot = host_snapshot(self.args.get("snapshot_dir"), ctx.host, required=True)
        if self.snapshot.get("kind") != "site_server":
            raise ValueError("post_upgrade runs on site servers; the snapshot of %s is a %s" % (ctx.host, self.snapshot.get("kind")))
        self.site = resolve_site(self.args.get("site_code"), self.snapshot, ctx.groups)
        if not self.site:
            raise ValueError("the site code of %s is unknown: its snapshot names none" % ctx.host)
        if not self.args.get("records_dir"):
            raise ValueError("records_dir is required (the site's record is kept there for the client phase)")
        self.role = (self.snapshot.get("sms") or {}).get("site_role")
        self.parent = ((self.snapshot.get("sms") or {}).get("parent_site_code") or "").upper() or None
        self.record_path = upgrade_records.site_path(self.args["records_dir"], self.site)
        self.record = upgrade_records.load(self.record_path, "site", site=self.site, host=ctx.host)
        self.result = {"phase": phase.NAME, "site": self.site, "role": self.role, "steps": {}, "manual": [], "changes": []}
        self.diff = []

    # -------------------------------------------------------------- helpers
    def step(self, checklist, status, detail, **extra):
        self.result["steps"][checklist] = dict(extra, status=status, detail=detail)

    def finish(self, status, reason, changed=False, failed=False):
        result = self.result
        result.update(status=status, reason=reason, changed=changed)
        tail = ": %s" % reason if reason else ""
        result["msg"] = "%s: post_upgrade: site %s %s%s" % (self.ctx.host, self.site, status.replace("_", " "), tail)
        if self.diff:
            result["diff"] = self.diff
        if failed:
            result["failed"] = True
        if not self.ctx.check_mode and not self.args["plan_only"]:
            now = iso_stamp(self.ctx.now)
            self.record.update({k: result.get(k) for k in ("status", "reason", "role", "steps", "settings", "packages",
                                                           "collections", "recreate", "conversion", "manual")})
            self.record.update(updated_at=now, upgraded_at=result.get("upgraded_at"))
            upgrade_records.add_history(self.record, {"at": now, "status": status, "message": reason})
            result["record_path"] = upgrade_records.save(self.record_path, self.record)
        return result

    def module(self, args):
        if self.provider_computer:
            args = dict(args, computer=self.provider_computer)
        return self.hands.module(self.phase.MODULE, args)

    # -------------------------------------------------------------- the run
    def run(self):
        state = site_upgrade_state(self.args.get("site_upgrade_dir"), self.site)
        ready, upgraded_at, why = site_ready(self.snapshot, state)
        self.result["upgraded_at"] = upgraded_at
        if not ready:
            return self.finish("not_upgraded", why)
        self.secondary = self.role == "secondary"
        self.provider_site = self.parent if self.secondary else self.site
        self.provider_computer = self.args.get("provider_computer")
        if self.secondary and not self.provider_computer:
            return self.finish("pending", "a secondary site is configured through its parent's provider (%s): set "
                               "sms_upgrade_provider_computer to the parent's site server" % self.parent)
        self.confirmations = check_confirmations(self.args.get("confirmations"))
        self.wanted = wanted_settings(self.args.get("site_settings"), self.data)
        self.vault = vault_view(self.args.get("vault_dir"), self.site, iso_stamp(self.ctx.now))
        self.sql_host, self.sql = sql_snapshot(self.args.get("snapshot_dir"), self.vault["hosts"], self.site)
        self.namespace = self.data["provider"]["namespace"].replace("{site_code}", self.provider_site)
        if self.args["plan_only"]:
            return self.plan_only(upgraded_at)
        read = self.read()
        if read is None:
            return self.result
        objects, files = read
        changes = self.review(objects, files, upgraded_at)
        if not changes:
            return self.conclude(changed=False)
        outcomes = self.apply(changes)
        if outcomes is None:
            return self.result
        changed = any(o["status"] in ("changed", "would_change") for o in outcomes)
        bad = [o for o in outcomes if o["status"] in ("conflict", "failed")]
        if bad:
            return self.finish("failed", "; ".join("%s: %s %s" % (o["description"], o["status"], o.get("message") or o.get("cause"))
                                                   for o in bad), changed=changed, failed=True)
        if self.ctx.check_mode:
            return self.conclude(changed=changed, planned=len(changes))
        again = self.read()
        if again is None:
            return self.result
        left = self.review(again[0], again[1], upgraded_at)
        if left:
            return self.finish("failed", "read back after the change, still to change: %s" % "; ".join(c["title"] for c in left),
                               changed=changed, failed=True)
        return self.conclude(changed=changed)

    def read_args(self):
        files = [{"name": entry["source"], "path": entry["source"]} for _h, entry in self.logon_entries()]
        return {"op": "read", "namespace": self.namespace, "registry_values": [self.data["provider"]["full_version_value"]],
                "reads": provider_reads(self.data, self.provider_site if not self.secondary else self.site, self.wanted,
                                        settings_only=self.secondary),
                "files": [] if self.secondary else files}

    def logon_entries(self):
        return [(h, e) for h, e in self.vault["entries"] if h == self.ctx.host and e["category"] == "logon_scripts"]

    def read(self):
        raw = self.module(self.read_args())
        provider = raw.get("provider") or {}
        if raw.get("failed") or not provider.get("connected"):
            message = raw.get("msg") or provider.get("message") or "no answer from the provider"
            cause = wmi_cause(self.data, provider.get("code"), provider.get("cause"), message)
            self.step("provider", "failed", message, cause=cause)
            self.finish("failed", "the SMS Provider %s on %s cannot be used (%s): %s" % (
                self.namespace, self.provider_computer or self.ctx.target.computer or self.ctx.host, cause, message), failed=True)
            return None
        version = (raw.get("registry") or {}).get(self.data["provider"]["full_version_value"])
        if not self.secondary and not is_sms2(version):
            self.finish("not_upgraded", "the live registry of %s reports Full Version %s, not SMS 2.0" % (self.ctx.host, version))
            return None
        return raw.get("objects") or {}, raw.get("files") or {}

    def review(self, objects, files, upgraded_at):
        """Every POST step from one read; returns the changes still to make."""
        scripted = set(self.args.get("scripted") or [])
        settings, changes, manual = settings_state(self.wanted, objects, self.data, self.confirmations, scripted)
        self.result["settings"] = settings
        self.step("POST-02", "done" if settings_done(settings) else "planned" if changes and not manual else "pending",
                  "%d change(s), %d manual step(s)" % (len(changes), len(manual)))
        self.result["manual"] = list(manual)
        if not self.secondary:
            changes += self.review_site(objects, files, upgraded_at)
        return changes

    def review_site(self, objects, files, upgraded_at):
        evidence = dict(database_evidence(self.vault["database"].get(self.sql_host), (self.sql or {}).get("site_database"),
                                          upgraded_at))
        registry = registry_evidence(self.vault["entries"], self.ctx.host, upgraded_at)
        if registry:
            evidence["registry_backup"] = registry
        items = post01_items(evidence, self.confirmations, self.data)
        self.result["post01"] = items
        open_items = [i for i in items if i["status"] not in DONE]
        self.step("POST-01", "done" if not open_items else "pending", "; ".join("%s: %s" % (i["id"], i["detail"]) for i in open_items)
                  or "every item done or confirmed", items=items)
        self.result["manual"] += ["POST-01 %s: %s" % (i["title"], i["detail"]) for i in open_items]
        self.result["packages"] = review.review_packages(objects, self.data)
        pkg_changes, problems = review.package_changes(objects, self.data, self.args.get("package_changes"),
                                                       self.args.get("program_changes"))
        if problems:
            raise ValueError("; ".join(problems))
        errors = [e for e in (review.read_error(objects, n) for n in ("packages", "programs", "distribution_points")) if e]
        self.step("POST-03", "failed" if errors else "done" if not pkg_changes else "planned",
                  "; ".join(errors) or "%d package(s) reviewed, %d recommendation(s), %d change(s)" % (
                      len(self.result["packages"]), sum(len(p["findings"]) for p in self.result["packages"]), len(pkg_changes)))
        self.result["collections"] = review.review_collections(objects, (self.sql or {}).get("machine_groups"), self.data)
        error = review.read_error(objects, "collections")
        self.step("POST-04", "failed" if error else "done", error or "%d converted static collection(s), %d proposed rule(s)" % (
            len(self.result["collections"]), sum(1 for c in self.result["collections"] if c.get("proposal"))))
        self.result["recreate"] = items = review.recreate_items(self.vault, (self.sql or {}).get("jobs"), self.confirmations,
                                                                files, self.data)
        self.recreate_step(items)
        found, preserved = counters(objects, self.snapshot, self.sql, self.vault)
        self.result["conversion"] = review.conversion_table(found, preserved, self.data)
        self.step("POST-06", "done", "%d object kind(s) of SMS 1.2" % len(self.result["conversion"]))
        return pkg_changes

    def recreate_step(self, items):
        pending = [i for i in items if i["status"] == "pending"]
        approved = [i for i in items if i["status"] == "restore_approved"]
        self.result["restore_beside"] = sorted({i["select"] for i in approved if i["decision"] == "restore_beside"})
        self.result["restore_in_place"] = sorted({i["select"] for i in approved if i["decision"] == "restore_in_place"})
        self.result["review_dir"] = self.data["recreate"]["logon_scripts"]["review_dir"]
        self.step("POST-05", "done" if not pending and not approved else "pending",
                  "%d item(s): %d to approve, %d approved restore(s) to merge and confirm" % (len(items), len(pending), len(approved)))
        self.result["manual"] += ["POST-05 %s (%s): %s; record {%s: {decision: %s, by, at}}" % (
            i["what"], i["source"], i["how"], i["id"], "|".join(self.data["recreate"][i["kind"]]["decisions"]))
            for i in pending + approved]

    def apply(self, changes):
        raw = self.module({"op": "apply", "namespace": self.namespace, "changes": [wire(c) for c in changes]})
        if raw.get("failed"):
            cause = cause_of_message(raw.get("msg"))
            self.finish("failed", "cannot apply through %s (%s): %s" % (self.namespace, cause, raw.get("msg")), failed=True)
            return None
        by_id = {r.get("id"): r for r in raw.get("changes") or []}
        outcomes = []
        for change in changes:
            got = by_id.get(change["id"]) or {"status": "failed", "message": "the module returned no result"}
            outcome = dict({k: got[k] for k in ("message", "cause") if got.get(k)}, id=change["id"], status=got.get("status"),
                           description=describe(change))
            outcomes.append(outcome)
            if outcome["status"] in ("changed", "would_change"):
                self.diff.append(diff_entry(change))
        self.result["changes"] = outcomes
        if not self.ctx.check_mode and self.args.get("journal_dir") and any(o["status"] == "changed" for o in outcomes):
            record = {"computer": self.provider_computer or self.ctx.target.computer or self.ctx.host, "rollback": False,
                      "source": "provider read at %s" % iso_stamp(self.ctx.now),
                      "changes": [{"change": c, "status": o["status"], "message": o.get("message")} for c, o in zip(changes, outcomes)]}
            self.result["journal_path"] = write_record(self.args["journal_dir"], self.ctx.host, self.phase.NAME,
                                                       compact_stamp(self.ctx.now), record)
        return outcomes

    def conclude(self, changed, planned=0):
        steps = self.result["steps"]
        failed = [name for name, s in steps.items() if s["status"] == "failed"]
        if failed:
            return self.finish("failed", "; ".join("%s: %s" % (n, steps[n]["detail"]) for n in failed), changed=changed, failed=True)
        if planned:
            return self.finish("planned", "%d change(s) would be made; %d manual step(s) open" % (planned, len(self.result["manual"])),
                               changed=changed)
        open_steps = [name for name, s in sorted(steps.items()) if s["status"] not in DONE]
        if open_steps:
            return self.finish("pending", "open: %s (%d manual step(s))" % (", ".join(open_steps), len(self.result["manual"])),
                               changed=changed)
        return self.finish("verified", "every post-upgrade step done and verified", changed=changed)

    def plan_only(self, upgraded_at):
        """The lab: what the run would read and decide, from the snapshots and the vault, without the provider."""
        planned = ["read through %s on %s: %s" % (self.namespace, self.ctx.host, ", ".join(
            sorted({r["class"] for r in provider_reads(self.data, self.provider_site, self.wanted, self.secondary)})))]
        for boundary in self.wanted["boundaries"]:
            planned.append("POST-02 boundary %s %s: read back%s" % (
                boundary["type"], boundary.get("subnet") or boundary["detail"], ", add it" if "boundaries" in
                (self.args.get("scripted") or []) else ", manual step if missing"))
        for kind in SETTING_KINDS[1:]:
            for name in self.wanted[kind]:
                how = "read back" if self.data["site_settings"][kind][name].get("item_name") else \
                    "manual step (no site control item named), closed by a confirmation"
                planned.append("POST-02 %s %s: %s" % (kind.rstrip("s").replace("_", " "), name, how))
        if not self.secondary:
            evidence = dict(database_evidence(self.vault["database"].get(self.sql_host), (self.sql or {}).get("site_database"),
                                              upgraded_at))
            registry = registry_evidence(self.vault["entries"], self.ctx.host, upgraded_at)
            if registry:
                evidence["registry_backup"] = registry
            self.result["post01"] = post01_items(evidence, self.confirmations, self.data)
            planned += ["POST-01 %s: %s" % (i["id"], i["status"]) for i in self.result["post01"]]
            self.result["recreate"] = review.recreate_items(self.vault, (self.sql or {}).get("jobs"), self.confirmations,
                                                            {}, self.data)
            planned += ["POST-05 %s: %s" % (i["id"], i["status"]) for i in self.result["recreate"]]
            found, preserved = counters(None, self.snapshot, self.sql, self.vault)
            self.result["conversion"] = review.conversion_table(found, preserved, self.data)
            planned.append("POST-06 data-conversion table: %d SMS 1.2 object kinds" % len(self.result["conversion"]))
        self.result["planned"] = planned
        self.result["vault_problems"] = self.vault["problems"]
        return self.finish("planned", "%d step(s) planned from the snapshots and the vault" % len(planned),
                           changed=bool(self.ctx.check_mode))
