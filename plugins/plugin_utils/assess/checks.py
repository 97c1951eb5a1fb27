"""Named Python checks of the rule catalog (``check: {python: NAME}``).

Each check takes a :class:`Context` and the rule's ``params`` and returns a :class:`Result`;
it raises :class:`CheckError` when the data it needs is missing or makes no sense, which the
assessment turns into a blocking ``error`` finding.
"""
import datetime
import re
from collections import defaultdict, namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import client_smsid, is_sms_2
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import database_evidence
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import preservation as evidence
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.sizing import site_db_sizing, tempdb_sizing

Result = namedtuple("Result", ["status", "observed", "expected", "evidence"])
Result.__new__.__defaults__ = (None, None)

CHECKS = {}


class CheckError(Exception):
    """The check cannot be evaluated on this data."""


class Context(namedtuple("Context", ["host", "site", "tiers", "snapshot", "params", "fleet", "preservation",
                                     "answer", "now", "plan", "answers", "database"])):
    """What a check may look at: the host's snapshot plus fleet-wide and run-wide data.

    ``plan`` is the upgrade plan (``hierarchy/upgrade_plan.py``: an UpgradePlan, or the PlanError that kept it from
    loading); ``answers`` the run's AnswerBook, for checks that read another rule's answer; ``database`` the database
    phase's records by host (``assess/database_evidence.py``).
    """


Context.__new__.__defaults__ = (None, None, None)


def check(name):
    """Register a named check."""
    def register(func):
        CHECKS[name] = func
        return func
    return register


def outcome(ok, observed, expected=None, **evidence):
    """Build a pass/fail Result."""
    return Result("pass" if ok else "fail", observed, expected, evidence or None)


@check("snapshot_valid")
def snapshot_valid(ctx, params):
    """Evaluated by the assessment itself (it owns the load problems); registered for the catalog."""
    raise CheckError("snapshot_valid is evaluated by the assessment, not as a check")


# ------------------------------------------------------------------ hierarchy
def _version_label(sms):
    return "2.0" if is_sms_2(sms) else "1.2"


@check("hierarchy_mixed_versions")
def hierarchy_mixed_versions(ctx, params):
    """Parent/child pairs whose SMS versions differ."""
    pairs = []
    for code, (_host, snap) in sorted(ctx.fleet.site_servers.items()):
        parent = ctx.fleet.site_server(snap["sms"].get("parent_site_code"))
        if parent and _version_label(parent[1]["sms"]) != _version_label(snap["sms"]):
            parent_sms = parent[1]["sms"]
            pairs.append("%s (%s) under %s (%s)" % (
                code, _version_label(snap["sms"]), parent_sms["site_code"], _version_label(parent_sms)))
    observed = "; ".join(pairs) if pairs else len(ctx.fleet.site_servers)
    return outcome(not pairs, observed, pairs=pairs)


@check("hierarchy_parents_known")
def hierarchy_parents_known(ctx, params):
    """Parent site codes that no site server of the inventory carries."""
    missing = sorted({snap["sms"]["parent_site_code"].upper() for _h, snap in ctx.fleet.site_servers.values()
                      if snap["sms"].get("parent_site_code") and not ctx.fleet.site_server(snap["sms"]["parent_site_code"])})
    return outcome(not missing, ", ".join(missing) or "none", missing=missing)


@check("hierarchy_duplicate_smsids")
def hierarchy_duplicate_smsids(ctx, params):
    """Clients whose SMS.INI carry the same SMS Unique ID."""
    by_id = defaultdict(list)
    for host, snap in ctx.fleet.clients:
        smsid = client_smsid(snap)
        if smsid:
            by_id[smsid.upper()].append(host)
    duplicates = {smsid: sorted(hosts) for smsid, hosts in sorted(by_id.items()) if len(hosts) > 1}
    observed = "; ".join("%s on %s" % (smsid, ", ".join(hosts)) for smsid, hosts in duplicates.items())
    return outcome(not duplicates, observed or sum(len(h) for h in by_id.values()), duplicates=duplicates)


