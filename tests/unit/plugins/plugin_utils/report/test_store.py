"""The report store: a run directory per writer, one folder per inventory, previous reports of other inventories."""
import datetime
import json
import os
import threading

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.report import store

from ..snapshots import client, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
FILES = {name for _fmt, name in store.FILES}


def render(run_id):
    return {fmt: "%s %s\n" % (fmt, run_id) if fmt != "json" else json.dumps({"run_id": run_id, "findings": []})
            for fmt, _name in store.FILES}


def test_two_writers_of_the_same_second_get_their_own_run_directory(tmp_path):
    first = store.claim_run_id(str(tmp_path), "20261125T120000Z")
    second = store.claim_run_id(str(tmp_path), "20261125T120000Z")
    assert (first, second) == ("20261125T120000Z", "20261125T120000Z-2")
    for run_id in (second, first):
        store.write_report(str(tmp_path), {"run_id": run_id}, render(run_id))
    for run_id in (first, second):
        with open(tmp_path / run_id / "readiness.md", encoding="utf-8") as handle:
            assert handle.read() == "markdown %s\n" % run_id
        assert set(os.listdir(tmp_path / run_id)) == FILES


def test_many_writers_at_once_never_share_a_directory(tmp_path):
    claimed, errors = [], []

    def writer():
        try:
            run_id = store.claim_run_id(str(tmp_path), "20261125T120000Z")
            store.write_report(str(tmp_path), {"run_id": run_id}, render(run_id))
            claimed.append(run_id)
        except Exception as exc:  # pragma: no cover - reported by the assertion below
            errors.append(exc)
    threads = [threading.Thread(target=writer) for _number in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(set(claimed)) == 8
    for run_id in claimed:
        with open(tmp_path / run_id / "readiness.junit.xml", encoding="utf-8") as handle:
            assert handle.read() == "junit %s\n" % run_id


def test_a_run_directory_left_by_a_crashed_writer_is_never_reused(tmp_path):
    (tmp_path / "20261125T120000Z.partial").mkdir()
    (tmp_path / "20261125T120000Z.partial" / "readiness.md").write_text("half", encoding="utf-8")
    assert store.claim_run_id(str(tmp_path), "20261125T120000Z") == "20261125T120000Z-2"


def test_writing_an_unclaimed_run_is_refused(tmp_path):
    with pytest.raises(store.ReportStoreError, match="was not claimed"):
        store.write_report(str(tmp_path), {"run_id": "20261125T120000Z"}, render("20261125T120000Z"))


def test_the_default_folder_is_per_inventory(tmp_path):
    lab = store.inventory_identity(["inventories/lab/hosts.yml"], "/repo/inventories/lab")
    assert lab["name"] == "lab" and lab["sources"] == [os.path.abspath("inventories/lab/hosts.yml")]
    assert lab["dirs"] == [os.path.abspath("inventories/lab")]
    assert store.inventory_identity([str(tmp_path)])["dirs"] == [str(tmp_path)], "a directory source is its own"
    assert store.default_report_dir(lab, "/work") == "/work/sms-upgrade-reports/lab"
    assert store.inventory_identity(["/x/site1/hosts.yml"])["name"] == "site1"
    assert store.inventory_identity(["/x/hosts.yml"], "/x", name="Branch Office")["name"] == "Branch Office"
    with pytest.raises(store.ReportStoreError, match="sms_upgrade_inventory_name"):
        store.inventory_identity(["/x/hosts.yml"], "/x", name="../other")


def test_a_report_of_the_old_layout_is_found_beside_the_inventory_folder(tmp_path):
    reports = tmp_path / "sms-upgrade-reports"
    reports.mkdir()
    assert store.legacy_report(str(reports / "lab")) is None
    (reports / "latest.json").write_text("{}", encoding="utf-8")
    assert store.legacy_report(str(reports / "lab")) == str(reports / "latest.json")
    assert store.legacy_report(str(tmp_path / "elsewhere" / "lab")) is None


def fleet(tmp_path):
    return write_fleet(str(tmp_path / "snapshots"), [site_server(), client()]), str(tmp_path / "snapshots")


def test_the_previous_report_of_another_inventory_is_not_compared(tmp_path):
    hosts, snapshots = fleet(tmp_path)
    site_a = store.inventory_identity([str(tmp_path / "a" / "hosts.yml")])
    site_b = store.inventory_identity([str(tmp_path / "b" / "hosts.yml")])
    reports = str(tmp_path / "reports")
    first, _paths, _warning = run_readiness(hosts, {}, snapshots, reports, NOW, inventory=site_a)
    assert first["inventory"] == site_a
    second, _paths, warning = run_readiness(hosts, {}, snapshots, reports, NOW, inventory=site_b)
    assert second["diff"]["previous_run_id"] is None
    assert "was made for inventory %s" % site_a["dirs"][0] in warning and warning in second["warnings"]
    third, _paths, warning = run_readiness(hosts, {}, snapshots, reports, NOW, inventory=site_b)
    assert third["diff"]["previous_run_id"] == second["run_id"] and warning is None


def test_answers_for_hosts_not_in_the_run_are_a_report_warning(tmp_path):
    hosts, snapshots = fleet(tmp_path)
    answers = tmp_path / "answers.yml"
    answers.write_text("schema_version: 1\nanswers:\n  - {rule: manual.security_settings, hosts: [SRV1O], by: Jane, "
                       "at: '2026-11-20T09:00:00Z', reason: typo in the host}\n", encoding="utf-8")
    report, paths, warning = run_readiness(hosts, {}, snapshots, str(tmp_path / "r"), NOW, answers_file=str(answers))
    assert "names host SRV1O, which is not in this run (rules manual.security_settings)" in warning
    assert report["warnings"] == [warning]
    with open(paths["markdown"], encoding="utf-8") as handle:
        assert "SRV1O" in handle.read()


def test_each_host_records_the_sha256_of_the_snapshot_assessed(tmp_path):
    hosts, snapshots = fleet(tmp_path)
    report, _paths, _warning = run_readiness(hosts + ["GONE01"], {}, snapshots, str(tmp_path / "r"), NOW)
    entries = {h["host"]: h for h in report["hosts"]}
    import hashlib
    with open(os.path.join(snapshots, "SRV01.json"), "rb") as handle:
        assert entries["SRV01"]["snapshot_sha256"] == hashlib.sha256(handle.read()).hexdigest()
    assert entries["GONE01"]["snapshot_sha256"] is None
