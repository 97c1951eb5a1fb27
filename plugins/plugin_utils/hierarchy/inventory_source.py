"""The inventory of a whole SMS hierarchy from its saved snapshots (the ``sms.upgrade.hierarchy`` inventory plugin).

Pure: reads the snapshot files of one directory and, optionally, the upgrade plan; returns plain data
(:class:`HierarchyInventory`: groups with their children, hosts and variables, host variables, warnings) that the
plugin hands to Ansible and may cache. Only facts the snapshots hold are used (docs/inventory.md):

- a host per snapshot file ``<host>.json``; its kind group (``data/inventory.yml``) from the snapshot's ``kind``; a site
  server with the ``site`` role goes to the tier group of its ``sms.site_role`` (``sms_central``, ``sms_primary``,
  ``sms_secondary``), else to ``sms_helper`` / ``sms_logon`` by its ``roles``;
- its site (``hierarchy/fleet.py`` ``site_of``) gives its ``sms_site_XXX`` group; sites and parents come from the site
  servers' ``sms`` section and from every site server's site control data (``site_control.child_sites``), so a site
  whose server was never gathered is still known from its parent; helper and logon servers the site control data
  names without a snapshot are added to ``sms_helper`` / ``sms_logon`` (readiness then reports their missing snapshot);
- clients carry their OS family (``os.family``) and SMSID (SMS.INI ``SMS Unique ID``);
- waves and kept sites of the upgrade plan (``hierarchy/upgrade_plan.py``) become groups of site groups;
- relay rules set ``sms_upgrade_relay`` (``common/targets.py``) on the hosts they match, first rule wins.

The snapshot envelope is checked (object, schema, major version, kind, host name); the full JSON Schema validation is
the assessment's (readiness reports every invalid snapshot as a finding). A file that fails the envelope check is a
warning and its host goes to ``sms_upgrade`` only, so readiness still reports it.
"""
import fnmatch
import json
import os
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import GROUPS, KIND_GROUPS, OS_FAMILIES
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import RELAY_VAR
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import client_smsid, site_of

SNAPSHOT_SCHEMA = "sms.upgrade.snapshot"
SNAPSHOT_MAJOR = "1"
TOP_GROUP = "sms_upgrade"
SITE_SERVERS_GROUP = "sms_site_servers"
SNAPSHOTS_ONLY_GROUP = "sms_snapshots_only"
RELAYS_GROUP = "sms_relays"
KEPT_GROUP = "sms_stay_on_1_2"
SITE_GROUP = "sms_site_%s"
TIER_GROUP = "sms_tier_%s"
WAVE_GROUP = "sms_wave_%s"
SITE_ROLES = ("central", "primary", "secondary")
KIND_GROUP = {kind: name for name, kind in reversed(list(KIND_GROUPS.items()))}  # kind -> its first group
ROLE_GROUP = {"helper": "sms_helper", "logon": "sms_logon"}
RULE_KEYS = ("relay", "sites", "groups", "os_families", "hosts")

HierarchyInventory = namedtuple("HierarchyInventory", ["groups", "hostvars", "warnings"])


class SourceError(ValueError):
    """The source cannot give an inventory; the message names the file or setting and the cause."""


