"""What the post_upgrade room reviews and plans from what it read (POST-03 to POST-06). Pure functions, no I/O.

``objects`` is the provider read of the post_upgrade module: ``{name: {"instances": [{property: value}]}}`` or
``{name: {"error": {cause, message}}}`` for a class that could not be read. ``data`` is ``data/post_upgrade.yml``.
"""
import fnmatch

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import fold

DIRECT_RULE = "SMS_CollectionRuleDirect"


def instances(objects, name):
    """The instances read for ``name`` ([] when it was not read)."""
    return list(((objects or {}).get(name) or {}).get("instances") or [])


def read_error(objects, name):
    """``cause: message`` of a class that could not be read, else None."""
    error = ((objects or {}).get(name) or {}).get("error")
    return "%s: %s" % (error.get("code") or error.get("cause"), error.get("message")) if error else None


def _code_name(codes, value):
    return next((name for name, code in codes.items() if code == value), "code %s" % value)


def _bit(flags, bit):
    return bool(int(flags or 0) & (1 << bit))


# ------------------------------------------------------------------ POST-03 converted packages
def _under_old_tree(path, old_dirs):
    segments = [fold(s) for s in str(path or "").replace("/", "\\").split("\\")]
    return any(fold(d) in segments for d in old_dirs)


def _program_findings(program, spec, packages):
    flags, name = program.get("ProgramFlags"), "program %r" % program.get("ProgramName")
    findings = []
    if _bit(flags, spec["program_flags"]["disabled_bit"]):
        findings.append("%s is disabled (programs with unattended command lines are converted as disabled, KB Q199238): "
                        "check its command line and enable it (Program Properties, or sms_upgrade_program_changes)" % name)
    line = str(program.get("CommandLine") or "")
    if any(fnmatch.fnmatch(fold(line), fold(p)) for p in packages["mstest_patterns"]):
        findings.append("%s relied on MS Test (%s), which SMS 2.0 does not have (KB Q200399): rewrite it; the MS Test "
                        "files are in the vault (mstest_files)" % (name, line))
    return findings


def review_packages(objects, data):
    """One review per converted package: ``{package_id, name, source, priority, distribution_points, findings}``."""
    spec, packages = data["provider"], data["packages"]
    programs, points = instances(objects, "programs"), instances(objects, "distribution_points")
    reviews = []
    for package in sorted(instances(objects, "packages"), key=lambda p: str(p.get("PackageID"))):
        pid = package.get("PackageID")
        findings = []
        source = _code_name(spec["pkg_source_flag"], package.get("PkgSourceFlag"))
        if source == "compressed":
            findings.append("uses its compressed copy (packages are converted as compressed, KB Q199238): choose 'Always "
                            "obtain files from source directory' (Data Source) if its source %s is still there" % (
                                package.get("PkgSourcePath") or "(none)"))
        path = package.get("PkgSourcePath")
        if source != "no_source" and not path:
            findings.append("has no source path: set one (Data Source)")
        elif path and _under_old_tree(path, packages["old_tree_dirs"]):
            findings.append("source path %s is in the SMS 1.2 tree, which Setup deleted: set a new source path" % path)
        dps = sorted(p.get("ServerNALPath") for p in points if p.get("PackageID") == pid)
        if not dps:
            findings.append("has no distribution point: assign distribution points on the right shares")
        priority = _code_name(spec["priority"], package.get("Priority"))
        if priority == "normal":
            findings.append("sending priority Normal (every converted package gets Normal): raise it for packages that must go "
                            "first (Distribution Settings, or sms_upgrade_package_changes)")
        for program in sorted((p for p in programs if p.get("PackageID") == pid), key=lambda p: str(p.get("ProgramName"))):
            findings += _program_findings(program, spec, packages)
        reviews.append({"package_id": pid, "name": package.get("Name"), "source": source, "source_path": path,
                        "share": package.get("ShareName"), "priority": priority, "distribution_points": dps,
                        "findings": findings})
    return reviews


def _package_change(package, name, value, spec):
    field = {"priority": ("Priority", spec["priority"]), "source": ("PkgSourceFlag", spec["pkg_source_flag"])}.get(name)
    if field is None:
        raise ValueError("package %s: %r is not a change (priority, source)" % (package.get("PackageID"), name))
    prop, codes = field
    if value not in codes:
        raise ValueError("package %s: %s %r is not one of %s" % (package.get("PackageID"), name, value, ", ".join(codes)))
    if package.get(prop) == codes[value]:
        return None
    return {"kind": "wmi_instance", "id": "package:%s:%s" % (package["PackageID"], prop), "class": "SMS_Package",
            "keys": {"PackageID": package["PackageID"]}, "set": {prop: {"from": package.get(prop), "to": codes[value]}},
            "title": "package %s (%s) %s %s -> %s" % (package["PackageID"], package.get("Name"), name,
                                                      _code_name(codes, package.get(prop)), value)}


