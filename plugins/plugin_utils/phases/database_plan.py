"""Planning the database phase's changing steps from a survey (:class:`Planner`), and the verify-only steps whose
work a person does (history, duplicates) (docs/database.md)."""

import datetime
import ntpath
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import (
    blocking_connections, phase_data)
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.sizing import site_db_sizing, tempdb_sizing
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_sql import (
    alter_change, kill_change, new_device_changes, option_change)
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_survey import (
    ceil_mb, mb_of_pages, PAGES_PER_MB)


# ================================================================== planning the changing steps
class Planner:
    """Plans steps 2-4 and 10 from a State; new devices get names and VDEVNOs no other planned device takes."""

    def __init__(self, state, options, params):
        self.state = state
        self.o = options
        self.params = params
        self.taken_names = {name.upper() for name in state.devices}
        self.taken_vdevnos = {d["vdevno"] for d in state.devices.values() if d.get("vdevno") is not None}
        self.new_files = []       # [(path, mb)] physical files a plan creates (checked absent, with free space)
        self.growth = {}          # {(database, segment): pages} this plan adds (later steps size from the result)
        self.claimed = set()      # spare devices this plan uses

    def pages_after(self, database, segment):
        """A database's pages once the changes planned so far are applied."""
        return self.state.pages(database, segment) + self.growth.get((database.lower(), segment), 0)

    # -------------------------------------------------------------- devices
    def _vdevno(self):
        for number in range(1, phase_data()["devices"]["max_vdevno"] + 1):
            if number not in self.taken_vdevnos:
                self.taken_vdevnos.add(number)
                return number
        raise isql.SqlScriptError("no free VDEVNO between 1 and 255")

    def _spare_device(self, database, segment, mb):
        """An unused device this phase named for the database and segment (a DISK INIT whose ALTER DATABASE did not
        follow: a conflict, a session cut short) with room for ``mb``: used instead of initialising another one."""
        base = self._base_name(database, segment).upper()
        for name in sorted(self.state.devices):
            if re.match(r"^%s\d*$" % re.escape(base), name.upper()) and \
                    not any(f["device"] == name for f in self.state.fragments) and \
                    self.state.device_free_pages(name) >= mb * PAGES_PER_MB and name.upper() not in self.claimed:
                self.claimed.add(name.upper())
                return name
        return None

    @staticmethod
    def _base_name(database, segment):
        spec = phase_data()["devices"]
        if database.lower() == "tempdb":
            return spec["tempdb_names"][segment]
        return spec["name_pattern"].format(database=database, segment=segment.upper(), n="")

    def _name(self, database, segment):
        base = self._base_name(database, segment)
        for n in [""] + [str(i) for i in range(2, 100)]:
            name = base + n
            if len(name) <= 30 and name.upper() not in self.taken_names:
                self.taken_names.add(name.upper())
                return isql.check_identifier(name)
        raise isql.SqlScriptError("no free device name for %s %s" % (database, segment))

    def _directory(self, segment):
        """Where a new device goes: the option, else beside the site database's first device of that segment."""
        if self.o.get("device_dir"):
            return isql.check_path(self.o["device_dir"]).rstrip("\\")
        site = self.state.database
        other = "data" if segment == "log" else "log"
        for device in self.state.devices_of(site, segment) + self.state.devices_of(site, other):
            path = (self.state.devices.get(device) or {}).get("physical_name")
            if path and device.lower() != "master":
                return ntpath.dirname(path)
        raise isql.SqlScriptError("the site database's device directory is unknown: set database_device_dir")

    def grow(self, step, database, segment, mb, avoid_master=False):
        """Changes that add ``mb`` MB to a database's data or log: on a device of that segment with room, else new."""
        current = self.state.pages(database, segment)
        self.growth[(database.lower(), segment)] = self.growth.get((database.lower(), segment), 0) + mb * PAGES_PER_MB
        for device in self.state.devices_of(database, segment):
            if avoid_master and device.lower() == "master":
                continue
            if self.state.device_free_pages(device) >= mb * PAGES_PER_MB:
                return [alter_change(step, database, segment, device, mb, current)]
        spare = self._spare_device(database, segment, mb)
        if spare:
            return new_device_changes(step, database, segment, spare, self.state.devices[spare]["physical_name"], 0, mb,
                                      current, add_only=True)
        name = self._name(database, segment)
        path = ntpath.join(self._directory(segment), name + ".DAT")
        self.new_files.append((path, mb))
        return new_device_changes(step, database, segment, name, path, self._vdevno(), mb, current)

    # -------------------------------------------------------------- steps
    def site_db_size(self):
        """PRE-14: data >= 100 KB per computer, log >= 10 % of the data (after growth)."""
        db = self.state.database
        computers = self.state.snapshot.get("computer_count")
        if computers is None:
            return [], "blocked", "the computer count is unknown (query computer_count, UNCONFIRMED): set " \
                "sms_upgrade_sql_queries.computer_count", {}
        need = site_db_sizing(computers)
        data, log = self.state.pages(db, "data"), self.state.pages(db, "log")
        want_data = max(data, need["data_mb"] * PAGES_PER_MB)
        want_log = max(log, ceil_mb(max(need["log_mb"], want_data / PAGES_PER_MB * need["basis"]["log_ratio"])) * PAGES_PER_MB)
        facts = {"computers": computers, "data_mb": mb_of_pages(data), "log_mb": mb_of_pages(log), "need_data_mb": mb_of_pages(want_data),
                 "need_log_mb": mb_of_pages(want_log)}
        changes = []
        if want_data > data:
            changes += self.grow("site_db_size", db, "data", ceil_mb((want_data - data) / PAGES_PER_MB))
        if want_log > log:
            changes += self.grow("site_db_size", db, "log", ceil_mb((want_log - log) / PAGES_PER_MB))
        text = "%s: data %g MB, log %g MB for %d computers; needs data >= %g MB, log >= %g MB" % (
            db, facts["data_mb"], facts["log_mb"], computers, facts["need_data_mb"], facts["need_log_mb"])
        return changes, "ok" if not changes else "planned", text, facts

    def tempdb(self):
        """PRE-15/PRE-29: tempdb data >= 20 % of the site data, log from that, >= 20 % of all databases; off master;
        'select into/bulkcopy' on."""
        state, site = self.state, self.state.database
        if not state.has_database("tempdb"):
            return [], "blocked", "tempdb is not in master..sysusages of this server", {}
        need = tempdb_sizing(self.pages_after(site, "data") / PAGES_PER_MB)
        others = sum(self.pages_after(f, "data") + self.pages_after(f, "log") for f in {x["database"] for x in state.fragments}
                     if f.lower() != "tempdb") / PAGES_PER_MB
        total_need = ceil_mb(others * self.params["tempdb_all_databases_ratio"])
        need_data = max(need["tempdb_data_mb"], total_need - need["tempdb_log_mb"])
        data, log = state.pages("tempdb", "data"), state.pages("tempdb", "log")
        changes = []
        if data < need_data * PAGES_PER_MB:
            changes += self.grow("tempdb", "tempdb", "data", ceil_mb(need_data - data / PAGES_PER_MB), avoid_master=True)
        if log < need["tempdb_log_mb"] * PAGES_PER_MB:
            changes += self.grow("tempdb", "tempdb", "log", ceil_mb(need["tempdb_log_mb"] - log / PAGES_PER_MB), avoid_master=True)
        if not state.option_on("tempdb", "select into/bulkcopy"):
            changes.append(option_change("tempdb", "tempdb", "select into/bulkcopy", True))
        only_master = all(d.lower() == "master" for d in state.devices_of("tempdb", "data") + state.devices_of("tempdb", "log"))
        facts = {"data_mb": mb_of_pages(data), "log_mb": mb_of_pages(log), "need_data_mb": need_data, "need_log_mb": need["tempdb_log_mb"],
                 "all_databases_mb": round(others, 2), "only_master": only_master,
                 "select_into_bulkcopy": state.option_on("tempdb", "select into/bulkcopy"), "need_select_into_bulkcopy": True}
        if any(c["kind"] == "alter_database" for c in changes):
            facts["need_only_master"] = False
        text = "tempdb data %g MB, log %g MB%s; needs data >= %d MB, log >= %d MB (20 %% of the %s data, %g MB: %d MB and " \
            "%d MB; data and log together >= 20 %% of all databases, %g MB: %d MB)" % (
                facts["data_mb"], facts["log_mb"], " (only on the master device)" if only_master else "", need_data,
                need["tempdb_log_mb"], site, mb_of_pages(self.pages_after(site, "data")), need["tempdb_data_mb"], need["tempdb_log_mb"],
                facts["all_databases_mb"], total_need)
        grows = any(c["kind"] == "alter_database" for c in changes)
        if only_master and not grows:
            return changes, "manual" if not changes else "planned", text + "; tempdb is large enough but lives only on the " \
                "master device: move it to its own device (KB Q187824)", facts
        return changes, "ok" if not changes else "planned", text, facts

    def transaction_log(self):
        """PRE-29: 'trunc. log on chkpt.' on, or the log at 50 % of the space used (option ``log_method``)."""
        state, db = self.state, self.state.database
        used = state.used_pages(db)
        log = state.pages(db, "log")
        on = state.option_on(db, "trunc. log on chkpt.")
        facts = {"trunc_log_on_chkpt": on, "log_mb": mb_of_pages(log), "used_mb": None if used is None else mb_of_pages(used)}
        if on:
            return [], "ok", "%s truncates its log on checkpoint" % db, facts
        if used is None:
            return [], "blocked", "the space used by %s could not be read and 'trunc. log on chkpt.' is off" % db, facts
        need = ceil_mb(used / PAGES_PER_MB * self.params["log_used_ratio"])
        facts["need_log_mb"] = need
        text = "%s: 'trunc. log on chkpt.' off, log %g MB, %g MB used (needs >= %d MB)" % (db, mb_of_pages(log), mb_of_pages(used), need)
        if log >= need * PAGES_PER_MB:
            return [], "ok", text, facts
        if self.o.get("log_method") == "size":
            return self.grow("transaction_log", db, "log", ceil_mb(need - log / PAGES_PER_MB)), "planned", text, facts
        facts["need_trunc_log_on_chkpt"] = True
        del facts["need_log_mb"]
        return [option_change("transaction_log", db, "trunc. log on chkpt.", True)], "planned", text, facts

    def connections(self):
        """UPG-07: the connections to the site database but the SMS services' own, this session and system processes;
        KILL for the spids listed in ``kill``."""
        blocking = blocking_connections(self.state.snapshot, self.params["sms_service_programs"], self.state.spid)
        listed = set(self.o.get("kill") or [])
        by_spid = {c["spid"]: c for c in blocking}
        problems = ["spid %d is not an open connection to %s other than the SMS services' own: not killed" % (spid, self.state.database)
                    for spid in sorted(listed - set(by_spid))]
        changes = [kill_change("connections", by_spid[spid]) for spid in sorted(listed & set(by_spid))]
        lines = ["spid %d: %s on %s (login %s, %s)" % (c["spid"], c.get("program") or "?", c.get("hostname") or "?",
                                                       c.get("login") or "?", c.get("cmd") or "?") for c in blocking]
        facts = {"open": [{k: c.get(k) for k in ("spid", "program", "hostname", "login", "cmd")} for c in blocking]}
        if not blocking:
            return changes, "ok", "no other connection to %s" % self.state.database, facts, problems, []
        text = "%d connection(s) would keep CONV20 from single-user mode: %s" % (len(blocking), "; ".join(lines))
        manual = [] if changes else ["at upgrade time close them (SMS Administrator, SQL Enterprise Manager, isql windows), "
                                     "or end them with database_kill: [%s] (KILL, as sa)" % ", ".join(
                                         str(c["spid"]) for c in blocking)]
        return changes, "planned" if changes else "open", text, facts, problems, manual


