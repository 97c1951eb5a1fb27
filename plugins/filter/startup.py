"""Startup-entry filters: edit WIN.INI load=/run= lines and the NT Load/Run values."""
from ansible.errors import AnsibleFilterError

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.startup import remove_startup_program as _remove


def remove_startup_program(value, program):
    try:
        return _remove(value, program)
    except TypeError as exc:
        raise AnsibleFilterError("remove_startup_program: %s" % exc)


class FilterModule:
    """sms.upgrade startup-entry filters."""

    def filters(self):
        return {"remove_startup_program": remove_startup_program}
