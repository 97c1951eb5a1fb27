"""A base for the collection's controller-side actions: argument checking and clear failures."""
from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


class ControllerAction(ActionBase):
    """Runs on the controller only; subclasses implement ``run_action(args, task_vars)``.

    Expected problems (bad input, missing files) raise one of ``user_errors`` and end the task with
    ``failed`` and a message that names the item and the cause, never a traceback.
    """

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    argument_spec = {}
    user_errors = (ValueError, RuntimeError, OSError)

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        dummy_spec, args = self.validate_argument_spec(argument_spec=self.argument_spec)
        del dummy_spec
        try:
            result.update(self.run_action(args, task_vars or {}))
        except self.user_errors as exc:
            raise AnsibleActionFail("%s: %s" % (self._task.action, exc)) from exc
        result.setdefault("changed", False)
        return result

    def run_action(self, args, task_vars):
        raise NotImplementedError