# ------------------------------------------------------------------ site servers
def _sms_drive(snapshot):
    install_dir = (snapshot.get("sms") or {}).get("install_dir") or (snapshot.get("sms_tree") or {}).get("root")
    match = re.match(r"^([A-Za-z]:)", install_dir or "")
    if not match:
        raise CheckError("cannot tell the SMS drive: sms.install_dir and sms_tree.root are empty")
    return match.group(1).upper()


@check("site_hardware")
def site_hardware(ctx, params):
    """Memory and the SMS drive's file system and free space against the (assumed) minimums."""
    hardware = ctx.snapshot.get("hardware") or {}
    drive = _sms_drive(ctx.snapshot)
    disk = next((d for d in hardware.get("disks") or [] if d["drive"].upper() == drive), None)
    if disk is None or hardware.get("memory_mb") is None:
        raise CheckError("hardware section lacks memory_mb or the SMS drive %s" % drive)
    p = ctx.params
    gaps = []
    if hardware["memory_mb"] < p["min_memory_mb"]:
        gaps.append("memory %d MB" % hardware["memory_mb"])
    if (disk.get("filesystem") or "").upper() != p["sms_drive_filesystem"].upper():
        gaps.append("SMS drive %s is %s" % (drive, disk.get("filesystem")))
    if disk["free_mb"] < p["min_free_disk_mb"]:
        gaps.append("%d MB free on %s" % (disk["free_mb"], drive))
    observed = "; ".join(gaps) if gaps else "%d MB memory, %d MB free on %s %s" % (
        hardware["memory_mb"], disk["free_mb"], disk.get("filesystem"), drive)
    return outcome(not gaps, observed)


@check("senders_on_helpers")
def senders_on_helpers(ctx, params):
    """Senders whose server is not the site server itself."""
    own = ctx.snapshot["computer"].upper()
    remote = ["%s on %s" % (s["type"], s["server"]) for s in ctx.snapshot["site_control"].get("senders") or []
              if s["server"].strip("\\").upper() != own]
    return outcome(not remote, ", ".join(remote) or "none")


@check("helper_role_removed")
def helper_role_removed(ctx, params):
    """The site server's site control file still lists components on this helper."""
    server = ctx.fleet.site_server(ctx.site)
    if server is None:
        raise CheckError("the site server of site %s is not in this inventory, so its helper list is unknown" % ctx.site)
    own = ctx.snapshot["computer"].upper()
    for helper in server[1].get("site_control", {}).get("helper_servers") or []:
        if helper["name"].strip("\\").upper() == own and helper["components"]:
            return outcome(False, ", ".join(helper["components"]))
    return outcome(True, "no components")


@check("site_unsupported_clients")
def site_unsupported_clients(ctx, params):
    """Clients of this site whose OS family SMS 2.0 does not support."""
    unsupported = set(ctx.params["unsupported_client_families"])
    counts = defaultdict(int)
    for _host, snap in ctx.fleet.site_clients(ctx.site):
        family = snap["os"]["family"]
        if family in unsupported:
            counts[family] += 1
    observed = ", ".join("%d %s" % (n, family) for family, n in sorted(counts.items()))
    return outcome(not counts, observed or "none", counts=dict(counts))


def _smsls_copies(ctx):
    """``[(host, file record)]``: this server's SMSLS.BAT copies and, for comparison, the site server's MAINCFG.BOX one."""
    copies = [(ctx.host, f) for f in (ctx.snapshot.get("sms_tree") or {}).get("logon_scripts") or []
              if re.split(r"[\\/]", f["path"])[-1].upper() == "SMSLS.BAT"]
    server = ctx.fleet.site_server(ctx.site)
    if server and server[0] != ctx.host:
        copies += [(server[0], f) for f in (server[1].get("sms_tree") or {}).get("logon_scripts") or []
                   if f.get("location") == "maincfg" and re.split(r"[\\/]", f["path"])[-1].upper() == "SMSLS.BAT"]
    return copies


