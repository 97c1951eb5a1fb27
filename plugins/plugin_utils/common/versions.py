"""Parse and compare the version strings an SMS 1.2 hierarchy reports.

Schemes:

* ``service_pack`` - Windows ``CSDVersion`` and SMS ``CSDVER.SMS``: ``Service Pack 4``,
  ``Service Pack 6a`` (6 < 6a < 7), ``Service Pack 4 RC 1.2`` (a post-SP4 hotfix marker, KB Q197099:
  equal to SP 4), ``SP4``; an empty string means no service pack (0).
* ``dotted`` - ``6.50.281``, ``4.72.3110.8``, ``2.00.1239.0000``, ``4.0``: numeric per component,
  missing trailing components count as 0. Give SQL versions as SQL writes them (``6.50.x``): ``6.5``
  is not ``6.50``.
* ``sms_build`` - the SMS product build: ``786``, ``1.2 (build 786)``, ``build 786``, or an SMS 2.0
  full version ``2.00.1239.0000`` (build 1239).
"""
import functools
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml

SCHEMES = ("service_pack", "dotted", "sms_build")
_SERVICE_PACK = re.compile(r"^(?:service\s*pack|sp)\s*(\d+)\s*([a-z]?)(?:\s+rc\s*[\d.]+)?$", re.IGNORECASE)
_DOTTED = re.compile(r"^\d+(?:\.\d+)*$")
_BUILD = re.compile(r"^(?:(\d+)|(?:\d+\.\d+\s*)?\(?\s*build\s*(\d+)\s*\)?)$", re.IGNORECASE)
_FULL_VERSION = re.compile(r"^\d+\.\d+\.(\d+)\.\d+$")


class VersionError(ValueError):
    """A version string cannot be read in the requested scheme."""


class Version(namedtuple("Version", ["scheme", "parts", "text"])):
    """A parsed version; ordered and equal by ``(scheme, parts)`` only."""

    def _key(self, other):
        if not isinstance(other, Version):
            return NotImplemented
        if other.scheme != self.scheme:
            raise VersionError("cannot compare %r (%s) with %r (%s)" % (self.text, self.scheme, other.text, other.scheme))
        return self._trimmed(), other._trimmed()

    def _trimmed(self):
        parts = list(self.parts)
        while len(parts) > 1 and parts[-1] == 0:
            parts.pop()
        return tuple(parts)

    def __eq__(self, other):
        keys = self._key(other)
        return keys if keys is NotImplemented else keys[0] == keys[1]

    def __lt__(self, other):
        keys = self._key(other)
        return keys if keys is NotImplemented else keys[0] < keys[1]

    def __le__(self, other):
        return self == other or self < other

    def __gt__(self, other):
        return not self <= other

    def __ge__(self, other):
        return not self < other

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash((self.scheme, self._trimmed()))

    def __str__(self):
        return self.text


def _parse_service_pack(text):
    if text == "":
        return (0, 0)
    match = _SERVICE_PACK.match(text)
    if not match:
        raise VersionError("%r is not a service pack string (expected e.g. 'Service Pack 4')" % text)
    letter = match.group(2).lower()
    return (int(match.group(1)), ord(letter) - ord("a") + 1 if letter else 0)


def _parse_dotted(text):
    if not _DOTTED.match(text):
        raise VersionError("%r is not a dotted version (expected e.g. '6.50.281')" % text)
    return tuple(int(p) for p in text.split("."))


def _parse_sms_build(text):
    full = _FULL_VERSION.match(text)
    if full:
        return (int(full.group(1)),)
    match = _BUILD.match(text)
    if not match:
        raise VersionError("%r is not an SMS build (expected e.g. '786' or '2.00.1239.0000')" % text)
    return (int(match.group(1) or match.group(2)),)


_PARSERS = {"service_pack": _parse_service_pack, "dotted": _parse_dotted, "sms_build": _parse_sms_build}


def detect_scheme(text):
    """Guess the scheme of a version string, or raise VersionError listing the accepted forms."""
    if text == "" or re.match(r"^(service\s*pack|sp)\b", text, re.IGNORECASE) or re.match(r"^sp\d", text, re.IGNORECASE):
        return "service_pack"
    if re.match(r"^\d+$", text) or re.search(r"build\s*\d+", text, re.IGNORECASE):
        return "sms_build"
    if _DOTTED.match(text):
        return "dotted"
    raise VersionError("%r is not a known version string; expected a service pack ('Service Pack 4'), a dotted "
                       "version ('6.50.281', '4.72.3110.8') or an SMS build ('786', '1.2 (build 786)')" % text)


def parse_version(value, scheme=None):
    """Parse ``value`` (a string or a non-negative integer) into a comparable Version."""
    if value is None or isinstance(value, bool) or not isinstance(value, (str, int)):
        raise VersionError("%r is not a version string" % (value,))
    text = str(value).strip()
    if scheme is not None and scheme not in SCHEMES:
        raise VersionError("unknown version scheme %r (known: %s)" % (scheme, ", ".join(SCHEMES)))
    scheme = scheme or detect_scheme(text)
    return Version(scheme, _PARSERS[scheme](text), text)


def compare_versions(a, b, scheme=None):
    """Return -1, 0 or 1 as ``a`` is older than, equal to or newer than ``b``."""
    first = parse_version(a, scheme)
    second = parse_version(b, scheme or first.scheme)
    return (first > second) - (first < second)


def version_at_least(value, minimum, scheme=None):
    """Tell whether ``value`` is ``minimum`` or newer (same scheme; detected from ``minimum`` if not given)."""
    scheme = scheme or parse_version(minimum).scheme
    return parse_version(value, scheme) >= parse_version(minimum, scheme)


@functools.lru_cache(maxsize=1)
def _markers():
    """data/versions.yml, read once per process."""
    return read_yaml("versions.yml")


def known_version(name):
    """Return the Version of a named marker from data/versions.yml (e.g. 'sql_6_5_sp4')."""
    markers = _markers()
    if name not in markers:
        raise VersionError("unknown version marker %r (known: %s)" % (name, ", ".join(sorted(markers))))
    return parse_version(markers[name]["value"], markers[name]["scheme"])
