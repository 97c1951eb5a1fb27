"""The site upgrade's records on the controller: where each site stands, its timeline, and one record per wave run.

Layout (``<status_dir>``, default ``<inventory_dir>/site_upgrade``; docs/site_upgrade.md, "Records")::

    sites/<SITE>.json                     the site: status, what a later run resumes from, the timeline of every run
    waves/<wave>-<UTC time>.json          one run of a wave: every site with its status and this run's steps
    waves/<wave>-latest.json              the newest of those (what the readiness report can read)

Both are JSON with ``schema`` and ``schema_version``, written atomically. A timeline entry is
``{step, run, started_at, ended_at, seconds, status, message}`` (ISO 8601 times, UTC). Check mode writes nothing.
"""
import os
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.records import RecordError, read_record, write_record

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


# A record cannot be read or written (names the file and the cause).
StatusError = RecordError


def site_path(status_dir, site):
    if not isinstance(site, str) or not _SITE.match(site):
        raise StatusError("site code %r is not three letters or digits" % (site,))
    return os.path.join(status_dir, "sites", "%s.json" % site.upper())


def new_site_record(site, wave):
    return {"schema": SITE_SCHEMA, "schema_version": SCHEMA_VERSION, "site": site.upper(), "wave": wave,
            "status": None, "updated_at": None, "resume": {}, "timeline": [], "later_checks": []}


def load_site(status_dir, site, wave=None):
    """The site's record, or a new one; a file that is not a site record of schema 1.x is an error naming it."""
    record = read_record(site_path(status_dir, site), SITE_SCHEMA, "site upgrade record")
    if record is None:
        return new_site_record(site, wave)
    for key, empty in (("resume", {}), ("timeline", []), ("later_checks", [])):
        record.setdefault(key, empty)
    return record


def save_site(status_dir, record):
    return write_record(site_path(status_dir, record["site"]), record, "site upgrade record")


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
    path = write_record(os.path.join(directory, "%s-%s.json" % (wave, re.sub(r"[^0-9A-Za-z]", "", stamp))), document,
                        "wave record")
    write_record(os.path.join(directory, "%s-latest.json" % wave), document, "wave record")
    return path
