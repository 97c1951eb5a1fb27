"""Target filters: the host a task for an SMS machine runs on (plugin_utils/common/targets.py decides)."""
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import delegate_host


def relay(host_vars, controller=False):
    """``delegate_to`` of a task for the host whose variables are ``host_vars`` (see targets.delegate_host)."""
    if not isinstance(host_vars, Mapping) or not host_vars.get("inventory_hostname"):
        raise AnsibleFilterError("relay: give the host's variables, hostvars[inventory_hostname], not %r" % (host_vars,))
    return delegate_host(host_vars, bool(controller))


class FilterModule:
    """sms.upgrade target filters."""

    def filters(self):
        return {"relay": relay}
