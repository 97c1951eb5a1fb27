"""The site_upgrade phase (UPG-03 to UPG-06, SEC-01 to SEC-04, PRE-34): its room. One site of a wave, from its server.

The playbook runs one task per site, in the wave's order (``site_wave.py``), on the site server (or its relay). The
task reaches the site's helper and logon servers and its SQL Server by name (``computer``), as Setup does. A run:

1. **pre-flight**, before anything changes: the readiness report clears the site server, its SQL, helper and logon
   servers (with the PRE-26 confirmation old enough and only system jobs); the preserve vault verifies; the database
   phase's steps are done and fresh (``upgrade_inputs.py``); the MIF queues are empty; every helper and logon server
   answers; the parent site is on SMS 2.0 (top-down). Any failure stops the site, untouched, with the reasons.
2. **quiesce**: the site server's six 1.2 services stopped and disabled (``site_services.py``, journaled).
3. **rollback point**: the whole SMS tree and the SMS registry keys copied on the host and into the vault, verified
   (``rollback_point.py``). A failure here puts the services back from the journal and stops.
4. **Setup**: started from media whose Setup reports SP1 or later (KB Q235768), watched through its log and the
   conversion's until it ends or ``monitor_minutes`` pass (a later run resumes watching; the conversion is never
   interrupted). Otherwise the run stops at a "run the upgrade wizard now" hand-off with the answers to give, and a
   later run resumes at verification. A Setup that fails before the conversion started gets the services put back;
   after the conversion started the site waits for the recovery (docs/site_upgrade.md).
   A **secondary** site is handed to the Secondary Site Upgrade Wizard of its parent (or to its administrator, for a
   local CD) with the exact inputs of its method; its upgrade is verified when it reports SMS 2.0.
5. **de-install**: every 1.2 service and share Setup left on the site, helper and logon servers removed (journaled).
6. **verify**: Full Version 2.00.x, the 2.0 services running, no 1.2 service or share left anywhere on the site, the
   site database not in single-user mode, Setup's and the conversion's logs without errors, logon scripts.
7. **erd**: a new emergency repair disk, recorded as the next manual step (PRE-34).

Each step is recorded with its times in the site's record (``site_status.py``); check mode records nothing and
changes nothing, and hosts known only from snapshots (``plan_only``) get the plan without being contacted.
"""
import datetime
import functools
import os
import re
import time

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import default_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp, iso_stamp, parse_timestamp, utc_now
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import Target
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build, isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import database as gathered
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import rollback_point, site_services, upgrade_inputs
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase, RunContext
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.changeset import ModuleFailed
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_status import (
    STOPPED, StatusError, load_site, save_site, site_statuses)
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_wave import STEP_TITLES
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import (
    REPORTS, ReportStoreError, default_report_dir, run_inventory)

MODULE = "sms.upgrade.site_upgrade"
SERVICES = site_services.PHASE


@functools.lru_cache(maxsize=1)
def data():
    return site_services.site_data()


def _value(entry):
    """A data-file value that may carry its status (``{value, status}``)."""
    return entry["value"] if isinstance(entry, dict) and "value" in entry else entry


def version_tuple(text):
    """``2.0.1380.1000`` or ``2.00.1380.1000`` -> (2, 0, 1380, 1000); None when it is no dotted version."""
    if not text or not re.match(r"^\s*\d+(\.\d+)*\s*$", str(text)):
        return None
    return tuple(int(part) for part in str(text).strip().split("."))


def is_sms_2(full_version):
    return bool(full_version) and str(full_version).startswith(data()["sms_2"]["version_prefix"])


def full_version_path():
    return "%s\\%s" % (data()["sms_2"]["full_version_key"], data()["sms_2"]["full_version_value"])


def error_lines(text):
    """The lines of a log text that match an error pattern of the data file."""
    patterns = [re.compile(p["pattern"], re.IGNORECASE) for p in data()["setup"]["error_patterns"]]
    return [line.strip() for line in (text or "").splitlines() if line.strip() and any(p.search(line) for p in patterns)]


class RealClock:
    """The controller's clock; tests give the phase one that does not sleep."""

    @staticmethod
    def now():
        return utc_now()

    @staticmethod
    def sleep(seconds):
        time.sleep(seconds)


class RetargetedHands:
    """The run's hands acting on another machine of the site (a helper, a logon server, the SQL Server)."""

    def __init__(self, hands, computer):
        self.hands, self.computer = hands, computer

    def module(self, name, args):
        return self.hands.module(name, dict(args, computer=self.computer))

    def fetch(self, remote, local):
        return self.hands.fetch(remote, local)


