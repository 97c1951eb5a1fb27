"""The upgrade plan (``<inventory_dir>/upgrade_plan.yml``): which sites each wave upgrades, in order, and which stay
on SMS 1.2. A pure loader and the small API every changing phase reads (docs/upgrade_plan.md).

- :func:`load_plan` reads and validates a plan file (schema ``data/schemas/upgrade_plan.v1.json`` plus the rules a
  schema cannot say); every problem names the file, the wave, the site and the cause (:class:`PlanError`). Without a
  file the plan is the *whole inventory* as one wave named ``all``, and :attr:`UpgradePlan.warning` says so.
- :meth:`UpgradePlan.wave` finds a wave by name (:class:`UnknownWave` lists the waves), :meth:`UpgradePlan.wave_of`,
  :meth:`UpgradePlan.method` and :meth:`UpgradePlan.kept` answer per site, :meth:`UpgradePlan.scope` splits hosts
  into those of a wave and those left out, each with the reason (the one place that decides a wave's hosts);
  :func:`wave_facts`, :func:`kept_facts` and :func:`left_out_lines` are what a run shows of it. :func:`host_sites`
  gives each host its site code (its snapshot's, else its ``sms_site_XXX`` group). Parent/child relations come from
  the snapshots (``hierarchy/fleet.py``).

The plan's ordering is checked against the hierarchy by readiness (``assess/plan_checks.py``), not here.
"""
import datetime
import hashlib
import os
from collections import namedtuple

import yaml

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_json

try:
    import jsonschema
except ImportError:  # pragma: no cover - the snapshot loader reports the missing dependency
    jsonschema = None

SCHEMA_FILE = "upgrade_plan.v1.json"
PLAN_FILE = "upgrade_plan.yml"
WHOLE_INVENTORY = "all"
METHODS = ("download_from_parent", "parent_with_local_source", "local_cd")

Window = namedtuple("Window", ["start", "end"])
PlannedSite = namedtuple("PlannedSite", ["site", "method", "note"])
Wave = namedtuple("Wave", ["name", "description", "window", "sites", "index"])
KeptSite = namedtuple("KeptSite", ["site", "reason", "clients"])
HierarchyChange = namedtuple("HierarchyChange", ["change", "sites", "before", "after"])
WaveScope = namedtuple("WaveScope", ["wave", "hosts", "left_out"])


class PlanError(ValueError):
    """The plan file cannot be used; ``problems`` lists every problem, each naming wave, site and cause."""

    def __init__(self, source, problems):
        self.source = source
        self.problems = list(problems)
        super().__init__("upgrade plan %s: %s" % (source, "; ".join(self.problems)))


class UnknownWave(ValueError):
    """A run names no wave, or a wave the plan does not have; the message lists the waves."""


def _iso(moment):
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_dict(window):
    """``{"start", "end"}`` as ISO 8601 text (None without a window)."""
    return {"start": _iso(window.start), "end": _iso(window.end)} if window else None


