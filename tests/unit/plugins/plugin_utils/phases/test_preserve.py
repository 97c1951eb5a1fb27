"""One host through the preserve phase against a host in memory: copies, versions, repeat runs, faults."""
import errno
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import preserve as phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.preserve import PreserveError
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault import store
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import VaultError, preservation
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.store import VaultBusy

from .fake_host import SMS_ROOT, preserve_run, sha, site_server

ROOT = "C:\\PRESERVED-SMS12\\CEN\\CENSRV01"
SQL_ROOT = "C:\\PRESERVED-SMS12\\CEN\\CENSQL01"


def run(host, vault, check_mode=False, snapshot=None, **options):
    opts = dict({"host": "CENSRV01", "site": "CEN", "vault_root": str(vault), "check_mode": check_mode}, **options)
    return preserve_run(host, ["site_server"], snapshot, snapshot is not None, **opts)


def vault_files(vault):
    found = []
    for directory, _dirs, files in os.walk(vault):
        found += [os.path.relpath(os.path.join(directory, f), vault) for f in files]
    return sorted(found)


def test_first_run_copies_everything_to_the_host_and_the_vault(tmp_path):
    host = site_server()
    result = run(host, tmp_path)
    assert result["problems"] == []
    assert result["changed"] is True
    assert result["copied"]["host_files"] == 12 and result["copied"]["vault_files"] == 12
    assert host.get(ROOT + "\\v1\\package_definition_files\\ENU\\MSAPPS32.PDF") == host.get(
        SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\MSAPPS32.PDF")
    assert host.get(ROOT + "\\v1\\logon_scripts\\netlogon\\SMSLS.BAT").endswith(b"modified by corp IT\r\n")
    assert host.get(ROOT + "\\v1\\registry\\SMS-registry.reg").startswith(b"REGEDIT4")
    assert b"LAN Sender" in host.get(ROOT + "\\v1\\site_documents\\site-properties.md")
    manifest = json.loads(host.get(ROOT + "\\MANIFEST.json"))
    assert len(manifest["entries"]) == 14
    stored = vault_files(tmp_path)
    assert "CEN/CENSRV01/v1/collected_files/00000001.COL" in stored and "CEN/CENSRV01/manifest.json" in stored
    assert "CEN/CENSRV01/v1/site_documents/site-properties.md" in stored
    categories = result["categories"]
    assert all(c["verified"] for c in categories.values()), categories
    assert categories["collected_files"]["files"] == 2 and categories["registry"]["files"] == 1
    # inventory, apply, the site document (it needs the fetched SITECTRL.CT0), the host manifest (once all verified)
    assert result["module_calls"] == 4
    # sources are never modified or deleted
    assert host.get(SMS_ROOT + "\\ASSETS.MIF") == b"START COMPONENT"


def test_second_run_copies_nothing_and_reports_no_change(tmp_path):
    host = site_server()
    run(host, tmp_path)
    before = vault_files(tmp_path)
    host.calls.clear()
    again = run(host, tmp_path)
    assert again["changed"] is False and again["problems"] == []
    assert again["copied"] == {"host_files": 0, "host_bytes": 0, "vault_files": 0, "vault_bytes": 0}
    assert [c[1]["mode"] for c in host.calls] == ["inventory"]
    assert vault_files(tmp_path) == before
    assert {row["action"] for row in again["plan"]} == {"unchanged"}


def test_a_changed_source_gets_a_new_version_and_the_old_one_stays(tmp_path):
    host = site_server()
    run(host, tmp_path)
    pdf = SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\MSAPPS32.PDF"
    old = host.get(pdf)
    host.put(pdf, b"[PDF] edited")
    result = run(host, tmp_path)
    assert result["changed"] is True and result["copied"]["vault_files"] == 1
    assert host.get(ROOT + "\\v1\\package_definition_files\\ENU\\MSAPPS32.PDF") == old
    assert host.get(ROOT + "\\v2\\package_definition_files\\ENU\\MSAPPS32.PDF") == b"[PDF] edited"
    with open(tmp_path / "CEN" / "CENSRV01" / "v1" / "package_definition_files" / "ENU" / "MSAPPS32.PDF", "rb") as handle:
        assert handle.read() == old
    manifest = json.loads((tmp_path / "CEN" / "CENSRV01" / "manifest.json").read_text())
    entry = [e for e in manifest["entries"] if e["path"] == "ENU/MSAPPS32.PDF"][0]
    assert entry["current"] == 2 and [v["sha256"] for v in entry["versions"]] == [sha(old), sha(b"[PDF] edited")]
    assert "+package_definition_files/ENU/MSAPPS32.PDF" not in result["diff"]["before"]
    assert "*package_definition_files/ENU/MSAPPS32.PDF v2" in result["diff"]["after"]


def test_check_mode_lists_exactly_what_would_be_copied_and_changes_nothing(tmp_path):
    host = site_server()
    files_before = dict(host.files)
    result = run(host, tmp_path, check_mode=True)
    assert host.files == files_before and not os.path.exists(tmp_path / "CEN")
    assert [c[1]["mode"] for c in host.calls] == ["inventory"]
    copies = [row for row in result["plan"] if row["to_host"]]
    assert len(copies) == 13  # 12 files and the registry export; the site document follows SITECTRL.CT0
    assert result["would_copy"]["files"] == 13
    assert result["would_copy"]["bytes"] == sum(len(d) for p, d in host.files.values() if not p.startswith(ROOT)) + \
        [r for r in copies if r["category"] == "registry"][0]["size"]
    assert result["changed"] is True


def test_snapshot_plan_contacts_nothing(tmp_path):
    host = site_server()
    snapshot = {"sms_tree": {"root": "C:\\SMS", "package_definition_files": [
        {"path": "C:\\SMS\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\A.PDF", "size": 100, "sha256": "a" * 64}],
        "site_control_files": [{"path": "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "size": 50, "sha256": "b" * 64}]}}
    result = run(host, tmp_path, check_mode=True, snapshot=snapshot)
    assert host.calls == [] and result["mode"] == "snapshot"
    assert [(r["category"], r["path"], r["action"]) for r in result["plan"]] == [
        ("package_definition_files", "ENU/A.PDF", "new"), ("site_control_files", "SITE.SRV/SITECFG.BOX/SITECTRL.CT0", "new"),
        ("registry", "SMS-registry.reg", "export"), ("site_documents", "site-properties.md", "export")]
    assert result["would_copy"] == {"files": 4, "bytes": 150, "unknown_sizes": 2}
    with pytest.raises(PreserveError, match="sms_snapshots_only"):
        run(host, tmp_path, snapshot=snapshot)


def test_faults_give_per_file_results_and_everything_else_is_preserved(tmp_path):
    long_dir = SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\" + "\\".join("SUBDIRECTORY%02d" % i for i in range(14))
    host = site_server(**{long_dir + "\\DEEP.COL": b"deep", SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\CON": b"device",
                          SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\Naïve file;1 [x].col": b"odd name"})
    locked = SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\00000001.COL"
    denied = SMS_ROOT + "\\ASSETS.MIF"
    vanishing = SMS_ROOT + "\\SYSTEM.MAP"
    host.locked.add(locked.upper())
    host.denied.add(denied.upper())
    host.vanish_on_copy.add(vanishing.upper())
    result = run(host, tmp_path)
    causes = {(p["source"], p["cause"]) for p in result["problems"]}
    assert (locked, "locked") in causes and (denied, "access_denied") in causes and (vanishing, "not_found") in causes
    assert any(p["cause"] == "unsafe_name" and "CON" in p["message"] for p in result["problems"])
    assert len(result["problems"]) == 4
    assert host.get(ROOT + "\\v1\\collected_files\\Naïve file;1 [x].col") == b"odd name"
    deep = [r for r in result["plan"] if r["path"].endswith("DEEP.COL")][0]
    assert "/_long/" in deep["stored"] and host.get(ROOT + "\\" + deep["stored"].replace("/", "\\")) == b"deep"
    assert result["categories"]["collected_files"]["verified"] is False
    assert result["categories"]["package_definition_files"]["verified"] is True
    # the problems are remembered: the readiness report sees the category as not verified until they are fixed
    assert preservation(str(tmp_path), "now")["CENSRV01"]["collected_files"]["verified"] is False
    host.locked.clear()
    host.denied.clear()
    host.files.pop((SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\CON").upper())
    fixed = run(host, tmp_path)
    assert fixed["problems"] == [] and fixed["copied"]["vault_files"] == 2
    assert all(c["verified"] for c in fixed["categories"].values())


def test_a_full_disk_stops_only_what_does_not_fit(tmp_path):
    host = site_server(**{SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\BIG.COL": b"x" * 5000})
    host.free_bytes = 32 * 1024 * 1024 + 3000
    result = run(host, tmp_path)
    full = [p for p in result["problems"] if p["cause"] == "disk_full"]
    assert len(full) == 1 and full[0]["source"].endswith("BIG.COL") and "5000 bytes needed" in full[0]["message"]
    assert host.exists(ROOT + "\\v1\\package_definition_files\\ENU\\MSAPPS32.PDF")


def test_source_changing_during_the_copy_is_reported_and_taken_next_time(tmp_path):
    host = site_server()
    pdf = SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\SMS12SP4.PDF"
    host.change_on_copy[pdf.upper()] = b"rewritten while copying"
    result = run(host, tmp_path)
    assert [(p["source"], p["cause"]) for p in result["problems"]] == [(pdf, "changed")]
    assert not host.exists(ROOT + "\\v1\\package_definition_files\\ENU\\SMS12SP4.PDF")
    again = run(host, tmp_path)
    assert again["problems"] == []
    assert host.get(ROOT + "\\v1\\package_definition_files\\ENU\\SMS12SP4.PDF") == b"rewritten while copying"


def test_an_interrupted_transfer_resumes_without_copying_twice(tmp_path):
    host = site_server()
    mif_copy = ROOT + "\\v1\\mif_files\\ASSETS.MIF"
    host.fail_fetch.add(mif_copy.upper())
    first = run(host, tmp_path)
    assert [(p["source"], p["cause"]) for p in first["problems"]] == [(SMS_ROOT + "\\ASSETS.MIF", "transfer")]
    assert first["categories"].get("mif_files") is None or not first["categories"]["mif_files"]["verified"]
    assert os.listdir(tmp_path / "CEN" / "CENSRV01" / ".partial") == []
    host.fail_fetch.clear()
    host.calls.clear()
    second = run(host, tmp_path)
    assert second["problems"] == [] and second["copied"]["host_files"] == 0 and second["copied"]["vault_files"] == 1
    assert [c[1]["mode"] for c in host.calls] == ["inventory", "apply"]  # only the host manifest is rewritten
    assert second["categories"]["mif_files"]["verified"] is True


def test_a_tampered_host_copy_is_never_overwritten(tmp_path):
    host = site_server()
    run(host, tmp_path)
    copy = ROOT + "\\v1\\collected_files\\00000002.COL"
    host.put(copy, b"edited by hand")
    result = run(host, tmp_path)
    assert [p["cause"] for p in result["problems"]] == ["conflict"]
    assert host.get(copy) == b"edited by hand"
    assert result["categories"]["collected_files"]["verified"] is False


def test_bad_settings_fail_the_host_with_a_clear_message(tmp_path):
    host = site_server()
    with pytest.raises(PreserveError, match="inside the SMS tree"):
        run(host, tmp_path, host_root="C:\\SMS\\KEEP")
    with pytest.raises(ValueError, match="not absolute"):
        run(host, tmp_path, host_root="KEEP")
    host.run_module = lambda name, args: {"failed": True, "msg": "The network path was not found"}
    with pytest.raises(PreserveError, match="cannot list CENSRV01: The network path was not found"):
        run(host, tmp_path)


def test_relay_mode_passes_the_computer_and_fetches_over_its_share(tmp_path):
    host = site_server()
    host.io_root = lambda root: "\\\\CENSRV01\\C$" + root[2:]
    store = dict(host.files)
    original_fetch = host.fetch

    def fetch(remote, local):
        assert remote.startswith("\\\\CENSRV01\\C$\\PRESERVED-SMS12\\CEN\\CENSRV01\\v1\\")
        return original_fetch("C:" + remote[len("\\\\CENSRV01\\C$"):], local)
    host.fetch = fetch
    result = run(host, tmp_path, computer="CENSRV01")
    assert result["problems"] == [] and result["mode"] == "relay"
    assert all(args.get("computer") == "CENSRV01" for _name, args in host.calls)
    assert len(host.files) > len(store)


# ------------------------------------------------------------------ site database
ISQL = """SMSUPG>>physical_disks
 DiskIndex  Size    FreeSpace
 ---------- ------- ---------
 C:         4096    1024
 D:         8192    (null)

(2 rows affected)
SMSUPG>>jobs
 JobID      JobType  Status
 ---------- -------- -------
 CEN00117   NULL     Pending

(1 row affected)
SMSUPG>>job_details
Msg 208, Level 16, State 1
Invalid object name 'SMS_CEN..JobDetails'.
"""


def sql_run(host, vault, check_mode=False, snapshot=None, from_snapshot=False, **options):
    opts = dict({"host": "CENSQL01", "site": "CEN", "vault_root": str(vault), "check_mode": check_mode,
                 "database": "SMS_CEN"}, **options)
    return preserve_run(host, ["site_database"], snapshot, from_snapshot, **opts)


def test_site_database_exports_become_documents(tmp_path):
    host = site_server()
    host.sql_output = ISQL
    snapshot = {"site_database": "SMS_CEN", "site_code": "CEN", "machine_groups": [{"name": "Accounting", "id": "CEN00002"}],
                "jobs": [{"id": "CEN00117", "name": "Office", "system": False, "active": True, "status": "Pending"}]}
    result = sql_run(host, tmp_path, snapshot=snapshot)
    listing, (name, args) = host.calls[0], host.calls[1]
    assert listing[1]["mode"] == "inventory" and listing[1]["file_sets"] == [] and listing[1]["registry_export"] == []
    assert name == "sms.upgrade.sql_facts" and "Disk_SPEC" in args["script"] and "JobDetails" in args["script"]
    # KB Q133253: the disks are tied to each computer through MachineDataTable and the identification group.
    assert "Identification_SPEC" in args["script"] and "MachineDataTable" in args["script"]
    assert "select * from SMS_CEN..Jobs" in args["script"]
    assert host.get(SQL_ROOT + "\\v1\\database_documents\\jobs.csv") == b"JobID,JobType,Status\r\nCEN00117,,Pending\r\n"
    assert host.get(SQL_ROOT + "\\v1\\database_documents\\physical_disks.csv") == b"DiskIndex,Size,FreeSpace\r\nC:,4096,1024\r\nD:,8192,\r\n"
    summary = host.get(SQL_ROOT + "\\v1\\database_documents\\database-summary.md").decode("utf-8")
    assert "CEN00117" in summary and "Invalid object name" in summary and "not configured" in summary
    assert [(p["source"], p["cause"]) for p in result["problems"]] == [("query job_details", "other")]
    assert result["categories"]["database_documents"]["verified"] is False
    host.calls.clear()
    fixed = sql_run(host, tmp_path, snapshot=snapshot, sql_queries={"job_details": None})
    assert fixed["problems"] == [] and fixed["categories"]["database_documents"]["verified"] is True
    again = sql_run(host, tmp_path, snapshot=snapshot, sql_queries={"job_details": None})
    assert again["changed"] is False and again["copied"]["vault_files"] == 0
    with pytest.raises(PreserveError, match="unknown exports: bogus"):
        sql_run(host, tmp_path, sql_queries={"bogus": "select 1"})
    with pytest.raises(PreserveError, match="not a read-only"):
        sql_run(host, tmp_path, sql_queries={"queries": "delete from Queries"})


def test_site_database_plan_from_a_snapshot(tmp_path):
    host = site_server()
    result = sql_run(host, tmp_path, check_mode=True, snapshot={"site_database": "SMS_CEN"}, from_snapshot=True)
    assert host.calls == [] and [r["path"] for r in result["plan"]] == [
        "physical_disks.csv", "jobs.csv", "job_details.csv", "database-summary.md"]


# ------------------------------------------------------------------ an unknown SMS root, skipped file sets (finding 2)
def test_an_unknown_sms_root_fails_the_host_by_name_instead_of_preserving_nothing(tmp_path):
    host = site_server()
    host.sms_root = None  # the Installation Directory value is missing or unreadable
    with pytest.raises(PreserveError, match=r"CENSRV01: the SMS root of CENSRV01 is unknown .*set sms_upgrade_sms_root"):
        run(host, tmp_path)
    assert not host.under(ROOT)
    given = run(host, tmp_path, sms_root=SMS_ROOT)
    assert given["problems"] == [] and given["categories"]["collected_files"]["files"] == 2
    with pytest.raises(PreserveError, match="SMS root of CENSRV01 is unknown"):
        run(host, tmp_path, check_mode=True, snapshot={"sms_tree": {"collected_files": []}})


def test_file_sets_the_module_skipped_are_reported_and_unknown_tokens_are_problems(tmp_path):
    host = site_server()
    result = run(host, tmp_path, extra_sources=[{"category": "package_definition_files", "path": "%SYSTEM_ROOT%\\PDF"},
                                                {"category": "package_definition_files", "path": "%SHARE:PDFS%\\X"}])
    skipped = {item["path"]: item for item in result["skipped"]}
    assert "%SHARE:PDFS%\\X" in skipped and "%SHARE:REPL$%\\SCRIPTS" in skipped  # shares that do not exist hold nothing
    assert [(p["category"], p["source"], p["cause"]) for p in result["problems"]] == [
        ("package_definition_files", "%SYSTEM_ROOT%\\PDF", "not_found")]
    assert "%SYSTEM_ROOT% has no value on CENSRV01" in result["problems"][0]["message"]


# ------------------------------------------------------------------ the vault never overwrites, runs never overlap (3)
def test_a_stored_file_that_appears_meanwhile_is_kept_not_replaced(tmp_path, monkeypatch):
    host = site_server()
    real_link = os.link
    intruder = b"placed by another run"

    def racing_link(source, final):
        if final.endswith("00000002.COL"):
            with open(final, "wb") as handle:
                handle.write(intruder)
        return real_link(source, final)
    monkeypatch.setattr(os, "link", racing_link)
    result = run(host, tmp_path)
    stored = tmp_path / "CEN" / "CENSRV01" / "v1" / "collected_files" / "00000002.COL"
    assert stored.read_bytes() == intruder
    assert [(p["source"].rsplit("\\", 1)[-1], p["cause"]) for p in result["problems"]] == [("00000002.COL", "vault")]
    assert "exists with other content; it is kept" in result["problems"][0]["message"]


def test_without_hard_links_the_vault_copies_into_a_new_file_and_still_never_replaces(tmp_path, monkeypatch):
    host = site_server()

    def no_links(source, final):
        if final.endswith("00000002.COL"):
            with open(final, "wb") as handle:
                handle.write(b"placed by another run")
        raise OSError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", no_links)
    result = run(host, tmp_path)
    assert [p["source"].rsplit("\\", 1)[-1] for p in result["problems"]] == ["00000002.COL"]
    assert (tmp_path / "CEN" / "CENSRV01" / "v1" / "collected_files" / "00000002.COL").read_bytes() == b"placed by another run"
    assert (tmp_path / "CEN" / "CENSRV01" / "v1" / "collected_files" / "00000001.COL").read_bytes() == b"collected 1"
    assert result["categories"]["package_definition_files"]["verified"] is True


def test_runs_of_one_host_never_overlap(tmp_path):
    host = site_server()
    seen = {}
    original = host.fetch

    def fetch(remote, local):
        original(remote, local)
        if not seen:
            with pytest.raises(VaultBusy, match="another preserve run of CENSRV01 holds its vault directory .*pid"):
                run(host, tmp_path)
            seen["local"] = os.path.exists(local)  # the second run removed none of this run's transfers
    host.fetch = fetch
    result = run(host, tmp_path)
    assert seen == {"local": True} and result["problems"] == []
    leftover = tmp_path / "CEN" / "CENSRV01" / ".partial" / "dead-run"
    leftover.mkdir(parents=True)
    (leftover / "x").write_bytes(b"half")
    run(host, tmp_path)
    assert not leftover.exists()


# ------------------------------------------------------------------ co-located SQL Server, one root per host (4)
def test_two_inventory_names_of_one_machine_keep_separate_copies_and_a_repeat_changes_nothing(tmp_path):
    host = site_server()
    host.sql_output = "SMSUPG>>physical_disks\n a\n --\n 1\n"
    for _round in range(2):
        host.calls.clear()
        site = run(host, tmp_path)
        sql = sql_run(host, tmp_path, sql_queries={"job_details": None})
    assert site["changed"] is False and sql["changed"] is False
    assert [(name.rsplit(".", 1)[-1], args.get("mode")) for name, args in host.calls] == [
        ("preserve_files", "inventory"), ("preserve_files", "inventory"), ("sql_facts", None)]
    site_manifest = json.loads(host.get(ROOT + "\\MANIFEST.json"))
    sql_manifest = json.loads(host.get(SQL_ROOT + "\\MANIFEST.json"))
    assert site_manifest["host"] == "CENSRV01" and sql_manifest["host"] == "CENSQL01"
    assert {e["category"] for e in sql_manifest["entries"]} == {"database_documents"}


def test_a_replaced_host_manifest_counts_as_a_change(tmp_path):
    host = site_server()
    run(host, tmp_path)
    host.put(ROOT + "\\MANIFEST.json", b"{}")
    result = run(host, tmp_path)
    assert result["changed"] is True and json.loads(host.get(ROOT + "\\MANIFEST.json"))["host"] == "CENSRV01"
    host.sql_output = "SMSUPG>>physical_disks\n a\n --\n 1\n"
    sql_run(host, tmp_path, sql_queries={"job_details": None})
    host.put(SQL_ROOT + "\\MANIFEST.json", b"{}")  # e.g. another run wrote its own list there
    again = sql_run(host, tmp_path, sql_queries={"job_details": None})
    assert again["changed"] is True and json.loads(host.get(SQL_ROOT + "\\MANIFEST.json"))["host"] == "CENSQL01"


# ------------------------------------------------------------------ an interrupted run (5)
class Stop(BaseException):
    """The controller stops (Ctrl-C, lost connection) in the middle of the run."""


def test_an_interrupted_run_leaves_no_host_manifest_listing_uncopied_files_and_checkpoints_the_vault(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "CHECKPOINT_FILES", 2)
    host = site_server()
    pdf = SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\SMS12SP4.PDF"
    host.change_on_copy[pdf.upper()] = b"rewritten while copying"
    fetched = []
    original = host.fetch

    def fetch(remote, local):
        if len(fetched) == 5:
            raise Stop()
        fetched.append(remote)
        original(remote, local)
    host.fetch = fetch
    with pytest.raises(Stop):
        run(host, tmp_path)
    assert not host.exists(ROOT + "\\MANIFEST.json")
    manifest = json.loads((tmp_path / "CEN" / "CENSRV01" / "manifest.json").read_text())
    assert 2 <= len(manifest["entries"]) <= 5
    for entry in manifest["entries"]:
        version = entry["versions"][0]
        data = (tmp_path / "CEN" / "CENSRV01" / version["stored"]).read_bytes()
        assert sha(data) == version["sha256"] and host.get(ROOT + "\\" + version["stored"].replace("/", "\\")) == data
    host.fetch = original
    resumed = run(host, tmp_path)
    assert resumed["problems"] == []
    listed = json.loads(host.get(ROOT + "\\MANIFEST.json"))
    assert all(host.exists(ROOT + "\\" + v["stored"].replace("/", "\\")) for e in listed["entries"] for v in e["versions"])


def test_a_verified_copy_an_interrupted_run_did_not_record_becomes_a_version(tmp_path):
    host = site_server()
    run(host, tmp_path)
    (tmp_path / "CEN" / "CENSRV01" / "manifest.json").unlink()  # the run stopped before it recorded anything
    host.files.pop((ROOT + "\\MANIFEST.json").upper())
    mif = SMS_ROOT + "\\ASSETS.MIF"
    host.put(mif, b"START COMPONENT (edited)")
    result = run(host, tmp_path)
    assert result["problems"] == []
    manifest = json.loads((tmp_path / "CEN" / "CENSRV01" / "manifest.json").read_text())
    entry = [e for e in manifest["entries"] if e["path"] == "ASSETS.MIF"][0]
    assert [(v["version"], v["sha256"]) for v in entry["versions"]] == [
        (1, sha(b"START COMPONENT")), (2, sha(b"START COMPONENT (edited)"))]
    assert entry["current"] == 2
    row = [r for r in result["plan"] if r["path"] == "ASSETS.MIF"][0]
    assert "recorded as v1" in row["note"]


# ------------------------------------------------------------------ SQL host: listing, check mode (8)
def test_sql_host_check_mode_after_a_complete_run_would_copy_nothing(tmp_path):
    host = site_server()
    host.sql_output = "SMSUPG>>physical_disks\n a\n --\n 1\n"
    sql_run(host, tmp_path, sql_queries={"job_details": None})
    host.calls.clear()
    again = sql_run(host, tmp_path, sql_queries={"job_details": None})
    assert again["changed"] is False and [c[0].rsplit(".", 1)[-1] for c in host.calls] == ["preserve_files", "sql_facts"]
    check = sql_run(host, tmp_path, check_mode=True, sql_queries={"job_details": None})
    assert check["changed"] is False and check["would_copy"] == {"files": 0, "bytes": 0, "unknown_sizes": 0}
    assert {(r["action"], r["to_host"], r["to_vault"]) for r in check["plan"]} == {("unchanged", False, False)}


def test_sql_host_root_inside_a_co_located_sms_tree_is_refused(tmp_path):
    host = site_server()
    host.sql_output = "SMSUPG>>physical_disks\n a\n --\n 1\n"
    with pytest.raises(PreserveError, match="inside the SMS tree"):
        sql_run(host, tmp_path, check_mode=True, host_root="C:\\SMS\\KEEP", sql_queries={"job_details": None})


# ------------------------------------------------------------------ bad input to the documents (13)
def test_a_registry_value_that_vanished_is_a_problem_of_the_export_and_everything_else_is_preserved(tmp_path, monkeypatch):
    host = site_server()
    host.registry.append({"path": "SOFTWARE\\Microsoft\\SMS\\Components", "values": [
        {"name": "Interval", "type": "DWord", "value": None}]})
    result = run(host, tmp_path)
    assert [(p["category"], p["cause"]) for p in result["problems"]] == [("registry", "other")]
    assert 'value "Interval" of HKLM\\SOFTWARE\\Microsoft\\SMS\\Components (DWord) has no data' in result["problems"][0]["message"]
    assert result["categories"]["collected_files"]["verified"] and not result["categories"]["registry"]["verified"]

    def broken(*_args):
        raise KeyError("senders")
    monkeypatch.setattr(phase.documents, "site_properties", broken)
    other = run(site_server(), tmp_path / "other")
    assert [(p["category"], p["cause"]) for p in other["problems"]] == [("site_documents", "other")]
    assert "KeyError" in other["problems"][0]["message"]


# ------------------------------------------------------------------ a module call that fails as a whole (14)
def test_a_failed_apply_call_gives_one_problem_per_file_with_its_cause(tmp_path):
    host = site_server()
    listing = host.run_module

    def denied(name, args):
        if args.get("mode") == "apply":
            return {"failed": True, "msg": "Access is denied to \\\\CENSRV01\\C$"}
        return listing(name, args)
    host.run_module = denied
    result = run(host, tmp_path)
    sources = [p["source"] for p in result["problems"]]
    assert len(sources) == len(set(sources)) == 14  # 12 files, the registry export and the host manifest, each once
    assert {p["cause"] for p in result["problems"]} == {"access_denied"}
    copies = [p for p in result["problems"] if p["source"] != "MANIFEST.json"]
    assert all("not copied to the host CENSRV01: Access is denied" in p["message"] for p in copies)


@pytest.mark.parametrize("message, cause", [
    ("Access to the path 'C:\\PRESERVED-SMS12' is denied.", "access_denied"),
    ("There is not enough space on the disk.", "disk_full"),
    ("The network path was not found.", "unreachable"),
    ("The process cannot access the file because it is being used by another process.", "locked"),
    ("Something else", "other"), (None, "other"),
])
def test_causes_are_read_from_a_whole_call_failure_message(message, cause):
    assert phase.cause_of_message(message) == cause


# ------------------------------------------------------------------ the controller names what the host deletes (10)
def test_only_the_listed_leftovers_of_interrupted_copies_are_removed(tmp_path):
    host = site_server()
    run(host, tmp_path)
    leftover = ROOT + "\\v1\\collected_files\\00000003.COL.smsupg-partial"
    host.put(leftover, b"half a copy")
    host.put(SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\00000003.COL", b"collected 3")
    listing = host.inventory

    def late_partial(args):
        found = listing(args)
        host.put(ROOT + "\\v1\\collected_files\\LATE.COL.smsupg-partial", b"another copy in progress")
        return found
    host.inventory = late_partial
    host.calls.clear()
    run(host, tmp_path)
    applied = [args for _name, args in host.calls if args.get("mode") == "apply"][0]
    assert applied["remove_partials"] == ["v1\\collected_files\\00000003.COL.smsupg-partial"]
    assert not host.exists(leftover) and host.exists(ROOT + "\\v1\\collected_files\\LATE.COL.smsupg-partial")


def test_a_source_named_like_a_copy_in_progress_is_kept_under_another_stored_name(tmp_path):
    host = site_server(**{SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\REPORT.smsupg-partial": b"a real file"})
    first = run(host, tmp_path)
    row = [r for r in first["plan"] if r["path"] == "REPORT.smsupg-partial"][0]
    assert first["problems"] == [] and not row["stored"].upper().endswith(".SMSUPG-PARTIAL")
    assert host.get(ROOT + "\\" + row["stored"].replace("/", "\\")) == b"a real file"
    host.calls.clear()
    again = run(host, tmp_path)
    assert again["changed"] is False and [args["mode"] for _name, args in host.calls] == ["inventory"]


# ------------------------------------------------------------------ a host root that leads into the SMS tree (9)
@pytest.mark.parametrize("root", ["\\\\CENSRV01\\C$\\SMS\\KEEP", "\\\\.\\C:\\SMS\\KEEP"])
def test_the_admin_share_or_device_form_of_a_root_in_the_sms_tree_is_refused(tmp_path, root):
    host = site_server()
    with pytest.raises((PreserveError, ValueError), match="inside the SMS tree|device namespace"):
        run(host, tmp_path, host_root=root, computer="CENSRV01")
    assert not host.under("C:\\SMS\\KEEP")


# ------------------------------------------------------------------ a directory that cannot be listed (7)
def test_a_directory_that_cannot_be_listed_is_one_problem_and_the_rest_of_the_category_is_preserved(tmp_path):
    locked_dir = SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\PRIVATE"
    host = site_server(**{locked_dir + "\\SECRET.COL": b"secret"})
    host.unlistable[locked_dir.upper()] = "access_denied"
    result = run(host, tmp_path)
    # One problem per category whose set walks into it: FILES.COL's own, and each scan of the whole SMS root (none of them
    # can tell whether the directory holds one of its files).
    assert sorted((p["category"], p["source"].upper(), p["cause"]) for p in result["problems"]) == sorted(
        (category, locked_dir.upper(), "access_denied") for category in (
            "collected_files", "xnf_files", "package_definition_files", "mif_files", "query_files"))
    assert result["problems"][0]["message"].startswith("directory not listed, its files are not preserved: Access to the path")
    assert host.get(ROOT + "\\v1\\collected_files\\00000001.COL") == b"collected 1"
    assert result["categories"]["collected_files"]["files"] == 2 and not result["categories"]["collected_files"]["verified"]


# ------------------------------------------------------------------ what the docs promise (18)
def test_the_check_mode_diff_marks_planned_lines_without_a_second_plus_or_none(tmp_path):
    snapshot = {"sms_tree": {"root": "C:\\SMS", "collected_files": [
        {"path": "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\A.COL", "size": 3, "sha256": "a" * 64}],
        "site_control_files": [{"path": "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "size": 50, "sha256": "b" * 64}]}}
    result = run(site_server(), tmp_path, check_mode=True, snapshot=snapshot)
    after = result["diff"]["after"].splitlines()
    assert " collected_files/A.COL v1 3 bytes (planned: new)" in after
    assert " registry/SMS-registry.reg v? ? bytes (planned: export)" in after
    assert not [line for line in after if line.startswith("+") or "None" in line]


def test_an_unreadable_manifest_names_what_a_new_run_can_record(tmp_path):
    directory = tmp_path / "CEN" / "CENSRV01"
    directory.mkdir(parents=True)
    (directory / "manifest.json").write_text("{broken")
    with pytest.raises(VaultError, match="records each source's current content again") as raised:
        run(site_server(), tmp_path)
    assert "rebuild it from the host copy" not in str(raised.value)


def test_a_run_stopped_by_a_host_level_error_keeps_what_it_verified(tmp_path):
    host = site_server()
    host.sql_output = None  # no SQL client: fine, the export only becomes a problem
    listing = host.run_module

    def lost(name, args):
        if args.get("mode") == "apply" and args.get("documents") and args["documents"][0]["dest"].endswith("site-properties.md"):
            raise Stop()  # the connection is lost before the site document
        return listing(name, args)
    host.run_module = lost
    with pytest.raises(Stop):
        run(host, tmp_path)
    manifest = json.loads((tmp_path / "CEN" / "CENSRV01" / "manifest.json").read_text())
    assert len(manifest["entries"]) == 13 and not host.exists(ROOT + "\\MANIFEST.json")
