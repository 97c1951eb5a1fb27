"""The run's record per site (upgrade_progress.py) and the record files it reads (upgrade_records.py)."""
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import upgrade_progress, upgrade_records

from .upgrade_hands import NOW
from .upgrade_lab import LAB


def client(records, host, status, reason):
    path = upgrade_records.client_path(records, "CEN", host)
    upgrade_records.save(path, dict(upgrade_records.load(path, "client", host=host, site="CEN"), status=status, reason=reason))


def test_a_run_record_counts_every_client_of_the_site_and_lists_the_kept_sites(tmp_path):
    records = str(tmp_path)
    client(records, "CENNT001", "upgraded", "verified")
    client(records, "CENNT003", "failed", "did not come over within 48 h")
    site = upgrade_records.site_path(records, "CEN")
    upgrade_records.save(site, dict(upgrade_records.load(site, "site", site="CEN"), status="pending", reason="open: POST-05"))
    results = {"CENNT002": {"phase": "client_upgrade", "site": "CEN", "status": "unreachable", "reason": "no network"},
               "CENMAC01": {"phase": "client_upgrade", "site": "CEN", "status": "stays_on_1_2", "reason": "macintosh"}}
    plan = load_plan(os.path.join(LAB, "upgrade_plan.yml"))
    record = upgrade_progress.run_record(records, "client_upgrade", "central", plan, ["CEN"], {
        "CEN": ["CENNT001", "CENNT002", "CENNT003", "CENNT004", "CENMAC01"], "S02": ["S02NT001", "S02OS201"]}, results, NOW)
    cen = record["sites"]["CEN"]
    assert cen["clients"] == {"upgraded": 1, "pending": 2, "staying_on_1_2": 1, "failed": 1, "total": 5}
    assert cen["post_upgrade"]["status"] == "pending" and cen["failed"] == [{"host": "CENNT003", "reason": "did not come over within 48 h"}]
    assert {p["host"]: p["status"] for p in cen["pending"]} == {"CENNT002": "unreachable", "CENNT004": "not_run"}
    assert record["sites"]["S02"]["clients"]["staying_on_1_2"] == 2 and record["sites"]["S02"]["kept_on_1_2"]
    lines = upgrade_progress.lines(record)
    assert lines[0] == ("CEN: post-upgrade pending; clients: 1 upgraded, 2 pending, 1 staying on 1.2, 1 failed (of 5); failed: "
                        "CENNT003 (did not come over within 48 h); unreachable: CENNT002 (no network)")
    path = upgrade_progress.write(records, record, NOW)
    assert os.path.basename(path) == "client_upgrade-central-20261207T090000Z.json"
    with open(os.path.join(records, "progress.json"), encoding="utf-8") as handle:
        progress = json.load(handle)
    assert progress["schema"] == "sms.upgrade.upgrade_progress" and progress["sites"]["CEN"]["run"] == path


def test_records_refuse_unsafe_names_and_unreadable_files(tmp_path):
    with pytest.raises(upgrade_records.RecordError, match="cannot name a record file"):
        upgrade_records.client_path(str(tmp_path), "CEN", "../x")
    path = upgrade_records.site_path(str(tmp_path), "CEN")
    os.makedirs(os.path.dirname(path))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{not json")
    with pytest.raises(upgrade_records.RecordError, match="is unreadable"):
        upgrade_records.load(path, "site")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"schema": "other"}, handle)
    with pytest.raises(upgrade_records.RecordError, match="is not a record of schema sms.upgrade.post_upgrade.site"):
        upgrade_records.read(path, "site")
