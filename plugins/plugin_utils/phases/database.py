"""The site database preparation phase (PRE-14 to PRE-16, PRE-29, PRE-30, PRE-32, UPG-07, FAQ-01): its room.

One SQL Server 6.5 per host, through the isql/osql channel of the gather: every script is built and checked here,
run in one client session by the module ``sms.upgrade.database`` (on the SQL host, or on its relay acting on
``computer``), and its output is parsed here. The steps (``data/database.yml``, docs/database.md):

1. **safety_dump**: the site database and master dumped to files named for the run, after a free-space check,
   verified with LOAD HEADERONLY, sized and hashed, recorded next to the host's vault manifest; taken in every run
   that changes something, before the first change: it is the rollback point of every later step.
2. **site_db_size** (PRE-14), 3. **tempdb** (PRE-15, PRE-29), 4. **transaction_log** (PRE-29): planned from a survey
   of the server (the gather's queries plus the phase's), applied compare-and-set (each statement runs in a T-SQL
   ``if`` that checks, in the same session, that the server still holds what the plan was made from), verified by
   reading the server back in the same session, journaled with how to undo it (or why it cannot be undone).
5. **history** and 6. **duplicates** (PRE-29, PRE-30): no supported SQL way exists; the phase says what a person
   does (Delete Special in 30-day steps, DBClean, SMS Administrator and the clones' SMS.INI) and verifies the result
   from the database.
7. **consistency** (PRE-16): DBCC CHECKDB, NEWALLOC, CHECKCATALOG; every Msg line is a finding, an error blocks.
8. **baseline_dump**: the site database and master again once the above holds, the rollback point of the upgrade.
9. **rehearsal** (PRE-32): on a lab SQL Server (its own task, delegated to the lab server or its relay) the baseline
   dump is loaded and CONV20.EXE run against it; its log becomes findings. Production is never touched.
10. **connections** (UPG-07, FAQ-01): the connections that would keep CONV20 from single-user mode, by program and
    host; KILL only for the spids the operator lists. The phase never sets single-user mode.

Check mode plans every step (the exact statements, and why) from a live survey, or from the saved snapshot for hosts
in ``sms_snapshots_only``, and changes nothing. A second run finds everything in place and changes nothing.

This module runs the steps (:class:`DatabaseRun`, :class:`Rehearsal`) and is the phase (:data:`PHASE`); the rest of
the room is beside it: ``database_survey.py`` (what the survey reads), ``database_sql.py`` (the statements and the
parsing of their output), ``database_plan.py`` (planning the changing steps, the verify-only ones) and
``database_record.py`` (the record next to the vault manifest).
"""

import json
import math
import ntpath
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import phase_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp, iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import database as gathered, isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_plan import (
    duplicates_step, history_step, Planner)
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_record import (
    find_record, fingerprint, fresh, latest_dump, load_record, record_path, save_record)
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_sql import (
    change_batches, cond_database, cond_not_in_use, conv20_findings, dbcc_findings, dbcc_script, dump_plan, dump_script,
    dump_statements, header_row, in_place, NOT_SHRINKABLE, statement_text)
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.database_survey import (
    BAD, DatabaseError, MAIN_STEPS, MB, MODULE, read_state, state_from_snapshot, step_spec, survey_batches,
    survey_queries, WAITING)
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, resolve_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import read_record, record_paths, write_record


