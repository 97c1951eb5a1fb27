"""Load sms.upgrade snapshots and check them against their versioned JSON Schemas.

A snapshot is the JSON document the gather modules produce for one host (site server,
site database or client). Every problem is reported with the host and the field path;
nothing here raises on bad input.
"""
import json
import os
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_json

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

Problem = namedtuple("Problem", ["host", "path", "message"])


class Snapshot(namedtuple("Snapshot", ["host", "source", "data", "problems"])):
    """A host's snapshot: ``data`` is None when it could not be read or is invalid."""

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


def _build_validators():
    common = read_json("schemas", COMMON_SCHEMA)
    registry = Registry().with_resource(common["$id"], Resource.from_contents(common))
    validators = {}
    for kind in KINDS:
        schema = read_json("schemas", _schema_file(kind))
        validator_cls = jsonschema.validators.validator_for(schema)
        validators[kind] = validator_cls(schema, registry=registry,
                                         format_checker=validator_cls.FORMAT_CHECKER)
    return validators


_VALIDATORS = {}


def validators():
    """Return the compiled validator per snapshot kind (built once per process)."""
    require_jsonschema()
    if not _VALIDATORS:
        _VALIDATORS.update(_build_validators())
    return _VALIDATORS


def field_path(parts):
    """Render a JSON path like ``sms.site_code`` or ``services[2].state`` (``$`` for the root)."""
    text = ""
    for part in parts:
        text += "[%d]" % part if isinstance(part, int) else (".%s" % part if text else str(part))
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


def validate_snapshot(host, data, expected_kind=None):
    """Return every problem of a parsed snapshot (an empty list when it is valid)."""
    problems = _envelope_problems(host, data)
    if problems:
        return problems
    errors = validators()[data["kind"]].iter_errors(data)
    problems = sorted((Problem(host, field_path(err.absolute_path), err.message) for err in errors),
                      key=lambda p: p.path)
    if data.get("host") not in (None, host) and isinstance(data.get("host"), str):
        problems.append(Problem(host, "host", "snapshot belongs to host %r, not %r" % (data["host"], host)))
    if expected_kind and data["kind"] != expected_kind:
        problems.append(Problem(host, "kind", "the inventory places this host in a %s group but its snapshot "
                                "is of kind %s" % (expected_kind, data["kind"])))
    return problems


def _read_json_file(host, path):
    """Return (data, problems) for a snapshot file."""
    if not os.path.exists(path):
        return None, [Problem(host, "$", "no snapshot file at %s (gather this host first, or check "
                              "sms_upgrade_snapshot_dir)" % path)]
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle), []
    except json.JSONDecodeError as exc:
        return None, [Problem(host, "$", "%s is not valid JSON: %s at line %d column %d"
                              % (path, exc.msg, exc.lineno, exc.colno))]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(host, "$", "cannot read %s: %s" % (path, exc))]


def load_snapshot(host, path, expected_kind=None):
    """Read and validate the snapshot file of one host; never raises for bad content."""
    data, problems = _read_json_file(host, path)
    if data is not None:
        problems = validate_snapshot(host, data, expected_kind)
    return Snapshot(host, path, data if not problems else None, problems)


def snapshot_path(snapshot_dir, host):
    """Return the conventional snapshot file of a host: ``<snapshot_dir>/<host>.json``."""
    return os.path.join(snapshot_dir, "%s.json" % host)
