"""Phases that apply a set of explicit compare-and-set changes planned on the controller (client_agents; later the
services and shares of the site upgrade).

One host, one run: take the host's entry of the fleet plan (or plan it here from its snapshot; or, for a rollback,
invert its newest journal record), send every change in one module call, plan each conflict again from what the
target reported and send those once more, record what changed in the journal, and return per-change outcomes and a
diff. A room subclasses :class:`ChangeSetPhase` and implements ``plan_snapshot``, ``replan``, ``invert``,
``describe``, ``diff`` and ``wire``.
"""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.fleet_plan import plan_hosts
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import write_record

APPLIED = ("changed", "would_change")
BAD = ("conflict", "failed")
# What is kept of each change result of the module (New-SmsChangeResult); ``current`` is read for conflicts.
RESULT_KEYS = ("id", "status", "message", "cause", "backup")

CHANGESET_OPTIONS = {
    "plan": {"type": "dict"},
    "snapshot_dir": {"type": "path"},
    "journal_dir": {"type": "path"},
    "plan_only": {"type": "bool", "default": False},
    "rollback": {"type": "bool", "default": False},
}


class ModuleFailed(RuntimeError):
    """The module failed as a whole or answered without a result for a change (the whole task fails)."""


def all_unreachable(results):
    """True when every change failed because the machine could not be reached."""
    return bool(results) and all(r.get("status") == "failed" and r.get("cause") == "unreachable" for r in results)


def _counts_text(outcomes, planned):
    counts = {}
    for outcome in outcomes:
        counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
    parts = ["%d %s" % (n, status.replace("_", " ")) for status, n in sorted(counts.items())]
    if planned:
        parts.append("%d planned" % planned)
    return parts


