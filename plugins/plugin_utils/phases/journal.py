"""The controller's record of what a phase changed on a host, for rollback and audit.

Layout: ``<journal_dir>/<host>/<phase>-<UTC timestamp>.json``, written atomically. A record holds every
change as planned (with the previous content, so a rollback does not depend on the backup left on the
target) and the outcome the target reported for it.
"""
import json
import os
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import UnsafeHostName, check_host_name
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten

SCHEMA = "sms.upgrade.journal"
SCHEMA_VERSION = "1.0"


class JournalError(ValueError):
    """A journal cannot be written or read (names the file and the cause)."""


def host_dir(journal_dir, host):
    """The directory of one host's records; refuses host names that cannot name a directory of their own
    (common/hostnames.py)."""
    try:
        check_host_name(host)
    except UnsafeHostName as exc:
        raise JournalError("%s: it cannot name a journal directory" % exc) from None
    return os.path.join(journal_dir, host)


def write_record(journal_dir, host, phase, stamp, record):
    """Write one record as ``<phase>-<stamp>.json``; a second record in the same second gets ``-2``."""
    directory = host_dir(journal_dir, host)
    base = "%s-%s" % (phase, re.sub(r"[^0-9A-Za-z]", "", stamp))
    try:
        os.makedirs(directory, exist_ok=True)
        path, n = os.path.join(directory, base + ".json"), 1
        while os.path.exists(path):
            n += 1
            path = os.path.join(directory, "%s-%d.json" % (base, n))
        document = dict(record, schema=SCHEMA, schema_version=SCHEMA_VERSION, host=host, phase=phase, written_at=stamp)
        replace_atomically(path, json.dumps(document, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise JournalError("cannot write the journal of %s in %s: %s" % (host, directory, exc)) from None
    return path


def _records(journal_dir, host, phase):
    directory = host_dir(journal_dir, host)
    if not os.path.isdir(directory):
        return []
    pattern = re.compile(r"^%s-(\d{8}T\d{6}Z)(?:-(\d+))?\.json$" % re.escape(phase))
    found = []
    for name in os.listdir(directory):
        match = pattern.match(name)
        if match:
            found.append(((match.group(1), int(match.group(2) or 1)), os.path.join(directory, name)))
    return [path for _key, path in sorted(found)]


def record_paths(journal_dir, host, phase):
    """The paths of every record of a phase for a host, oldest first."""
    return _records(journal_dir, host, phase)


def read_record(path, host=None, phase=None):
    """Read one record; a file that is not a journal record of schema 1.x, or that is the record of another host or
    phase than the one whose folder holds it, is an error naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError, RecursionError) as exc:
        raise JournalError("journal %s is unreadable: %s" % (path, shorten(exc, 300))) from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA or \
            str(record.get("schema_version", "")).split(".", maxsplit=1)[0] != "1" or \
            not isinstance(record.get("changes"), list):
        raise JournalError("%s is not an sms.upgrade journal record of schema 1.x" % path)
    if host is not None and record.get("host") != host:
        raise JournalError("%s is the journal record of host %s, not %s: it is not used (move it back to its host's "
                           "folder, or aside)" % (path, shorten(repr(record.get("host")), 80), host))
    if phase is not None and record.get("phase") != phase:
        raise JournalError("%s is a record of phase %s, not %s" % (path, shorten(repr(record.get("phase")), 80), phase))
    return record


def applied_changes(path, record):
    """The changes a record says were made (status ``changed``); JournalError naming the first malformed entry."""
    done = []
    for index, entry in enumerate(record["changes"], start=1):
        if not isinstance(entry, dict) or not isinstance(entry.get("change"), dict) or not isinstance(entry.get("status"), str):
            raise JournalError("%s: change #%d is malformed (each is a mapping with the change and its status): the "
                               "record is not used" % (path, index))
        if entry["status"] == "changed":
            done.append(entry["change"])
    return done


def latest_record(journal_dir, host, phase):
    """``(path, record)`` of the newest record of a phase for a host, or ``(None, None)``."""
    paths = _records(journal_dir, host, phase)
    if not paths:
        return None, None
    return paths[-1], read_record(paths[-1], host, phase)
