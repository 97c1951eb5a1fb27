"""Version filters: compare the real version strings of an SMS 1.2 hierarchy."""
from ansible.errors import AnsibleFilterError

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.versions import (
    VersionError, compare_versions, parse_version as _parse_version, version_at_least as _version_at_least)


def _wrap(func):
    def filter_func(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except VersionError as exc:
            raise AnsibleFilterError("%s: %s" % (func.__name__, exc))
    filter_func.__name__ = func.__name__
    return filter_func


def version_at_least(value, minimum, scheme=None):
    return _version_at_least(value, minimum, scheme)


def version_compare(value, other, scheme=None):
    return compare_versions(value, other, scheme)


def parse_version(value, scheme=None):
    parsed = _parse_version(value, scheme)
    return {"scheme": parsed.scheme, "parts": list(parsed.parts), "text": parsed.text}


class FilterModule:
    """sms.upgrade version filters."""

    def filters(self):
        return {f.__name__: _wrap(f) for f in (version_at_least, version_compare, parse_version)}
