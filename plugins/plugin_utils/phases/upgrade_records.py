"""The controller's records of the post-upgrade and client phases (docs/post_upgrade.md, "Records").

Layout (``<records_dir>``, default ``<inventory_dir>/upgrade_records``)::

    post_upgrade/<SITE>.json          a site: post-upgrade status, each step, the settings as read back, history
    clients/<SITE>/<host>.json        a client: status, reason, checks, when the run started or waited, history
    runs/<phase>-<wave>-<UTC>.json    one run of a playbook: per site, post-upgrade status and client progress
    progress.json                     the newest run's view per site (what the readiness report can read)

Every file is JSON with ``schema`` and ``schema_version``, written atomically; check mode writes nothing. A record
that cannot be read is an error naming the file; it is never replaced silently.
"""
import os
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.records import RecordError, read_record, write_record

SCHEMAS = {
    "site": "sms.upgrade.post_upgrade.site",
    "client": "sms.upgrade.client_upgrade.client",
    "run": "sms.upgrade.upgrade_progress.run",
    "progress": "sms.upgrade.upgrade_progress",
}
SCHEMA_VERSION = "1.0"
HISTORY = 20
_SITE = re.compile(r"^[A-Za-z0-9]{3}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _checked(name, pattern, what):
    if not isinstance(name, str) or not pattern.match(name):
        raise RecordError("%s %r cannot name a record file" % (what, name))
    return name


def site_path(records_dir, site):
    return os.path.join(records_dir, "post_upgrade", "%s.json" % _checked(site, _SITE, "site code").upper())


def client_path(records_dir, site, host):
    return os.path.join(records_dir, "clients", _checked(site, _SITE, "site code").upper(),
                        "%s.json" % _checked(host, _NAME, "host name"))


def run_path(records_dir, phase, wave, stamp):
    name = "%s-%s-%s" % (_checked(phase, _NAME, "phase"), _checked(wave, _NAME, "wave"), re.sub(r"[^0-9A-Za-z]", "", stamp))
    return os.path.join(records_dir, "runs", name + ".json")


def progress_path(records_dir):
    return os.path.join(records_dir, "progress.json")


def load(path, kind, **fields):
    """The record at ``path``, or a new one of ``kind`` with ``fields`` when there is none."""
    record = read_record(path, SCHEMAS[kind])
    if record is None:
        return dict(fields, schema=SCHEMAS[kind], schema_version=SCHEMA_VERSION, history=[])
    record.setdefault("history", [])
    return record


def read(path, kind):
    """The record at ``path``; None when there is none (an unreadable one raises RecordError)."""
    return load(path, kind) if os.path.exists(path) else None


def save(path, record):
    """Write a record atomically (its directory is created)."""
    return write_record(path, record)


def add_history(record, entry):
    """Append a run's entry (``at``, ``status``, ``message``) and keep the newest HISTORY entries."""
    record["history"] = (list(record.get("history") or []) + [entry])[-HISTORY:]
    return record


def client_records(records_dir, site):
    """``{host: record}`` of every client record of a site (unreadable ones as ``{"unreadable": cause}``)."""
    directory = os.path.join(records_dir, "clients", _checked(site, _SITE, "site code").upper())
    found = {}
    if not os.path.isdir(directory):
        return found
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        try:
            found[name[:-5]] = load(os.path.join(directory, name), "client")
        except RecordError as exc:
            found[name[:-5]] = {"unreadable": str(exc)}
    return found
