"""The upgrade plan in the readiness report: its waves (sites in order, hosts, status), the sites kept on SMS 1.2,
and the waves each finding blocks (``finding["waves"]``).

A host's finding blocks the wave that upgrades the host's site (none when the site stays on 1.2 or is not planned).
A hierarchy-wide finding blocks every wave, unless it names the waves it blocks (the ``plan.*`` rules, in
``evidence.waves``). Without a plan file the whole inventory is one wave, ``all``; with a plan that does not load
there are no waves, and the ``plan.valid`` finding says why.
"""
from collections import Counter, defaultdict

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, window_dict


def _waves_of(finding, site, plan):
    names = plan.wave_names()
    if finding["host"] == HIERARCHY_HOST:
        waves = (finding.get("evidence") or {}).get("waves")
        return [w for w in names if w in waves] if isinstance(waves, list) else list(names)
    if plan.implicit:
        return list(names)
    wave = plan.wave_of(site)
    return [wave.name] if wave else []


def mark_waves(findings, records, plan):
    """Give every finding ``waves``: the waves of the plan it blocks while it fails."""
    sites = {r.host: r.site for r in records}
    for finding in findings:
        finding["waves"] = [] if isinstance(plan, PlanError) else _waves_of(finding, sites.get(finding["host"]), plan)


def _sites(records):
    """``{site: {"role", "parent", "hosts"}}`` from the host records (the site server gives role and parent)."""
    sites = defaultdict(lambda: {"role": None, "parent": None, "hosts": 0})
    for record in records:
        if record.kind == "hierarchy" or not record.site:
            continue
        entry = sites[record.site.upper()]
        entry["hosts"] += 1
        if record.kind == "site_server" and record.site_role:
            entry.update(role=record.site_role, parent=record.parent_site)
    return sites


def _blocking(findings):
    counts = Counter()
    for finding in findings:
        if finding["blocks"]:
            counts.update(finding["waves"])
    return counts


def _downloads(findings):
    """MB per wave downloaded by secondaries from their parents (evidence of plan.secondary_downloads)."""
    megabytes = Counter()
    for finding in findings:
        if finding["host"] == HIERARCHY_HOST:
            for item in (finding.get("evidence") or {}).get("downloads") or []:
                megabytes[item["wave"]] += item["mb"]
    return megabytes


def _wave_entry(wave, plan, sites, blocking, downloads, records):
    codes = [entry.site for entry in wave.sites] if not plan.implicit else sorted(sites)
    planned = [{"site": code, "role": sites[code]["role"] if code in sites else None,
                "parent": sites[code]["parent"] if code in sites else None,
                "method": plan.method(code), "hosts": sites[code]["hosts"] if code in sites else 0} for code in codes]
    hosts = sum(1 for r in records if r.kind != "hierarchy") if plan.implicit else sum(s["hosts"] for s in planned)
    return {"name": wave.name, "description": wave.description, "window": window_dict(wave.window), "sites": planned,
            "hosts": hosts, "status": "blocked" if blocking[wave.name] else "ready", "blocking": blocking[wave.name],
            "download_mb": downloads[wave.name]}


def plan_section(plan, records, findings):
    """The report's ``plan``: file, waves with sites, hosts and status, sites kept on 1.2, changes, unplanned sites.

    Call after :func:`mark_waves`.
    """
    if isinstance(plan, PlanError):
        return {"file": plan.source, "sha256": None, "present": True, "valid": False, "problems": plan.problems,
                "waves": [], "stay_on_1_2": [], "os_upgrades": [], "hierarchy_changes": [], "unplanned": []}
    sites = _sites(records)
    blocking, downloads = _blocking(findings), _downloads(findings)
    return {
        "file": plan.source, "sha256": plan.sha256, "present": not plan.implicit, "valid": True, "problems": [],
        "waves": [_wave_entry(w, plan, sites, blocking, downloads, records) for w in plan.waves],
        "stay_on_1_2": [{"site": k.site, "reason": k.reason, "clients": list(k.clients),
                         "hosts": sites[k.site]["hosts"] if k.site in sites else 0} for k in plan.kept_sites],
        "os_upgrades": list(plan.os_upgrades),
        "hierarchy_changes": [{"change": c.change, "sites": list(c.sites),
                               "when": "before wave %s" % c.before if c.before else "after wave %s" % c.after}
                              for c in plan.hierarchy_changes],
        "unplanned": [] if plan.implicit else [{"site": code, "hosts": sites[code]["hosts"]} for code in sorted(sites)
                                               if code not in plan.planned_sites()],
    }
