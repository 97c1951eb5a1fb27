"""The controller's clock and the two timestamp forms the collection writes (one place to patch in tests)."""
import datetime

COMPACT = "%Y%m%dT%H%M%SZ"   # run ids, journal and history file names
ISO = "%Y-%m-%dT%H:%M:%SZ"   # snapshots, manifests, results


def utc_now():
    """The current time in UTC."""
    return datetime.datetime.now(datetime.timezone.utc)


def compact_stamp(moment=None):
    """``20261203T115228Z`` for ``moment`` (default: now)."""
    return (moment or utc_now()).strftime(COMPACT)


def iso_stamp(moment=None):
    """``2026-12-03T11:52:28Z`` for ``moment`` (default: now)."""
    return (moment or utc_now()).strftime(ISO)


def parse_timestamp(text):
    """Parse an ISO 8601 timestamp; naive values are taken as UTC."""
    stamp = datetime.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
    return stamp