def _sms_root(snapshot):
    return (snapshot.get("sms_tree") or {}).get("root") or (snapshot.get("sms") or {}).get("install_dir")


@check("smsls_preserved")
def smsls_preserved(ctx, params):
    """A modified SMSLS.BAT (copies differ) needs a verified backup of this server's copies, with the snapshot's content."""
    copies = _smsls_copies(ctx)
    own = [c for h, c in copies if h == ctx.host]
    if not own:
        return Result("not_applicable", "No SMSLS.BAT on this server.")
    if any(not c.get("sha256") for _host, c in copies):
        raise CheckError("SMSLS.BAT copies without sha256: %s" % ", ".join(c["path"] for _h, c in copies if not c.get("sha256")))
    hashes = {c["sha256"] for _host, c in copies}
    if len(copies) > 1 and len(hashes) == 1:
        return outcome(True, "SMSLS.BAT is unmodified (%d identical copies)." % len(copies))
    reason = "SMSLS.BAT differs between %s" % ", ".join(c["path"] for _h, c in copies) if len(hashes) > 1 \
        else "only one copy of SMSLS.BAT (%s), so changes cannot be ruled out" % copies[0][1]["path"]
    record = _record(ctx, "logon_scripts")
    found = evidence.match_files("logon_scripts", own, record)
    gaps = evidence.describe(found)
    if found.excluded:
        gaps.append("left out on purpose by sms_upgrade_preserve_exclude: %s" % ", ".join(c["path"] for c in found.excluded))
    if gaps:
        return outcome(False, "%s; no verified backup of it yet: %s." % (reason, "; ".join(gaps)))
    return outcome(True, "%s; %d copy(ies) of this server verified in the vault with the snapshot's SHA-256 at %s." % (
        reason, len(found.verified), record.get("verified_at")))


# ------------------------------------------------------------------ preservation
def _record(ctx, category, host=None):
    return ((ctx.preservation or {}).get(host or ctx.host) or {}).get(category) or {}


def _verified(ctx, category):
    record = _record(ctx, category)
    return record if record.get("verified") else None


def _host_copies_stale(ctx, record):
    """Why the host copies do not count as verified now (last verified longer ago than the parameter), else None."""
    days = (ctx.params or {}).get("preserve_host_max_age_days")
    at = record.get("host_verified_at")
    if days is None:
        return None
    if not at:
        return "no preserve run verified the host copies"
    age = (ctx.now - parse_timestamp(at)).total_seconds() / 86400.0
    if age > days:
        return "the host copies outside the SMS tree were last verified %.1f days ago (more than %s): run the preserve " \
            "playbook again, it checks them with one read-only call" % (age, days)
    return None


@check("preserved")
def preserved(ctx, params):
    """Each file of one category of the SMS tree has a verified copy of the snapshot's content in the vault.

    The files are selected as the preserve phase selects them (same exclusions, recorded in the vault manifest),
    and each needs a vault version of its source with the snapshot's SHA-256 that verified in the vault and on the
    host. ``exclude`` lists file names that ship with SMS (e.g. the default UINFO.XNF) and need no copy. ``also``
    lists generated categories of the preserve phase (e.g. the registry export) that must verify as well.
    """
    category = params["category"]
    shipped = {name.upper() for name in params.get("exclude", [])}
    files = [f for f in ctx.snapshot["sms_tree"].get(category) or []
             if re.split(r"[\\/]", f["path"])[-1].upper() not in shipped]
    if not files:
        return Result("not_applicable", "No %s to preserve." % category.replace("_", " "))
    record = _record(ctx, category)
    found = evidence.match_files(category, files, record, _sms_root(ctx.snapshot))
    size_mb = sum(f["size"] for f in found.verified) / 1e6
    missing = [name.replace("_", " ") for name in params.get("also", []) if not _verified(ctx, name)]
    note = evidence.excluded_note(found)
    if not evidence.complete(found):
        open_files = [f for f in files if f not in found.verified and f not in found.excluded]
        return outcome(False, "%d of %d file(s), %.1f MB, have no verified copy of the content the snapshot lists: %s%s." % (
            len(open_files), len(files), sum(f.get("size") or 0 for f in open_files) / 1e6, "; ".join(evidence.describe(found)), note),
            missing=[f["path"] for f in found.missing], changed=[f["path"] for f in found.changed],
            excluded=[f["path"] for f in found.excluded])
    verified = "%d file(s), %.1f MB, each verified in the vault with the snapshot's SHA-256 at %s (host copies verified " \
        "at %s)" % (len(found.verified), size_mb, record.get("verified_at"), record.get("host_verified_at") or "?")
    stale = _host_copies_stale(ctx, record) if found.verified else None
    if stale:
        return outcome(False, "%s, but %s." % (verified, stale), excluded=[f["path"] for f in found.excluded])
    if missing:
        return outcome(False, "%s, but no verified %s yet%s." % (verified, " or ".join(missing), note),
                       excluded=[f["path"] for f in found.excluded])
    return outcome(True, "%s%s%s." % (verified, " with %s" % ", ".join(n.replace("_", " ") for n in params.get("also", []))
                                      if params.get("also") else "", note),
                   excluded=[f["path"] for f in found.excluded])


