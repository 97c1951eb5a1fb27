"""Filters for the changing phases: a summary of what a phase did on each host."""
from ansible.errors import AnsibleFilterError

from ansible_collections.sms.upgrade.plugins.plugin_utils.report.phase_summary import summarise


def phase_summary(hostvars, hosts, var, planned=None, blocked=None):
    """Summarise the result each host registered as ``var`` (see plugin_utils/phase_summary.summarise)."""
    if isinstance(hosts, str) or not hasattr(hosts, "__iter__"):
        raise AnsibleFilterError("phase_summary: hosts must be a list of inventory names, not %r" % (hosts,))
    results = {}
    for host in hosts:
        try:
            host_vars = hostvars[host]
        except KeyError:
            raise AnsibleFilterError("phase_summary: %s is not in the inventory" % host) from None
        results[host] = host_vars.get(var) if hasattr(host_vars, "get") else None
    return summarise(results, list(hosts), planned, blocked or ())


class FilterModule:
    """sms.upgrade phase filters."""

    def filters(self):
        return {"phase_summary": phase_summary}
