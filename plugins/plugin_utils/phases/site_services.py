"""The site_services phase (UPG-01, UPG-02, UPG-03): its room. One server of a site loses its SMS 1.2 services and shares.

The partial de-install of the upgrade (seed) stops SMS_EXECUTIVE, SMS_INVENTORY_AGENT_NT, SMS_PACKAGE_COMMAND_MANAGER_NT,
SMS_CLIENT_CONFIG_MANAGER, SMS_HIERARCHY_MANAGER and SMS_SITE_CONFIG_MANAGER and removes the SMS_SHR, SMS_SHRx and
SMS_SITE shares on the servers of the site's domains; distribution servers keep their SMS_PKGx shares. This room
plans that for one server as explicit compare-and-set changes the PowerShell hands apply (``sms.upgrade.site_services``):

- ``service``: start mode ``from`` -> ``disabled`` and state -> ``stopped`` (the shape of the client_agents phase);
- ``share``: remove a share if it still points where it was read (``from``: path, remark, maximum uses and its security
  descriptor as SDDL), or, undoing that, create it again exactly so (``to``).

Share permissions are not in the snapshots, so a run plans from a live read of the server (one read-only module
call) and the journal keeps everything a rollback needs to put the shares back. Hosts known only from a snapshot
(``plan_only``) get the plan from it, with the permissions "read at run time". The site upgrade (``site_upgrade.py``)
runs this room before Setup (quiesce) and after it (finishing the de-install on the servers Setup could not reach);
``sms.upgrade.site_upgrade_recover`` runs it with ``rollback`` to put a server back from its newest journal record.
"""
import fnmatch
import functools
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import client_agents
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.changeset import CHANGESET_OPTIONS, ChangeSetPhase, ModuleFailed
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import JournalError, latest_record

MODULE = "sms.upgrade.site_services"
SHARE_FIELDS = ("path", "remark", "max_uses", "sddl")


class PlanError(ValueError):
    """A server cannot be planned from what was read (names the item and the cause)."""


@functools.lru_cache(maxsize=1)
def site_data():
    """The site upgrade's data file (``data/site_upgrade.yml``), read once per process."""
    return read_yaml("site_upgrade.yml")


def service_spec(data=None):
    data = data or site_data()
    return {"start_mode": data["services"]["start_mode"], "state": data["services"]["state"]}


def is_1_2_share(name, data=None):
    """True for SMS_SHR, SMS_SHRx and SMS_SITE (case-insensitive); never for a share the data file keeps (SMS_PKGx)."""
    data = data or site_data()
    upper = (name or "").upper()
    if any(fnmatch.fnmatchcase(upper, p.upper()) for p in data["shares"]["keep"]):
        return False
    return any(fnmatch.fnmatchcase(upper, p.upper()) for p in data["shares"]["patterns"])


def is_1_2_program(path, data=None):
    """True when a service's program (its ImagePath, quoted or not, with arguments) lies in the SMS 1.2 tree."""
    data = data or site_data()
    text = (path or "").strip().upper()
    program = text[1:].split('"', 1)[0] if text.startswith('"') else text
    return any(fnmatch.fnmatchcase(program, p.upper()) for p in data["services"]["v12_program_patterns"])


def share_names(patterns):
    """The explicit share names a read asks for: ``SMS_SHR[A-Z]`` becomes SMS_SHRA ... SMS_SHRZ (one range per name)."""
    names = []
    for pattern in patterns:
        match = re.match(r"^([^\[]*)\[([A-Za-z])-([A-Za-z])\](.*)$", pattern)
        if not match:
            names.append(pattern)
            continue
        head, first, last, tail = match.groups()
        names += ["%s%s%s" % (head, chr(code), tail) for code in range(ord(first.upper()), ord(last.upper()) + 1)]
    return names


# ------------------------------------------------------------------ single changes
def plan_service(name, start_mode, state, data=None):
    """A ``service`` change (stop, disable) from what was read, or None when it is already so."""
    spec = dict(service_spec(data), name=name)
    try:
        return client_agents.plan_service(spec, start_mode, state)
    except client_agents.PlanError as exc:
        raise PlanError(str(exc)) from None


def share_state(share):
    """What is kept of a share as read: path, remark, maximum uses and the SDDL of its permissions (None: unknown)."""
    return {field: share.get(field) for field in SHARE_FIELDS}


def plan_share_removal(share):
    """A ``share`` change removing ``share`` (as read) if it still points where it did."""
    if not share.get("path"):
        raise PlanError("share %s: its path was not read" % share.get("name"))
    return {"kind": "share", "id": "share:%s" % share["name"].upper(), "name": share["name"],
            "from": share_state(share), "to": None}