class UpgradePlan:
    """The waves of a plan, the sites that stay on SMS 1.2, and the planned hierarchy changes."""

    def __init__(self, source, sha256, waves, kept=(), os_upgrades=(), hierarchy_changes=(), implicit=False):
        self.source = source
        self.sha256 = sha256
        self.waves = tuple(waves)
        self.kept_sites = tuple(kept)
        self.os_upgrades = tuple(os_upgrades)
        self.hierarchy_changes = tuple(hierarchy_changes)
        self.implicit = implicit
        self._by_site = {entry.site: (wave, position) for wave in self.waves
                         for position, entry in enumerate(wave.sites)}
        self._kept = {entry.site: entry for entry in self.kept_sites}

    @classmethod
    def whole_inventory(cls, source=None):
        """The plan of a run without a plan file: one wave, ``all``, that holds every host."""
        return cls(source, None, [Wave(WHOLE_INVENTORY, "the whole inventory (no upgrade plan)", None, (), 0)],
                   implicit=True)

    @property
    def warning(self):
        """What a run without a plan file says (None with a plan)."""
        if not self.implicit:
            return None
        where = "at %s" % self.source if self.source else "(sms_upgrade_plan_file is empty)"
        return ("no upgrade plan %s: the whole inventory is one wave, so this run acts on every host of the play; write "
                "a plan to upgrade wave by wave (docs/upgrade_plan.md)" % where)

    def wave_names(self):
        return [wave.name for wave in self.waves]

    def wave(self, name):
        """The wave called ``name``; UnknownWave (listing the waves) when there is none or no name is given."""
        if self.implicit:
            if name in (None, "", WHOLE_INVENTORY):
                return self.waves[0]
            raise UnknownWave("wave %r: there is no upgrade plan %s, so the only wave is %r (the whole inventory); "
                              "write the plan (docs/upgrade_plan.md) or run without sms_upgrade_wave"
                              % (name, "at %s" % self.source if self.source else "(sms_upgrade_plan_file is empty)",
                                 WHOLE_INVENTORY))
        for wave in self.waves:
            if wave.name == name:
                return wave
        if not name:
            raise UnknownWave("name the wave this run acts on: -e sms_upgrade_wave=<wave> (waves of %s, in order: %s)"
                              % (self.source, ", ".join(self.wave_names())))
        raise UnknownWave("wave %r is not in upgrade plan %s (waves, in order: %s)"
                          % (name, self.source, ", ".join(self.wave_names())))

    def wave_of(self, site):
        """The wave that upgrades ``site`` (None when it stays on 1.2 or is not planned)."""
        found = self._by_site.get((site or "").upper())
        return found[0] if found else None

    def order(self, site):
        """``(wave index, position in the wave)`` of an upgraded site, for "before" comparisons; None otherwise."""
        found = self._by_site.get((site or "").upper())
        return (found[0].index, found[1]) if found else None

    def method(self, site):
        """The upgrade method the plan names for a (secondary) site, or None."""
        found = self._by_site.get((site or "").upper())
        return found[0].sites[found[1]].method if found else None

    def kept(self, site):
        """The KeptSite entry of a site that stays on SMS 1.2, or None."""
        return self._kept.get((site or "").upper())

    def planned_sites(self):
        """Every site code the plan names (upgraded or kept)."""
        return set(self._by_site) | set(self._kept)

    def _outside(self, wave, site):
        """Why a host of ``site`` is not in ``wave`` (None when it is)."""
        if self.implicit:
            return None
        if not site:
            return "outside wave %s: no site code (its snapshot names none and it is in no sms_site_XXX group)" % wave.name
        other = self.wave_of(site)
        if other is not None and other.name == wave.name:
            return None
        if other is not None:
            return "outside wave %s: site %s is upgraded in wave %s" % (wave.name, site, other.name)
        kept = self.kept(site)
        if kept is not None:
            return "outside wave %s: site %s stays on SMS 1.2" % (wave.name, site)
        return "outside wave %s: site %s is in no wave of the upgrade plan" % (wave.name, site)

    def scope(self, name, hosts, sites):
        """Split ``hosts`` by wave ``name``: WaveScope(wave, hosts in the wave, {host: why it is left out}).

        ``sites`` maps a host to its site code (:func:`host_sites`). A wave holds the site servers of its sites,
        their SQL, helper and logon servers and their clients: every host whose site the wave upgrades.
        """
        wave = self.wave(name)
        inside, left_out = [], {}
        for host in hosts:
            reason = self._outside(wave, (sites.get(host) or "").upper() or None)
            if reason:
                left_out[host] = reason
            else:
                inside.append(host)
        return WaveScope(wave, inside, left_out)


def wave_facts(plan, wave):
    """What a run says about its wave: name, whether a plan file defines it, window, sites in order with their
    method, and the plan file."""
    return {"name": wave.name, "planned": not plan.implicit, "window": window_dict(wave.window),
            "sites": [{"site": entry.site, "method": entry.method} for entry in wave.sites], "plan_file": plan.source}


def kept_facts(plan):
    """The sites that stay on SMS 1.2, each with ``site`` and ``reason`` (what a run shows of them)."""
    return [{"site": kept.site, "reason": kept.reason} for kept in plan.kept_sites]


def left_out_lines(scope):
    """``HOST: why`` for every host a WaveScope leaves out, sorted by host."""
    return ["%s: %s" % (host, scope.left_out[host]) for host in sorted(scope.left_out)]


def host_sites(hosts, snapshot_sites, group_sites):
    """``{host: site code or None}``: the site its snapshot names, else its ``sms_site_XXX`` group's."""
    return {host: ((snapshot_sites.get(host) or group_sites.get(host) or "").upper() or None) for host in hosts}


