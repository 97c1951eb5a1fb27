"""The site upgrade's records on the controller: where each site stands, its timeline, and one record per wave run.

Layout (``<status_dir>``, default ``<inventory_dir>/site_upgrade``; docs/site_upgrade.md, "Records")::

    sites/<SITE>.json                     the site: status, what a later run resumes from, the timeline of every run
    waves/<wave>-<UTC time>.json          one run of a wave: every site with its status and this run's steps
    waves/<wave>-latest.json              the newest of those (what the readiness report can read)

Both are JSON with ``schema`` and ``schema_version``, written atomically. A timeline entry is
``{step, run, started_at, ended_at, seconds, status, message}`` (ISO 8601 times, UTC). Check mode writes nothing.
"""
import json
import os
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically

SITE_SCHEMA = "sms.upgrade.site_upgrade.site"
WAVE_SCHEMA = "sms.upgrade.site_upgrade.wave"
SCHEMA_VERSION = "1.0"
_SITE = re.compile(r"^[A-Za-z0-9]{3}$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# Statuses a site can end a run with. ``verified`` is the goal; the ``waiting`` ones need a person or time, not a fix.
DONE = ("verified",)
WAITING = ("wizard_pending", "handed_off", "setup_running", "converting", "queued")
STOPPED = ("stopped", "failed", "setup_failed", "conversion_failed", "overdue", "deinstall_incomplete", "verify_failed")
STATUSES = DONE + WAITING + STOPPED + ("planned", "would_stop")


class StatusError(ValueError):
    """A record cannot be read or written (names the file and the cause)."""


def site_path(status_dir, site):
    if not isinstance(site, str) or not _SITE.match(site):
        raise StatusError("site code %r is not three letters or digits" % (site,))
    return os.path.join(status_dir, "sites", "%s.json" % site.upper())


def new_site_record(site, wave):
    return {"schema": SITE_SCHEMA, "schema_version": SCHEMA_VERSION, "site": site.upper(), "wave": wave,
            "status": None, "updated_at": None, "resume": {}, "timeline": [], "later_checks": []}


def read_json_record(path, schema, what):
    """The JSON record of ``schema`` 1.x at ``path``, or None when there is none; StatusError names an unusable file."""
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError) as exc:
        raise StatusError("the %s %s is unreadable: %s; move it away to start a new one" % (what, path, exc)) from None
    if not isinstance(record, dict) or record.get("schema") != schema or \
            str(record.get("schema_version", "")).split(".", maxsplit=1)[0] != "1":
        raise StatusError("%s is not a %s of schema %s 1.x" % (path, what, schema))
    return record


def load_site(status_dir, site, wave=None):
    """The site's record, or a new one; a file that is not a site record of schema 1.x is an error naming it."""
    record = read_json_record(site_path(status_dir, site), SITE_SCHEMA, "site upgrade record")
    if record is None:
        return new_site_record(site, wave)
    for key, empty in (("resume", {}), ("timeline", []), ("later_checks", [])):
        record.setdefault(key, empty)
    return record


def save_site(status_dir, record):
    path = site_path(status_dir, record["site"])
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        replace_atomically(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise StatusError("cannot write the site upgrade record %s: %s" % (path, exc)) from None
    return path


def site_statuses(status_dir, sites):
    """``{site: status}`` of the sites that have a record (unreadable records are left out: the run names them)."""
    found = {}
    for site in sites:
        try:
            record = load_site(status_dir, site) if status_dir else None
        except StatusError:
            continue
        if record and record.get("status"):
            found[site.upper()] = record
    return found


def write_wave_record(status_dir, wave, stamp, record):
    """Write ``waves/<wave>-<stamp>.json`` and ``waves/<wave>-latest.json``; return the first path."""
    if not _NAME.match(wave or ""):
        raise StatusError("wave name %r cannot name a file" % (wave,))
    directory = os.path.join(status_dir, "waves")
    document = dict(record, schema=WAVE_SCHEMA, schema_version=SCHEMA_VERSION, wave=wave)
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    path = os.path.join(directory, "%s-%s.json" % (wave, re.sub(r"[^0-9A-Za-z]", "", stamp)))
    try:
        os.makedirs(directory, exist_ok=True)
        replace_atomically(path, text)
        replace_atomically(os.path.join(directory, "%s-latest.json" % wave), text)
    except OSError as exc:
        raise StatusError("cannot write the wave record in %s: %s" % (directory, exc)) from None
    return path