# ------------------------------------------------------------------ a whole server
def plan_server(read, services=True, shares=True, data=None):
    """``(changes, problems)`` for one server from a live read (module mode ``read``) or a snapshot's lists.

    ``read`` holds ``services`` ([{name, present, start_mode, state, path}]) and ``shares`` ([{name, path, remark,
    ...}]); a section that could not be read is a problem naming its cause, the others are still planned. A service is
    planned only when its program lies in the 1.2 tree (SMS 2.0 has an SMS_EXECUTIVE too); a read made from a 1.2
    snapshot (``assume_1_2``) has no program paths and counts every service of the six as SMS 1.2's.
    """
    data = data or site_data()
    changes, problems = [], []
    errors = {e.get("section"): e for e in read.get("errors") or []}
    if services:
        if read.get("services") is None:
            problems.append("services were not read: %s" % _why(errors.get("services")))
        else:
            found = {(s.get("name") or "").upper(): s for s in read["services"]}
            for name in data["services"]["names"]:
                service = found.get(name.upper())
                if not service or service.get("present") is False:
                    continue
                if not read.get("assume_1_2"):
                    if not service.get("path"):
                        problems.append("service %s: its program path was not read, so it is left alone (SMS 2.0 runs "
                                        "a service of that name too)" % name)
                        continue
                    if not is_1_2_program(service["path"], data):
                        continue
                found_change, found_problem = _planned(plan_service, name, service.get("start_mode"), service.get("state"), data)
                changes += found_change
                problems += found_problem
    if shares:
        if read.get("shares") is None:
            problems.append("shares were not read: %s" % _why(errors.get("shares")))
        else:
            for share in sorted(read["shares"], key=lambda s: (s.get("name") or "").upper()):
                if is_1_2_share(share.get("name"), data):
                    found_change, found_problem = _planned(plan_share_removal, share)
                    changes += found_change
                    problems += found_problem
    return changes, problems


def _why(error):
    return "%s (%s)" % (error.get("message"), error.get("cause")) if error else "missing"


def _planned(planner, *args):
    """``([change], [problem])`` of one planner call (each empty or of one item)."""
    try:
        change = planner(*args)
    except PlanError as exc:
        return [], [str(exc)]
    return ([change] if change else []), []


def read_from_snapshot(snapshot):
    """A site-server snapshot in the shape of a live read (share permissions unknown: read at run time)."""
    services = [dict(s, present=True) for s in snapshot.get("services") or []]
    shares = [dict(share, max_uses=None, sddl=None) for share in snapshot.get("shares") or []]
    return {"services": services, "shares": shares, "errors": snapshot.get("errors") or [], "assume_1_2": True}


# ------------------------------------------------------------------ conflicts, rollback, display
def replan(change, current, data=None):
    """Plan a change again from what the server holds now; None when nothing is left to do."""
    if change["kind"] == "service":
        return plan_service(change["name"], current.get("start_mode"), current.get("state"), data)
    if change["kind"] == "share":
        if change["to"] is not None:
            raise PlanError("share %s: a share being put back is not planned again" % change["name"])
        if not current or not current.get("path"):
            return None
        return plan_share_removal(dict(current, name=change["name"]))
    raise PlanError("unknown change kind %r" % change["kind"])


def invert(change):
    """The change that puts back what ``change`` did (rollback from the journal)."""
    if change["kind"] == "share":
        return dict(change, **{"from": change["to"], "to": change["from"]})
    if change["kind"] == "service":
        return client_agents.invert(change)
    raise PlanError("unknown change kind %r" % change["kind"])


def _share_text(state):
    if state is None:
        return "(absent)\n"

    def shown(field):
        return "(read at run time)" if state.get(field) is None and field == "sddl" else state.get(field)
    return "".join("%s: %s\n" % (field, shown(field)) for field in SHARE_FIELDS)


def describe(change):
    """One line: what changes on the server."""
    if change["kind"] == "service":
        return client_agents.describe(change)
    if change["to"] is None:
        return "share %s (%s): remove; path and permissions kept in the journal" % (change["name"], change["from"]["path"])
    return "share %s: create again on %s with the permissions it had" % (change["name"], change["to"]["path"])


def diff_entry(change):
    """An Ansible diff (before/after with headers) for one change."""
    if change["kind"] == "service":
        return client_agents.diff_entry(change)
    header = "share %s" % change["name"]
    return {"before_header": header, "after_header": header, "before": _share_text(change["from"]),
            "after": _share_text(change["to"])}


