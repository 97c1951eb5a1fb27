"""Direct or relay: which host runs a module and which machine it acts on (design.md section 1).

Decided here, once, on the controller. Roles and playbooks delegate a task with the ``sms.upgrade.relay`` filter
(``delegate_host``); the action then resolves the machine (``resolve_target``) and passes ``computer`` down only when
the module must reach another machine. PowerShell guesses nothing: no ``computer`` is the machine the module runs on,
any name is a machine reached over the network.
"""
from collections import namedtuple

Target = namedtuple("Target", ["host", "relay", "computer"])

# The inventory variables that say how a host is reached (README "Targets", docs/gather.md "Relay mode").
RELAY_VAR = "sms_upgrade_relay"
COMPUTER_VAR = "sms_upgrade_computer"
# Where a task runs that contacts no machine (plan only, from the snapshot).
CONTROLLER = "localhost"


class TargetError(ValueError):
    """The inventory and the task disagree about where a host is reached."""


def delegate_host(host_vars, controller=False):
    """The inventory name a task for this host runs on: the controller when ``controller`` (the machine is not
    contacted), else the relay ``sms_upgrade_relay`` names, else the host itself (direct)."""
    if controller:
        return CONTROLLER
    return host_vars.get(RELAY_VAR) or host_vars.get("inventory_hostname")


def machine_name(host_vars, host):
    """The name ``host`` is reached by over the network (from its relay, or from another machine of its site):
    ``sms_upgrade_computer``, else the inventory name."""
    return host_vars.get(COMPUTER_VAR) or host


def relay_of(task, host):
    """The host a task is delegated to when that is not the host itself (relay mode), else None."""
    delegate = task.delegate_to
    return delegate if delegate and delegate != host else None


def resolve_target(task, task_vars, given=None):
    """The host, its relay (None: direct) and the machine the module acts on (None: the machine it runs on).

    In relay mode the machine is ``given``, else ``sms_upgrade_computer``, else the inventory name. A host whose
    ``sms_upgrade_relay`` names another machine is refused when the task runs on a third host (the module would act
    through the wrong management host) or on the host itself (it has no WinRM: that is why it has a relay).
    """
    host = task_vars.get("inventory_hostname", "localhost")
    relay = relay_of(task, host)
    wanted = delegate_host(dict(task_vars, inventory_hostname=host))
    if wanted != host and relay != CONTROLLER and relay != wanted:
        raise TargetError("%s names relay %s (%s) but the task %s" % (
            host, wanted, RELAY_VAR, "is delegated to %s" % relay if relay else "is not delegated: use delegate_to: "
            "\"{{ hostvars[inventory_hostname] | sms.upgrade.relay }}\""))
    if given:
        return Target(host, relay, given)
    if not relay:
        return Target(host, None, None)
    return Target(host, relay, machine_name(task_vars, host))
