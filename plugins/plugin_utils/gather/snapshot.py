"""Load sms.upgrade snapshots and check them against their versioned JSON Schemas.

A snapshot is the JSON document the gather modules produce for one host (site server,
site database or client). Every problem is reported with the host and the field path;
nothing here raises on bad input. Before the schema, a file is checked against the limits of
``data/gather.yml`` (``snapshot_limits``): its size, how deep values nest, integers of more digits than
a 64-bit number, NaN and Infinity (not JSON), lone surrogates (no UTF-8 text holds them) and strings of
megabytes each give a problem naming the field. The schemas' ``date-time`` fields are checked (the
pinned jsonschema leaves that format unchecked without an extra library), and ``latin1`` fields (text
of files the collection edits byte for byte, such as WIN.INI) must hold only characters latin-1 has.
"""
import datetime
import functools
import hashlib
import json
import math
import os
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_json, read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import host_path
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.schema_compile import UnsupportedSchema, compile_schema

try:
    import jsonschema
    from referencing import Registry, Resource
    JSONSCHEMA_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the dependency
    jsonschema = None
    JSONSCHEMA_IMPORT_ERROR = exc

SNAPSHOT_SCHEMA_MAJOR = 1
KINDS = ("site_server", "site_database", "client")
COMMON_SCHEMA = "snapshot-common.v1.json"

# ``cause``: what the report tells to do about it (``not_gathered`` for a missing file; None: fix the file's content).
Problem = namedtuple("Problem", ["host", "path", "message", "cause"])
Problem.__new__.__defaults__ = (None,)


class Snapshot(namedtuple("Snapshot", ["host", "source", "data", "problems", "sha256"])):
    """A host's snapshot: ``data`` is None when it could not be read or is invalid; ``sha256`` of the file read."""

    __slots__ = ()

    def __new__(cls, host, source, data, problems, sha256=None):
        return super().__new__(cls, host, source, data, problems, sha256)

    @property
    def valid(self):
        return self.data is not None and not self.problems


def require_jsonschema():
    """Raise a clear error when the jsonschema library is missing on the controller."""
    if jsonschema is None:
        raise RuntimeError(
            "the Python library 'jsonschema' is required on the Ansible controller to validate "
            "snapshots (pip install -r requirements.txt): %s" % JSONSCHEMA_IMPORT_ERROR)


def _schema_file(kind):
    return "%s.v%d.json" % (kind, SNAPSHOT_SCHEMA_MAJOR)


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_NOT_LATIN1 = re.compile("[^\x00-\xff]")


def is_date_time(value):
    """True for an RFC 3339 date-time with its offset (``2026-11-20T06:00:00Z``); other types are not judged."""
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def is_latin1(value):
    """True when a text holds only characters latin-1 has (one byte each, as the gather reads files)."""
    return not isinstance(value, str) or not _NOT_LATIN1.search(value)


def format_checker():
    """The format checker of the snapshot schemas: jsonschema's formats plus ``date-time`` and ``latin1``."""
    checker = jsonschema.FormatChecker()
    checker.checks("date-time")(is_date_time)
    checker.checks("latin1")(is_latin1)
    return checker


FORMATS = {"date-time": is_date_time, "latin1": is_latin1}


def _build_validators():
    common = read_json("schemas", COMMON_SCHEMA)
    registry = Registry().with_resource(common["$id"], Resource.from_contents(common))
    validators = {}
    checker = format_checker()
    for kind in KINDS:
        schema = read_json("schemas", _schema_file(kind))
        validator_cls = jsonschema.validators.validator_for(schema)
        validators[kind] = validator_cls(schema, registry=registry, format_checker=checker)
    return validators


def _build_fast_checks():
    """Per kind, the compiled predicate of its schema (schema_compile), or None when it cannot be compiled exactly."""
    common = read_json("schemas", COMMON_SCHEMA)
    checks = {}
    for kind in KINDS:
        try:
            checks[kind] = compile_schema(read_json("schemas", _schema_file(kind)), {common["$id"]: common}, FORMATS)
        except UnsupportedSchema:
            checks[kind] = None
    return checks


_VALIDATORS = {}
_FAST_CHECKS = {}


def validators():
    """Return the compiled validator per snapshot kind (built once per process)."""
    require_jsonschema()
    if not _VALIDATORS:
        _VALIDATORS.update(_build_validators())
    return _VALIDATORS


def fast_checks():
    """Return the fast predicate per snapshot kind (None: jsonschema alone), built once per process."""
    if not _FAST_CHECKS:
        _FAST_CHECKS.update(_build_fast_checks())
    return _FAST_CHECKS


def _schema_errors(data):
    """jsonschema's errors of a snapshot; none without asking it when the fast predicate finds it valid."""
    validator = validators()[data["kind"]]
    check = fast_checks()[data["kind"]]
    try:
        valid = check is not None and check(data)
    except Exception:  # pylint: disable=broad-except  # any surprise of the fast path: jsonschema decides
        valid = False
    return () if valid else validator.iter_errors(data)