class ChangeSetPhase(Phase):
    """A phase whose whole work on a host is one list of compare-and-set changes."""

    OPTIONS = CHANGESET_OPTIONS

    # ------------------------------------------------------------------ room hooks
    def replan(self, change, current):
        """The change planned again from what the target holds (``current`` of a conflict); None: nothing to do."""
        raise NotImplementedError

    def diff(self, change):
        """An Ansible diff entry (before/after with headers) for one change."""
        raise NotImplementedError

    def wire(self, change):
        """What the module needs of a change (display-only fields left out)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ the run
    def run(self, ctx, hands):
        args = ctx.args
        changes, problems, source = self._entry(ctx)
        result = {"phase": self.NAME, "rollback": args["rollback"], "problems": problems, "source": source,
                  "planned": [self.describe(c) for c in changes]}
        if not changes:
            result.update(changed=False, changes=[], msg=self.summary(ctx, [], problems))
            return self._with_failure(result, problems, [])
        if args["plan_only"]:
            planned = [{"id": c["id"], "status": "planned", "description": self.describe(c)} for c in changes]
            result.update(changed=bool(ctx.check_mode), changes=planned, diff=[self.diff(c) for c in changes],
                          msg=self.summary(ctx, [], problems, planned=len(changes)))
            if not ctx.check_mode:
                result["warnings"] = ["%s: plan only (the host is assessed from its snapshot); nothing was applied" % ctx.host]
            return self._with_failure(result, problems, [])
        outcomes, applied = self._apply(ctx, hands, changes)
        if all_unreachable(outcomes):
            result.update(changed=False, unreachable_target=True, changes=outcomes,
                          msg="%s: %s could not be reached: %s" % (ctx.host, ctx.target.computer or ctx.host,
                                                                   outcomes[0].get("message")))
            return result
        result["journal_path"] = self._journal(ctx, source, applied, outcomes)
        warnings = ["%s: %s: %s" % (ctx.host, o["description"], o["message"]) for o in outcomes
                    if o["status"] in APPLIED and o.get("cause") and o.get("message")]
        if warnings:
            result["warnings"] = warnings
        result.update(changed=any(o["status"] in APPLIED for o in outcomes), changes=outcomes,
                      diff=[self.diff(c) for c, o in zip(applied, outcomes) if o["status"] in APPLIED],
                      msg=self.summary(ctx, outcomes, problems))
        return self._with_failure(result, problems, outcomes)

    def _entry(self, ctx):
        """The host's entry of a fleet plan (option ``plan``, made once for all hosts), or one planned here."""
        entry = ctx.args.get("plan")
        if entry is None:
            entry = plan_hosts(self, [ctx.host], ctx.args.get("snapshot_dir"), ctx.args.get("journal_dir"),
                               ctx.args["rollback"]).get(ctx.host) or {}
        elif not isinstance(entry.get("changes", []), list) or not isinstance(entry.get("problems", []), list):
            raise ValueError("plan must be a phase_plan entry with lists 'changes' and 'problems'")
        return list(entry.get("changes", [])), list(entry.get("problems", [])), entry.get("source")

    def _send(self, ctx, hands, changes):
        raw = hands.module(self.MODULE, self.module_args(ctx, changes=[self.wire(c) for c in changes]))
        if raw.get("failed"):
            raise ModuleFailed(raw.get("msg", "module failed"))
        by_id = {r.get("id"): r for r in raw.get("changes") or []}
        missing = [c["id"] for c in changes if c["id"] not in by_id]
        if missing:
            raise ModuleFailed("the module returned no result for %s" % ", ".join(missing))
        return [by_id[c["id"]] for c in changes]

    def _apply(self, ctx, hands, changes):
        """Send the changes; plan each conflict again from what the target holds and send those once more."""
        changes = list(changes)
        outcomes = self._send(ctx, hands, changes)
        retry = []
        for index, (change, outcome) in enumerate(zip(changes, outcomes)):
            if outcome["status"] == "conflict" and not ctx.args["rollback"] and outcome.get("current") is not None:
                try:
                    again = self.replan(change, outcome["current"])
                except ValueError as exc:
                    outcomes[index] = dict(outcome, message="%s; cannot plan again: %s" % (outcome.get("message"), exc))
                    continue
                if again is None:
                    outcomes[index] = dict(outcome, status="unchanged", message="already as planned (changed meanwhile)")
                else:
                    retry.append((index, again))
        if retry:
            second = self._send(ctx, hands, [c for _i, c in retry])
            for (index, again), outcome in zip(retry, second):
                changes[index] = again
                outcomes[index] = dict(outcome, replanned=True)
        return [self._outcome(c, o) for c, o in zip(changes, outcomes)], changes

    def _outcome(self, change, outcome):
        kept = {key: outcome.get(key) for key in RESULT_KEYS if outcome.get(key)}
        kept["description"] = self.describe(change)
        if outcome.get("replanned"):
            kept["replanned"] = True
        return kept

    def _journal(self, ctx, source, applied, outcomes):
        """Record what changed (with the previous values) on the controller; None when nothing changed."""
        if ctx.check_mode or not ctx.args.get("journal_dir") or not any(o["status"] == "changed" for o in outcomes):
            return None
        record = {"computer": ctx.target.computer or ctx.host, "rollback": ctx.args["rollback"], "source": source,
                  "changes": [{"change": change, "status": outcome["status"], "message": outcome.get("message"),
                               "backup": outcome.get("backup")} for change, outcome in zip(applied, outcomes)]}
        phase = self.NAME + ("_rollback" if ctx.args["rollback"] else "")
        return write_record(ctx.args["journal_dir"], ctx.host, phase, compact_stamp(ctx.now), record)

    def summary(self, ctx, outcomes, problems, planned=0):
        """``HOST: phase: 2 changed, 1 unchanged; not planned: …; <change> failed: …``."""
        rollback = ctx.args["rollback"]
        parts = _counts_text(outcomes, planned) or [
            "nothing applied" if problems else "nothing to %s" % ("roll back" if rollback else "change")]
        text = "%s: %s%s: %s" % (ctx.host, self.NAME, " rollback" if rollback else "", ", ".join(parts))
        if problems:
            text += "; not planned: " + "; ".join(problems)
        bad = [o for o in outcomes if o["status"] in BAD]
        if bad:
            text += "; " + "; ".join("%s %s: %s" % (o["description"], o["status"], o.get("message") or o.get("cause"))
                                     for o in bad)
        return text

    @staticmethod
    def _with_failure(result, problems, outcomes):
        if problems or any(o["status"] in BAD for o in outcomes):
            result["failed"] = True
        return result
