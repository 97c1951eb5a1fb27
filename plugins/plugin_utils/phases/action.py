"""The one action base of every changing phase (microsoft.ad style ``plugin_utils`` action).

An action plugin of a phase is a few lines naming its phase (``PHASE = "client_agents"``). This base validates the
task's options against the phase's spec, resolves the target once (direct or relay, ``common/targets.py``), gives
the phase hands that reach the machine through Ansible (modules, file fetch and staging), runs the phase's room
and turns expected failures into a task failure naming the host and the cause, never a traceback.
"""
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.action import validate_options
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import utc_now
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import resolve_target
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import RunContext
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase

# Failures a phase raises for bad input or an unusable target: the task fails with the message.
EXPECTED = (ValueError, RuntimeError, OSError)


class AnsibleHands:
    """What a phase uses to reach the machine, through the task's connection."""

    def __init__(self, action, task_vars, target):
        self.action = action
        self.task_vars = task_vars
        self.target = target
        self.calls = 0

    def module(self, name, args):
        """Run module ``name`` on the host running the task; the target's machine is added as ``computer``."""
        args = dict(args)
        if self.target.computer:
            args.setdefault("computer", self.target.computer)
        self.calls += 1
        result = self.action._execute_module(module_name=name, module_args=args, task_vars=self.task_vars)
        return result if isinstance(result, dict) else {"failed": True, "msg": "no result"}

    def fetch(self, remote, local):
        """Transfer one file of the module's machine to a controller file (chunked by the connection plugin)."""
        self.action._connection.fetch_file(remote, local)
        if not os.path.exists(local):
            raise OSError("the connection returned no file for %s" % remote)

    def stage(self, local, name):
        """Put a controller file into the task's temporary directory on the module's machine; return its path."""
        shell = self.action._connection._shell
        if not shell.tmpdir:
            self.action._make_tmp_path()
        staged = shell.join_path(shell.tmpdir, name)
        self.action._transfer_file(local, staged)
        return staged

    def cleanup(self):
        """Remove what ``stage`` put on the module's machine."""
        tmpdir = self.action._connection._shell.tmpdir
        if tmpdir:
            self.action._remove_tmp_path(tmpdir)


class PhaseAction(ActionBase):
    """Subclasses set PHASE (the phase's name in ``phases/registry.py``)."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    PHASE = None

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        host = task_vars.get("inventory_hostname", "localhost")
        phase = get_phase(self.PHASE)
        try:
            args = validate_options(phase.option_spec(), self._task.args, phase.SET_BY_ACTION)
            target = resolve_target(self._task, task_vars, args.get("computer"))
            ctx = RunContext(host, args, bool(self._task.check_mode), list(task_vars.get("group_names", [])), target,
                             utc_now(), machine_names(task_vars), inventory_vars(task_vars))
            result.update(phase.run(ctx, AnsibleHands(self, task_vars, target)))
        except EXPECTED as exc:
            raise AnsibleActionFail("%s: %s: %s" % (self._task.action, host, exc)) from None
        return result


def inventory_vars(task_vars):
    """The variables that say which inventory the task reads (``report/store.run_inventory``)."""
    return {name: task_vars.get(name) for name in ("ansible_inventory_sources", "inventory_dir")}


def machine_names(task_vars):
    """The names the inventory gives the machine besides its inventory name (``ansible_host``, ``sms_upgrade_computer``)."""
    return tuple(name for name in (task_vars.get("ansible_host"), task_vars.get("sms_upgrade_computer"))
                 if isinstance(name, str) and name)