class SiteStop(Exception):
    """The run stops for this site with a status and a message (the record says where it stands)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def _summary(changes):
    """``stop and disable SMS_A, SMS_B; remove shares SMS_SHR, SMS_SITE`` for a plan of site_services."""
    services = [c["name"] for c in changes if c["kind"] == "service"]
    shares = [c["name"] for c in changes if c["kind"] == "share"]
    parts = (["stop and disable %s" % ", ".join(services)] if services else []) + \
        (["remove shares %s" % ", ".join(shares)] if shares else [])
    return "; ".join(parts)


# ------------------------------------------------------------------ one site, one run
class SiteRun:
    """One run of one site: reads, decides, records. ``phase.clock`` gives the time."""

    def __init__(self, phase, ctx, hands):
        self.phase, self.ctx, self.hands, self.a = phase, ctx, hands, ctx.args
        self.entry = self.a["site"]
        self.site = self.entry["site"]
        self.secondary = self.entry.get("role") == "secondary"
        self.clock = phase.clock
        self.run_id = compact_stamp(ctx.now)
        self.steps, self.warnings, self.diff, self.lines = [], [], [], []
        self.changed = False
        self.record = None
        self.handoff = None

    # -------------------------------------------------------------- bookkeeping
    def now(self):
        return self.clock.now()

    def begin(self, name):
        return {"step": name, "run": self.run_id, "started_at": iso_stamp(self.now()), "_t": self.now()}

    def end(self, step, status, message, **details):
        ended = self.now()
        step.update(status=status, message=message, ended_at=iso_stamp(ended),
                    seconds=round((ended - step.pop("_t")).total_seconds(), 1), **details)
        self.steps.append(step)
        return step

    def timeline(self):
        return [{k: v for k, v in step.items() if not k.startswith("_")} for step in self.steps]

    def save(self, status):
        """Write the site's record (this run's steps replace what an earlier save of this run wrote)."""
        if self.ctx.check_mode or self.record is None:
            return None
        self.record.update(status=status, updated_at=iso_stamp(self.now()), wave=self.a.get("wave") or self.record.get("wave"))
        self.record["timeline"] = [e for e in self.record["timeline"] if e.get("run") != self.run_id] + self.timeline()
        return save_site(self.a["status_dir"], self.record)

    @property
    def resume(self):
        return self.record["resume"] if self.record is not None else {}

    def who(self, member=None):
        member = member or self.entry["server"]
        return member["computer"] or member["host"]

    # -------------------------------------------------------------- reading the site server
    def call(self, args):
        """One call of the site_upgrade module on the site server (with the options it takes from the task)."""
        return self.hands.module(MODULE, self.phase.module_args(self.ctx, **args))

    def server_read(self, extra=None, process_id=None, logs=None):
        args = {"mode": "state", "registry_values": [full_version_path()],
                "service_names": list(data()["services"]["names"]) + self.new_services(), "max_log_bytes": 65536}
        if logs is not None:
            args["logs"] = logs
        if process_id:
            args["process_id"] = process_id
        args.update(extra or {})
        raw = self.call(args)
        if raw.get("failed"):
            raise ModuleFailed(raw.get("msg") or "the site_upgrade module failed")
        return raw

    def new_services(self):
        return list(data()["sms_2"]["services"]["secondary" if self.secondary else "primary"])

    @staticmethod
    def full_version(raw):
        return (raw.get("registry") or {}).get(full_version_path())

    def log_args(self):
        offsets = self.resume.get("logs") or {}
        setup = data()["setup"]
        return [{"name": "setup", "path": setup["log"], "offset": (offsets.get("setup") or {}).get("offset", 0)},
                {"name": "conversion", "path": setup["conversion_log"],
                 "offset": (offsets.get("conversion") or {}).get("offset", 0)}]

    def absorb_logs(self, raw):
        """Keep each log's offset, its new error lines and its newest lines; True when the conversion has started."""
        offsets = self.resume.setdefault("logs", {})
        progress = []
        for log in raw.get("logs") or []:
            entry = offsets.setdefault(log["name"], {"offset": 0, "present_at_start": None, "size_at_start": None})
            text = log.get("text") or ""
            entry["offset"] = log.get("offset", entry["offset"])
            entry["present"] = log.get("present")
            if text:
                lines = [line.strip() for line in text.splitlines() if line.strip()]
                progress += ["%s: %s" % (log["name"], line) for line in lines[-data()["setup"]["progress_lines"]:]]
                self.resume.setdefault("errors", []).extend("%s: %s" % (log["path"], line) for line in error_lines(text))
        self.resume["progress"] = (self.resume.get("progress", []) + progress)[-2 * data()["setup"]["progress_lines"]:]
        return self.conversion_started()

    def conversion_started(self):
        """Conv20.log appeared, or grew, since Setup started."""
        conversion = (self.resume.get("logs") or {}).get("conversion") or {}
        return bool(conversion.get("present")) and (not conversion.get("present_at_start") or
                                                    conversion.get("offset", 0) > (conversion.get("size_at_start") or 0))

    # -------------------------------------------------------------- the run
    def run(self):
        if self.a["plan_only"]:
            return self.plan_only()
        try:
            self.record = load_site(self.a["status_dir"], self.site, self.a.get("wave"))
        except StatusError as exc:
            raise ValueError(str(exc)) from None
        try:
            status, message = self.advance()
        except SiteStop as stop:
            status, message = stop.status, str(stop)
        except ModuleFailed as exc:
            if (self.resume.get("setup") or {}).get("process_id"):
                status, message = "setup_running", "%s could not be read (%s); Setup may still run there: run again" % (
                    self.who(), exc)
            else:
                status = "stopped" if not self.touched() else "failed"
                message = "%s could not be read: %s" % (self.who(), exc)
        path = self.save(status)
        return self.result(status, message, path)

    def touched(self):
        return any(s["status"] == "changed" for s in self.steps)

    def advance(self):
        """Where the site stands now decides the next step: upgraded, Setup running, waiting, or a fresh start."""
        raw = self.server_read(logs=self.log_args(), process_id=(self.resume.get("setup") or {}).get("process_id"))
        self.absorb_logs(raw)
        if (self.resume.get("setup") or {}).get("process_id"):
            return self.monitor(raw)
        if is_sms_2(self.full_version(raw)):
            return self.after_upgrade(raw)
        status = self.record.get("status")
        if status == "conversion_failed" and not self.a["retry_after_recovery"]:
            raise SiteStop("conversion_failed", "the database conversion of %s failed in an earlier run: restore the "
                           "baseline dump and the tree copy (sms.upgrade.site_upgrade_recover, docs/site_upgrade.md), "
                           "then run again with site_upgrade_retry_after_recovery=true" % self.site)
        if status == "wizard_pending":
            return self.wizard_still_pending(raw)
        if status in ("handed_off", "overdue") and self.secondary:
            return self.secondary_waiting()
        return self.fresh_start(raw)

    # -------------------------------------------------------------- 1. pre-flight
    def preflight(self, raw=None, live=True):
        """Every check before anything changes: ``[(name, ok, message)]``."""
        step = self.begin("preflight")
        checks = self.readiness_checks() + self.vault_check() + self.database_check() + self.parent_check()
        if live:
            checks += self.live_checks(raw)
        else:
            checks.append(("live", None, "MIF queues, helper and logon servers, Setup media: checked at run time"))
        failed = [c for c in checks if c[1] is False]
        message = "; ".join("%s: %s" % (name, text) for name, ok, text in failed) or "every check passed"
        self.end(step, "failed" if failed else "ok", message,
                 checks=[{"check": n, "ok": ok, "message": t} for n, ok, t in checks])
        return failed

    def site_hosts(self):
        members = [self.entry["server"]] + ([self.entry["sql"]] if self.entry.get("sql") else [])
        return [m["host"] for m in members + self.entry["helpers"] + self.entry["logon"]]

    def readiness_checks(self):
        try:
            inventory = run_inventory(self.ctx.inventory, self.a.get("inventory_name")) if self.ctx.inventory else None
        except ReportStoreError as exc:
            return [("readiness", False, str(exc))]
        source = self.a.get("report") or (default_report_dir(inventory) if inventory else os.path.join(os.getcwd(), REPORTS))
        report, reasons = upgrade_inputs.readiness(source, self.site_hosts(), self.a["report_max_age"], self.ctx.now,
                                                   self.a.get("plan_file"), self.a.get("wave"),
                                                   inventory=inventory["sources"] if inventory else None)
        checks = [("readiness", not reasons, "; ".join(reasons) if reasons else "report %s clears %s" % (
            report.get("run_id"), ", ".join(self.site_hosts())))]
        if report is None:
            return checks
        rules = data()["preflight"]["rules"]
        status, message = upgrade_inputs.finding_status(report, self.entry["server"]["host"], rules["pre26_confirmed"])
        checks.append(("pre26_confirmed", status == "pass", "%s %s: %s" % (rules["pre26_confirmed"], status, message)))
        if self.entry.get("sql"):
            status, message = upgrade_inputs.finding_status(report, self.entry["sql"]["host"], rules["only_system_jobs"])
            checks.append(("only_system_jobs", status in ("pass", "not_applicable"),
                           "%s %s: %s" % (rules["only_system_jobs"], status, message)))
        return checks

    def vault_check(self):
        hosts = self.site_hosts()
        problems = upgrade_inputs.vault_problems(self.a["vault_dir"], hosts, self.ctx.now)
        text = "; ".join("%s: %s" % (host, "; ".join(items)) for host, items in sorted(problems.items()))
        return [("vault", not problems, text or "the preserve vault verifies for %s" % ", ".join(hosts))]

    def database_check(self):
        sql = self.entry.get("sql")
        if self.secondary or not sql:
            return []
        reasons, baseline = upgrade_inputs.database_readiness(
            self.a["vault_dir"], self.site, sql["host"], sql["database"], data()["preflight"]["database_steps"], self.ctx.now,
            self.a["database_max_age_days"])
        if baseline and self.record is not None:
            self.resume["baseline_dump"] = baseline
        return [("database", not reasons, "; ".join(reasons) if reasons else "database steps %s done; baseline dump %s" % (
            ", ".join(data()["preflight"]["database_steps"]), baseline.get("path")))]

    def parent_check(self):
        parent = self.entry.get("parent")
        if not parent:
            return []
        record = site_statuses(self.a["status_dir"], [parent]).get(parent)
        if record and record.get("status") == "verified":
            return [("parent", True, "parent %s verified on SMS 2.0 at %s" % (parent, record.get("updated_at")))]
        snapshot = self.parent_snapshot()
        version = ((snapshot or {}).get("sms") or {}).get("full_version")
        if is_sms_2(version):
            return [("parent", True, "parent %s runs SMS %s (snapshot)" % (parent, version))]
        return [("parent", False, "parent site %s is not on SMS 2.0 yet (its record: %s); a 2.0 site reports only to a "
                 "2.0 parent: upgrade it first (top-down)" % (parent, (record or {}).get("status") or "none"))]

    def parent_snapshot(self):
        server = self.entry.get("parent_server")
        return host_snapshot(self.a.get("snapshot_dir"), server["host"]) if server else None

    def live_checks(self, raw):
        checks = []
        queues = raw.get("queues")
        if queues is not None:
            full = ["%s holds %d file(s) (%s)" % (q["path"], q["files"], ", ".join(q.get("names") or []))
                    for q in queues if q.get("files")]
            checks.append(("mif_queues", not full, "; ".join(full) or "empty: %s" % ", ".join(q["path"] for q in queues)))
        reach = raw.get("reach")
        if reach is not None:
            down = ["%s (%s: %s)" % (r["name"], r.get("cause"), r.get("message")) for r in reach if not r.get("reachable")]
            checks.append(("servers_reachable", not down, "not reachable from %s: %s; Setup removes the 1.2 components "
                           "only from the servers it reaches (seed)" % (self.who(), ", ".join(down)) if down else
                           "%s answer" % ", ".join(r["name"] for r in reach) if reach else "no helper or logon server"))
        for item in raw.get("media_dirs") or []:
            checks.append(("secondary_source", bool(item.get("present")), "%s %s" % (
                item["path"], "is there" if item.get("present") else "is missing: copy both i386 and Alpha files "
                "(KB Q199250)")))
        return checks

    def preflight_args(self):
        servers = [m["computer"] for m in self.entry["helpers"] + self.entry["logon"]]
        args = {"queues": list(self.a["mif_queues"] or _value(data()["preflight"]["mif_queues"])), "reach": servers,
                "sms_root_value": build.gather_data()["registry"]["sms_install_dir"]}
        if self.a.get("setup_media") and not self.secondary:
            args["media"] = self.setup_program()
        if self.secondary and self.entry.get("method") == "parent_with_local_source":
            source = self.a.get("secondary_source")
            if source:
                args["media_dirs"] = ["%s\\%s" % (source.rstrip("\\"), d)
                                      for d in data()["secondary"]["methods"]["parent_with_local_source"]["platform_dirs"]]
        return args

    def setup_program(self):
        return "%s\\%s" % (self.a["setup_media"].rstrip("\\"), data()["setup"]["program"])

    # -------------------------------------------------------------- a fresh start
    def fresh_start(self, raw):
        raw = self.server_read(self.preflight_args(), logs=self.log_args())
        self.start_logs(raw)
        failed = self.preflight(raw)
        if self.secondary and self.entry.get("method") == "parent_with_local_source" and not self.a.get("secondary_source"):
            failed.append(("secondary_source", False, "set site_upgrade_secondary_source"))
        if failed:
            raise SiteStop("stopped", "pre-flight stopped %s before anything was changed: %s" % (
                self.site, "; ".join("%s: %s" % (n, t) for n, _ok, t in failed)))
        if self.secondary:
            return self.secondary_start()
        self.quiesce()
        self.take_rollback_point()
        method, why = self.setup_method(raw)
        if method == "scripted":
            return self.start_setup(raw)
        return self.wizard_handoff(why)

    def start_logs(self, raw):
        """What the logs hold before this upgrade: later text is this upgrade's (offsets, and whether Conv20 ran)."""
        offsets = self.resume.setdefault("logs", {})
        for log in raw.get("logs") or []:
            offsets[log["name"]] = {"offset": log.get("size") or 0, "present": log.get("present"),
                                    "present_at_start": log.get("present"), "size_at_start": log.get("size") or 0}
        self.resume["errors"], self.resume["progress"] = [], []

    def setup_method(self, raw):
        """``(scripted or wizard, why)``: scripted only when asked for and the media's Setup is SP1 or later."""
        if self.a["setup_method"] == "wizard":
            return "wizard", "site_upgrade_setup_method is wizard"
        media = raw.get("media")
        if not self.a.get("setup_media") or not media:
            return "wizard", "no Setup media given (site_upgrade_setup_media)"
        if not media.get("present"):
            return "wizard", "%s is not on %s" % (media.get("path"), self.who())
        found, wanted = version_tuple(media.get("file_version")), version_tuple(self.a["setup_min_version"])
        if found is None or wanted is None or found < wanted:
            return "wizard", ("Setup on the media reports version %s, older than %s (SP1): the command-line upgrade of RTM "
                              "media can hang and leave the 1.2 site unrecoverable (KB Q235768)" % (
                                  media.get("file_version"), self.a["setup_min_version"]))
        return "scripted", "Setup %s is SP1 or later" % media.get("file_version")

    # -------------------------------------------------------------- 2. services, 5. de-install
    def services_ctx(self, member, rollback=False, shares=True, services=True):
        args = {"plan": None, "snapshot_dir": self.a.get("snapshot_dir"), "journal_dir": self.a["journal_dir"],
                "plan_only": False, "rollback": rollback, "services": services, "shares": shares,
                "stop_timeout": self.a["stop_timeout"], "computer": None}
        server = member["host"] == self.entry["server"]["host"]
        target = self.ctx.target if server else Target(member["host"], self.ctx.target.relay, member["computer"])
        return RunContext(member["host"], args, self.ctx.check_mode, [], target, self.ctx.now, ())

    def services_hands(self, member):
        if member["host"] == self.entry["server"]["host"]:
            return self.hands
        return RetargetedHands(self.hands, member["computer"])

    def run_services(self, member, **kwargs):
        outcome = SERVICES.run(self.services_ctx(member, **kwargs), self.services_hands(member))
        self.diff += outcome.get("diff") or []
        if outcome.get("changed") and not self.ctx.check_mode:
            self.changed = True
        return outcome

    def quiesce(self):
        step = self.begin("quiesce")
        services, shares = self.a["quiesce_services"], self.a["quiesce_shares"]
        if not (services or shares):
            self.end(step, "skipped", "site_upgrade_quiesce_services and _shares are false: Setup stops the 1.2 site")
            return
        outcome = self.run_services(self.entry["server"], services=services, shares=shares)
        if outcome.get("failed"):
            self.end(step, "failed", outcome.get("msg"))
            self.put_back("quiesce failed")
            raise SiteStop("failed", "%s: quiesce failed: %s" % (self.site, outcome.get("msg")))
        status = "changed" if outcome.get("changed") else "ok"
        self.end(step, "would_change" if self.ctx.check_mode and outcome.get("changed") else status, outcome.get("msg"),
                 journal=outcome.get("journal_path"))

    def put_back(self, why):
        """Before Setup: the site server's services and shares back as the journal had them."""
        if self.ctx.check_mode:
            return
        step = self.begin("put_back")
        outcome = self.run_services(self.entry["server"], rollback=True)
        self.end(step, "failed" if outcome.get("failed") else "changed" if outcome.get("changed") else "ok",
                 "%s: %s" % (why, outcome.get("msg")))

    def deinstall(self):
        """After Setup: every 1.2 service and share left on the site's servers removed; unreachable ones named."""
        step = self.begin("deinstall")
        left, changed = [], False
        for member in [self.entry["server"]] + self.entry["helpers"] + self.entry["logon"]:
            outcome = self.run_services(member)
            changed = changed or outcome.get("changed")
            if outcome.get("failed"):
                left.append("%s: %s" % (member["host"], outcome.get("msg")))
        if left:
            self.end(step, "failed", "the 1.2 de-install is not finished (remove the components by hand where the server "
                     "stays unreachable, seed): %s" % "; ".join(left))
            raise SiteStop("deinstall_incomplete", "%s: %s" % (self.site, "; ".join(left)))
        self.end(step, "would_change" if self.ctx.check_mode and changed else "changed" if changed else "ok",
                 "no SMS 1.2 service or share left on %s" % ", ".join(
                     m["host"] for m in [self.entry["server"]] + self.entry["helpers"] + self.entry["logon"]))

    # -------------------------------------------------------------- 3. rollback point
    def take_rollback_point(self):
        step = self.begin("rollback_point")
        spec = data()["rollback_point"]
        settings = {"host": self.entry["server"]["host"], "site": self.site, "computer": self.ctx.target.computer,
                    "vault_dir": self.a["vault_dir"], "sms_root": self.a.get("sms_root"), "share_map": self.a["share_map"],
                    "host_root": self.a.get("rollback_host_root"),
                    "exclude": spec["secondary_exclude"] if self.secondary else []}
        outcome = rollback_point.take(self.hands, settings, spec, self.ctx.now, self.ctx.check_mode)
        if self.ctx.check_mode:
            self.end(step, "would_change" if outcome["plan"] else "ok", "%d file(s) to copy to the host and the vault" % (
                outcome["copied"].get("files", 0)), problems=outcome["problems"])
            return
        if not outcome["verified"]:
            self.end(step, "failed", "; ".join(outcome["problems"][:5]) or "nothing verified", manifest=outcome["manifest"])
            if not self.secondary:
                self.put_back("rollback point not verified")
            raise SiteStop("failed", "%s: the rollback point did not verify, nothing was started: %s" % (
                self.site, "; ".join(outcome["problems"][:5])))
        if outcome["copied"].get("host_files") or outcome["copied"].get("vault_files"):
            self.changed = True
        self.resume["rollback_point"] = {"manifest": outcome["manifest"], "host_root": outcome["host_root"],
                                         "files": outcome["files"], "bytes": outcome["bytes"], "at": iso_stamp(self.now())}
        self.end(step, "ok", "%d file(s), %d bytes verified on %s and in %s" % (
            outcome["files"], outcome["bytes"], outcome["host_root"], outcome["manifest"]))

    # -------------------------------------------------------------- 4. Setup
    def start_setup(self, raw):
        step = self.begin("setup")
        program = self.setup_program()
        arguments = list(self.a["setup_arguments"] if self.a["setup_arguments"] is not None else _value(data()["setup"]["arguments"]))
        if self.ctx.check_mode:
            self.end(step, "would_change", "would start %s %s on %s" % (program, " ".join(arguments), self.who()))
            return "planned", "check mode: %s would be upgraded by %s" % (self.site, program)
        started = self.call({"mode": "start", "program": program, "arguments": arguments,
                             "working_dir": program.rsplit("\\", 1)[0], "if_not_running": "SETUP.EXE"})
        if started.get("status") == "conflict" and started.get("process_id"):
            # A Setup someone started (the wizard, by hand): watched like ours, never a second one.
            self.resume["setup"] = {"process_id": started["process_id"], "started_at": iso_stamp(self.now()),
                                    "program": "SETUP.EXE", "arguments": [], "adopted": True}
            self.end(step, "running", "%s; watching it instead of starting another" % started.get("message"))
            self.save("setup_running")
            return self.monitor(None)
        if started.get("failed") or started.get("status") != "changed":
            message = started.get("msg") or started.get("message") or "Setup did not start"
            return self.wizard_handoff("Setup could not be started on %s (%s)" % (self.who(), message))
        self.changed = True
        self.resume["setup"] = {"process_id": started["process_id"], "started_at": iso_stamp(self.now()),
                                "program": program, "arguments": arguments}
        self.end(step, "changed", "started %s %s on %s (process %s)" % (
            program, " ".join(arguments), self.who(), started["process_id"]))
        self.save("setup_running")
        return self.monitor(None)

    def monitor(self, raw):
        """Watch Setup until it ends or this run's time is up; never interrupt it."""
        setup = self.resume["setup"]
        step = self.begin("monitor")
        deadline = self.now() + datetime.timedelta(minutes=self.a["monitor_minutes"])
        converting = self.conversion_started()
        while True:
            if raw is None:
                raw = self.server_read(logs=self.log_args(), process_id=setup["process_id"])
                converting = self.absorb_logs(raw)
            running = (raw.get("process") or {}).get("running")
            if running is False:
                break
            if running is None:
                self.end(step, "running", "cannot tell whether Setup (process %s) still runs on %s; check its console "
                         "and run again" % (setup["process_id"], self.who()), progress=self.resume.get("progress"))
                return "converting" if converting else "setup_running", "%s: Setup state unknown" % self.site
            if self.now() >= deadline:
                self.end(step, "running", "Setup still runs after %s minute(s)%s; run again to resume watching" % (
                    self.a["monitor_minutes"], ": the database conversion has begun, nothing interrupts it" if converting
                    else ""), progress=self.resume.get("progress"))
                return ("converting" if converting else "setup_running",
                        "%s: Setup is still running (%s); run the playbook again later" % (
                            self.site, "converting the database" if converting else "before the conversion"))
            self.clock.sleep(self.a["poll_seconds"])
            raw = None
        setup["ended_at"] = iso_stamp(self.now())
        setup.pop("process_id", None)
        if is_sms_2(self.full_version(raw)):
            self.end(step, "ok", "Setup ended; %s reports SMS %s" % (self.who(), self.full_version(raw)),
                     progress=self.resume.get("progress"))
            return self.after_upgrade(raw)
        errors = self.resume.get("errors") or []
        if converting:
            self.end(step, "failed", "Setup ended after the database conversion started, without SMS 2.0: %s" % (
                "; ".join(errors[-3:]) or "no error line in the logs"), progress=self.resume.get("progress"))
            raise SiteStop("conversion_failed", "%s: the conversion failed (%s): restore the baseline dump %s and the tree "
                           "copy with sms.upgrade.site_upgrade_recover (docs/site_upgrade.md)" % (
                               self.site, "; ".join(errors[-2:]) or "see Conv20.log",
                               (self.resume.get("baseline_dump") or {}).get("path") or "(see the database record)"))
        self.end(step, "failed", "Setup ended before the database conversion, without SMS 2.0: %s" % (
            "; ".join(errors[-3:]) or "no error line in the logs"), progress=self.resume.get("progress"))
        self.put_back("Setup failed before the conversion")
        raise SiteStop("setup_failed", "%s: Setup failed before the database conversion (%s); the 1.2 services and shares "
                       "were put back from the journal" % (self.site, "; ".join(errors[-2:]) or "see C:\\SMSSETUP.LOG"))

    def wizard_answers(self):
        entry = self.entry
        answers = ["On %s, start SMS 2.0 Setup from the SMS 2.0 media (%s) without options and upgrade the existing SMS 1.2 "
                   "site with the wizard: KB Q235768 (the wizard converts the database without the command-line hang)"
                   % (self.who(), data()["setup"]["program"]),
                   "Site code: %s (upper case, KB Q271885)" % self.site]
        if entry.get("sql"):
            answers.append("SQL Server: %s; site database: %s (as the 1.2 site uses them)" % (
                entry["sql"]["computer"], entry["sql"]["database"]))
        answers += ["Do not interrupt the database conversion once it has begun (Conv20.log in the root of the system "
                    "drive, KB Q250850)",
                    "Then run this playbook again: it resumes at verification"]
        return answers

    def wizard_handoff(self, why):
        step = self.begin("setup")
        if self.ctx.check_mode:
            self.end(step, "would_change", "would hand off to the upgrade wizard on %s: %s" % (self.who(), why))
            return "planned", "check mode: %s would be handed to the upgrade wizard (%s)" % (self.site, why)
        self.handoff = {"kind": "upgrade_wizard", "why": why, "answers": self.wizard_answers(),
                        "at": iso_stamp(self.now())}
        self.resume["handoff"] = self.handoff
        self.end(step, "handed_off", "run the upgrade wizard now on %s: %s" % (self.who(), why), answers=self.handoff["answers"])
        return "wizard_pending", "%s: run the SMS 2.0 upgrade wizard now (%s)" % (self.site, why)

    def wizard_still_pending(self, raw):
        self.handoff = self.resume.get("handoff")
        step = self.begin("setup")
        self.end(step, "handed_off", "%s still runs SMS 1.2: run the upgrade wizard (given at %s)" % (
            self.who(), (self.handoff or {}).get("at")), answers=(self.handoff or {}).get("answers"))
        return "wizard_pending", "%s: still waiting for the upgrade wizard" % self.site

    # -------------------------------------------------------------- secondary sites
    def download_slots(self):
        """The download secondaries of the same parent handed off and not yet on SMS 2.0 (KB Q199250, seed: <= 5)."""
        download = self.entry.get("download")
        if not download:
            return None
        busy = [site for site, record in site_statuses(self.a["status_dir"], self.a.get("wave_sites") or []).items()
                if site != self.site and record.get("status") == "handed_off" and
                (record.get("resume") or {}).get("method") == "download_from_parent" and
                (record.get("resume") or {}).get("parent") == self.entry.get("parent")]
        return busy if len(busy) >= download["max_at_once"] else None

    def secondary_start(self):
        busy = self.download_slots()
        if busy:
            raise SiteStop("queued", "%s waits: %d secondaries of %s are downloading the upgrade (%s); at most %d at once, "
                           "below the parent's maximum concurrent sendings (KB Q199250)" % (
                               self.site, len(busy), self.entry["parent"], ", ".join(sorted(busy)),
                               self.entry["download"]["max_at_once"]))
        self.take_rollback_point()
        step = self.begin("handoff")
        self.handoff = {"kind": "secondary_site_upgrade_wizard", "method": self.entry.get("method"),
                        "answers": self.secondary_answers(), "at": iso_stamp(self.now())}
        self.resume.update(handoff=self.handoff, method=self.entry.get("method"), parent=self.entry.get("parent"))
        if self.ctx.check_mode:
            self.end(step, "would_change", "; ".join(self.handoff["answers"][:1]), answers=self.handoff["answers"])
            return "planned", "check mode: %s would be handed off: %s" % (self.site, self.handoff["answers"][0])
        self.end(step, "handed_off", "; ".join(self.handoff["answers"][:1]), answers=self.handoff["answers"])
        return "handed_off", "%s: %s" % (self.site, self.handoff["answers"][0])

    def secondary_answers(self):
        entry, spec = self.entry, data()["secondary"]
        method = entry.get("method")
        parent = (entry.get("parent_server") or {}).get("computer") or entry.get("parent")
        first = "If the wizard does not offer %s, run '%s' on %s and refresh the console (KB Q263335)" % (
            self.site, spec["send_site_control"], self.who())
        if method == "local_cd":
            return ["At %s, the site's administrator upgrades the secondary from the SMS 2.0 CD (SP1 or later): %s (KB "
                    "Q199250)" % (self.who(), data()["setup"]["program"]),
                    "Then run this playbook again: it verifies the site once it reports SMS 2.0"]
        answers = ["On %s (SMS 2.0), run the Secondary Site Upgrade Wizard for %s: %s (KB Q199250)" % (
            parent, self.site, spec["methods"][method]["title"]), first]
        if method == "download_from_parent":
            download = entry["download"]
            answers.append("About %d MB goes over the link from %s%s; at most %d secondaries at once, below the Sender "
                           "Manager's maximum concurrent sendings for all sites" % (
                               download["mb"], entry.get("parent"), ", expected %s minutes at %s kbit/s" % (
                                   download["expected_minutes"], download["sender_kbps"])
                               if download["expected_minutes"] is not None else " (set sms_upgrade_sender_kbps for the "
                               "expected time)", download["max_at_once"]))
        else:
            answers.append("Source files at the secondary site: %s (both i386 and Alpha files on a network drive)" % (
                self.a.get("secondary_source") or "the SMS 2.0 CD in a drive of %s" % self.who()))
        answers.append("Then run this playbook again: it verifies the site once it reports SMS 2.0 (the parent shows it "
                       "within %s hours, SEC-04)" % _value(spec["parent_shows_within_hours"]))
        return answers

    def secondary_waiting(self):
        self.handoff = self.resume.get("handoff") or {}
        step = self.begin("handoff")
        since = parse_timestamp(self.handoff.get("at") or iso_stamp(self.now()))
        hours = (self.now() - since).total_seconds() / 3600
        if hours > self.a["secondary_wait_hours"]:
            self.end(step, "failed", "%s has not reported SMS 2.0 %.1f hours after the hand-off" % (self.who(), hours))
            raise SiteStop("overdue", "%s: the secondary has not reported SMS 2.0 %.1f hours after the hand-off (limit %s "
                           "h, site_upgrade_secondary_wait_hours): check the wizard's status at %s and the link" % (
                               self.site, hours, self.a["secondary_wait_hours"], self.entry.get("parent")))
        self.end(step, "handed_off", "waiting %.1f of %s hours for %s to report SMS 2.0" % (
            hours, self.a["secondary_wait_hours"], self.who()), answers=self.handoff.get("answers"))
        return "handed_off", "%s: waiting for the secondary to report SMS 2.0" % self.site

    # -------------------------------------------------------------- 6. verify, 7. ERD
    def after_upgrade(self, raw):
        self.deinstall()
        if self.ctx.check_mode and self.steps[-1]["status"] == "would_change":
            return "planned", "check mode: %s runs SMS %s; the de-install would be finished, then verified" % (
                self.site, self.full_version(raw))
        return self.verify()

    def verify(self):
        step = self.begin("verify")
        raw = self.server_read({"unc_files": ["%s\\%s" % (data()["logon_scripts"]["share"], name)
                                              for name in data()["logon_scripts"]["files"]]}, logs=self.log_args())
        self.absorb_logs(raw)
        checks = self.server_checks(raw) + self.leftover_checks() + self.database_mode_check()
        errors = self.resume.get("errors") or []
        checks.append(("logs", not errors, "; ".join(errors[-5:]) if errors else "no error line in Setup's or the "
                       "conversion's log since the upgrade started"))
        checks += self.logon_script_checks(raw)
        failed = [c for c in checks if c[1] is False]
        notes = [c for c in checks if c[1] is None]
        self.end(step, "failed" if failed else "ok", "; ".join("%s: %s" % (n, t) for n, _o, t in failed) or
                 "SMS %s on %s, every check passed%s" % (self.full_version(raw), self.who(), "; notes: %s" % "; ".join(
                     t for _n, _o, t in notes) if notes else ""),
                 checks=[{"check": n, "ok": ok, "message": t} for n, ok, t in checks])
        if failed:
            raise SiteStop("verify_failed", "%s: verification failed: %s" % (self.site, "; ".join(
                "%s: %s" % (n, t) for n, _o, t in failed)))
        self.erd()
        if self.secondary and self.record is not None:
            self.later_check()
        return "verified", "%s: SMS %s, verified" % (self.site, self.full_version(raw))

    def server_checks(self, raw):
        version = self.full_version(raw)
        services = {(s.get("name") or "").upper(): s for s in raw.get("services") or []}
        checks = [("full_version", is_sms_2(version), "Full Version %s" % (version or "absent"))]
        down = [name for name in self.new_services()
                if not services.get(name.upper(), {}).get("present") or services[name.upper()].get("state") != "running"]
        checks.append(("services_2_0", not down, "not running: %s" % ", ".join(down) if down else "%s running" % ", ".join(
            self.new_services())))
        return checks

    def leftover_checks(self):
        checks = []
        for member in [self.entry["server"]] + self.entry["helpers"] + self.entry["logon"]:
            try:
                read = SERVICES.read(None, self.services_hands(member))
            except ModuleFailed as exc:
                checks.append(("no_1_2_left", False, "%s could not be read: %s" % (member["host"], exc)))
                continue
            changes, problems = site_services.plan_server(read)
            left = [SERVICES.describe(c).split(":")[0] for c in changes] + problems
            checks.append(("no_1_2_left", not left, "%s: %s" % (member["host"], ", ".join(left) if left else
                                                                "no 1.2 service or share")))
        return checks

    def database_mode_check(self):
        sql = self.entry.get("sql")
        if self.secondary or not sql:
            return []
        queries = [(name, text) for name, text in build.sql_queries() if name in ("usages", "databases")]
        args = {"script": isql.build_script(queries, sql["database"]), "client": self.a["sql_client"],
                "computer": sql["computer"]}
        for key in ("login_user", "login_password"):
            if self.a.get("sql_" + key):
                args[key] = self.a["sql_" + key]
        raw = self.hands.module("sms.upgrade.sql_facts", args)
        if raw.get("failed"):
            return [("database_mode", False, "the options of %s could not be read: %s" % (sql["database"], raw.get("msg")))]
        try:
            found = gathered.databases(isql.split_output(raw.get("output") or ""), sql["database"])
        except gathered.SectionProblem as exc:
            return [("database_mode", False, "the options of %s could not be read: %s" % (sql["database"], exc))]
        site_db = next((d for d in found if d["name"].lower() == sql["database"].lower()), None)
        if site_db is None:
            return [("database_mode", False, "%s is not on %s" % (sql["database"], sql["computer"]))]
        single = "single user" in [o.lower() for o in site_db["options"]]
        return [("database_mode", not single, "%s is %sin single-user mode (options: %s)" % (
            sql["database"], "" if single else "not ", ", ".join(site_db["options"]) or "none"))]

    def logon_script_checks(self, raw):
        present = [f["path"] for f in raw.get("unc_files") or [] if f.get("present")]
        if not present:
            return [("logon_scripts", True, "no SMS 1.2 logon script in %s of %s" % (data()["logon_scripts"]["share"], self.who()))]
        strict = self.a["logon_script_check"] == "fail"
        return [("logon_scripts", False if strict else None, "%s still in %s: the upgrade deconfigures the logon scripts "
                 "the site configured (UPG-04); review them" % (", ".join(present), self.who()))]

    def erd(self):
        step = self.begin("erd")
        self.end(step, "to_do", "make a new emergency repair disk on %s now (%s) and keep it current (PRE-34, seed)" % (
            self.who(), data()["erd"]["command"]))

    def later_check(self):
        hours = _value(data()["secondary"]["parent_shows_within_hours"])
        due = iso_stamp(self.now() + datetime.timedelta(hours=hours))
        checks = [c for c in self.record["later_checks"] if c.get("check") != "parent_shows_site"]
        checks.append({"check": "parent_shows_site", "due": due, "parent": self.entry.get("parent"),
                       "message": "the SMS Administrator console of %s shows %s under it (SEC-04, up to %s hours)" % (
                           self.entry.get("parent"), self.site, hours)})
        self.record["later_checks"] = checks

    # -------------------------------------------------------------- check mode from snapshots
    def plan_only(self):
        """The plan of a site known only from snapshots: pre-flight from the report, steps from the snapshots."""
        self.record = None
        failed = self.preflight(live=False)
        for name in self.entry["steps"]:
            if name == "preflight":
                continue
            step = self.begin(name)
            self.end(step, "planned", self.describe_step(name))
        status = "would_stop" if failed else "planned"
        message = ("pre-flight would stop %s: %s" % (self.site, "; ".join("%s: %s" % (n, t) for n, _o, t in failed))
                   if failed else "%s: every step planned" % self.site)
        return self.result(status, message, None)

    def describe_step(self, name):
        entry = self.entry
        if name in ("quiesce", "deinstall"):
            members = [entry["server"]] if name == "quiesce" else [entry["server"]] + entry["helpers"] + entry["logon"]
            lines = []
            for member in members:
                snapshot = host_snapshot(self.a.get("snapshot_dir"), member["host"])
                if snapshot is None:
                    lines.append("%s: no snapshot, planned at run time" % member["host"])
                    continue
                entry_plan = SERVICES.entry_from_read(site_services.read_from_snapshot(snapshot), "snapshot",
                                                      shares=name == "deinstall" or self.a["quiesce_shares"],
                                                      services=name == "deinstall" or self.a["quiesce_services"])
                self.diff += [site_services.diff_entry(c) for c in entry_plan["changes"]]
                lines.append("%s: %s" % (member["host"], _summary(entry_plan["changes"]) or "nothing (as its snapshot shows)"))
            prefix = "" if name == "quiesce" else "what Setup leaves of "
            return prefix + "; ".join(lines)
        if name == "rollback_point":
            spec = data()["rollback_point"]
            return "copy of the whole SMS tree of %s and of %s to %s and %s/%s/%s (SHA-256 verified)" % (
                self.who(), ", ".join("HKLM\\%s" % k for k in spec["registry_keys"][:1]) + " and the 1.2 service keys",
                self.a.get("rollback_host_root") or spec["host_root"], spec["vault_subdir"], self.site,
                entry["server"]["host"])
        if name == "setup":
            if self.a["setup_method"] == "wizard" or not self.a.get("setup_media"):
                return "hand-off: run the SMS 2.0 upgrade wizard on %s (no media given or setup_method wizard)" % self.who()
            return ("%s %s if its Setup reports %s or later (SP1, KB Q235768), else the upgrade wizard hand-off; watched "
                    "through %s and %s" % (self.setup_program(), " ".join(_value(data()["setup"]["arguments"])),
                                           self.a["setup_min_version"], data()["setup"]["log"], data()["setup"]["conversion_log"]))
        if name == "handoff":
            return " | ".join(self.secondary_answers())
        if name == "verify":
            return ("Full Version %sx; %s running; no 1.2 service or share on %s; %s; logs without errors; logon scripts" % (
                data()["sms_2"]["version_prefix"], ", ".join(self.new_services()), ", ".join(
                    m["host"] for m in [entry["server"]] + entry["helpers"] + entry["logon"]),
                "%s not in single-user mode" % entry["sql"]["database"] if entry.get("sql") and not self.secondary
                else "no site database"))
        return STEP_TITLES.get(name, name) + ": %s on %s (PRE-34)" % (data()["erd"]["command"], self.who())

    # -------------------------------------------------------------- the task result
    def result(self, status, message, path):
        stopped = status in STOPPED or status == "would_stop"
        changed = self.changed or (self.ctx.check_mode and status == "planned") or \
            any(s["status"] == "would_change" for s in self.steps)
        result = {"changed": bool(changed), "site": self.site, "status": status, "msg": "%s: %s" % (self.ctx.host, message),
                  "timeline": self.timeline(),
                  "handoff": self.handoff, "record": path, "wave": self.a.get("wave"), "phase": self.phase.NAME}
        if self.diff:
            result["diff"] = self.diff
        if self.record is not None and self.record.get("later_checks"):
            result["later_checks"] = self.record["later_checks"]
        if self.warnings:
            result["warnings"] = self.warnings
        result["stopped"] = stopped
        if stopped:
            result["failed"] = True
        return result