# ------------------------------------------------------------------ loading
def load_plan(path):
    """Read and validate the plan at ``path``; the whole-inventory plan when ``path`` is empty or absent."""
    if not path or not os.path.exists(path):
        return UpgradePlan.whole_inventory(path or None)
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
        document = yaml.safe_load(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PlanError(path, ["cannot be read: %s" % str(exc).replace("\n", " ")]) from None
    return parse_plan(document, path, hashlib.sha256(raw).hexdigest())


def parse_plan(document, source="upgrade plan", sha256=None):
    """Validate a parsed plan document; return an UpgradePlan or raise PlanError with every problem."""
    if not isinstance(document, dict):
        raise PlanError(source, ["expected a mapping with schema_version 1 and a list 'waves' (docs/upgrade_plan.md)"])
    document = _texts(document)
    problems = _schema_problems(document)
    if problems:
        raise PlanError(source, problems)
    waves, problems = _waves(document["waves"])
    kept = [KeptSite(e["site"].upper(), e["reason"].strip(), tuple(e.get("clients", ()))) for e in document.get("stay_on_1_2", [])]
    changes = [HierarchyChange(e["change"].strip(), tuple(s.upper() for s in e["sites"]), e.get("before"), e.get("after"))
               for e in document.get("hierarchy_changes", [])]
    problems += _site_problems(waves, kept) + _change_problems(changes, waves)
    if problems:
        raise PlanError(source, problems)
    return UpgradePlan(source, sha256, waves, kept, document.get("os_upgrades", ()), changes)


def _texts(value):
    """YAML timestamps (and dates) as ISO 8601 text, so the schema sees what the file says."""
    if isinstance(value, dict):
        return {key: _texts(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_texts(item) for item in value]
    if isinstance(value, datetime.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


_VALIDATOR = []


def _validator():
    if jsonschema is None:
        raise RuntimeError("the Python library 'jsonschema' is required on the Ansible controller to validate the "
                           "upgrade plan (pip install -r requirements.txt)")
    if not _VALIDATOR:
        schema = read_json("schemas", SCHEMA_FILE)
        _VALIDATOR.append(jsonschema.validators.validator_for(schema)(schema))
    return _VALIDATOR[0]


def _where(document, path):
    """``wave 'central', site CEN, method`` for a schema error's path."""
    parts, rest = [], list(path)
    if len(rest) >= 2 and rest[0] == "waves" and isinstance(rest[1], int):
        wave = document["waves"][rest[1]]
        name = wave.get("name") if isinstance(wave, dict) else None
        parts.append("wave %r" % name if isinstance(name, str) else "wave #%d" % (rest[1] + 1))
        rest = rest[2:]
        if len(rest) >= 2 and rest[0] == "sites" and isinstance(rest[1], int) and isinstance(wave, dict):
            site = wave["sites"][rest[1]]
            code = site.get("site") if isinstance(site, dict) else None
            parts.append("site %s" % code if isinstance(code, str) else "site #%d" % (rest[1] + 1))
            rest = rest[2:]
    elif len(rest) >= 2 and rest[0] in ("stay_on_1_2", "hierarchy_changes") and isinstance(rest[1], int):
        entry = document[rest[0]][rest[1]]
        code = entry.get("site") if isinstance(entry, dict) else None
        parts.append("stay_on_1_2 site %s" % code if rest[0] == "stay_on_1_2" and isinstance(code, str)
                     else "%s #%d" % (rest[0], rest[1] + 1))
        rest = rest[2:]
    parts += [".".join(str(p) for p in rest)] if rest else []
    return ", ".join(parts) or "the file"


def _schema_problems(document):
    problems = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path]):
        message = error.message
        if error.validator == "oneOf" and list(error.absolute_path)[:1] == ["hierarchy_changes"]:
            message = "give exactly one of 'before' (a wave) or 'after' (a wave)"
        elif error.validator == "pattern" and error.schema.get("pattern") == "\\S":
            message = "must not be empty"
        problems.append("%s: %s" % (_where(document, error.absolute_path), message))
    return problems


def _window(wave, problems):
    try:
        start, end = parse_timestamp(wave["window"]["start"]), parse_timestamp(wave["window"]["end"])
    except ValueError as exc:
        problems.append("wave %r: window: %s (use ISO 8601, e.g. 2026-12-05T18:00:00Z)" % (wave["name"], exc))
        return None
    if end <= start:
        problems.append("wave %r: the window ends (%s) before it starts (%s)" % (wave["name"], _iso(end), _iso(start)))
    return Window(start, end)


def _waves(entries):
    """The waves in file order, and the problems of names and windows."""
    problems, waves, seen = [], [], {}
    for index, entry in enumerate(entries):
        if entry["name"].lower() in seen:
            problems.append("wave %r: the name is used twice (waves #%d and #%d)" % (entry["name"], seen[entry["name"].lower()] + 1, index + 1))
        seen.setdefault(entry["name"].lower(), index)
        sites = tuple(PlannedSite(s["site"].upper(), s.get("method"), s.get("note")) for s in entry["sites"])
        waves.append(Wave(entry["name"], entry.get("description"), _window(entry, problems), sites, index))
    for earlier, later in zip(waves, waves[1:]):
        if earlier.window and later.window and later.window.start < earlier.window.end:
            problems.append("wave %r: its window starts at %s, before wave %r ends at %s; list the waves in the order "
                            "they run, with windows that do not overlap" % (
                                later.name, _iso(later.window.start), earlier.name, _iso(earlier.window.end)))
    return waves, problems


def _site_problems(waves, kept):
    """A site may be upgraded once, or kept on 1.2 once; never both, never twice."""
    problems, seen = [], {}
    places = [(entry.site, "wave %r" % wave.name) for wave in waves for entry in wave.sites]
    places += [(entry.site, "stay_on_1_2") for entry in kept]
    for site, place in places:
        if site in seen:
            problems.append("site %s: named twice, in %s and in %s; a site is upgraded in one wave or stays on 1.2"
                            % (site, seen[site], place))
        seen.setdefault(site, place)
    return problems


def _change_problems(changes, waves):
    names = [wave.name for wave in waves]
    return ["hierarchy change %r: %s %r is not a wave of this plan (waves: %s)" % (
        change.change, key, wave, ", ".join(names))
        for change in changes for key, wave in (("before", change.before), ("after", change.after))
        if wave is not None and wave not in names]
