"""The upgrade's progress in the readiness report (``progress``): what the changing phases recorded, read back.

For each wave of the report's plan: its status from its sites (``not_started``, ``in_progress``, ``stopped``, ``verified``)
and the newest record of its runs. For each site of the waves (then each site kept on SMS 1.2): the site upgrade's
status and timeline (step, started, duration, result), the post-upgrade status with the POST-06 data-conversion table,
and the client progress (upgraded / pending / staying on 1.2 / failed).

Records are read only through the phases' readers (``phases/site_status.py`` for the site upgrade,
``phases/upgrade_records.py`` for the post-upgrade and client phases). A missing record is ``not_started``; a record
that cannot be read, or whose content is not what its writer writes, is a note naming the file: the rest of the
report is still written.
"""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.records import RecordError
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_status, upgrade_records

NOT_STARTED = "not_started"
UNREADABLE = "unreadable"
TIMELINE_LIMIT = 100
CLIENT_BUCKETS = ("upgraded", "pending", "staying_on_1_2", "failed")
FAILED_LISTED = 50
_MALFORMED = (AttributeError, KeyError, TypeError, ValueError)


def _text(value):
    return None if value is None else str(value)


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class _Reader:
    """Reads the records of one report, collecting a note for every file it cannot use."""

    def __init__(self, site_upgrade_dir, records_dir):
        self.site_upgrade_dir, self.records_dir = site_upgrade_dir, records_dir
        self.notes = []
        self._progress = None

    def note(self, path, exc):
        text = str(exc) if isinstance(exc, RecordError) else "%s is malformed (%s: %s); it is left out of this report" % (
            path, type(exc).__name__, exc)
        if text not in self.notes:
            self.notes.append(text)

    def wave_record(self, wave):
        """``(record or None, path or None)`` of the newest run of ``wave``; None on a note."""
        if not self.site_upgrade_dir:
            return None, None
        path = None
        try:
            path = site_status.wave_path(self.site_upgrade_dir, wave)
            record = site_status.load_latest_wave(self.site_upgrade_dir, wave)
            if record is not None and not isinstance(record.get("sites", []), list):
                raise TypeError("sites is not a list")
        except RecordError as exc:
            self.note(None, exc)
            return {UNREADABLE: True}, None
        except _MALFORMED as exc:
            self.note(path, exc)
            return {UNREADABLE: True}, path
        return record, path if record is not None else None

    def site_upgrade(self, site):
        if not self.site_upgrade_dir:
            return {"status": NOT_STARTED}
        path = None
        try:
            path = site_status.site_path(self.site_upgrade_dir, site)
            record = site_status.load_site(self.site_upgrade_dir, site)
            if not record.get("status"):
                return {"status": NOT_STARTED}
            timeline = [_step(entry) for entry in record["timeline"]]
            return {"status": _text(record["status"]), "updated_at": _text(record.get("updated_at")), "record": path,
                    "timeline": timeline[-TIMELINE_LIMIT:], "timeline_omitted": max(0, len(timeline) - TIMELINE_LIMIT)}
        except (RecordError,) + _MALFORMED as exc:
            self.note(path, exc)
            return {"status": UNREADABLE, "record": path}

    def post_upgrade(self, site):
        if not self.records_dir:
            return {"status": NOT_STARTED, "conversion": []}
        path = None
        try:
            path = upgrade_records.site_path(self.records_dir, site)
            record = upgrade_records.read(path, "site")
            if record is None or not record.get("status"):
                return {"status": NOT_STARTED, "conversion": []}
            return {"status": _text(record["status"]), "reason": _text(record.get("reason")),
                    "updated_at": _text(record.get("updated_at")), "record": path,
                    "conversion": [_conversion_row(row) for row in record.get("conversion") or []]}
        except (RecordError,) + _MALFORMED as exc:
            self.note(path, exc)
            return {"status": UNREADABLE, "record": path, "conversion": []}

    def progress(self):
        """``{site: entry}`` of progress.json (empty when there is none or it is unusable)."""
        if self._progress is None:
            self._progress = {}
            if self.records_dir:
                path = upgrade_records.progress_path(self.records_dir)
                try:
                    record = upgrade_records.read(path, "progress")
                    sites = (record or {}).get("sites") or {}
                    if not isinstance(sites, dict):
                        raise TypeError("sites is not a mapping")
                    self._progress = sites
                except (RecordError,) + _MALFORMED as exc:
                    self.note(path, exc)
        return self._progress

    def clients(self, site, kept_clients=None):
        entry = self.progress().get(site)
        if entry is None:
            if kept_clients is not None:
                return dict(dict.fromkeys(CLIENT_BUCKETS, 0), status="staying_on_1_2", staying_on_1_2=kept_clients,
                            total=kept_clients, failed_hosts=[])
            return {"status": NOT_STARTED}
        path = upgrade_records.progress_path(self.records_dir)
        try:
            counts = entry["clients"]
            result = {bucket: int(counts.get(bucket) or 0) for bucket in CLIENT_BUCKETS}
            result.update(status="recorded", total=int(counts.get("total") or sum(result.values())),
                          run_at=_text(entry.get("run_at")), phase=_text(entry.get("phase")),
                          failed_hosts=[{"host": _text(f["host"]), "reason": _text(f.get("reason"))}
                                        for f in (entry.get("failed") or [])[:FAILED_LISTED]])
            return result
        except _MALFORMED as exc:
            self.note(path, exc)
            return {"status": UNREADABLE}


