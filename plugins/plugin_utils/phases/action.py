"""A reusable action base for the phases that change SMS machines (microsoft.ad style ``plugin_utils`` action).

The action runs on the controller around a PowerShell apply module: it plans the explicit changes for the
host (subclass), sends them in one module call (direct, or ``computer`` through the relay the task is
delegated to), plans again from what the target reported for each conflict and sends those once more,
records what changed in the journal on the controller, and returns a per-change result and a diff.

Rollback reads the newest journal record of the phase and applies the inverse of every change that was
made, with the same compare-and-set rules.
"""
from datetime import datetime, timezone

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import write_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.fleet_plan import plan_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import target_computer

APPLIED = ("changed", "would_change")
BAD = ("conflict", "failed")
# What the action keeps of each change result of the module (New-SmsChangeResult); ``current`` is read for conflicts.
RESULT_KEYS = ("id", "status", "message", "cause", "backup")


def utc_stamp():
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def all_unreachable(results):
    """True when every change failed because the machine could not be reached."""
    return bool(results) and all(r.get("status") == "failed" and r.get("cause") == "unreachable" for r in results)


class ApplyAction(ActionBase):
    """Subclasses set PHASE and MODULE and implement ``plan``, ``replan``, ``invert``, ``describe``, ``diff``
    and ``wire``."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    PHASE = None
    MODULE = None
    ACTION_OPTIONS = {
        "plan": {"type": "dict"},
        "snapshot_dir": {"type": "path"},
        "journal_dir": {"type": "path"},
        "plan_only": {"type": "bool", "default": False},
        "rollback": {"type": "bool", "default": False},
    }
    MODULE_OPTIONS = {
        "computer": {"type": "str"},
        "stop_timeout": {"type": "int", "default": 60},
        "share_map": {"type": "dict", "default": {}},
    }

    # ------------------------------------------------------------------ subclass hooks
    def replan(self, change, current):
        raise NotImplementedError

    def describe(self, change):
        raise NotImplementedError

    def diff(self, change):
        raise NotImplementedError

    def wire(self, change):
        raise NotImplementedError

    # ------------------------------------------------------------------ the run
    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        host = task_vars.get("inventory_hostname", "localhost")
        validated = ArgumentSpecValidator(dict(self.ACTION_OPTIONS, **self.MODULE_OPTIONS)).validate(dict(self._task.args))
        if validated.error_messages:
            raise AnsibleActionFail("%s: %s: %s" % (self._task.action, host, "; ".join(validated.error_messages)))
        args = validated.validated_parameters
        try:
            result.update(self._run(host, args, task_vars))
        except (ValueError, OSError) as exc:
            raise AnsibleActionFail("%s: %s: %s" % (self._task.action, host, exc)) from None
        return result

    def _run(self, host, args, task_vars):
        changes, problems, facts = self._plan(host, args)
        check_mode = self._task.check_mode
        result = dict(facts, phase=self.PHASE, rollback=args["rollback"], problems=problems,
                      planned=[self.describe(c) for c in changes])
        if not changes:
            result.update(changed=False, changes=[], msg=self._summary(host, [], problems, args))
            return self._with_failure(result, problems, [])
        if args["plan_only"]:
            planned = [{"id": c["id"], "status": "planned", "description": self.describe(c)} for c in changes]
            result.update(changed=bool(check_mode), changes=planned, diff=[self.diff(c) for c in changes],
                          msg=self._summary(host, [], problems, args, planned=len(changes)))
            if not check_mode:
                result["warnings"] = ["%s: plan only (the host is assessed from its snapshot); nothing was applied" % host]
            return self._with_failure(result, problems, [])
        computer = target_computer(self._task, task_vars, host, args["computer"])
        outcomes, applied = self._apply(changes, computer, args, task_vars)
        if all_unreachable(outcomes):
            result.update(changed=False, unreachable_target=True, changes=outcomes,
                          msg="%s: %s could not be reached: %s" % (host, computer or host, outcomes[0].get("message")))
            return result
        journal = None
        if not check_mode and args["journal_dir"] and any(o["status"] == "changed" for o in outcomes):
            record = {"computer": computer or host, "rollback": args["rollback"], "source": facts.get("source"),
                      "changes": [{"change": change, "status": outcome["status"], "message": outcome.get("message"),
                                   "backup": outcome.get("backup")} for change, outcome in zip(applied, outcomes)]}
            phase = self.PHASE + ("_rollback" if args["rollback"] else "")
            journal = write_record(args["journal_dir"], host, phase, utc_stamp(), record)
        warnings = ["%s: %s: %s" % (host, o["description"], o["message"]) for o in outcomes
                    if o["status"] in APPLIED and o.get("cause") and o.get("message")]
        if warnings:
            result["warnings"] = warnings
        result.update(changed=any(o["status"] in APPLIED for o in outcomes), changes=outcomes, journal_path=journal,
                      diff=[self.diff(c) for c, o in zip(applied, outcomes) if o["status"] in APPLIED],
                      msg=self._summary(host, outcomes, problems, args))
        return self._with_failure(result, problems, outcomes)

    def _plan(self, host, args):
        """The host's entry of a fleet plan (option ``plan``, made once for all hosts), or one planned here."""
        entry = args["plan"]
        if entry is None:
            entry = plan_fleet(self.PHASE, [host], args["snapshot_dir"], args["journal_dir"], args["rollback"]).get(host) or {}
        elif not isinstance(entry.get("changes", []), list) or not isinstance(entry.get("problems", []), list):
            raise ValueError("plan must be a phase_plan entry with lists 'changes' and 'problems'")
        return list(entry.get("changes", [])), list(entry.get("problems", [])), {"source": entry.get("source")}

    def _execute(self, changes, computer, args, task_vars):
        module_args = {"changes": [self.wire(c) for c in changes], "stop_timeout": args["stop_timeout"],
                       "share_map": args["share_map"]}
        if computer:
            module_args["computer"] = computer
        raw = self._execute_module(module_name=self.MODULE, module_args=module_args, task_vars=task_vars)
        if raw.get("failed"):
            raise AnsibleActionFail("%s: %s: %s" % (self._task.action, task_vars.get("inventory_hostname"),
                                                    raw.get("msg", "module failed")))
        by_id = {r.get("id"): r for r in raw.get("changes") or []}
        missing = [c["id"] for c in changes if c["id"] not in by_id]
        if missing:
            raise AnsibleActionFail("%s: the module returned no result for %s" % (self._task.action, ", ".join(missing)))
        return [by_id[c["id"]] for c in changes]

    def _apply(self, changes, computer, args, task_vars):
        """Send the changes; plan each conflict again from what the target holds and send those once more."""
        changes = list(changes)
        outcomes = self._execute(changes, computer, args, task_vars)
        retry = []
        for index, (change, outcome) in enumerate(zip(changes, outcomes)):
            if outcome["status"] == "conflict" and not args["rollback"] and outcome.get("current") is not None:
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
            second = self._execute([c for _i, c in retry], computer, args, task_vars)
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

    def _summary(self, host, outcomes, problems, args, planned=0):
        counts = {}
        for outcome in outcomes:
            counts[outcome["status"]] = counts.get(outcome["status"], 0) + 1
        parts = ["%d %s" % (n, status.replace("_", " ")) for status, n in sorted(counts.items())]
        if planned:
            parts.append("%d planned" % planned)
        if not parts:
            parts.append("nothing applied" if problems else "nothing to %s" % ("roll back" if args["rollback"] else "change"))
        text = "%s: %s%s" % (host, self.PHASE + (" rollback" if args["rollback"] else ""), ": " + ", ".join(parts))
        if problems:
            text += "; not planned: " + "; ".join(problems)
        bad = [o for o in outcomes if o["status"] in BAD]
        if bad:
            text += "; " + "; ".join("%s %s: %s" % (o["description"], o["status"], o.get("message") or o.get("cause")) for o in bad)
        return text

    @staticmethod
    def _with_failure(result, problems, outcomes):
        if problems or any(o["status"] in BAD for o in outcomes):
            result["failed"] = True
        return result
