"""Versioned JSON records on the controller: one reader and one writer for the records of every phase.

A record is a JSON object with ``schema`` (what it is) and ``schema_version`` (1.x is read), written atomically
(``common/atomic.py``). It is never replaced silently: a file that cannot be read, or that is of another schema, is an
error naming it, and the message says to move it away.
"""
import json
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically


class RecordError(ValueError):
    """A record cannot be read or written (names the file and the cause)."""


def read_record(path, schema, what="record"):
    """The record of ``schema`` 1.x at ``path``, or None when there is none; RecordError names an unusable file."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        raise RecordError("the %s %s is unreadable: %s; move it away to start a new one" % (what, path, exc)) from None
    if not isinstance(record, dict) or record.get("schema") != schema or \
            str(record.get("schema_version", "")).split(".", maxsplit=1)[0] != "1":
        raise RecordError("%s is not a %s of schema %s 1.x" % (path, what, schema))
    return record


def write_record(path, record, what="record"):
    """Write ``record`` at ``path`` atomically (its directory is created); return the path."""
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        replace_atomically(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise RecordError("cannot write the %s %s: %s" % (what, path, exc)) from None
    return path