def field_path(parts):
    """Render a JSON path like ``sms.site_code`` or ``services[2].state`` (``$`` for the root); each name is
    shortened and cleaned, so that a path can be written whatever keys the file holds."""
    text = ""
    for part in parts:
        text += "[%d]" % part if isinstance(part, int) else (".%s" % shorten(part, 60) if text else shorten(part, 60))
    return text or "$"


def _envelope_problems(host, data):
    """Check what must hold before the kind schema can be chosen."""
    if not isinstance(data, dict):
        return [Problem(host, "$", "snapshot is a JSON %s, expected an object" % type(data).__name__)]
    problems = []
    version = data.get("schema_version")
    if not isinstance(version, str) or version.split(".")[0] != str(SNAPSHOT_SCHEMA_MAJOR):
        problems.append(Problem(host, "schema_version", "schema_version %r is not supported; this collection "
                                "reads snapshot schema %d.x" % (version, SNAPSHOT_SCHEMA_MAJOR)))
    if data.get("kind") not in KINDS:
        problems.append(Problem(host, "kind", "kind %r is unknown; expected one of %s"
                                % (data.get("kind"), ", ".join(KINDS))))
    return problems


def _format_message(error):
    value = shorten(repr(error.instance), 80)
    if error.validator_value == "date-time":
        return "%s is not a date and time with its offset (RFC 3339, such as 2026-11-20T06:00:00Z)" % value
    if error.validator_value == "latin1":
        odd = _NOT_LATIN1.search(error.instance)
        return ("holds U+%04X at character %d, which latin-1 does not have: the file is read and edited one byte per "
                "character" % (ord(odd.group()), odd.start() + 1))
    return "%s is not a valid %s" % (value, error.validator_value)


def _schema_message(error):
    """jsonschema's message, with the offending value shortened (it may be megabytes long)."""
    if error.validator == "format":
        return _format_message(error)
    return shorten(error.message, 300)


def validate_snapshot(host, data, expected_kind=None):
    """Return every problem of a parsed snapshot (an empty list when it is valid)."""
    problems = (value_problems(host, data) if isinstance(data, (dict, list)) else []) or _envelope_problems(host, data)
    if problems:
        return problems
    problems = sorted((Problem(host, field_path(err.absolute_path), _schema_message(err)) for err in _schema_errors(data)),
                      key=lambda p: p.path)
    if data.get("host") not in (None, host) and isinstance(data.get("host"), str):
        problems.append(Problem(host, "host", "snapshot belongs to host %r, not %r" % (data["host"], host)))
    if expected_kind and data["kind"] != expected_kind:
        problems.append(Problem(host, "kind", "the inventory places this host in a %s group but its snapshot "
                                "is of kind %s" % (expected_kind, data["kind"])))
    return problems


# ------------------------------------------------------------------ values no schema can judge
@functools.lru_cache(maxsize=1)
def limits():
    """``snapshot_limits`` of data/gather.yml."""
    return read_yaml("gather.yml")["snapshot_limits"]


class _LongInteger(str):
    """An integer literal of more digits than a snapshot holds (kept as text, never converted)."""


class _Constant(str):
    """NaN, Infinity or -Infinity: accepted by Python's json module, not JSON."""


def _parse_int(text):
    return _LongInteger(text) if len(text.lstrip("-")) > limits()["max_integer_digits"] else int(text)


def parse_json(text):
    """Parse JSON text; integers too long and NaN/Infinity are kept as markers for :func:`value_problems`."""
    return json.loads(text, parse_int=_parse_int, parse_constant=_Constant)


def _value_problem(value, limit):
    if isinstance(value, _Constant):
        return "is %s, which JSON does not allow" % value
    if isinstance(value, _LongInteger):
        return "is an integer of %d digits; a snapshot holds at most %d" % (len(value.lstrip("-")), limit["max_integer_digits"])
    if isinstance(value, float) and not math.isfinite(value):
        return "is %r, which JSON does not allow" % value
    if isinstance(value, str):
        if len(value) > limit["max_text_chars"]:
            return "is %d characters long; a snapshot value holds at most %d" % (len(value), limit["max_text_chars"])
        surrogate = re.search("[\ud800-\udfff]", value)
        if surrogate:
            return "holds a lone surrogate (U+%04X at character %d), which no UTF-8 text can carry" % (
                ord(surrogate.group()), surrogate.start() + 1)
    return None


def _scalar_problem(value, limit):
    """_value_problem for one value, with the common cases (ASCII text of ordinary length, numbers) decided inline."""
    kind = type(value)
    if kind is str and len(value) <= limit["max_text_chars"] and value.isascii():
        return None
    if kind in (int, bool) or value is None:
        return None
    return _value_problem(value, limit)