@check("preserved_documents")
def preserved_documents(ctx, params):
    """Documents the preserve phase generated for this host (e.g. the site database exports) verify in the vault."""
    category = params["category"]
    record = ((ctx.preservation or {}).get(ctx.host) or {}).get(category)
    if record and record.get("verified"):
        names = record.get("names") or []
        return outcome(True, "%d document(s) verified at %s%s." % (record.get("files", 0), record.get("verified_at"),
                                                                   ": %s" % ", ".join(names) if names else ""), documents=names)
    if record:
        return outcome(False, "%s do not verify: %s" % (category.replace("_", " "), "; ".join(
            record.get("problems") or ["unknown problem"])[:500]))
    return outcome(False, "No verified %s yet: run the preserve playbook." % category.replace("_", " "))


@check("answer_old_enough")
def answer_old_enough(ctx, params):
    """A manual confirmation counts only once it is old enough (e.g. clients logged off and on since)."""
    hours = ctx.params[params["min_age_param"]]
    if ctx.answer is None:
        return outcome(False, "Not confirmed yet: do it at least %s hours before the upgrade." % hours)
    confirmed = parse_timestamp(ctx.answer["at"])
    ready = confirmed + datetime.timedelta(hours=hours)
    if ctx.now < ready:
        return outcome(False, "Confirmed at %s; clients need until %s (%s hours) to pick it up."
                       % (ctx.answer["at"], ready.isoformat(), hours))
    return outcome(True, ctx.answer["at"])


def client_components():
    """The client components of PROPERTY <Client Installation> with their bits (data/client_agents.yml)."""
    return read_yaml("client_agents.yml")["client_components"]


@check("client_components_quiet")
def client_components_quiet(ctx, params):
    """PRE-26 on the site: the actual site control auto-starts no client component, remote troubleshooting off."""
    value = (ctx.snapshot.get("site_control") or {}).get("client_installation")
    if value is None:
        raise CheckError("the site control file has no PROPERTY <Client Installation>")
    components = client_components()
    starting = [c["name"] for c in components if value & c["autostart"]]
    troubleshooting = bool(value & ctx.params["client_remote_troubleshooting_bits"])
    problems = ["starts %s automatically" % ", ".join(starting)] if starting else []
    if troubleshooting:
        problems.append("remote troubleshooting on")
    observed = "Client Installation 0x%X%s" % (value, ": " + "; ".join(problems) if problems else
                                               ": no component starts automatically, remote troubleshooting off")
    return outcome(not problems, observed, autostart=starting, remote_troubleshooting=troubleshooting)


# ------------------------------------------------------------------ site database
# The gathered snapshot, or the database phase's read-back of the server when that is fresh and newer
# (database_evidence.effective_snapshot); each message says when the values come from the phase.
def _db_state(ctx):
    record = (ctx.database or {}).get(ctx.host)
    return database_evidence.effective_snapshot(ctx.snapshot, record, ctx.now, ctx.params["database_results_max_age_days"])


