"""What every action base of the collection shares: option checking with one message form, and a base for the
controller-only actions (clear failures, never a traceback)."""
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase


def validate_options(spec, given, refused=()):
    """Validated options of a task; a ValueError lists every problem (unknown, missing, wrong type, refused)."""
    setting = sorted(set(given) & set(refused))
    if setting:
        raise ValueError("%s %s set by the action plugin and cannot be given" % (
            ", ".join(setting), "is" if len(setting) == 1 else "are"))
    validated = ArgumentSpecValidator(spec).validate(dict(given))
    if validated.error_messages:
        raise ValueError("; ".join(validated.error_messages))
    return validated.validated_parameters


def task_options(action, spec, host, given=None, refused=()):
    """validate_options over the task's arguments (or ``given``); a problem fails the task with
    ``<action>: <host>: <problems>``."""
    try:
        return validate_options(spec, action._task.args if given is None else given, refused)
    except ValueError as exc:
        raise AnsibleActionFail("%s: %s: %s" % (action._task.action, host, exc)) from None


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
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        del tmp
        args = task_options(self, self.argument_spec, task_vars.get("inventory_hostname", "localhost"))
        try:
            result.update(self.run_action(args, task_vars))
        except self.user_errors as exc:
            raise AnsibleActionFail("%s: %s" % (self._task.action, exc)) from exc
        result.setdefault("changed", False)
        return result

    def run_action(self, args, task_vars):
        raise NotImplementedError