def safe_name(text):
    """A group name part Ansible accepts without transformation (letters, digits, underscore)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


# ------------------------------------------------------------------ snapshots
def envelope_problem(host, data):
    """Why a parsed snapshot cannot place its host (None when it can)."""
    if not isinstance(data, dict):
        return "is a JSON %s, not a snapshot object" % type(data).__name__
    if data.get("schema") != SNAPSHOT_SCHEMA:
        return "schema is %r, not %r" % (data.get("schema"), SNAPSHOT_SCHEMA)
    version = data.get("schema_version")
    if not isinstance(version, str) or version.split(".")[0] != SNAPSHOT_MAJOR:
        return "schema_version %r is not supported (this collection reads %s.x)" % (version, SNAPSHOT_MAJOR)
    if data.get("kind") not in KIND_GROUP:
        return "kind %r is unknown (expected one of %s)" % (data.get("kind"), ", ".join(sorted(KIND_GROUP)))
    if data.get("host") != host:
        return "belongs to host %r, not %r (the file name)" % (data.get("host"), host)
    return None


def _dict(value):
    return value if isinstance(value, dict) else {}


def _strings(mapping, keys):
    return {key: mapping[key] for key in keys if isinstance(mapping.get(key), str)}


def trim(data):
    """The part of a snapshot the inventory reads, type-checked (only that is kept in memory per host)."""
    sms_section = _dict(_dict(_dict(data.get("sms_ini")).get("sections")).get("SMS"))
    control = _dict(data.get("site_control"))
    kept = _strings(data, ("schema", "schema_version", "kind", "host", "site_code"))
    kept.update(os=_strings(_dict(data.get("os")), ("family",)),
                sms=_strings(_dict(data.get("sms")), ("site_code", "site_role", "parent_site_code")),
                sms_ini={"sections": {"SMS": _strings(sms_section, ("SMS Unique ID", "SiteCode"))}},
                site_control={key: [_strings(entry, ("site_code", "site_role", "name")) for entry in control.get(key) or []
                                    if isinstance(entry, dict)]
                              for key in ("child_sites", "helper_servers", "logon_servers")})
    if isinstance(data.get("roles"), list):
        kept["roles"] = [role for role in data["roles"] if isinstance(role, str)]
    return kept


def read_snapshots(snapshot_dir):
    """``({host: trimmed snapshot or None}, [warning])`` for every ``<host>.json`` of ``snapshot_dir``; SourceError
    when the directory cannot be listed or holds no snapshot."""
    try:
        names = sorted(name for name in os.listdir(snapshot_dir) if name.lower().endswith(".json"))
    except OSError as exc:
        raise SourceError("snapshot directory %s cannot be read: %s" % (snapshot_dir, exc.strerror or exc)) from None
    if not names:
        raise SourceError("snapshot directory %s holds no snapshot (<host>.json); gather the hierarchy first"
                          % snapshot_dir)
    snapshots, warnings = {}, []
    for name in names:
        host, path = name[:-5], os.path.join(snapshot_dir, name)
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except ValueError as exc:
            data, problem = None, "is not valid JSON: %s" % exc
        except OSError as exc:
            data, problem = None, "cannot be read: %s" % (exc.strerror or exc)
        else:
            problem = envelope_problem(host, data)
        if problem:
            warnings.append("snapshot %s %s; %s is put in %s only" % (path, problem, host, TOP_GROUP))
            data = None
        snapshots[host] = trim(data) if data is not None else None
    return snapshots, warnings


# ------------------------------------------------------------------ placing hosts
def _text(value):
    return value if isinstance(value, str) and value else None


def _sms(snapshot):
    sms = snapshot.get("sms")
    return sms if isinstance(sms, dict) else {}


def _site_control(snapshot):
    control = snapshot.get("site_control")
    return control if isinstance(control, dict) else {}


def _entries(control, key):
    return [entry for entry in control.get(key) or [] if isinstance(entry, dict)]


def kind_group(snapshot):
    """The kind or tier group a snapshot places its host in."""
    kind = snapshot["kind"]
    if kind != "site_server":
        return KIND_GROUP[kind]
    roles = snapshot.get("roles") if isinstance(snapshot.get("roles"), list) else []
    role = _sms(snapshot).get("site_role")
    if "site" in roles and role in SITE_ROLES:
        return "sms_%s" % role
    for name in ("helper", "logon"):
        if name in roles:
            return ROLE_GROUP[name]
    return SITE_SERVERS_GROUP


def host_facts(snapshot):
    """The host variables a snapshot gives (``sms_kind``, ``sms_roles``, ``sms_os_family``, ``sms_smsid``)."""
    facts = {"sms_kind": snapshot["kind"]}
    os_facts = snapshot.get("os") if isinstance(snapshot.get("os"), dict) else {}
    if snapshot["kind"] == "site_server" and isinstance(snapshot.get("roles"), list):
        facts["sms_roles"] = list(snapshot["roles"])
    if snapshot["kind"] == "client":
        facts["sms_os_family"] = _text(os_facts.get("family"))
        facts["sms_smsid"] = _text(client_smsid(snapshot))
    return facts


def sites_of(snapshots):
    """``{site code: {"sms_site_role", "sms_parent_site"}}`` from the site servers and their site control data."""
    sites = {}
    for snapshot in snapshots.values():
        if not snapshot or kind_group(snapshot) not in ("sms_central", "sms_primary", "sms_secondary"):
            continue
        sms = _sms(snapshot)
        code = sms["site_code"].upper() if _text(sms.get("site_code")) else None
        if code:
            sites[code] = {"sms_site_role": sms.get("site_role"),
                           "sms_parent_site": (_text(sms.get("parent_site_code")) or "").upper() or None}
    for snapshot in snapshots.values():
        if not snapshot or snapshot["kind"] != "site_server":
            continue
        parent = (_text(site_of(snapshot)) or "").upper() or None
        for child in _entries(_site_control(snapshot), "child_sites"):
            code = (_text(child.get("site_code")) or "").upper()
            if code and code not in sites:
                sites[code] = {"sms_site_role": child.get("site_role"), "sms_parent_site": parent}
    return sites


def site_control_servers(snapshots):
    """``{name: (kind group, site code)}`` of the helper and logon servers the site control data names."""
    named = {}
    for snapshot in snapshots.values():
        if not snapshot or snapshot["kind"] != "site_server":
            continue
        site = (_text(site_of(snapshot)) or "").upper() or None
        control = _site_control(snapshot)
        for key, group in (("helper_servers", "sms_helper"), ("logon_servers", "sms_logon")):
            for entry in _entries(control, key):
                if _text(entry.get("name")):
                    named.setdefault(entry["name"], (group, site))
    return named


# ------------------------------------------------------------------ relay rules
def check_rules(rules, source="relays"):
    """Return the relay rules as a list of dicts; SourceError naming the rule and the cause."""
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise SourceError("%s: expected a list of rules, each with 'relay' and what it matches" % source)
    choices = {"groups": set(GROUPS) | {SITE_SERVERS_GROUP}, "os_families": set(OS_FAMILIES)}
    for number, rule in enumerate(rules, 1):
        where = "%s rule #%d" % (source, number)
        if not isinstance(rule, dict) or "relay" not in rule:
            raise SourceError("%s: expected a mapping with 'relay' (a host name, or null for direct)" % where)
        unknown = sorted(set(rule) - set(RULE_KEYS))
        if unknown:
            raise SourceError("%s: unknown key %s (keys: %s)" % (where, ", ".join(unknown), ", ".join(RULE_KEYS)))
        if rule["relay"] is not None and not _text(rule["relay"]):
            raise SourceError("%s: relay must be a host name, or null for direct" % where)
        for key in RULE_KEYS[1:]:
            values = rule.get(key)
            if values is not None and (not isinstance(values, list) or not all(isinstance(v, str) for v in values)):
                raise SourceError("%s: %s must be a list of names" % (where, key))
            wrong = sorted(set(values or ()) - choices[key]) if key in choices else []
            if wrong:
                raise SourceError("%s: %s %s unknown (choices: %s)" % (where, key, ", ".join(wrong), ", ".join(sorted(choices[key]))))
    return rules


def _matches(rule, host, groups, site, os_family):
    checks = (
        ("sites", lambda values: site is not None and site in {v.upper() for v in values}),
        ("groups", lambda values: bool(set(values) & set(groups))),
        ("os_families", lambda values: os_family in values),
        ("hosts", lambda values: any(fnmatch.fnmatch(host.upper(), v.upper()) for v in values)),
    )
    return all(test(rule[key]) for key, test in checks if rule.get(key) is not None)


def relay_for(rules, host, groups, site, os_family):
    """The relay of the first rule that matches a host (None: direct, or no rule matches)."""
    for rule in rules:
        if _matches(rule, host, groups, site, os_family):
            return rule["relay"]
    return None


# ------------------------------------------------------------------ the inventory
class _Builder:
    """Groups (children, hosts, vars) in the order they are first named, and host variables. Members are kept in
    dicts (ordered, constant-time membership) and become lists in :meth:`groups_data`."""

    def __init__(self):
        self.groups = {}
        self.hostvars = {}

    def group(self, name, parent=None, **variables):
        entry = self.groups.setdefault(name, {"children": {}, "hosts": {}, "vars": {}})
        entry["vars"].update(variables)
        if parent:
            self.group(parent)["children"].setdefault(name)
        return entry

    def host(self, host, group, **variables):
        self.group(group)["hosts"].setdefault(host)
        self.hostvars.setdefault(host, {}).update(variables)

    def groups_data(self):
        return {name: {"children": list(entry["children"]), "hosts": list(entry["hosts"]), "vars": entry["vars"]}
                for name, entry in self.groups.items()}


def _skeleton(builder):
    builder.group(TOP_GROUP)
    builder.group(SITE_SERVERS_GROUP, TOP_GROUP)
    for role in SITE_ROLES:
        builder.group("sms_%s" % role, SITE_SERVERS_GROUP)
    for name in ("sms_sql", "sms_helper", "sms_logon", "sms_clients"):
        builder.group(name, TOP_GROUP)


def _site_group(builder, code, facts=None):
    name = SITE_GROUP % code
    builder.group(name, **dict(facts or {}, sms_site_code=code))
    role = (facts or {}).get("sms_site_role")
    if role in SITE_ROLES:
        builder.group(TIER_GROUP % role)
        builder.group(name, TIER_GROUP % role)
    return name


def _plan_groups(builder, plan):
    for wave in plan.waves:
        group = WAVE_GROUP % safe_name(wave.name)
        builder.group(group, sms_wave=wave.name)
        for entry in wave.sites:
            builder.group(_site_group(builder, entry.site), group)
    for kept in plan.kept_sites:
        builder.group(KEPT_GROUP)
        builder.group(_site_group(builder, kept.site), KEPT_GROUP)


def build_inventory(snapshot_dir, plan=None, relays=None, snapshots_only=False, site_control_hosts=True):
    """The :class:`HierarchyInventory` of the snapshots in ``snapshot_dir`` (see the module's docstring).

    ``plan``: an UpgradePlan (None or the implicit whole-inventory plan: no wave groups); ``relays``: rules as checked by
    :func:`check_rules`; ``snapshots_only``: put every host with a snapshot in ``sms_snapshots_only`` (never contacted);
    ``site_control_hosts``: add the helper and logon servers named only in site control data.
    """
    rules = check_rules(relays)
    snapshots, warnings = read_snapshots(snapshot_dir)
    builder = _Builder()
    _skeleton(builder)
    sites = sites_of(snapshots)
    for code in sorted(sites):
        _site_group(builder, code, sites[code])
    placed = {}
    for host, snapshot in snapshots.items():
        if snapshot is None:
            builder.host(host, TOP_GROUP)
            continue
        site = (_text(site_of(snapshot)) or "").upper() or None
        placed[host] = (kind_group(snapshot), site, host_facts(snapshot))
    known = {host.upper() for host in snapshots}
    named = site_control_servers(snapshots) if site_control_hosts else {}
    for name, (group, site) in sorted(named.items()):
        if name.upper() not in known:
            known.add(name.upper())
            placed[name] = (group, site, {"sms_kind": "site_server"})
            warnings.append("%s is named in the site control data of site %s but has no snapshot in %s"
                            % (name, site, snapshot_dir))
    order = {name: index for index, name in enumerate(GROUPS)}
    for host in sorted(placed, key=lambda h: (order.get(placed[h][0], 0), h)):
        group, site, facts = placed[host]
        builder.host(host, group, **facts)
        if site:
            builder.host(host, _site_group(builder, site, sites.get(site)))
        if snapshots_only and host in snapshots:
            builder.host(host, SNAPSHOTS_ONLY_GROUP)
        _relay(builder, rules, host, group, site, facts.get("sms_os_family"))
    if plan is not None and not plan.implicit:
        _plan_groups(builder, plan)
    return HierarchyInventory(builder.groups_data(), builder.hostvars, warnings)


def _relay(builder, rules, host, group, site, os_family):
    groups = [group] + ([SITE_SERVERS_GROUP] if group in ("sms_central", "sms_primary", "sms_secondary") else [])
    relay = relay_for(rules, host, groups, site, os_family)
    if relay and relay != host:
        builder.hostvars[host][RELAY_VAR] = relay
        builder.host(relay, RELAYS_GROUP)
    elif relay == host:
        builder.hostvars[host][RELAY_VAR] = relay