def _database(snapshot, name):
    for db in snapshot["databases"]:
        if db["name"].lower() == str(name).lower():
            return db
    raise CheckError("database %r is not in the snapshot's databases list" % name)


def _site_db(snapshot):
    return _database(snapshot, snapshot["site_database"])


@check("site_db_size")
def site_db_size(ctx, params):
    """Data device >= 100 KB per computer; log >= 10 % of the data."""
    snapshot, note = _db_state(ctx)
    computers = snapshot.get("computer_count")
    if computers is None:
        raise CheckError("computer_count is missing, so the database cannot be sized")
    need = site_db_sizing(computers)
    db = _site_db(snapshot)
    log_need = max(need["log_mb"], db["data_mb"] * 0.1)
    observed = "%s: data %g MB, log %g MB for %d computers%s" % (db["name"], db["data_mb"], db["log_mb"], computers, note)
    expected = "data >= %d MB, log >= %g MB" % (need["data_mb"], log_need)
    return outcome(db["data_mb"] >= need["data_mb"] and db["log_mb"] >= log_need, observed, expected, need=need)


@check("tempdb_size")
def tempdb_size(ctx, params):
    """tempdb data >= 20 % of the site database data device(s); tempdb log >= 20 % of that (seed: 200 MB -> 40 + 8 MB)."""
    snapshot, note = _db_state(ctx)
    db = _site_db(snapshot)
    tempdb = _database(snapshot, "tempdb")
    need = tempdb_sizing(db["data_mb"])
    if tempdb.get("log_shares_data_device"):
        ok = tempdb["data_mb"] + tempdb["log_mb"] >= need["tempdb_data_mb"] + need["tempdb_log_mb"]
        layout = "data and log share a device"
    else:
        ok = tempdb["data_mb"] >= need["tempdb_data_mb"] and tempdb["log_mb"] >= need["tempdb_log_mb"]
        layout = "separate log"
    observed = "tempdb data %g MB, log %g MB (%s); site database data %g MB%s" % (
        tempdb["data_mb"], tempdb["log_mb"], layout, db["data_mb"], note)
    expected = "tempdb data >= %d MB, log >= %d MB" % (need["tempdb_data_mb"], need["tempdb_log_mb"])
    return outcome(ok, observed, expected, need=need)


@check("tempdb_off_master")
def tempdb_off_master(ctx, params):
    """tempdb has a fragment on a device other than master."""
    snapshot, note = _db_state(ctx)
    devices = [d["device"] for d in _database(snapshot, "tempdb").get("devices") or []]
    return outcome(any(d.lower() != "master" for d in devices), "%s%s" % (", ".join(devices) or "none", note))


@check("tempdb_select_into")
def tempdb_select_into(ctx, params):
    """tempdb has 'select into/bulkcopy' on."""
    snapshot, note = _db_state(ctx)
    options = _database(snapshot, "tempdb").get("options") or []
    return outcome("select into/bulkcopy" in options, "%s%s" % (", ".join(options), note))


@check("tempdb_all_databases")
def tempdb_all_databases(ctx, params):
    """tempdb >= 20 % of all other databases combined."""
    snapshot, note = _db_state(ctx)
    tempdb = _database(snapshot, "tempdb")
    others = sum(db["data_mb"] + db["log_mb"] for db in snapshot["databases"] if db["name"].lower() != "tempdb")
    need = others * ctx.params["tempdb_all_databases_ratio"]
    have = tempdb["data_mb"] + tempdb["log_mb"]
    return outcome(have >= need, "tempdb %g MB; all other databases %g MB%s" % (have, others, note), ">= %g MB" % need)


