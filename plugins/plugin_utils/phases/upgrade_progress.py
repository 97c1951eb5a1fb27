"""The record of one run of the post-upgrade or client playbook, per site (docs/post_upgrade.md, "Records").

``run_record`` takes what the run's hosts returned and the records the rooms keep, and gives per site of the wave:
the post-upgrade status (from the site's record) and the client progress (upgraded / pending / staying on 1.2 /
failed, counted over every client of the site: a client without a record yet is pending), plus the sites the upgrade
plan keeps on SMS 1.2 with their clients. ``write`` saves it as ``runs/<phase>-<wave>-<UTC>.json`` and merges it
into ``progress.json`` (the newest view per site, what the readiness report can read).
"""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import compact_stamp, iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import upgrade_records
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.client_upgrade import progress_bucket

BUCKETS = ("upgraded", "pending", "staying_on_1_2", "failed")


def _site_summary(records_dir, site, clients, results):
    record = upgrade_records.read(upgrade_records.site_path(records_dir, site), "site")
    now = next((r for r in results.values() if r.get("phase") == "post_upgrade" and r.get("site") == site), None)
    if now:
        post = {"status": now.get("status"), "reason": now.get("reason"), "updated_at": None, "this_run": True}
    elif record:
        post = {"status": record.get("status"), "reason": record.get("reason"), "updated_at": record.get("updated_at")}
    else:
        post = {"status": None, "reason": "no post-upgrade record yet"}
    kept = upgrade_records.client_records(records_dir, site)
    counts = dict.fromkeys(BUCKETS, 0)
    failed, pending = [], []
    for host in sorted(set(clients) | set(kept)):
        current = results.get(host)
        entry = (current if current and current.get("phase") == "client_upgrade" else None) or kept.get(host) or {}
        status = entry.get("status")
        bucket = progress_bucket(status) if status else "pending"
        counts[bucket] += 1
        reason = entry.get("reason") or entry.get("unreadable") or "not run yet"
        if bucket == "failed":
            failed.append({"host": host, "reason": reason})
        elif bucket == "pending":
            pending.append({"host": host, "status": status or "not_run", "reason": reason})
    counts["total"] = sum(counts[b] for b in BUCKETS)
    return {"post_upgrade": post, "clients": counts, "failed": failed, "pending": pending}


def run_record(records_dir, phase, wave, plan, sites, clients_by_site, results, now):
    """The run's record: ``sites`` are the wave's sites in order; ``results`` ``{host: task result}`` of this run."""
    record = {"schema": upgrade_records.SCHEMAS["run"], "schema_version": upgrade_records.SCHEMA_VERSION, "phase": phase,
              "wave": wave, "run_at": iso_stamp(now), "plan_file": plan.source if plan else None, "sites": {}}
    for site in sites:
        summary = _site_summary(records_dir, site, clients_by_site.get(site, []), results)
        summary["this_run"] = {h: {"status": r.get("status"), "reason": r.get("reason")} for h, r in sorted(results.items())
                               if r.get("site") == site}
        record["sites"][site] = summary
    for kept in (plan.kept_sites if plan else ()):
        count = len(clients_by_site.get(kept.site, []))
        record["sites"][kept.site] = {"kept_on_1_2": kept.reason, "post_upgrade": {"status": "not_applicable"},
                                      "clients": dict(dict.fromkeys(BUCKETS, 0), staying_on_1_2=count, total=count),
                                      "failed": [], "pending": [], "this_run": {}}
    return record


def lines(record):
    """One line per site: post-upgrade status and client progress."""
    out = []
    for site, item in record["sites"].items():
        c = item["clients"]
        head = "%s: stays on SMS 1.2 (%s)" % (site, item["kept_on_1_2"]) if item.get("kept_on_1_2") else \
            "%s: post-upgrade %s" % (site, item["post_upgrade"]["status"] or "not run")
        unreachable = [p for p in item["pending"] if p["status"] == "unreachable"]
        out.append("%s; clients: %d upgraded, %d pending, %d staying on 1.2, %d failed (of %d)%s%s" % (
            head, c["upgraded"], c["pending"], c["staying_on_1_2"], c["failed"], c["total"],
            "; failed: " + ", ".join("%s (%s)" % (f["host"], f["reason"]) for f in item["failed"]) if item["failed"] else "",
            "; unreachable: " + ", ".join("%s (%s)" % (p["host"], p["reason"]) for p in unreachable) if unreachable else ""))
    return out


def write(records_dir, record, now):
    """Save the run's record and merge it into progress.json; returns the run's path."""
    path = upgrade_records.save(upgrade_records.run_path(records_dir, record["phase"], record["wave"], compact_stamp(now)), record)
    progress_file = upgrade_records.progress_path(records_dir)
    progress = upgrade_records.load(progress_file, "progress", sites={})
    for site, item in record["sites"].items():
        progress["sites"][site] = dict(item, wave=record["wave"], phase=record["phase"], run=path, run_at=record["run_at"])
    progress["updated_at"] = record["run_at"]
    progress.pop("history", None)
    upgrade_records.save(progress_file, progress)
    return path
