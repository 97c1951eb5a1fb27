"""Shared views of the report's ``progress`` section (report/progress.py) for the renderers: plain text cells only,
each renderer escapes them."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_status import STOPPED

NOT_RECORDED = ("not_started", "not_applicable")
FAILED_POST = ("failed",)


def word(status):
    """``not_started`` -> ``not started``."""
    return (status or "-").replace("_", " ")


def duration(seconds):
    """``35 s``, ``4 min 05 s``, ``2 h 03 min``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return "%d s" % seconds
    if seconds < 3600:
        return "%d min %02d s" % divmod(seconds, 60)
    return "%d h %02d min" % (seconds // 3600, seconds % 3600 // 60)


def clients_text(clients):
    """``1 upgraded, 2 pending, 1 staying on 1.2, 1 failed (of 5)`` or ``not started``."""
    if clients.get("status") in ("not_started", "unreadable"):
        return word(clients["status"])
    return "%d upgraded, %d pending, %d staying on 1.2, %d failed (of %d)" % (
        clients["upgraded"], clients["pending"], clients["staying_on_1_2"], clients["failed"], clients["total"])


def post_text(post):
    return word(post["status"]) + (": %s" % post["reason"] if post.get("reason") else "")


def headline(progress):
    """One sentence: not started, or how many sites have a record."""
    if not progress:
        return "No upgrade progress in this report."
    if progress["status"] == "not_started":
        return "Not started: no site upgrade, post-upgrade or client record yet."
    started = [s for s in progress["sites"] if not s["stays_on_1_2"] and not all(
        s[k]["status"] == "not_started" for k in ("site_upgrade", "post_upgrade", "clients"))]
    planned = [s for s in progress["sites"] if not s["stays_on_1_2"]]
    return "%d of %d planned site(s) have a record of the upgrade%s." % (
        len(started), len(planned), "; %d record(s) could not be used (notes below)" % len(progress["notes"])
        if progress["notes"] else "")


def wave_rows(progress):
    """``[wave, status, sites with their site upgrade status, last run]``."""
    statuses = {s["site"]: s["site_upgrade"]["status"] for s in progress["sites"]}
    return [[w["name"], word(w["status"]), ", ".join("%s %s" % (code, word(statuses.get(code))) for code in w["sites"]) or "-",
             w["last_run"] or "-"] for w in progress["waves"]]


def site_rows(progress):
    """``[site, wave, site upgrade, post-upgrade, clients]``."""
    return [[s["site"], s["wave"] or "stays on SMS 1.2 (%s)" % s["stays_on_1_2"],
             word(s["site_upgrade"]["status"]) + (" (%s)" % s["site_upgrade"]["updated_at"]
                                                  if s["site_upgrade"].get("updated_at") else ""),
             post_text(s["post_upgrade"]), clients_text(s["clients"])] for s in progress["sites"]]


def timeline_rows(site):
    """``[step, started, duration, result, message]`` of every recorded step."""
    return [[e["step"], e["started_at"] or "-", duration(e["seconds"]), word(e["status"]), e["message"] or ""]
            for e in site["site_upgrade"].get("timeline") or []]


def conversion_rows(site):
    """``[SMS 1.2 object, converted, count, preserved, fate]`` (POST-06)."""
    return [[r["kind"], "yes" if r["converted"] else "no", "-" if r["count"] is None else r["count"], r["preserved"] or "-",
             (r["fate"] or "-") + (" (%s)" % r["note"] if r.get("note") else "")] for r in site["post_upgrade"]["conversion"]]


def failed_clients(site):
    return ["%s (%s)" % (f["host"], f["reason"] or "no reason recorded") for f in site["clients"].get("failed_hosts") or []]


def detailed(progress):
    """The sites with a timeline, a conversion table or failed clients, in report order."""
    return [s for s in progress["sites"] if timeline_rows(s) or conversion_rows(s) or failed_clients(s)]


def trouble(site):
    """Why a site's progress is a failure, or None: a stopped site upgrade, a failed post-upgrade, failed clients."""
    reasons = []
    if site["site_upgrade"]["status"] in STOPPED:
        reasons.append("site upgrade %s" % word(site["site_upgrade"]["status"]))
    if site["post_upgrade"]["status"] in FAILED_POST:
        reasons.append("post-upgrade %s" % post_text(site["post_upgrade"]))
    if site["clients"].get("failed"):
        reasons.append("%d client(s) failed" % site["clients"]["failed"])
    return "; ".join(reasons) or None