def value_problems(host, data):
    """Problems of values no schema judges (depth, huge integers, NaN/Infinity, lone surrogates, huge strings)."""
    limit, problems = limits(), []
    stack = [(data, (), 0)]
    while stack:
        value, path, depth = stack.pop()
        if depth >= limit["max_depth"]:
            problems.append(Problem(host, field_path(path), "is nested deeper than %d levels" % limit["max_depth"]))
            continue
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                why = _scalar_problem(key, limit)
                if why:
                    problems.append(Problem(host, field_path(path + (key,)), "is a key that %s" % why))
                    continue
            if isinstance(item, (dict, list)):
                stack.append((item, path + (key,), depth + 1))
                continue
            why = _scalar_problem(item, limit)
            if why:
                problems.append(Problem(host, field_path(path + (key,)), why))
    return sorted(problems, key=lambda p: p.path)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]')
_COLON = re.compile(r"\s*:")


def deep_path(text, max_depth):
    """The field at which ``text`` nests deeper than ``max_depth`` (for files too deep for the JSON parser)."""
    frames = []  # per open container: [kind, its current key or index]
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "{[":
            if len(frames) >= max_depth:
                return field_path([frame[1] for frame in frames])
            frames.append([token, None if token == "{" else 0])
        elif token in "}]":
            if frames:
                frames.pop()
        elif token == ",":
            if frames and frames[-1][0] == "[":
                frames[-1][1] += 1
        elif token != ":" and frames and frames[-1][0] == "{" and _COLON.match(text, match.end()):
            frames[-1][1] = token[1:-1]
    return "$"


def history_stamp(name, host):
    """When the snapshot kept as ``history/<name>`` was collected (None when the name says nothing)."""
    match = re.match(r"^%s\.(\d{8}T\d{6}Z)\.json$" % re.escape(host), name)
    if not match:
        return None
    return datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)


def last_good_snapshot(snapshot_dir, host):
    """``(path, collected_at)`` of the newest snapshot of ``host`` kept in ``history/``, or None."""
    history = os.path.join(snapshot_dir, "history")
    try:
        names = os.listdir(history)
    except OSError:
        return None
    kept = [(history_stamp(name, host), name) for name in names]
    kept = sorted((stamp, name) for stamp, name in kept if stamp)
    return (os.path.join(history, kept[-1][1]), kept[-1][0]) if kept else None


def missing_message(path, host, now=None):
    """Why a host has no snapshot file, with the age of its last good snapshot when ``history/`` keeps one."""
    last = last_good_snapshot(os.path.dirname(path), host)
    if last is None:
        return "no snapshot file at %s (gather this host first, or check sms_upgrade_snapshot_dir)" % path
    age = "" if now is None else ", %.1f days before this run" % ((now - last[1]).total_seconds() / 86400)
    return ("no current snapshot at %s: the last gather of this host failed; its last good snapshot, %s, was collected "
            "at %s%s and is not assessed (gather this host again)" % (path, last[0], last[1].isoformat(), age))


def read_snapshot_file(host, path, now=None):
    """``(data, problems, sha256)`` of a snapshot file; never raises for bad content."""
    if not os.path.exists(path):
        return None, [Problem(host, "$", missing_message(path, host, now), "not_gathered")], None
    try:
        size = os.path.getsize(path)
        if size > limits()["max_file_bytes"]:
            return None, [Problem(host, "$", "%s is %d bytes; a snapshot file holds at most %d" % (
                path, size, limits()["max_file_bytes"]))], None
        with open(path, "rb") as handle:
            raw = handle.read()
        digest = hashlib.sha256(raw).hexdigest()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(host, "$", "cannot read %s: %s" % (path, shorten(exc, 300)))], None
    data, problems = _parse_snapshot_text(host, path, text)
    return data, problems, digest


def _parse_snapshot_text(host, path, text):
    """Return (data, problems) for the text of a snapshot file."""
    try:
        return parse_json(text), []
    except json.JSONDecodeError as exc:
        return None, [Problem(host, "$", "%s is not valid JSON: %s at line %d column %d"
                              % (path, exc.msg, exc.lineno, exc.colno))]
    except RecursionError:
        return None, [Problem(host, deep_path(text, limits()["max_depth"]), "is nested deeper than %d levels"
                              % limits()["max_depth"])]
    except ValueError as exc:
        return None, [Problem(host, "$", "%s is not valid JSON: %s" % (path, shorten(exc, 300)))]


def load_snapshot(host, path, expected_kind=None, now=None):
    """Read and validate the snapshot file of one host; never raises for bad content. With ``now``, a missing file's
    problem gives the age of the host's last good snapshot."""
    data, problems, digest = read_snapshot_file(host, path, now)
    if data is not None:
        problems = validate_snapshot(host, data, expected_kind)
    return Snapshot(host, path, data if not problems else None, problems, digest)


def snapshot_path(snapshot_dir, host):
    """Return the conventional snapshot file of a host: ``<snapshot_dir>/<host>.json``.

    The host name is checked first (common/hostnames.py): UnsafeHostName for one that cannot name a file.
    """
    return host_path(snapshot_dir, host, ".json")