# ================================================================== verifying steps and the manual ones
def history_step(state, params, now, step_days):
    """PRE-29: machine history older than the limit, and DBClean's unused records (when a query counts them)."""
    history = state.snapshot.get("machine_history")
    limit = params["machine_history_max_days"]
    facts = {"oldest": (history or {}).get("oldest"), "max_days": limit, "unused_records": state.unused_records}
    manual, parts = [], []
    if history is None:
        error = _section_error(state.snapshot, "machine_history")
        return "unverified", "the oldest machine history could not be read: %s" % error, facts, manual
    oldest = history.get("oldest")
    cutoff = now - _days(limit)
    if oldest and parse_timestamp(oldest) < cutoff:
        steps, moment = [], parse_timestamp(oldest) + _days(step_days)
        while moment < cutoff:
            steps.append(moment.strftime("%Y-%m-%d"))
            moment += _days(step_days)
        steps.append(cutoff.strftime("%Y-%m-%d"))
        manual.append("SMS Administrator > Sites > Edit > Delete Special > Machine History Records, one range at a "
                      "time (KB Q196229: small ranges avoid timeouts): records older than %s" % ", then ".join(steps))
        parts.append("machine history from %s, older than %d days" % (oldest, limit))
    else:
        parts.append("oldest machine history %s (limit %d days)" % (oldest or "none", limit))
    if state.unused_records is None:
        manual.append("SMS Database Manager (DBCLEAN.EXE) > Delete Unused Common/Specific Records (KB Q196229); "
                      "not verifiable from the database until sms_upgrade_database_queries.unused_records counts them")
        facts["unused_verified"] = False
    elif state.unused_records:
        manual.append("SMS Database Manager (DBCLEAN.EXE) > Delete Unused Common/Specific Records: %d left"
                      % state.unused_records)
        parts.append("%d unused common/specific records" % state.unused_records)
        facts["unused_verified"] = False
    else:
        facts["unused_verified"] = True
    history_ok = not (oldest and parse_timestamp(oldest) < cutoff)
    facts["history_ok"] = history_ok
    status = "ok" if history_ok and facts["unused_verified"] else "manual"
    return status, "; ".join(parts), facts, manual


