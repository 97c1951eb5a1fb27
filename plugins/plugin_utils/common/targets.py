"""Direct or relay: which host runs a module and which machine it acts on (design.md section 1).

Decided here, once, on the controller: the action passes the result down and no PowerShell code guesses. A module
given no ``computer`` acts on the machine it runs on; given one, it reaches that machine over the network.
"""
from collections import namedtuple

Target = namedtuple("Target", ["host", "relay", "computer"])


class TargetError(ValueError):
    """The inventory and the task disagree about where a host is reached."""


def relay_of(task, host):
    """The host a task is delegated to when that is not the host itself (relay mode), else None."""
    delegate = task.delegate_to
    return delegate if delegate and delegate != host else None


def resolve_target(task, task_vars, given=None):
    """The host, its relay (None: direct) and the machine the module acts on (None: the machine it runs on).

    In relay mode the machine is ``given``, else ``sms_upgrade_computer``, else the inventory name. A host whose
    ``sms_upgrade_relay`` names another machine than the task is delegated to is refused: the module would act
    through the wrong management host.
    """
    host = task_vars.get("inventory_hostname", "localhost")
    relay = relay_of(task, host)
    wanted = task_vars.get("sms_upgrade_relay")
    if wanted and wanted != host and relay and relay not in (wanted, "localhost"):
        raise TargetError("%s names relay %s (sms_upgrade_relay) but the task is delegated to %s" % (host, wanted, relay))
    if given:
        return Target(host, relay, given)
    if not relay:
        return Target(host, None, None)
    return Target(host, relay, task_vars.get("sms_upgrade_computer") or host)


def target_computer(task, task_vars, host, given=None):
    """The machine a module acts on (see resolve_target); None for the machine the module runs on."""
    return resolve_target(task, dict(task_vars, inventory_hostname=host), given).computer
