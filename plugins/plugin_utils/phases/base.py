"""What every changing phase is, in one place: a room (``phases/<name>.py``) holds a :class:`Phase` subclass.

A phase names its playbook and the PowerShell module it drives, its gate policy (which findings must be clear,
and the scope of a blocker), the checklist items it handles (for the traceability table), the options its action
takes and which of them go to the module (its wire format), and how it runs one host: ``run(ctx, hands)``.

``ctx`` (:class:`RunContext`) is what the controller decided before the phase runs: the host, validated options,
check mode, inventory groups and the resolved target. ``hands`` reaches the machine: ``hands.module(name, args)``
runs a module there (the target's ``computer`` is added by the hands, never by the phase) and returns its result,
``hands.fetch(remote, local)`` and ``hands.stage(local)`` move files through the connection. The phase action base
(``phases/action.py``) provides real hands; tests provide models of the machines. Nothing here imports Ansible.

Which rules a phase remediates is not written here: every rule names its fixer (``fixed_by`` in ``rules.yml``),
and the gate derives the phase's ``remediates`` from that (``phases/gate.py``).
"""
from collections import namedtuple

GATE_SCOPES = ("host", "play")
# Every phase action takes the machine to act on; the controller resolves it (common/targets.py).
TARGET_OPTIONS = {"computer": {"type": "str"}}

# ``inventory``: the task's ``ansible_inventory_sources`` and ``inventory_dir`` (report/store.run_inventory reads them), for
# a phase that judges the readiness report itself (the site upgrade's pre-flight); None outside Ansible.
RunContext = namedtuple("RunContext", ["host", "args", "check_mode", "groups", "target", "now", "machine_names", "inventory"])
RunContext.__new__.__defaults__ = ((), None)


class PhaseError(ValueError):
    """The host cannot run the phase at all (unusable input or target); the message names item and cause."""


class Phase:
    """A changing phase. Subclasses set the class attributes and implement :meth:`run`."""

    NAME = None
    DESCRIPTION = ""
    PLAYBOOK = None
    MODULE = None
    # The snapshot kind the phase plans from (fleet planning and the readiness report's planned changes); None: none.
    SNAPSHOT_KIND = None
    # Gate: ``host`` lets the hosts without blockers go on and names the others; ``play`` stops every host.
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*",)
    # Checklist ID -> what this phase does for it (docs/checklist.md is generated from this and the rules).
    CHECKLIST = {}
    # Argument spec of the phase's action; MODULE_OPTIONS of them are passed to the module as given.
    OPTIONS = {}
    MODULE_OPTIONS = ()
    # Module options the action fills itself: refused when a task sets them.
    SET_BY_ACTION = ()

    @classmethod
    def playbook(cls):
        """The playbook that runs the phase (``sms.upgrade.<name>`` unless the room says otherwise)."""
        return cls.PLAYBOOK or "sms.upgrade.%s" % cls.NAME

    def option_spec(self):
        """The argument spec of the phase's action: its OPTIONS and ``computer``."""
        return dict(self.OPTIONS, **TARGET_OPTIONS)

    def module_option_spec(self):
        """The options the action passes to the module as they are (``computer`` and MODULE_OPTIONS)."""
        return dict({name: self.OPTIONS[name] for name in self.MODULE_OPTIONS}, **TARGET_OPTIONS)

    def module_args(self, ctx, **args):
        """The module's arguments: the options of MODULE_OPTIONS as validated, plus ``args``."""
        given = {name: ctx.args[name] for name in self.MODULE_OPTIONS if ctx.args.get(name) is not None}
        return dict(given, **args)

    def run(self, ctx, hands):
        """Run the phase on one host; return the task result (``changed``, ``msg``, ``failed`` …)."""
        raise NotImplementedError

    # Fleet planning (sms.upgrade.phase_plan and the readiness report): phases that plan from a snapshot alone.
    def plan_snapshot(self, snapshot):
        """``(changes, problems)`` for one host from its snapshot; phases that need the live machine return None."""
        return None

    def describe(self, change):
        """One line: what a change does."""
        raise NotImplementedError

    def invert(self, change):
        """The change that undoes ``change`` (rollback from the journal)."""
        raise NotImplementedError