def wire_change(change):
    return dict(change)


# ------------------------------------------------------------------ the phase
class SiteServicesPhase(ChangeSetPhase):
    """Stop and disable the SMS 1.2 services and remove the 1.2 shares of one server, compare-and-set, journaled."""

    NAME = "site_services"
    DESCRIPTION = "Stop and disable the SMS 1.2 services and remove the SMS 1.2 shares of a server (UPG-01, UPG-02)"
    MODULE = MODULE
    # Planned on each server from a live read: share permissions are in no snapshot.
    SNAPSHOT_KIND = None
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*",)
    CHECKLIST = {
        "UPG-01": "Phase site_services (module sms.upgrade.site_services, run by sms.upgrade.site_upgrade): the six SMS 1.2 "
                  "services stopped and disabled, compare-and-set, journaled with their start modes: on the site server "
                  "before Setup (quiesce), and after Setup on the site, helper and logon servers Setup could not reach; "
                  "verified on every server of the site. Rollback from the journal: sms.upgrade.site_upgrade_recover.",
        "UPG-02": "Phase site_services: SMS_SHR, SMS_SHRx and SMS_SITE removed where Setup left them, each journaled with "
                  "its path, remark, maximum uses and permissions (SDDL) so that a stop before Setup puts it back; "
                  "verified on every server of the site.",
    }
    OPTIONS = dict(CHANGESET_OPTIONS, services={"type": "bool", "default": True},
                   shares={"type": "bool", "default": True}, stop_timeout={"type": "int", "default": 120})
    MODULE_OPTIONS = ("stop_timeout",)
    SET_BY_ACTION = ("mode", "changes", "service_names", "share_names")

    # -------------------------------------------------------------- hooks of the change-set engine
    replan = staticmethod(replan)
    invert = staticmethod(invert)
    describe = staticmethod(describe)
    diff = staticmethod(diff_entry)
    wire = staticmethod(wire_change)

    def module_args(self, ctx, **args):
        """The module's arguments; a change set is sent with ``mode: apply``."""
        args = super().module_args(ctx, **args)
        if "changes" in args:
            args["mode"] = "apply"
        return args

    # -------------------------------------------------------------- planning
    def read_args(self, data=None):
        """The read-only call: the service names and the share names of the data file."""
        data = data or site_data()
        return {"mode": "read", "service_names": list(data["services"]["names"]),
                "share_names": share_names(data["shares"]["patterns"])}

    def read(self, ctx, hands, computer=None):
        """One read-only call on the server (``computer``: another machine than the target's); raises ModuleFailed."""
        args = self.read_args()
        if computer:
            args["computer"] = computer
        raw = hands.module(self.MODULE, args)
        if raw.get("failed"):
            raise ModuleFailed(raw.get("msg") or "the site_services module failed")
        return raw

    def entry_from_journal(self, ctx):
        """The plan undoing the server's newest journal record (nothing when there is none)."""
        try:
            path, record = latest_record(ctx.args["journal_dir"], ctx.host, self.NAME)
        except JournalError as exc:
            return {"changes": [], "problems": [str(exc)], "source": None}
        if record is None:
            return {"changes": [], "problems": [], "source": None}
        done = [entry["change"] for entry in record["changes"] if entry.get("status") == "changed"]
        return {"changes": [self.invert(c) for c in reversed(done)], "problems": [], "source": path}

    def entry_from_read(self, read, source, services=True, shares=True):
        changes, problems = plan_server(read, services, shares)
        return {"changes": changes, "problems": problems, "source": source}

    def run(self, ctx, hands):
        args = ctx.args
        if args.get("plan") is None:
            if args["rollback"]:
                if not args.get("journal_dir"):
                    raise ValueError("rollback needs journal_dir (where the phase recorded its changes)")
                entry = self.entry_from_journal(ctx)
            elif args["plan_only"]:
                snapshot = host_snapshot(args.get("snapshot_dir"), ctx.host, required=True)
                entry = self.entry_from_read(read_from_snapshot(snapshot), "snapshot", args["services"], args["shares"])
            else:
                try:
                    read = self.read(ctx, hands)
                except ModuleFailed as exc:
                    return {"failed": True, "changed": False, "phase": self.NAME, "unreachable_target": True,
                            "msg": "%s: %s could not be read: %s" % (ctx.host, ctx.target.computer or ctx.host, exc)}
                entry = self.entry_from_read(read, "live read", args["services"], args["shares"])
            ctx = ctx._replace(args=dict(args, plan=entry))
        return super().run(ctx, hands)


PHASE = SiteServicesPhase()