# ------------------------------------------------------------------ the phase
class SiteUpgradePhase(Phase):
    """Upgrade one site of a wave to SMS 2.0 (one run per site, from its server or its relay)."""

    NAME = "site_upgrade"
    DESCRIPTION = "Upgrade a site to SMS 2.0: pre-flight, rollback point, Setup or the wizard, de-install, verification"
    MODULE = MODULE
    GATE_SCOPE = "play"
    GATE_REQUIRES = ("*",)
    CHECKLIST = {
        "PRE-01": "Phase site_upgrade: the pre-flight requires the readiness report to clear the site, including the "
                  "upgrade plan's findings (hierarchy changes before the first site or after the last).",
        "PRE-33": "Phase site_upgrade: the pre-flight requires the readiness report to clear the site (SP4 on 1.2 sites that "
                  "share the hierarchy); a child site waits until its parent is verified on SMS 2.0.",
        "PRE-34": "Phase site_upgrade: after verification the timeline records the next step, a new emergency repair disk "
                  "(rdisk) on the site server, as a manual item.",
        "UPG-03": "Phase site_upgrade: verification finds no SMS 1.2 service or share (so no logon, helper or site server "
                  "role) on the site, helper and logon servers; SMS_PKGx shares of distribution servers stay.",
        "UPG-04": "Phase site_upgrade: verification reports SMSLS.BAT/SMSLS.CMD still in the site server's NETLOGON "
                  "share (a note by default, UNCONFIRMED which files Setup removes; user profiles stay a manual check).",
        "UPG-06": "Phase site_upgrade (playbook sms.upgrade.site_upgrade, module sms.upgrade.site_upgrade): SMS 2.0 Setup "
                  "started only from media whose SETUP.EXE reports SP1 or later (KB Q235768), watched through "
                  "C:\\SMSSETUP.LOG and Conv20.log; otherwise a hand-off to the upgrade wizard with the answers, resumed "
                  "at verification; rollback point and services put back before Setup; recovery after a failed "
                  "conversion (sms.upgrade.site_upgrade_recover).",
        "SEC-01": "Phase site_upgrade: a secondary is upgraded only in its own wave of the upgrade plan, after its parent "
                  "is verified on SMS 2.0; secondaries kept on 1.2 are in no wave.",
        "SEC-02": "Phase site_upgrade: the pre-flight of a secondary requires the readiness report to clear it (final "
                  "1.2 SP4 configuration confirmed before the parent's upgrade).",
        "SEC-03": "Phase site_upgrade: the hand-off gives the exact inputs of the plan's method (download from the parent "
                  "with size, expected time and at most five at once below the parent's concurrent sendings; source at "
                  "the secondary with both i386 and Alpha files checked; local CD) and KB Q263335's sendcode; the site "
                  "is verified when it reports SMS 2.0, and called overdue after site_upgrade_secondary_wait_hours.",
        "SEC-04": "Phase site_upgrade: after a secondary is verified, its record holds a later check (the parent shows "
                  "it within 24 hours) with its due time; never a sleep.",
    }
    OPTIONS = {
        "site": {"type": "dict", "required": True},
        "wave": {"type": "str"},
        "plan_file": {"type": "path"},
        "wave_sites": {"type": "list", "elements": "str", "default": []},
        "status_dir": {"type": "path", "required": True},
        "journal_dir": {"type": "path", "required": True},
        "vault_dir": {"type": "path", "required": True},
        "snapshot_dir": {"type": "path"},
        "report": {"type": "path"},
        "inventory_name": {"type": "str"},
        "report_max_age": {"type": "str", "default": "7d"},
        "database_max_age_days": {"type": "int", "default": 7},
        "plan_only": {"type": "bool", "default": False},
        "setup_media": {"type": "str"},
        "setup_method": {"type": "str", "default": "scripted", "choices": ["scripted", "wizard"]},
        "setup_arguments": {"type": "list", "elements": "str"},
        "setup_min_version": {"type": "str", "default": _value(data()["setup"]["min_scripted_version"])},
        "quiesce_services": {"type": "bool", "default": _value(data()["quiesce"]["services"])},
        "quiesce_shares": {"type": "bool", "default": _value(data()["quiesce"]["shares"])},
        "poll_seconds": {"type": "int", "default": data()["setup"]["poll_seconds"]},
        "monitor_minutes": {"type": "int", "default": data()["setup"]["monitor_minutes"]},
        "stop_timeout": {"type": "int", "default": 120},
        "secondary_source": {"type": "str"},
        "secondary_wait_hours": {"type": "int", "default": _value(data()["secondary"]["wait_hours"])},
        "mif_queues": {"type": "list", "elements": "dict"},
        "logon_script_check": {"type": "str", "default": _value(data()["logon_scripts"]["check"]), "choices": ["note", "fail"]},
        "retry_after_recovery": {"type": "bool", "default": False},
        "sms_root": {"type": "str"},
        "rollback_host_root": {"type": "str"},
        "share_map": {"type": "dict", "default": {}},
        "sql_client": {"type": "str", "default": "isql.exe"},
        "sql_login_user": {"type": "str"},
        "sql_login_password": {"type": "str", "no_log": True},
    }
    MODULE_OPTIONS = ("share_map",)
    SET_BY_ACTION = ("mode", "registry_values", "service_names", "logs", "max_log_bytes", "media", "media_dirs", "queues",
                     "reach", "unc_files", "process_id", "program", "arguments", "working_dir", "if_not_running", "sms_root_value")

    def __init__(self):
        self.clock = RealClock()

    def run(self, ctx, hands):
        site = ctx.args["site"]
        for key in ("site", "server", "helpers", "logon", "steps"):
            if key not in site:
                raise ValueError("site must be an entry of sms.upgrade.site_wave's sites (missing %r)" % key)
        return SiteRun(self, ctx, hands).run()


def download_params():
    """The assessment parameters the wave plan reads (download size and the seed's limit)."""
    params = default_params()
    return {name: params[name] for name in ("secondary_download_mb", "secondary_download_max_at_once")}


PHASE = SiteUpgradePhase()