def package_changes(objects, data, wanted_packages=None, wanted_programs=None):
    """POST-03's optional changes from the inventory: ``(changes, problems)``."""
    spec = data["provider"]
    by_id = {p.get("PackageID"): p for p in instances(objects, "packages")}
    changes, problems = [], []
    for pid, wanted in sorted((wanted_packages or {}).items()):
        package = by_id.get(pid)
        if package is None:
            problems.append("sms_upgrade_package_changes: package %s is not in the site" % pid)
            continue
        for name, value in sorted((wanted or {}).items()):
            try:
                change = _package_change(package, name, value, spec)
            except ValueError as exc:
                problems.append("sms_upgrade_package_changes: %s" % exc)
                continue
            if change:
                changes.append(change)
    programs = {"%s/%s" % (p.get("PackageID"), p.get("ProgramName")): p for p in instances(objects, "programs")}
    bit = 1 << spec["program_flags"]["disabled_bit"]
    for key, wanted in sorted((wanted_programs or {}).items()):
        program = programs.get(key)
        if program is None or "enabled" not in (wanted or {}):
            why = "is not a program of the site (PACKAGEID/Program name)" if program is None else "names no 'enabled'"
            problems.append("sms_upgrade_program_changes: %s %s" % (key, why))
            continue
        flags = int(program.get("ProgramFlags") or 0)
        target = flags & ~bit if wanted["enabled"] else flags | bit
        if target != flags:
            changes.append({"kind": "wmi_instance", "id": "program:%s:ProgramFlags" % key, "class": "SMS_Program",
                            "keys": {"PackageID": program["PackageID"], "ProgramName": program["ProgramName"]},
                            "set": {"ProgramFlags": {"from": flags, "to": target}},
                            "title": "program %s %s (ProgramFlags %d -> %d)" % (
                                key, "enabled" if wanted["enabled"] else "disabled", flags, target)})
    return changes, problems


# ------------------------------------------------------------------ POST-04 collections from machine groups
def _quoted(value):
    return '"%s"' % value


def _proposal(members, systems, properties):
    """A WQL rule whose result is exactly ``members`` (ResourceIDs), or ``(None, why)``."""
    by_id = {s.get("ResourceID"): s for s in systems}
    if not members or any(m not in by_id for m in members):
        return None, "its members are not all discovered systems of the site (SMS_R_System)"
    reasons = []
    for prop in properties:
        values = {by_id[m].get(prop) for m in members}
        if len(values) != 1 or None in values or "" in values:
            reasons.append("members differ in %s" % prop)
            continue
        value = values.pop()
        if '"' in str(value):
            reasons.append("%s holds a quote" % prop)
            continue
        others = sorted(s.get("Name") or str(s.get("ResourceID")) for rid, s in by_id.items()
                        if rid not in members and s.get(prop) == value)
        if others:
            reasons.append("%s = %s also holds %s" % (prop, value, ", ".join(others[:5])))
            continue
        query = "select SMS_R_System.ResourceID from SMS_R_System where SMS_R_System.%s = %s" % (prop, _quoted(value))
        return {"property": prop, "value": value, "query": query}, None
    return None, "; ".join(reasons) or "no property to compare"


def review_collections(objects, machine_groups, data):
    """Converted static collections with the 1.2 machine group they came from and, where the members allow, a rule."""
    groups = {fold(g.get("name") or ""): g for g in machine_groups or []}
    systems = instances(objects, "systems")
    properties = data["collections"]["proposal_properties"]
    reviews = []
    for collection in sorted(instances(objects, "collections"), key=lambda c: str(c.get("CollectionID"))):
        rules = collection.get("CollectionRules") or []
        group = groups.get(fold(collection.get("Name") or ""))
        static = bool(rules) and all(r.get("__CLASS") == DIRECT_RULE for r in rules)
        if not (static or group):
            continue
        members = [r.get("ResourceID") for r in rules if r.get("__CLASS") == DIRECT_RULE]
        entry = {"collection_id": collection.get("CollectionID"), "name": collection.get("Name"), "static": static,
                 "machine_group": group.get("id") if group else None, "members": len(members)}
        if static and systems:
            entry["proposal"], entry["no_proposal"] = _proposal(members, systems, properties)
        elif static:
            entry["proposal"], entry["no_proposal"] = None, "discovered systems not read: %s" % (
                read_error(objects, "systems") or "none")
        else:
            entry["proposal"], entry["no_proposal"] = None, "already has query rules"
        reviews.append(entry)
    return reviews


# ------------------------------------------------------------------ POST-05 what to re-create
def _confirmed(item_id, confirmations, decisions):
    entry = (confirmations or {}).get(item_id)
    return entry["decision"] if entry and entry.get("decision") in decisions else None


def _item(item_id, kind, what, source, how, confirmations, data, **extra):
    decision = _confirmed(item_id, confirmations, data["recreate"][kind]["decisions"])
    status = "confirmed" if decision in ("recreated", "not_needed", "configured", "merged") else \
        ("restore_approved" if decision else "pending")
    return dict(extra, id=item_id, kind=kind, what=what, source=source, how=how, status=status, decision=decision)