def _step(entry):
    return {"step": _text(entry["step"]), "run": _text(entry.get("run")), "started_at": _text(entry.get("started_at")),
            "ended_at": _text(entry.get("ended_at")), "seconds": _number(entry.get("seconds")),
            "status": _text(entry.get("status")), "message": _text(entry.get("message"))}


def _conversion_row(row):
    return {"kind": _text(row["kind"]), "converted": bool(row.get("converted")), "count": _number(row.get("count")),
            "preserved": _number(row.get("preserved")) or 0, "fate": _text(row.get("fate")), "note": _text(row.get("note"))}


def _started(site_entry):
    return any(site_entry[key]["status"] != NOT_STARTED for key in ("site_upgrade", "post_upgrade", "clients"))


def _wave_status(statuses):
    if not statuses or all(s in (NOT_STARTED, "not_run") for s in statuses):
        return NOT_STARTED
    if any(s in site_status.STOPPED or s == UNREADABLE for s in statuses):
        return "stopped"
    if all(s in site_status.DONE for s in statuses):
        return "verified"
    return "in_progress"


def _wave_entry(reader, wave, entries):
    record, path = reader.wave_record(wave["name"])
    recorded = {}
    if record and not record.get(UNREADABLE):
        try:
            recorded = {str(s["site"]).upper(): _text(s.get("status")) for s in record.get("sites") or []}
        except _MALFORMED as exc:
            reader.note(path, exc)
    statuses = []
    for code in (s["site"] for s in wave["sites"]):
        status = entries[code]["site_upgrade"]["status"]
        statuses.append((recorded.get(code) or status) if status == NOT_STARTED else status)
    counts = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    last = record.get("generated_at") if record and not record.get(UNREADABLE) else None
    return {"name": wave["name"], "status": _wave_status(statuses), "sites": [s["site"] for s in wave["sites"]],
            "counts": counts, "last_run": _text(last), "record": path}


def _kept_clients(hosts, site):
    return sum(1 for h in hosts if h.get("kind") == "client" and (h.get("site") or "").upper() == site)


def progress_section(plan, hosts=(), site_upgrade_dir=None, records_dir=None):
    """The report's ``progress`` from its ``plan`` section and ``hosts`` entries, and the records' directories."""
    reader = _Reader(site_upgrade_dir, records_dir)
    sites, entries = [], {}
    for wave in plan.get("waves") or []:
        for planned in wave["sites"]:
            code = planned["site"].upper()
            if code not in entries:
                entries[code] = {"site": code, "wave": wave["name"], "stays_on_1_2": None,
                                 "site_upgrade": reader.site_upgrade(code), "post_upgrade": reader.post_upgrade(code),
                                 "clients": reader.clients(code)}
                sites.append(entries[code])
    for kept in plan.get("stay_on_1_2") or []:
        code = kept["site"].upper()
        if code not in entries:
            entries[code] = {"site": code, "wave": None, "stays_on_1_2": kept["reason"],
                             "site_upgrade": {"status": "not_applicable"},
                             "post_upgrade": {"status": "not_applicable", "conversion": []},
                             "clients": reader.clients(code, _kept_clients(hosts, code))}
            sites.append(entries[code])
    waves = [_wave_entry(reader, wave, entries) for wave in plan.get("waves") or []]
    started = any(_started(s) for s in sites if not s["stays_on_1_2"])
    return {"site_upgrade_dir": site_upgrade_dir, "records_dir": records_dir,
            "status": "recorded" if started or reader.notes else NOT_STARTED,
            "waves": waves, "sites": sites, "notes": reader.notes}