@check("log_truncate_or_size")
def log_truncate_or_size(ctx, params):
    """'trunc. log on chkpt.' is on, or the log holds half the space used."""
    snapshot, note = _db_state(ctx)
    db = _site_db(snapshot)
    if "trunc. log on chkpt." in [o.lower() for o in db.get("options") or []]:
        return outcome(True, "%s truncates its log on checkpoint%s" % (db["name"], note))
    if db.get("used_mb") is None:
        raise CheckError("used_mb of %s is missing and 'trunc. log on chkpt.' is off" % db["name"])
    need = db["used_mb"] * ctx.params["log_used_ratio"]
    return outcome(db["log_mb"] >= need, "%s: log %g MB, %g MB used, 'trunc. log on chkpt.' off%s"
                   % (db["name"], db["log_mb"], db["used_mb"], note),
                   "'trunc. log on chkpt.' on or log >= %g MB" % need)


@check("machine_history")
def machine_history(ctx, params):
    """No machine history older than the limit (select min(TimeKey) from MachineDataHistoryTable, KB Q196229)."""
    snapshot, note = _db_state(ctx)
    if "machine_history" not in snapshot:
        raise CheckError("the oldest machine history was not read")
    oldest = (snapshot.get("machine_history") or {}).get("oldest")
    limit = ctx.params["machine_history_max_days"]
    if oldest is None:
        return outcome(True, "no history%s" % note)
    age = (ctx.now - parse_timestamp(oldest)).total_seconds() / 86400.0
    return outcome(age <= limit, "%s%s" % (oldest, note))


@check("duplicate_smsids_in_database")
def duplicate_smsids_in_database(ctx, params):
    """No SMSID held by two computers in the site database (the configured query)."""
    snapshot, note = _db_state(ctx)
    if snapshot.get("duplicate_smsids") is None:
        raise CheckError("duplicate SMSIDs were not read (set sms_upgrade_sql_queries.duplicate_smsids)")
    found = snapshot["duplicate_smsids"]
    observed = "; ".join("%s: %s" % (d["smsid"], ", ".join(d["machines"])) for d in found)
    return outcome(not found, (observed or "none") + note)


@check("open_connections")
def open_connections(ctx, params):
    """Connections (sp_who) to the site database, except the SMS services' own and SQL Server's system processes."""
    snapshot, note = _db_state(ctx)
    open_ = ["spid %d %s@%s" % (c["spid"], c.get("program") or "?", c.get("hostname") or "?")
             for c in database_evidence.blocking_connections(snapshot, ctx.params["sms_service_programs"])]
    return outcome(not open_, (", ".join(open_) or "none") + note)


# ------------------------------------------------------------------ the database phase's verified results
def _max_age(ctx):
    return ctx.params["database_results_max_age_days"]


def _database_record(ctx):
    return (ctx.database or {}).get(ctx.host)


def _by_phase(done, missing):
    """Pass when the phase verified everything; else fail naming what is open (an answer may still accept it)."""
    if not missing:
        return outcome(True, "Verified by the database phase: %s." % "; ".join(done), verified=done)
    text = "Not verified by the database phase: %s" % "; ".join(missing)
    if done:
        text += " (verified: %s)" % "; ".join(done)
    return outcome(False, text + ".", missing=missing, verified=done)


@check("database_maintenance")
def database_maintenance(ctx, params):
    """PRE-16 from the database phase: a clean DBCC, no duplicates, site and master dumped, all recent."""
    done, missing = database_evidence.routine_maintenance(_database_record(ctx), ctx.now, _max_age(ctx))
    return _by_phase(done, missing)


@check("database_site_data")
def database_site_data(ctx, params):
    """PRE-29 (database part) from the database phase: dumps, tempdb, log, history, DBCC and the rehearsal."""
    done, missing = database_evidence.site_data_prepared(_database_record(ctx), ctx.now, _max_age(ctx))
    return _by_phase(done, missing)


@check("database_rehearsal")
def database_rehearsal(ctx, params):
    """PRE-32 from the database phase: a clean, recent conversion rehearsal on a lab server."""
    text, why = database_evidence.conversion_tested(_database_record(ctx), ctx.now, _max_age(ctx))
    return _by_phase([text] if text else [], [why] if why else [])


# The upgrade plan's checks live in their own module and register here (imported last: they use ``check``).
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import plan_checks  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
