"""The ordered plan of one wave of the site upgrade: which site when, on which servers, with which steps and method.

Pure: made on the controller from the upgrade plan (``hierarchy/upgrade_plan.py``), the inventory (each host's groups,
machine name and upgrade variables) and the snapshots (sites, roles and parents, ``hierarchy/fleet.py``). Which hosts
belong to the wave is the plan's answer (:meth:`UpgradePlan.scope`, as for every phase: the site its snapshot names,
else its ``sms_site_XXX`` group); this module only arranges them by site. The sites come in the plan's order; without
a plan file the wave ``all`` holds every site of the inventory, top-down (parents before children). Each site's entry
is what ``sms.upgrade.site_upgrade`` takes as its ``site`` option.
"""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import KIND_GROUPS, ROLE_GROUPS, site_code_from_groups
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import Fleet, site_of
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import (
    host_sites, kept_facts, left_out_lines, wave_facts)

# The site's tier by its server's group (sms_central -> central), and the list of a site's entry each group fills.
SITE_GROUPS = {name: name.split("_", 1)[1] for name, role in ROLE_GROUPS.items() if role == "site"}
MEMBER_LISTS = {"site": "servers", "helper": "helpers", "logon": "logon", "site_database": "sql"}


def member_list(group):
    """The list of a site's entry (servers, helpers, logon, sql) a host of inventory group ``group`` is in, or None."""
    return MEMBER_LISTS.get(ROLE_GROUPS.get(group) or KIND_GROUPS.get(group))


# The inventory groups whose hosts a site's entry names.
SERVER_GROUPS = tuple(name for name in KIND_GROUPS if member_list(name))
PRIMARY_STEPS = ("preflight", "quiesce", "rollback_point", "setup", "deinstall", "verify", "erd")
SECONDARY_STEPS = ("preflight", "rollback_point", "handoff", "deinstall", "verify", "erd")


def _member(host, info):
    return {"host": host, "computer": info.get("computer") or host, "snapshots_only": bool(info.get("snapshots_only"))}


def _site_hosts(hosts, sites):
    """``{site: {"servers": [...], "sql": [...], "helpers": [...], "logon": [...]}}`` of ``hosts`` by their site."""
    by_site = {}
    for host, info in sorted(hosts.items()):
        site = sites.get(host)
        if not site:
            continue
        entry = by_site.setdefault(site, {name: [] for name in MEMBER_LISTS.values()})
        for name in sorted({member_list(group) for group in info.get("groups") or ()} - {None}):
            entry[name].append(host)
    return by_site


def _role(info, fleet, site):
    for group in info.get("groups") or ():
        if group in SITE_GROUPS:
            return SITE_GROUPS[group]
    return fleet.role(site)


def download_estimate(mb, kbps):
    """Expected minutes to send ``mb`` megabytes at ``kbps`` kbit/s (None without a speed)."""
    if not kbps:
        return None
    return round(mb * 1024 * 8 / float(kbps) / 60, 1)


def _download(parent_info, params):
    mb, limit = params["secondary_download_mb"], params["secondary_download_max_at_once"]
    kbps = parent_info.get("sender_kbps")
    sendings = parent_info.get("concurrent_sendings")
    at_once = limit if not sendings else max(min(limit, int(sendings) - 1), 1)
    return {"mb": mb, "sender_kbps": kbps, "expected_minutes": download_estimate(mb, kbps), "max_at_once": at_once,
            "concurrent_sendings": sendings, "seed_limit": limit}


def _top_down(sites, fleet):
    """Site codes with every parent before its children (depth, then name)."""
    def depth(site, seen=()):
        parent = fleet.parent(site)
        return 0 if not parent or parent in seen or parent not in sites else 1 + depth(parent, seen + (site,))
    return sorted(sites, key=lambda s: (depth(s), s))


