"""Direct or relay: which host runs a module and which machine it acts on (design.md section 1)."""


def relay_of(task, host):
    """The host a task is delegated to when that is not the host itself (relay mode), else None."""
    delegate = task.delegate_to
    return delegate if delegate and delegate != host else None


def target_computer(task, task_vars, host, given=None):
    """The machine a module acts on: ``given``, else in relay mode ``sms_upgrade_computer`` or the inventory name,
    else None (the machine the module runs on)."""
    if given or not relay_of(task, host):
        return given or None
    return task_vars.get("sms_upgrade_computer") or host