def duplicates_step(state):
    """PRE-30: duplicate SMSIDs from the database; deleting them is a person's confirmed step."""
    duplicates = state.snapshot.get("duplicate_smsids")
    if duplicates is None:
        return "unverified", "duplicate SMSIDs could not be read: %s" % _section_error(state.snapshot, "duplicate_smsids"), {}, [
            "set sms_upgrade_sql_queries.duplicate_smsids (columns smsid, machine; UNCONFIRMED tables) or run SMSIDDUP "
            "(KB Q192859) and record the result in the answers file"]
    facts = {"duplicates": duplicates}
    if not duplicates:
        return "ok", "no duplicate SMSID in %s" % state.database, facts, []
    listed = "; ".join("%s on %s" % (d["smsid"], ", ".join(d["machines"])) for d in duplicates)
    manual = ["delete the duplicate computers in the SMS Administrator (or with DBClean) and remove SMS.INI of the clones "
              "so that they install again with a new SMSID (KB Q192859): %s" % listed]
    return "manual", "%d duplicate SMSID(s): %s" % (len(duplicates), listed), facts, manual


def _section_error(snapshot, section):
    for error in snapshot.get("errors") or []:
        if error["section"] == section:
            return "%s (%s)" % (error["message"], error["cause"])
    return "not in the survey"


def _days(n):
    return datetime.timedelta(days=n)