# ================================================================== one run
class DatabaseRun:
    """One host's run: ``hands.module`` reaches the SQL Server (or the lab server for the rehearsal)."""

    def __init__(self, phase, ctx, hands):
        self.phase = phase
        self.ctx = ctx
        self.hands = hands
        self.o = ctx.args
        self.now = ctx.now
        self.stamp = compact_stamp(ctx.now)
        self.at = iso_stamp(ctx.now)
        self.params = merge_params(self.o.get("params") or {})
        self.max_age = self.o["results_max_age"]
        self.steps = []
        self.warnings = []
        self.diff = []
        self.changed = False
        self.calls = 0
        self.journal_path = None
        self.record = None
        self.record_file = None
        self.queries = None
        self.fingerprint = None

    # -------------------------------------------------------------- module calls
    def _module(self, args):
        self.calls += 1
        raw = self.hands.module(MODULE, args)
        return raw if isinstance(raw, dict) else {"failed": True, "msg": "no result"}

    def _login(self, args):
        for key in ("login_user", "login_password"):
            if self.o.get(key):
                args[key] = self.o[key]
        return args

    def sql(self, script, timeout=None, what="script", read_only=False):
        """Run one script in one session; ``(output, blocks, timed_out)``. A client that cannot run is a DatabaseError.
        ``read_only`` marks the scripts the module may run in check mode (the survey: isql.build_script checked it)."""
        raw = self._module(self._login({"mode": "sql", "script": script, "client": self.o["sql_client"],
                                        "timeout": timeout or self.o["timeout"], "read_only": read_only}))
        if raw.get("failed"):
            raise DatabaseError("%s could not be run on %s: %s" % (what, self.who(), raw.get("msg") or "module failed"))
        if raw.get("timed_out"):
            self.warnings.append("%s: %s did not finish within %s s; what it printed is used" % (
                self.ctx.host, what, timeout or self.o["timeout"]))
        output = raw.get("output") or ""
        return output, isql.split_output(output), bool(raw.get("timed_out"))

    def files(self, paths):
        """``{path: {exists, size, sha256, free_bytes, error}}`` for paths on the SQL Server."""
        if not paths:
            return {}
        raw = self._module({"mode": "files", "paths": paths, "share_map": self.o.get("share_map") or {}})
        if raw.get("failed"):
            raise DatabaseError("the files of %s could not be read: %s" % (self.who(), raw.get("msg")))
        return {entry.get("path"): entry for entry in raw.get("files") or []}

    def who(self):
        return self.ctx.target.computer or self.ctx.host

    # -------------------------------------------------------------- survey
    def survey(self, site_code):
        self.queries = survey_queries(self.o.get("sql_queries"), self.o.get("queries"))
        script = survey_batches(self.database, self.queries)
        output, _blocks, _timed_out = self.sql(script, what="the survey", read_only=True)
        return self._state_of(output, site_code)

    def _state_of(self, output, site_code):
        state = read_state(output, self.database, self.queries, self.ctx.host, self.ctx.target.computer, self.now,
                           site_code)
        version = state.snapshot["sql"]["version"]
        if not version.startswith("6.5"):
            raise DatabaseError("%s runs SQL Server %s; this phase speaks SQL Server 6.5 only (DUMP, DISK INIT, "
                                "sp_dboption): the site database must stay on 6.5 until SMS 2.0 runs (seed FAQ)" % (
                                    self.who(), version))
        return state

    # -------------------------------------------------------------- the plan
    def plan(self, state):
        """Plan every requested step from ``state``: ``{name: step}`` in order."""
        planner = Planner(state, self.o, self.params)
        wanted = self.o["steps"]
        steps = {}
        # tempdb last: it is sized from the site database and all databases as the other steps leave them
        for name, method in (("site_db_size", planner.site_db_size), ("transaction_log", planner.transaction_log),
                             ("tempdb", planner.tempdb)):
            if name in wanted:
                try:
                    changes, status, text, facts = method()
                except isql.SqlScriptError as exc:
                    changes, status, text, facts = [], "blocked", "cannot be planned: %s" % exc, {}
                steps[name] = self._step(name, status, text, facts, changes)
        if "history" in wanted:
            status, text, facts, manual = history_step(state, self.params, self.now, phase_data()["history"]["step_days"])
            steps["history"] = self._step("history", status, text, facts, manual=manual)
        if "duplicates" in wanted:
            status, text, facts, manual = duplicates_step(state)
            steps["duplicates"] = self._step("duplicates", status, text, facts, manual=manual)
        if "connections" in wanted:
            changes, status, text, facts, problems, manual = planner.connections()
            steps["connections"] = self._step("connections", status, text, facts, changes, manual=manual, problems=problems)
        return steps, planner

    def _step(self, name, status, text, facts, changes=(), manual=(), problems=()):
        spec = step_spec(name)
        step = {"name": name, "checklist": list(spec["checklist"]), "why": " ".join(spec["why"].split()),
                "status": status, "message": text, "facts": facts, "changes": list(changes), "manual": list(manual),
                "problems": list(problems), "sql": [statement_text(c) for c in changes]}
        if name in phase_data()["approval_steps"] and changes and name not in (self.o.get("approve") or []):
            step["needs_approval"] = True
        return step

    # -------------------------------------------------------------- display
    def _diff(self, name, before, after, statements, why):
        header = "%s %s: step %s (%s)" % (self.who(), self.database, name, ", ".join(step_spec(name)["checklist"]))
        prepared = "-- %s\n-- why: %s\n%s\n" % (header, why, "\n".join(statements)) if statements else ""
        entry = {"before_header": header, "after_header": header, "before": before, "after": after}
        if prepared:
            entry["prepared"] = prepared
        self.diff.append(entry)

    def _step_diff(self, step):
        """Before: what the survey read; after: the targets (a step that only verifies shows no change, only its
        prepared text: what a person does)."""
        if not step["sql"] and not step["manual"]:
            return
        facts = step["facts"]
        before = "".join("%s: %s\n" % (k, json.dumps(v, sort_keys=True)) for k, v in sorted(facts.items())
                         if not k.startswith("need_"))
        targets = {k[len("need_"):]: v for k, v in facts.items() if k.startswith("need_")}
        after = "".join("%s: %s\n" % (k, json.dumps(targets.get(k, v), sort_keys=True)) for k, v in sorted(facts.items())
                        if not k.startswith("need_")) if step["sql"] else before
        statements = list(step["sql"]) + ["-- to do by hand: %s" % line for line in step["manual"]]
        self._diff(step["name"], before, after, statements, step["why"])

    def _dump_diff(self, plan, why_name):
        statements = []
        for item in plan:
            statements += dump_statements(item)
        self._diff(why_name, "", "".join("%s %s dump: %s (about %d MB)\n" % (
            item["database"], item["kind"], item["path"], math.ceil(item["estimate_bytes"] / MB)) for item in plan),
            statements, " ".join(step_spec(why_name)["why"].split()))

    # -------------------------------------------------------------- the whole run
    @property
    def database(self):
        return self.o["_database"]

    def rehearse(self, record_file, from_snapshot):
        """Step 9 for the host the record belongs to (``source_host``), on the lab server this task reaches."""
        if from_snapshot and not self.ctx.check_mode:
            raise DatabaseError("%s is in sms_snapshots_only: it is never contacted; run with --check to see the plan"
                                % self.ctx.host)
        self.record_file = record_file
        self.record = load_record(record_file)
        return Rehearsal(self).run(from_snapshot)

    def run(self, snapshot, site, from_snapshot):
        if from_snapshot and not self.ctx.check_mode:
            raise DatabaseError("%s is in sms_snapshots_only: the site database cannot be prepared from a saved snapshot; "
                                "run with --check to see the plan" % self.ctx.host)
        self.record_file = record_path(self.o["vault_dir"], site, self.ctx.host)
        self.record = load_record(self.record_file)
        if self.o["rollback"]:
            return self.rollback(site, from_snapshot)
        state = state_from_snapshot(snapshot) if from_snapshot else self.survey(site)
        steps, planner = self.plan(state)
        mode = "snapshot" if from_snapshot else ("relay" if self.ctx.target.relay else "direct")
        if self.ctx.check_mode:
            return self._check(state, steps, planner, mode, from_snapshot)
        return self._apply(state, steps, planner, mode)

    # -------------------------------------------------------------- check mode
    def _file_checks(self, planner, plans):
        """Free space for the dumps and new devices, and that none of the files to create exists (read-only)."""
        wanted = [(item["path"], item["estimate_bytes"], "database_dump_dir") for plan in plans for item in plan]
        wanted += [(path, size_mb * MB, "database_device_dir") for path, size_mb in planner.new_files]
        found = self.files([{"path": path, "hash": False} for path, _size, _option in wanted])
        problems, by_dir = [], {}
        for path, size, option in wanted:
            stat = found.get(path) or {}
            if stat.get("exists"):
                problems.append("%s already exists on %s: nothing is overwritten; move it away or set %s" % (
                    path, self.who(), option))
            slot = by_dir.setdefault(ntpath.dirname(path), {"needed": 0, "stat": stat, "option": option})
            slot["needed"] += size
        margin = max(phase_data()["dumps"]["free_margin_mb"], phase_data()["devices"]["free_margin_mb"]) * MB
        for directory, slot in sorted(by_dir.items()):
            stat = slot["stat"]
            if stat.get("error"):
                problems.append("%s on %s cannot be checked (%s): %s" % (
                    directory, self.who(), stat.get("cause") or "other", stat["error"]))
            elif stat.get("dir_exists") is False:
                problems.append("directory %s does not exist on %s: create it or set %s" % (directory, self.who(), slot["option"]))
            elif stat.get("free_bytes") is not None and stat["free_bytes"] < slot["needed"] + margin:
                problems.append("disk_full: %s on %s has %d MB free; what is planned there needs %d MB (+%d MB kept free)" % (
                    directory, self.who(), stat["free_bytes"] // MB, math.ceil(slot["needed"] / MB), margin // MB))
        return problems

    def _check(self, state, steps, planner, mode, from_snapshot):
        self.fingerprint = fingerprint(state)
        safety = dump_plan(state, self.o, "safety", self.stamp)
        baseline = dump_plan(state, self.o, "baseline", self.stamp)
        changing = [s for s in steps.values() if s["changes"]]
        for step in changing:
            if step.get("needs_approval"):
                step["message"] += "; needs approval: database_approve: [%s]" % step["name"]
        ordered = []
        if changing:
            self._dump_diff(safety, "safety_dump")
            ordered.append(self._plain_step("safety_dump", "planned", "before the first change: %s" % ", ".join(
                i["path"] for i in safety), sql=[s for i in safety for s in dump_statements(i)]))
        for name in MAIN_STEPS:
            step = steps.get(name)
            if name in steps:
                self._step_diff(step)
            elif name == "consistency" and name in self.o["steps"]:
                step = self._consistency_plan(changing)
            elif name == "baseline_dump" and name in self.o["steps"]:
                step = self._baseline_plan(baseline, changing)
            if step is not None:
                ordered.append(step)
        dumps = [p for p, wanted in ((safety, bool(changing)), (baseline, any(
            s["name"] == "baseline_dump" and s["status"] == "planned" for s in ordered))) if wanted]
        problems = [] if from_snapshot else self._file_checks(planner, dumps)
        result = self._result(ordered, state, mode, check=True)
        result["problems"] = problems
        if problems:
            result["warnings"] = result.get("warnings", []) + ["%s: %s" % (self.ctx.host, p) for p in problems]
        result["changed"] = any(s["status"] == "planned" for s in ordered)
        return result

    def _consistency_fresh(self):
        record = self.record.get("consistency") or {}
        return bool(record.get("clean")) and record.get("fingerprint") == self.fingerprint and \
            fresh(record.get("at"), self.now, self.max_age)

    def _baseline_fresh(self):
        dumps = [latest_dump(self.record, "baseline", name) or {} for name in (self.database, "master")]
        return all(d.get("fingerprint") == self.fingerprint and fresh(d.get("at"), self.now, self.max_age) for d in dumps)

    def _consistency_plan(self, changing):
        statements = ["DBCC %s (%s)" % (c, self.database) for c in phase_data()["dbcc"]["commands"]]
        if changing or not self._consistency_fresh():
            self._diff("consistency", "", "", statements, " ".join(step_spec("consistency")["why"].split()))
            return self._plain_step("consistency", "planned", "DBCC on %s" % self.database, sql=statements)
        return self._plain_step("consistency", "ok", "clean at %s" % self.record["consistency"]["at"])

    def _baseline_plan(self, baseline, changing):
        if changing or not self._baseline_fresh():
            self._dump_diff(baseline, "baseline_dump")
            return self._plain_step("baseline_dump", "planned", "after the steps above: %s" % ", ".join(
                i["path"] for i in baseline), sql=[s for i in baseline for s in dump_statements(i)])
        return self._plain_step("baseline_dump", "ok", "verified at %s" % latest_dump(self.record, "baseline", self.database)["at"])

    def _plain_step(self, name, status, message, sql=(), facts=None, findings=None):
        spec = step_spec(name)
        step = {"name": name, "checklist": list(spec["checklist"]), "why": " ".join(spec["why"].split()),
                "status": status, "message": message, "facts": facts or {}, "changes": [], "manual": [],
                "problems": [], "sql": list(sql)}
        if findings is not None:
            step["findings"] = findings
        return step

    # -------------------------------------------------------------- real run
    def _apply(self, state, steps, planner, mode):
        approved = [c for s in steps.values() if not s.get("needs_approval") for c in s["changes"]]
        for step in steps.values():
            if step.get("needs_approval"):
                step["status"] = "needs_approval"
                step["message"] += "; not applied: approve it with database_approve: [%s] (see the plan with --check " \
                    "--diff)" % step["name"]
        ordered, stopped = [], False
        if approved:
            safety = self._take_dump(state, "safety", planner)
            ordered.append(safety)
            if safety["status"] != "verified":
                stopped = True
                for step in steps.values():
                    if step["changes"] and step["status"] == "planned":
                        step["status"] = "blocked"
                        step["message"] += "; not applied: no verified safety dump"
            else:
                state = self._apply_changes(state, steps, approved)
        self.record.update(state=state.snapshot, computer=self.who(), database=self.database)
        self.fingerprint = fingerprint(state)
        for name in MAIN_STEPS:
            step = steps.get(name)
            if name == "consistency" and name in self.o["steps"] and not stopped:
                step = self._consistency()
            elif name == "baseline_dump" and name in self.o["steps"] and not stopped:
                step = self._baseline(state, planner)
            if step is not None:
                ordered.append(step)
                self.record["steps"][name] = {"status": step["status"], "at": self.at, "message": step["message"],
                                              "facts": step["facts"]}
        self.record["updated_at"] = self.at
        save_record(self.record_file, self.record)
        return self._result(ordered, state, mode, check=False)

    def _run_changes(self, changes, what):
        """One session: the changes compare-and-set, then the survey again (read back); ``(outcomes, after)``.
        What the session printed is journaled even when the read-back is missing (a session cut short)."""
        script = change_batches(changes) + survey_batches(self.database, self.queries)
        output, blocks, timed_out = self.sql(script, timeout=self.o["long_timeout"], what=what)
        try:
            after, unread = self._state_of(output, None), None
        except DatabaseError as exc:
            after, unread = None, exc
        outcomes = []
        for c in changes:
            lines = blocks.get("c:%s" % c["id"])
            status = isql.block_status(lines or []) or ("not_run" if lines is None else "failed")
            errors = [m for m in isql.messages(lines or []) if m["level"] >= 11]
            message = "; ".join("Msg %d: %s" % (m["number"], m["text"]) for m in errors) or None
            if timed_out and lines is None:
                message = "not run: the session timed out before it"
            outcomes.append({"change": c, "status": status, "message": message,
                             "in_place": in_place(c, after) if after else None})
        self._journal(outcomes)
        if any((o["in_place"] or (o["in_place"] is None and o["status"] == "applied")) and o["status"] != "conflict"
               for o in outcomes):
            self.changed = True
            self.record["last_change_at"] = self.at
        if unread is not None:
            applied = [o["change"]["description"] for o in outcomes if o["status"] == "applied"]
            self.record["updated_at"] = self.at
            save_record(self.record_file, self.record)
            raise DatabaseError("%s%s; the server could not be read back (%s): run the phase again to read it; the journal "
                                "%s holds what was applied (%s) and how to undo it" % (
                                    what, " timed out" if timed_out else " ended early", unread, self.journal_path,
                                    "; ".join(applied) or "nothing"))
        return outcomes, after

    def _apply_changes(self, state, steps, changes, again=True):
        """Apply the approved changes; conflicts are planned again from the read-back and applied once more."""
        outcomes, after = self._run_changes(changes, "the changes")
        if again and any(o["status"] == "conflict" for o in outcomes):
            return self._replan(after, steps, outcomes)
        self._settle(steps, outcomes, after)
        return after

    def _replan(self, after, steps, outcomes):
        """Conflicts: the server changed since the survey; plan again from what it holds now and apply once more."""
        replanned, _planner = self.plan(after)
        retry = []
        for name, step in steps.items():
            if any(o["status"] == "conflict" and o["change"]["step"] == name for o in outcomes):
                new = replanned.get(name) or step
                step["replanned"] = True
                # a KILL is never aimed again: the spid now names another connection than the one the operator listed
                again = [c for c in new["changes"] if c["kind"] != "kill"]
                if not new.get("needs_approval"):
                    retry += again
                step["changes"], step["sql"] = again, [statement_text(c) for c in again]
        self._settle(steps, outcomes, after)
        if retry:
            return self._apply_changes(after, steps, retry, again=False)
        return after

    def _settle(self, steps, outcomes, after):
        """Each step's status from its changes' outcomes and the read-back (verified only when its target holds)."""
        by_step = {}
        for outcome in outcomes:
            by_step.setdefault(outcome["change"]["step"], []).append(outcome)
        fresh_plan, _planner = self.plan(after)
        for name, found in by_step.items():
            step = steps[name]
            step.setdefault("outcomes", []).extend(
                {"id": o["change"]["id"], "description": o["change"]["description"], "status": o["status"],
                 "in_place": o["in_place"], "message": o["message"]} for o in found)
            again = fresh_plan.get(name)
            kills = [o for o in found if o["change"]["kind"] == "kill" and o["status"] == "conflict"]
            if again is not None and not again["changes"] and again["status"] not in BAD and \
                    all(o["in_place"] for o in found if o["status"] != "conflict"):
                step["status"], step["message"] = "verified", again["message"]
                step["facts"] = again["facts"]
            elif kills:
                step["status"] = "conflict"
                step["message"] = "; ".join("%s: not killed, the spid names another connection now (or it ended); list it "
                                            "again from a new plan if it must end" % o["change"]["description"] for o in kills)
            elif any(o["status"] == "conflict" for o in found):
                step["status"] = "conflict"
                step["message"] = "the server changed since the survey; planned again: %s" % (
                    "; ".join(c["description"] for c in (again or {}).get("changes", [])) or "nothing left to do")
            else:
                step["status"] = "failed"
                bad = [o for o in found if o["status"] != "applied" or o["in_place"] is False]
                step["message"] = "; ".join("%s: %s%s" % (o["change"]["description"], o["status"],
                                                          " (%s)" % o["message"] if o["message"] else "") for o in bad) or \
                    "the read-back does not show the target: %s" % ((again or {}).get("message"))

    def _journal(self, outcomes):
        if not self.o.get("journal_dir") or not any(o["in_place"] or o["status"] == "applied" for o in outcomes):
            return
        dump = [d for d in self.record.get("dumps") or [] if d.get("run") == self.stamp and d["kind"] == "safety"]
        entry = {"computer": self.who(), "database": self.database, "rollback": bool(self.o["rollback"]),
                 "safety_dump": dump, "changes": [{
                     "change": o["change"], "status": o["status"], "in_place": o["in_place"], "message": o["message"],
                     "undo": "possible" if o["change"].get("undo") else o["change"].get("irreversible")} for o in outcomes]}
        phase = "database_rollback" if self.o["rollback"] else "database"
        self.journal_path = write_record(self.o["journal_dir"], self.ctx.host, phase, self.stamp, entry)

    # -------------------------------------------------------------- dumps
    def _take_dump(self, state, kind, planner):
        """Dump the site database and master, verify the headers, size and hash the files, record them."""
        plan = dump_plan(state, self.o, kind, self.stamp)
        problems = self._file_checks(planner if kind == "safety" else Planner(state, self.o, self.params), [plan])
        name = "%s_dump" % kind
        statements = [s for item in plan for s in dump_statements(item)]
        if problems:
            return self._plain_step(name, "failed", "not dumped: %s" % "; ".join(problems), sql=statements)
        _output, blocks, timed_out = self.sql(dump_script(plan), timeout=self.o["long_timeout"], what="the %s dump" % kind)
        files = self.files([{"path": item["path"], "hash": True} for item in plan])
        dumps, bad = [], []
        for index, item in enumerate(plan):
            errors = [m for m in isql.messages(blocks.get("dump:%d" % index, [])) if m["level"] >= 11]
            header = header_row(blocks.get("header:%d" % index, []), item["database"])
            stat = files.get(item["path"]) or {}
            dump = {"kind": kind, "database": item["database"], "path": item["path"], "at": self.at, "run": self.stamp,
                    "computer": self.who(), "size": stat.get("size"), "sha256": stat.get("sha256"),
                    "hash_error": stat.get("error"), "header": header, "fingerprint": self.fingerprint,
                    "verified": bool(header) and not errors and bool(stat.get("exists")) and bool(stat.get("size"))}
            if not dump["verified"]:
                why = "; ".join("Msg %d: %s" % (m["number"], m["text"]) for m in errors) or \
                    ("the session timed out" if timed_out else "") or \
                    ("LOAD HEADERONLY shows no database dump of %s" % item["database"] if not header else "the file is missing or empty")
                bad.append("%s: %s" % (item["path"], why))
            dumps.append(dump)
        self.record["dumps"] = (self.record.get("dumps") or []) + dumps
        if bad:
            return self._plain_step(name, "failed", "not verified: %s" % "; ".join(bad), sql=statements,
                                    facts={"dumps": dumps})
        self.changed = True
        unhashed = [d["path"] for d in dumps if not d["sha256"]]
        if unhashed:
            self.warnings.append("%s: %s verified by its header but not hashed (%s)" % (
                self.ctx.host, ", ".join(unhashed), "; ".join(filter(None, (d["hash_error"] for d in dumps)))))
        text = ", ".join("%s %d bytes sha256 %s" % (d["path"], d["size"] or 0, d["sha256"]) for d in dumps)
        return self._plain_step(name, "verified", text, sql=statements, facts={"dumps": dumps})

    def _baseline(self, state, planner):
        blocking = self._open_steps()
        if blocking:
            return self._plain_step("baseline_dump", "blocked", "not taken: %s not done" % ", ".join(blocking))
        if self._baseline_fresh():
            return self._plain_step("baseline_dump", "ok", "verified at %s" % latest_dump(self.record, "baseline", self.database)["at"])
        return self._take_dump(state, "baseline", planner)

    def _open_steps(self):
        """Steps of this run that must hold before the baseline: the changing steps and a clean DBCC."""
        consistency = self.record.get("consistency") or {}
        open_ = [] if consistency.get("clean") and consistency.get("fingerprint") == self.fingerprint else ["consistency"]
        open_ += [name for name in ("site_db_size", "tempdb", "transaction_log")
                  if (self.record["steps"].get(name) or {}).get("status") in BAD + ("needs_approval", "blocked")]
        return open_

    # -------------------------------------------------------------- DBCC
    def _consistency(self):
        statements = ["DBCC %s (%s)" % (c, self.database) for c in phase_data()["dbcc"]["commands"]]
        if self._consistency_fresh():
            record = self.record["consistency"]
            return self._plain_step("consistency", "ok", "clean at %s" % record["at"], findings=record.get("findings"))
        _output, blocks, timed_out = self.sql(dbcc_script(self.database), timeout=self.o["long_timeout"], what="DBCC")
        clean, findings = dbcc_findings(blocks)
        self.record["consistency"] = {"at": self.at, "clean": clean, "findings": findings, "timed_out": timed_out,
                                      "fingerprint": self.fingerprint}
        if clean:
            text = "DBCC %s clean%s" % (", ".join(phase_data()["dbcc"]["commands"]),
                                        " (%d informational message(s))" % len(findings) if findings else "")
            return self._plain_step("consistency", "verified", text, sql=statements, findings=findings)
        errors = [f for f in findings if f["level"] >= phase_data()["dbcc"]["error_level"]]
        text = "%d error(s): %s" % (len(errors), "; ".join("DBCC %s%s: %s" % (
            f["command"], " Msg %d" % f["number"] if f["number"] else "", f["text"]) for f in errors[:5]))
        return self._plain_step("consistency", "findings", text, sql=statements, findings=findings)

    # -------------------------------------------------------------- results
    def _result(self, ordered, state, mode, check):
        statuses = {}
        for step in ordered:
            statuses[step["status"]] = statuses.get(step["status"], 0) + 1
        shown = [{k: v for k, v in step.items() if k != "changes"} for step in ordered]
        result = {"phase": "database", "mode": mode, "computer": self.who(), "database": self.database,
                  "steps": shown, "module_calls": self.calls, "diff": self.diff, "record_path": self.record_file,
                  "journal_path": self.journal_path, "changed": self.changed}
        bad = [s for s in ordered if s["status"] in BAD]
        manual = [s for s in ordered if s["status"] in WAITING]
        summary = ", ".join("%d %s" % (n, status.replace("_", " ")) for status, n in sorted(statuses.items()))
        text = "%s: database %s on %s: %s" % (self.ctx.host, self.database, self.who(), summary or "nothing to do")
        if bad:
            text += "; " + "; ".join("%s %s: %s" % (s["name"], s["status"], s["message"]) for s in bad)
            if not check:
                result["failed"] = True
        if manual:
            self.warnings += ["%s: %s %s: %s%s" % (
                self.ctx.host, s["name"], s["status"].replace("_", " "), s["message"],
                "".join("; to do: %s" % m for m in s["manual"])) for s in manual]
        for step in ordered:
            self.warnings += ["%s: %s: %s" % (self.ctx.host, step["name"], p) for p in step.get("problems") or []]
            if step["name"] == "tempdb" and any(c["kind"] == "alter_database" for c in step.get("changes", [])):
                self.warnings.append("%s: starting SQL Server with -f (minimal configuration) drops the fragments added to "
                                     "tempdb (KB Q170124): run this phase again after such a start" % self.ctx.host)
        result["msg"] = text
        if self.warnings:
            result["warnings"] = list(self.warnings)
        return result

    # -------------------------------------------------------------- rollback
    def rollback(self, site, from_snapshot):
        """Undo, compare-and-set, what the journal says is in place and can be undone; name what cannot be."""
        undo, cannot = [], []
        paths = record_paths(self.o["journal_dir"], self.ctx.host, "database") if self.o.get("journal_dir") else []
        items = [item for path in paths for item in read_record(path)["changes"]
                 if item.get("in_place") or (item.get("in_place") is None and item.get("status") == "applied")]
        used = {item["change"]["expect"].get("device") for item in items if item["change"]["kind"] == "alter_database"}
        for item in reversed(items):
            c = item["change"]
            if c["kind"] == "disk_init" and c["expect"]["device"] in used:
                cannot.append("%s: the device holds a database fragment now, so it cannot be dropped (%s)" % (
                    c["description"], NOT_SHRINKABLE))
            elif c.get("undo"):
                if all(u["id"] != c["undo"]["id"] for u in undo):
                    undo.append(c["undo"])
            else:
                cannot.append("%s: %s" % (c["description"], c.get("irreversible")))
        state = None if from_snapshot else self.survey(site)
        if state is not None:
            undo = [u for u in undo if not in_place(u, state)]
        text = "%s: database rollback on %s: %d change(s) to undo" % (self.ctx.host, self.who(), len(undo))
        step = {"name": "rollback", "checklist": [], "why": "undo from the journal what can be undone",
                "status": "planned" if undo else "ok", "message": text, "facts": {}, "manual": [], "problems": [],
                "sql": [statement_text(u) for u in undo], "cannot_undo": cannot}
        if undo:
            self._diff("safety_dump", "", "", step["sql"], step["why"])
        result = {"phase": "database", "rollback": True, "computer": self.who(), "database": self.database,
                  "steps": [step], "cannot_undo": cannot, "diff": self.diff, "changed": bool(undo),
                  "record_path": self.record_file, "module_calls": self.calls}
        if cannot:
            self.warnings.append("%s: cannot be undone: %s" % (self.ctx.host, "; ".join(cannot)))
        result["warnings"] = self.warnings
        if not undo or self.ctx.check_mode:
            result["msg"] = text + ("" if not cannot else "; %d cannot be undone" % len(cannot))
            return result
        safety = self._take_dump(state, "safety", Planner(state, self.o, self.params))
        if safety["status"] != "verified":
            result.update(failed=True, changed=self.changed, msg="%s; not undone: %s" % (text, safety["message"]),
                          steps=[safety, dict(step, status="blocked")])
            save_record(self.record_file, self.record)
            return result
        outcomes, after = self._run_changes(undo, "the rollback")
        self.record.update(state=after.snapshot, updated_at=self.at)
        save_record(self.record_file, self.record)
        shown = [{"id": o["change"]["id"], "description": o["change"]["description"], "status": o["status"],
                  "in_place": o["in_place"], "message": o["message"]} for o in outcomes]
        failed = [o for o in shown if not o["in_place"]]
        result.update(steps=[safety, dict(step, outcomes=shown, status="failed" if failed else "verified")],
                      changed=True, journal_path=self.journal_path, module_calls=self.calls,
                      msg=text + ("; not undone: %s" % "; ".join(o["description"] for o in failed) if failed else "; done"))
        if failed:
            result["failed"] = True
        return result


# ================================================================== the rehearsal on the lab server
class Rehearsal:
    """Step 9: the baseline dump loaded on a lab SQL Server and CONV20.EXE run against it (the task is delegated to
    the lab server or its relay; ``computer`` is the lab server)."""

    def __init__(self, run):
        self.r = run
        self.o = run.o

    def _lab(self):
        """The lab SQL Server: the task's host (in sms_lab_sql), reached directly or through its relay; never the
        production server whose baseline is rehearsed."""
        lab = self._lab_name()
        source = self.o["source_host"]
        production = {n.upper() for n in filter(None, [self.r.record.get("computer"), source])}
        if lab.upper() in production:
            raise DatabaseError("the lab server %s is the production SQL Server of %s: the rehearsal never touches "
                                "production" % (lab, source))
        return lab

    def _baseline(self):
        dump = latest_dump(self.r.record, "baseline", self.r.database)
        if not dump or not fresh(dump["at"], self.r.now, self.r.max_age):
            return None
        return dump

    def lab_path(self, dump):
        """The baseline dump as the lab server reads it: the option, else the production server's admin share."""
        if self.o.get("lab_dump_path"):
            return isql.check_path(self.o["lab_dump_path"])
        match = re.match(r"^([A-Za-z]):\\(.*)$", dump["path"])
        if not match:
            return isql.check_path(dump["path"])
        return isql.check_path("\\\\%s\\%s$\\%s" % (dump["computer"], match.group(1).upper(), match.group(2)))

    def statements(self, lab_db, path):
        return ["LOAD DATABASE %s FROM DISK = %s" % (isql.check_identifier(lab_db), isql.quote(path)),
                "CONV20.EXE /S %s /D %s /U %s /P ********" % (self._lab_name(), lab_db, self.o.get("login_user") or "sa")]

    def _lab_name(self):
        return self.r.ctx.target.computer or self.r.ctx.host

    def run(self, from_snapshot):
        result = self._run(from_snapshot)
        host, database, source = self.r.ctx.host, self.r.database, self.o["source_host"]
        result["msg"] = result["msg"].replace("%s: database %s on" % (host, database),
                                              "%s: rehearsal of %s (%s) on" % (host, database, source), 1)
        result["source_host"] = self.o["source_host"]
        return result

    def _run(self, from_snapshot):
        r = self.r
        lab_db = isql.check_identifier(self.o.get("lab_database") or r.database)
        dump = self._baseline()
        record = r.record.get("rehearsal") or {}
        if from_snapshot or r.ctx.check_mode:
            path = self.lab_path(dump) if dump else "<baseline dump of the next run>"
            statements = self.statements(lab_db, path)
            r._diff("rehearsal", "", "", statements, " ".join(step_spec("rehearsal")["why"].split()))
            step = r._plain_step("rehearsal", "planned", "on lab server %s: load %s into %s and run CONV20.EXE%s" % (
                self._lab_name(), path, lab_db, "" if dump else " (no verified baseline dump yet)"), sql=statements)
            result = r._result([step], None, "snapshot" if from_snapshot else "lab", check=True)
            result["changed"] = True
            return result
        lab = self._lab()
        if not dump:
            step = r._plain_step("rehearsal", "blocked", "no verified baseline dump of %s within %s days: run the phase "
                                 "first" % (r.database, r.max_age))
            return r._result([step], None, "lab", check=False)
        if record.get("clean") and record.get("baseline_sha256") == dump.get("sha256") and \
                record.get("baseline_path") == dump["path"] and fresh(record.get("at"), r.now, r.max_age):
            step = r._plain_step("rehearsal", "ok", "the baseline %s converted cleanly on %s at %s" % (
                dump["path"], record.get("lab_server"), record["at"]), findings=record.get("findings"))
            return r._result([step], None, "lab", check=False)
        if not self.o.get("conv20_path"):
            step = r._plain_step("rehearsal", "blocked", "set sms_upgrade_conv20_path to CONV20.EXE on %s (the seed names "
                                 "%s on the SMS 2.0 compact disc)" % (lab, phase_data()["rehearsal"]["conv20_relative"]))
            return r._result([step], None, "lab", check=False)
        path = self.lab_path(dump)
        statements = self.statements(lab_db, path)
        problem = self._load(lab, lab_db, path)
        if problem:
            step = r._plain_step("rehearsal", "failed", "not loaded on %s: %s" % (lab, problem), sql=statements)
            self._save(lab, dump, False, [{"number": None, "text": problem, "line": None}], None)
            return r._result([step], None, "lab", check=False)
        raw = r._module(r._login({"mode": "conv20", "conv20_path": self.o["conv20_path"], "conv20_database": lab_db,
                                  "conv20_log": self.o.get("conv20_log") or phase_data()["rehearsal"]["log_path_default"],
                                  "timeout": self.o["long_timeout"]}))
        if raw.get("failed"):
            raise DatabaseError("CONV20.EXE could not be run for %s: %s" % (lab, raw.get("msg")))
        clean, findings = conv20_findings(raw.get("log"), raw.get("rc"))
        if raw.get("timed_out"):
            clean = False
            findings.append({"number": None, "text": "CONV20.EXE did not finish within %s s" % self.o["long_timeout"],
                             "line": None})
        self._save(lab, dump, clean, findings, raw.get("log_path"))
        r.changed = True
        text = "the baseline %s loaded into %s on %s and converted by CONV20.EXE: %s" % (
            dump["path"], lab_db, lab, "clean" if clean else "%d finding(s): %s" % (
                len(findings), "; ".join(f["text"] for f in findings[:5])))
        step = r._plain_step("rehearsal", "verified" if clean else "findings", text, sql=statements, findings=findings)
        return r._result([step], None, "lab", check=False)

    def _load(self, lab, lab_db, path):
        """Check the lab server and LOAD the dump into ``lab_db``, compare-and-set; a problem text, or None."""
        r = self.r
        _output, blocks, _timed_out = r.sql(isql.batch("lab:version", "select @@version"), what="the lab server's version",
                                            read_only=True)
        try:
            version = gathered.sql_version({"version": blocks.get("lab:version", [])})["version"]
        except gathered.SectionProblem as exc:
            return "the lab server could not be read: %s" % exc
        minimum = "6.50.281"
        if not version.startswith("6.5") or tuple(int(x) for x in version.split(".")) < tuple(int(x) for x in minimum.split(".")):
            return "the lab server runs SQL Server %s; the rehearsal needs 6.5 SP4 (%s) or later 6.5 like production" % (
                version, minimum)
        load = isql.batch("lab:load", isql.guarded([cond_database(lab_db), cond_not_in_use(lab_db)],
                                                   "LOAD DATABASE %s FROM DISK = %s" % (lab_db, isql.quote(path))))
        _output, blocks, timed_out = r.sql(load, timeout=self.o["long_timeout"], what="the lab load")
        lines = blocks.get("lab:load")
        status = isql.block_status(lines or [])
        errors = [m for m in isql.messages(lines or []) if m["level"] >= 11]
        if status == "conflict":
            return "database %s does not exist on %s or is in use (create it at least as large as %s, close its " \
                "connections)" % (lab_db, lab, r.database)
        if status != "applied" or errors:
            return "; ".join("Msg %d: %s" % (m["number"], m["text"]) for m in errors) or (
                "the session timed out" if timed_out else "LOAD DATABASE printed no result")
        return None

    def _save(self, lab, dump, clean, findings, log_path):
        r = self.r
        r.record["rehearsal"] = {"at": r.at, "lab_server": lab, "clean": clean, "findings": findings,
                                 "baseline_path": dump["path"], "baseline_sha256": dump.get("sha256"),
                                 "log_path": log_path}
        r.record["updated_at"] = r.at
        save_record(r.record_file, r.record)


# ================================================================== the phase
STEP_NAMES = MAIN_STEPS + ("rehearsal",)


class DatabasePhase(Phase):
    """Prepare the SMS site database on SQL Server 6.5 for the upgrade (one SQL Server per host)."""

    NAME = "database"
    DESCRIPTION = "Prepare the site database on SQL Server 6.5 (PRE-14 to PRE-16, PRE-29, PRE-30, PRE-32, UPG-07)"
    MODULE = MODULE
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*", "sql.not_sql7")
    CHECKLIST = {
        "PRE-14": "Phase database (playbook sms.upgrade.database; docs/database.md): step site_db_size grows the data and log "
                  "devices to 100 KB per computer and 10 % of the data with DISK INIT and ALTER DATABASE (approved with "
                  "database_approve), compare-and-set, verified from sysusages.",
        "PRE-15": "Phase database: step tempdb sizes tempdb from the site database data device(s) (200 MB -> 40 MB data, "
                  "8 MB log) on its own devices and turns 'select into/bulkcopy' on; warns that -f drops the fragments.",
        "PRE-16": "Phase database: steps consistency (DBCC CHECKDB, NEWALLOC, CHECKCATALOG, every Msg line a finding), "
                  "duplicates, and the safety and baseline dumps of the site and master databases (LOAD HEADERONLY, "
                  "SHA-256); manual.routine_maintenance passes from these verified results.",
        "PRE-29": "Phase database: dumps, tempdb at 20 % of all databases, 'trunc. log on chkpt.' (journaled for putting "
                  "back), machine history and DBClean unused records verified from the database (the deletion stays a "
                  "person's step), DBCC and the lab rehearsal; manual.site_data_prepared passes from them. The SMS "
                  "registry keys are the preserve phase's, the SMS tree's copy the site upgrade's rollback point.",
        "PRE-30": "Phase database: step duplicates reports duplicate SMSIDs from the database (query UNCONFIRMED, "
                  "overridable); deleting them stays a confirmed step (SMS Administrator, the clones' SMS.INI), verified "
                  "when none remain.",
        "PRE-32": "Phase database: step rehearsal loads the baseline dump on a lab SQL Server 6.5 SP4 named in the "
                  "inventory (the first host of sms_lab_sql) and runs CONV20.EXE (path sms_upgrade_conv20_path); Conv20.log "
                  "becomes findings; manual.conversion_tested passes from a clean, fresh rehearsal.",
        "UPG-07": "Phase database: step connections lists the connections that would keep CONV20 from single-user mode "
                  "(not the SMS services' own) with program and host, and KILLs only the spids listed in database_kill; "
                  "never sets single-user mode itself.",
        "FAQ-01": "Phase database: step connections (SQL Msg 6102, 'Unable to put database in single-user mode').",
    }
    OPTIONS = {
        "vault_dir": {"type": "path", "required": True},
        "snapshot_dir": {"type": "path"},
        "journal_dir": {"type": "path"},
        "from_snapshot": {"type": "bool", "default": False},
        "database": {"type": "str"},
        "site_code": {"type": "str"},
        "steps": {"type": "list", "elements": "str", "default": list(MAIN_STEPS)},
        "approve": {"type": "list", "elements": "str", "default": []},
        "kill": {"type": "list", "elements": "int", "default": []},
        "rollback": {"type": "bool", "default": False},
        "dump_dir": {"type": "str"},
        "device_dir": {"type": "str"},
        "log_method": {"type": "str", "default": "option", "choices": ["option", "size"]},
        "sql_client": {"type": "str", "default": "isql.exe"},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "timeout": {"type": "int", "default": 600},
        "long_timeout": {"type": "int", "default": 7200},
        "sql_queries": {"type": "dict", "default": {}},
        "queries": {"type": "dict", "default": {}},
        "params": {"type": "dict", "default": {}},
        "share_map": {"type": "dict", "default": {}},
        "results_max_age": {"type": "int"},
        "source_host": {"type": "str"},
        "lab_database": {"type": "str"},
        "lab_dump_path": {"type": "str"},
        "conv20_path": {"type": "str"},
        "conv20_log": {"type": "str"},
    }
    MODULE_OPTIONS = ()
    SET_BY_ACTION = ("mode", "script", "read_only", "client", "paths", "conv20_database", "width")

    def run(self, ctx, hands):
        args = dict(ctx.args)
        unknown = sorted(set(args["steps"]) - set(STEP_NAMES))
        if unknown or not args["steps"]:
            raise ValueError("steps names unknown steps %s (known: %s)" % (", ".join(unknown) or "(none)", ", ".join(STEP_NAMES)))
        if "rehearsal" in args["steps"] and len(args["steps"]) > 1:
            raise ValueError("the rehearsal runs in its own task (delegated to the lab server): steps must be [rehearsal] "
                             "alone")
        bad = sorted(set(args["approve"]) - set(phase_data()["approval_steps"]))
        if bad:
            raise ValueError("approve names %s; only %s need approval" % (", ".join(bad), ", ".join(phase_data()["approval_steps"])))
        if args.get("results_max_age") is None:
            args["results_max_age"] = merge_params(args.get("params") or {})["database_results_max_age_days"]
        if "rehearsal" in args["steps"]:
            return self._rehearsal(ctx, hands, args)
        snapshot = host_snapshot(args.get("snapshot_dir"), ctx.host, args["from_snapshot"])
        if args["from_snapshot"] and (snapshot or {}).get("kind") != "site_database":
            raise ValueError("the snapshot of %s is no site_database snapshot: gather it as a SQL host (sms_sql)" % ctx.host)
        database = args.get("database") or (snapshot or {}).get("site_database")
        if not database:
            raise ValueError("the site database is unknown: set sms_upgrade_site_database (or gather the host first)")
        args["_database"] = isql.check_identifier(database)
        site = resolve_site(args.get("site_code"), snapshot, ctx.groups, args["vault_dir"], ctx.host)
        if not site:
            raise ValueError("site code unknown: set site_code, put the host in an sms_site_XXX group or gather it")
        run = DatabaseRun(self, ctx._replace(args=args), hands)
        try:
            return run.run(snapshot, site.upper(), args["from_snapshot"])
        except (DatabaseError, isql.SqlScriptError) as exc:
            raise DatabaseError(str(exc)) from None

    def _rehearsal(self, ctx, hands, args):
        """The rehearsal task runs for the lab SQL Server (an inventory host in sms_lab_sql) and rehearses the baseline
        of ``source_host``, whose record (found in the vault) and snapshot say which database and dump."""
        source = args.get("source_host")
        if not source:
            raise ValueError("the rehearsal needs source_host: the production SQL host whose baseline dump is loaded here")
        snapshot = host_snapshot(args.get("snapshot_dir"), source)
        database = args.get("database") or (snapshot or {}).get("site_database")
        if not database:
            raise ValueError("the site database of %s is unknown: set its sms_upgrade_site_database or gather it" % source)
        args["_database"] = isql.check_identifier(database)
        path = find_record(args["vault_dir"], source)
        if path is None:
            site = resolve_site(args.get("site_code"), snapshot, (), None, None)
            if not site:
                raise ValueError("site code of %s unknown: set site_code or gather it" % source)
            path = record_path(args["vault_dir"], site.upper(), source)
        run = DatabaseRun(self, ctx._replace(args=args), hands)
        try:
            return run.rehearse(path, args["from_snapshot"])
        except (DatabaseError, isql.SqlScriptError) as exc:
            raise DatabaseError(str(exc)) from None


PHASE = DatabasePhase()