def plan_wave(plan, wave_name, hosts, snapshots, params):
    """``{"wave", "sites", "problems", "stay_on_1_2", "left_out"}`` for ``wave_name``.

    ``hosts``: ``{host: {groups, computer, snapshots_only, sender_kbps, concurrent_sendings, site_database}}`` for
    every SMS server of the inventory; ``snapshots``: ``{host: snapshot data}`` of those that have one; ``params``: the
    assessment parameters (secondary_download_mb, secondary_download_max_at_once). UnknownWave when the plan has no
    such wave.
    """
    sites_of = host_sites(hosts, {host: site_of(data) for host, data in snapshots.items()},
                          {host: site_code_from_groups(info.get("groups")) for host, info in hosts.items()})
    scope = plan.scope(wave_name, sorted(hosts), sites_of)
    fleet = Fleet(snapshots)
    by_site = _site_hosts({host: hosts[host] for host in scope.hosts}, sites_of)
    parents = _site_hosts(hosts, sites_of)  # a parent's server may be in an earlier wave
    if plan.implicit:
        order = [(site, None, None) for site in _top_down([s for s in by_site if by_site[s]["servers"]], fleet)]
    else:
        order = [(entry.site, entry.method, entry.note) for entry in scope.wave.sites]
    sites, problems = [], []
    for position, (site, method, note) in enumerate(order, 1):
        members = by_site.get(site)
        if not members or not members["servers"]:
            problems.append("site %s: no site server in the inventory (a host in sms_central, sms_primary or "
                            "sms_secondary and in sms_site_%s)" % (site, site))
            continue
        if len(members["servers"]) > 1:
            problems.append("site %s: %d site servers in the inventory (%s); a site has one" % (
                site, len(members["servers"]), ", ".join(members["servers"])))
            continue
        server = members["servers"][0]
        role = _role(hosts[server], fleet, site)
        parent = fleet.parent(site)
        entry = {"site": site, "position": position, "role": role, "parent": parent, "method": method, "note": note,
                 "server": _member(server, hosts[server]),
                 "sql": None, "helpers": [_member(h, hosts[h]) for h in members["helpers"] if h != server],
                 "logon": [_member(h, hosts[h]) for h in members["logon"] if h != server],
                 "steps": list(SECONDARY_STEPS if role == "secondary" else PRIMARY_STEPS),
                 "parent_server": None, "download": None}
        if members["sql"]:
            sql = members["sql"][0]
            database = hosts[sql].get("site_database") or (snapshots.get(sql) or {}).get("site_database") or "SMS_%s" % site
            entry["sql"] = dict(_member(sql, hosts[sql]), database=database)
        if parent:
            parent_members = parents.get(parent) or {}
            if parent_members.get("servers"):
                parent_host = parent_members["servers"][0]
                entry["parent_server"] = _member(parent_host, hosts[parent_host])
                if method == "download_from_parent":
                    entry["download"] = _download(hosts[parent_host], params)
        if role == "secondary" and not method:
            problems.append("site %s: secondary without an upgrade method in the plan (download_from_parent, "
                            "parent_with_local_source or local_cd)" % site)
        sites.append(entry)
    return {"wave": wave_facts(plan, scope.wave), "sites": sites, "problems": problems, "stay_on_1_2": kept_facts(plan),
            "left_out": left_out_lines(scope)}


STEP_TITLES = {
    "preflight": "pre-flight", "quiesce": "stop and disable the 1.2 services", "rollback_point": "rollback point",
    "setup": "SMS 2.0 Setup", "handoff": "Secondary Site Upgrade Wizard hand-off", "deinstall": "finish the de-install",
    "verify": "verify", "erd": "new emergency repair disk (PRE-34)"}


def describe_site(entry):
    """One line per site: position, role, servers, method and steps."""
    servers = ["site server %s" % entry["server"]["host"]]
    if entry["sql"]:
        servers.append("SQL %s (%s)" % (entry["sql"]["host"], entry["sql"]["database"]))
    if entry["helpers"]:
        servers.append("helpers %s" % ", ".join(h["host"] for h in entry["helpers"]))
    if entry["logon"]:
        servers.append("logon servers %s" % ", ".join(h["host"] for h in entry["logon"]))
    role = entry["role"] or "unknown role"
    if entry["parent"]:
        role += " under %s" % entry["parent"]
    line = "%d. %s (%s; %s): %s" % (entry["position"], entry["site"], role, ", ".join(servers),
                                    " -> ".join(STEP_TITLES[s] for s in entry["steps"]))
    if entry["method"]:
        line += "; method %s" % entry["method"]
    download = entry.get("download")
    if download:
        line += "; about %d MB from %s" % (download["mb"], entry["parent"])
        line += ", expected %s min at %s kbit/s" % (download["expected_minutes"], download["sender_kbps"]) \
            if download["expected_minutes"] is not None else \
            ", expected time unknown (set sms_upgrade_sender_kbps on %s)" % entry["parent_server"]["host"]
        line += ", at most %d at once" % download["max_at_once"]
    return line


def describe_wave(planned):
    """The wave's plan as lines (the check-mode output)."""
    wave = planned["wave"]
    window = wave["window"]
    head = "wave %s: %d site(s)%s%s" % (wave["name"], len(planned["sites"]),
                                        ", window %s to %s" % (window["start"], window["end"]) if window else "",
                                        "" if wave["planned"] else " (no upgrade plan: every site, top-down)")
    lines = [head] + [describe_site(entry) for entry in planned["sites"]]
    lines += ["not planned: %s" % problem for problem in planned["problems"]]
    lines += ["stays on SMS 1.2: %s (%s)" % (kept["site"], kept["reason"]) for kept in planned["stay_on_1_2"]]
    if planned["left_out"]:
        lines.append("left out, outside the wave: %d SMS server(s) of other sites (%s)" % (
            len(planned["left_out"]), ", ".join(line.split(":", 1)[0] for line in planned["left_out"])))
    return lines