def _names(vault, category, names=None):
    found = []
    for host, entry in vault.get("entries", []):
        if entry["category"] == category and (not names or entry["path"].rsplit("/", 1)[-1].upper() in {n.upper() for n in names}):
            found.append((host, entry))
    return found


def recreate_items(vault, jobs, confirmations, current_files, data):
    """POST-05: one plan item per thing to re-create; ``vault`` is ``{"entries": [(host, manifest entry)]}``."""
    spec, items = data["recreate"], []
    security = _names(vault, "database_documents", spec["security"]["vault"]["names"])
    items.append(_item("security", "security", spec["security"]["title"],
                       ", ".join("%s:%s/%s" % (h, e["category"], e["path"]) for h, e in security) or
                       "nothing preserved (manual.security_settings of the answers file)",
                       "Re-create the SMS 1.2 security as SMS 2.0 security rights (more granular; seed 'Security Settings')",
                       confirmations, data))
    queries = _names(vault, "query_files")
    for host, entry in queries:
        items.append(_item("query:%s" % entry["path"], "queries", "query %s" % entry["path"].rsplit("/", 1)[-1],
                           "%s:query_files/%s" % (host, entry["path"]),
                           "Establish the query's intent from the preserved definition and build it with the Query Builder",
                           confirmations, data))
    if not queries:
        items.append(_item("queries", "queries", spec["queries"]["title"], "no query definition in the vault (PRE-21)",
                           "Queries are not converted; without a preserved definition re-create them from what users need",
                           confirmations, data))
    for job in jobs or []:
        if job.get("system"):
            continue
        items.append(_item("job:%s" % job["id"], "advertisements", "job %s %r" % (job["id"], job.get("name")),
                           "site database snapshot (jobs)%s" % ("; " + ", ".join("%s:database_documents/%s" % (h, e["path"])
                                                                                 for h, e in _names(vault, "database_documents",
                                                                                                    ["job_details.csv", "database-summary.md"]))),
                           "Create an advertisement serving the same purpose (targets: %s; status at the upgrade: %s)" % (
                               ", ".join(job.get("target_sites") or []) or "-", job.get("status")), confirmations, data))
    collected = _names(vault, "collected_files")
    if collected:
        items.append(_item("file_collection", "file_collection", spec["file_collection"]["title"],
                           "%d collected file(s) in the vault (collected_files)" % len(collected),
                           "Configure file collection (Software Inventory Client Agent) for the files still needed; the old "
                           "ones stay readable in the vault", confirmations, data))
    review_dir = spec["logon_scripts"]["review_dir"]
    for host, entry in _names(vault, "logon_scripts", spec["logon_scripts"]["vault"]["names"]):
        version = next(v for v in entry["versions"] if v["version"] == entry["current"])
        current = (current_files or {}).get(entry["source"])
        same = current and current.get("present") and current.get("sha256") == version["sha256"]
        item = _item("logon_script:%s" % entry["path"], "logon_scripts", "%s (%s)" % (entry["source"], host),
                     "%s:logon_scripts/%s v%d" % (host, entry["path"], entry["current"]),
                     "The SMS 2.0 logon point rewrites SMSLS.BAT: merge the 1.2 changes into it (restore_beside puts the "
                     "preserved file in %s; restore_in_place over the current one, kept as .before-restore-<time>)" % review_dir,
                     confirmations, data, host=host, select="logon_scripts/%s" % entry["path"],
                     current=("same as preserved" if same else "differs from the preserved copy" if current and current.get("present")
                              else "absent" if current else "not read"))
        if same and item["status"] == "pending":
            item.update(status="confirmed", decision="unchanged", how="The file still holds the preserved content")
        items.append(item)
    return items


# ------------------------------------------------------------------ POST-06 the data-conversion table
def conversion_table(counters, preserved, data):
    """One row per SMS 1.2 object kind: converted, count, what the vault holds, and its fate."""
    rows = []
    for spec in data["conversion"]:
        count = counters.get(spec["count"]) if spec.get("count") else None
        kept = sum(preserved.get(c, 0) for c in spec.get("preserved") or [])
        if spec["converted"]:
            fate = "converted"
        elif kept:
            fate = "preserved in the vault" + ("; re-created by POST-05 (%s)" % spec["recreate"] if spec.get("recreate") else "")
        elif spec.get("recreate"):
            fate = "not preserved; re-create by POST-05 (%s) from what people know" % spec["recreate"]
        else:
            fate = "lost"
        rows.append({"kind": spec["kind"], "converted": spec["converted"], "count": count, "preserved": kept,
                     "fate": fate, "note": spec.get("note")})
    return rows


def table_lines(rows):
    """The table as Markdown lines (the report's view)."""
    lines = ["| SMS 1.2 object | converted | count | preserved | fate |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append("| %s | %s | %s | %s | %s%s |" % (r["kind"], "yes" if r["converted"] else "no",
                                                       "-" if r["count"] is None else r["count"], r["preserved"] or "-",
                                                       r["fate"], " (%s)" % r["note"] if r.get("note") else ""))
    return lines
