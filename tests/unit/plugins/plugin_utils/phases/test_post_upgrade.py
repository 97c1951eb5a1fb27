"""The post_upgrade room against the model of an SMS 2.0 site (fake_site20) and a vault like the preserve phase's."""
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import post_upgrade, site_status, upgrade_records
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.post_upgrade import PHASE
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.post_upgrade_review import table_lines

from . import upgrade_lab
from .fake_site20 import FakeSite20, model_overrides
from .upgrade_hands import ModelHands, context

SETTINGS = {"boundaries": [{"ip_subnet": "10.1.0.0/16"}],
            "discovery_methods": ["windows_networking_logon_discovery"],
            "client_installation_methods": ["windows_networking_logon_client_installation"]}
WHO = {"by": "jdoe", "at": "2026-11-22"}
EVERYTHING_CONFIRMED = {
    "tree_backup": dict(WHO, decision="backed_up", note="NTBackup of C:\\SMS to tape 7"),
    "emergency_repair_disk": dict(WHO, decision="made"),
    "security": dict(WHO, decision="recreated"), "queries": dict(WHO, decision="not_needed"),
    "job:CEN00117": dict(WHO, decision="recreated"), "job:CEN00090": dict(WHO, decision="not_needed"),
    "file_collection": dict(WHO, decision="configured"),
    "logon_script:netlogon/SMSLS.BAT": dict(WHO, decision="merged")}


@pytest.fixture(name="lab")
def fixture_lab(tmp_path):
    snapshots = upgrade_lab.upgraded_snapshots(tmp_path / "snapshots")
    vault = upgrade_lab.cen_vault(str(tmp_path / "vault"))
    site = FakeSite20(upgrade_lab.lab_snapshot("CENSRV01"), upgrade_lab.lab_snapshot("CENSQL01"),
                      [upgrade_lab.lab_snapshot(h) for h in ("CENNT001", "CENNT002", "CENNT003", "CENNT004", "CEN95001",
                                                             "CEN95002", "CEN95003")],
                      files={upgrade_lab.NETLOGON_SMSLS: upgrade_lab.SMSLS_20})
    return {"snapshots": snapshots, "vault": vault, "site": site, "tmp": tmp_path}


def args(lab, **more):
    return dict({"snapshot_dir": lab["snapshots"], "vault_dir": lab["vault"], "records_dir": str(lab["tmp"] / "records"),
                 "journal_dir": str(lab["tmp"] / "journal"), "site_settings": SETTINGS}, **more)


def run(lab, task, check_mode=False, host="CENSRV01"):
    hands = ModelHands({host: lab["site"]}, host, check_mode=check_mode)
    return PHASE.run(context(PHASE, host, task, check_mode=check_mode, groups=["sms_central", "sms_site_CEN"]), hands), hands


def test_a_site_run_with_scripted_settings_ends_verified_and_a_second_run_changes_nothing(lab):
    task = args(lab, scripted=["boundaries", "discovery_methods", "client_installation_methods"],
                provider_overrides=model_overrides(), confirmations=EVERYTHING_CONFIRMED,
                package_changes={"CEN00005": {"priority": "high"}}, program_changes={"CEN00005/Typical": {"enabled": True}})
    first, hands = run(lab, task)
    assert first.get("failed") is not True, first["msg"]
    assert first["status"] == "verified" and first["changed"] is True, first["msg"]
    assert [a["op"] for _n, a in hands.calls] == ["read", "apply", "read"], "one read, one apply, a read back"
    assert {o["id"]: o["status"] for o in first["changes"]} == {
        "boundaries": "changed", "setting:discovery_methods:windows_networking_logon_discovery": "changed",
        "setting:client_installation_methods:windows_networking_logon_client_installation": "changed",
        "package:CEN00005:Priority": "changed", "program:CEN00005/Typical:ProgramFlags": "changed"}
    site = lab["site"].classes
    assert site["SMS_SCI_SiteAssignment"][0]["AssignDetails"] == ["10.1.0.0"]
    assert site["SMS_SCI_SiteAssignment"][0]["AssignTypes"] == ["IP Subnet"]
    assert site["SMS_Package"][0]["Priority"] == 1 and site["SMS_Program"][0]["ProgramFlags"] == 1 << 13
    assert "AssignDetails: []\n" in first["diff"][0]["before"] and "AssignDetails: [10.1.0.0]\n" in first["diff"][0]["after"]
    assert first["journal_path"].endswith(".json")
    record = json.loads(open(first["record_path"], encoding="utf-8").read())
    assert record["status"] == "verified"
    assert record["settings"]["boundaries"]["items"] == [
        {"type": "ip_subnet", "subnet": "10.1.0.0/16", "detail": "10.1.0.0", "status": "verified"}]
    assert record["settings"]["discovery_methods"]["windows_networking_logon_discovery"]["status"] == "verified"
    second, hands = run(lab, task)
    assert second["status"] == "verified" and second["changed"] is False and "diff" not in second
    assert [a["op"] for _n, a in hands.calls] == ["read"]


def test_check_mode_shows_each_change_and_changes_nothing(lab):
    task = args(lab, scripted=["boundaries"], package_changes={"CEN00006": {"source": "compressed"}})
    result = run(lab, task, check_mode=True)[0]
    assert result["status"] == "planned" and result["changed"] is True
    assert {o["id"]: o["status"] for o in result["changes"]} == {"boundaries": "would_change",
                                                                 "package:CEN00006:PkgSourceFlag": "would_change"}
    assert lab["site"].classes["SMS_SCI_SiteAssignment"][0]["AssignDetails"] == []
    assert "PkgSourceFlag: 2\n" == result["diff"][1]["before"] and "PkgSourceFlag: 3\n" == result["diff"][1]["after"]
    assert not os.path.exists(lab["tmp"] / "records") and not os.path.exists(lab["tmp"] / "journal")


def test_without_scripted_settings_each_missing_one_is_a_manual_step_that_says_what_is_missing(lab):
    result = run(lab, args(lab))[0]
    assert result["status"] == "pending" and result.get("failed") is not True
    manual = "\n".join(result["manual"])
    assert "Site Properties > Boundaries: add IP Subnet 10.1.0.0/16" in manual
    assert "Windows Networking Logon Discovery: enable it" in manual
    assert "no site control item is named for it (UNCONFIRMED" in manual
    assert "components in the site control file: MODEL_NETWORK_DISCOVERY, MODEL_NT_LOGON_DISCOVERY" in manual
    assert "setting:discovery_methods:windows_networking_logon_discovery" in manual
    assert "POST-01 A new emergency repair disk (rdisk /s, PRE-34)" in manual
    assert result["steps"]["POST-01"]["status"] == "pending" and result["steps"]["POST-06"]["status"] == "done"
    record = upgrade_records.read(upgrade_records.site_path(str(lab["tmp"] / "records"), "CEN"), "site")
    assert record["status"] == "pending" and record["manual"] == result["manual"]


def test_confirmations_close_the_manual_steps_and_bad_ones_are_refused(lab):
    confirmations = dict(EVERYTHING_CONFIRMED, **{
        "boundary:10.1.0.0": dict(WHO, decision="present"),
        "setting:discovery_methods:windows_networking_logon_discovery": dict(WHO, decision="enabled"),
        "setting:client_installation_methods:windows_networking_logon_client_installation": dict(WHO, decision="enabled")})
    result = run(lab, args(lab, confirmations=confirmations))[0]
    assert result["status"] == "verified", result["msg"]
    assert result["settings"]["boundaries"]["items"][0]["status"] == "confirmed"
    with pytest.raises(ValueError, match=r"confirmations\['erd'\]: give decision, by and at"):
        run(lab, args(lab, confirmations={"erd": {"decision": "made"}}))


def test_the_review_of_converted_packages_collections_and_what_to_recreate(lab):
    result = run(lab, args(lab))[0]
    packages = {p["package_id"]: p for p in result["packages"]}
    office = " ".join(packages["CEN00005"]["findings"])
    assert "uses its compressed copy" in office and "program 'Typical' is disabled" in office and "Normal" in office
    virus = " ".join(packages["CEN00006"]["findings"])
    assert "is in the SMS 1.2 tree, which Setup deleted" in virus and "has no distribution point" in virus
    assert "relied on MS Test (MSTEST.EXE NAVUPD.PCD)" in virus
    collections = {c["name"]: c for c in result["collections"]}
    assert collections["Engineering Workstations"]["machine_group"] == "CEN00004"
    assert collections["Engineering Workstations"]["proposal"]["query"] == (
        'select SMS_R_System.ResourceID from SMS_R_System where SMS_R_System.OperatingSystemNameandVersion = '
        '"Microsoft Windows 4.0"')
    assert collections["Accounting"]["proposal"] is None
    assert "also holds CENNT004" in collections["Accounting"]["no_proposal"]
    assert collections["All Systems"]["static"] is False and collections["All Systems"]["no_proposal"] == "already has query rules"
    items = {i["id"]: i for i in result["recreate"]}
    assert items["logon_script:netlogon/SMSLS.BAT"]["current"] == "differs from the preserved copy"
    assert items["logon_script:netlogon/SMSLS.BAT"]["status"] == "pending"
    assert items["job:CEN00117"]["what"] == "job CEN00117 'Office 97 SR-2 to P01'" and "job:CEN00001" not in items
    assert "CENSQL01:database_documents/database-summary.md" in items["security"]["source"]
    assert items["queries"]["source"] == "no query definition in the vault (PRE-21)"
    assert items["file_collection"]["source"] == "2 collected file(s) in the vault (collected_files)"
    table = {r["kind"]: r for r in result["conversion"]}
    assert table["Machine groups"]["count"] == 4 and table["Machine groups"]["fate"] == "converted"
    assert table["Jobs"]["count"] == 3 and table["Jobs"]["fate"] == "preserved in the vault; re-created by POST-05 (advertisements)"
    assert table["Queries"]["fate"] == "not preserved; re-create by POST-05 (queries) from what people know"
    assert table["Collected files"]["preserved"] == 2 and table["Alerts"]["fate"] == "lost"
    assert table["Packages"]["count"] == 3 and table["SNA senders"]["count"] == 0
    assert "| Machine groups | yes | 4 | - | converted (Become static collections" in "\n".join(table_lines(result["conversion"]))


def test_an_approved_logon_script_is_handed_to_the_restore_phase(lab):
    confirmations = {"logon_script:netlogon/SMSLS.BAT": dict(WHO, decision="restore_beside")}
    result = run(lab, args(lab, confirmations=confirmations))[0]
    assert result["restore_beside"] == ["logon_scripts/netlogon/SMSLS.BAT"] and result["restore_in_place"] == []
    assert result["review_dir"] == "C:\\SMS12-REVIEW"
    assert result["steps"]["POST-05"]["status"] == "pending", "merged must still be confirmed"


def test_post01_reads_the_database_phase_record_and_the_vault(lab):
    result = run(lab, args(lab))[0]
    items = {i["id"]: i for i in result["post01"]}
    assert items["database_dump"]["status"] == "done" and "D:\\DUMPS\\SMS_CEN-post.DAT" in items["database_dump"]["detail"]
    assert items["database_consistency"]["status"] == "done"
    assert items["registry_backup"]["status"] == "done" and "preserved at 2026-11-21T08:00:00Z" in items["registry_backup"]["detail"]
    upgrade_lab.database_record(lab["vault"], "CEN", "CENSQL01", dump_at="2026-11-19T07:00:00Z")
    upgrade_lab.cen_vault(str(lab["tmp"] / "vault2"), registry_at="2026-11-19T08:00:00Z")
    result = run(lab, args(lab, vault_dir=str(lab["tmp"] / "vault2")))[0]
    items = {i["id"]: i for i in result["post01"]}
    assert items["registry_backup"]["status"] == "pending" and "before the upgrade" in items["registry_backup"]["detail"]
    result = run(lab, args(lab))[0]
    assert {i["id"]: i["status"] for i in result["post01"]}["database_dump"] == "pending"


@pytest.mark.parametrize("fault,cause", [("access_denied", "access_denied"), ("unreachable", "unreachable")])
def test_a_provider_that_cannot_be_used_fails_the_site_by_name(lab, fault, cause):
    setattr(lab["site"], fault, True)
    result = run(lab, args(lab))[0]
    assert result["failed"] is True and result["status"] == "failed"
    assert "the SMS Provider root\\SMS\\site_CEN on CENSRV01 cannot be used (%s)" % cause in result["reason"]


def test_a_site_still_on_sms_12_is_not_contacted(lab, tmp_path):
    result, hands = run(lab, args(lab, snapshot_dir=os.path.join(upgrade_lab.LAB, "snapshots")))
    assert result["status"] == "not_upgraded" and hands.calls == []
    assert "reports no SMS 2.0" in result["reason"]
    record = site_status.new_site_record("CEN", "central")
    record["status"] = "setup_failed"
    site_status.save_site(str(tmp_path / "site_upgrade"), record)
    result, hands = run(lab, args(lab, site_upgrade_dir=str(tmp_path / "site_upgrade")))
    assert result["status"] == "not_upgraded" and "the site upgrade record says setup_failed" in result["reason"]


def test_a_conflict_is_named_and_fails_the_site(lab):
    task = args(lab, package_changes={"CEN00005": {"priority": "low"}})
    original = lab["site"].apply

    def racing(arguments, check_mode):
        lab["site"].classes["SMS_Package"][0]["Priority"] = 1
        return original(arguments, check_mode)

    lab["site"].apply = racing
    result = run(lab, task)[0]
    assert result["failed"] is True and "package CEN00005 (Office 97 SR-2) priority normal -> low: conflict" in result["reason"]


def test_plan_only_lists_the_reads_and_decisions_without_the_provider(lab):
    result, hands = run(lab, args(lab, plan_only=True), check_mode=True)
    assert hands.calls == [] and result["status"] == "planned"
    planned = "\n".join(result["planned"])
    assert "read through root\\SMS\\site_CEN on CENSRV01: SMS_Collection, SMS_DistributionPoint" in planned
    assert "POST-02 boundary ip_subnet 10.1.0.0/16: read back, manual step if missing" in planned
    assert "POST-05 logon_script:netlogon/SMSLS.BAT: pending" in planned


def test_bad_inventory_input_names_the_item():
    data = post_upgrade.phase_data()
    with pytest.raises(ValueError, match="boundaries #1: give one of ip_subnet"):
        post_upgrade.wanted_settings({"boundaries": [{"subnet": "10.0.0.0/8"}]}, data)
    with pytest.raises(ValueError, match="unknown bogus"):
        post_upgrade.wanted_settings({"discovery_methods": ["bogus"]}, data)
    with pytest.raises(ValueError, match="only 'provider' and 'site_settings'"):
        post_upgrade.effective_data({"recreate": {}})


def test_a_secondary_is_configured_through_its_parents_provider(lab, tmp_path):
    snapshots = upgrade_lab.upgraded_snapshots(tmp_path / "secondary", sites=("CEN", "S01"))
    task = args(lab, snapshot_dir=snapshots)
    hands = ModelHands({"S01SRV01": lab["site"], "CENSRV01": lab["site"]}, "S01SRV01")
    result = PHASE.run(context(PHASE, "S01SRV01", task, groups=["sms_secondary", "sms_site_S01"]), hands)
    assert result["status"] == "pending" and "through its parent's provider (CEN)" in result["reason"] and hands.calls == []
    item = {"SiteCode": "S01", "ItemName": "MODEL Site Assignment", "ItemType": "MODEL Site Assignment", "FileType": 1,
            "AssignDetails": ["10.1.0.0"], "AssignTypes": ["IP Subnet"]}
    lab["site"].classes["SMS_SCI_SiteAssignment"].append(item)
    result = PHASE.run(context(PHASE, "S01SRV01", dict(task, provider_computer="CENSRV01"),
                               groups=["sms_secondary", "sms_site_S01"]), hands)
    read = hands.calls[0][1]
    assert read["computer"] == "CENSRV01" and read["namespace"] == "root\\SMS\\site_CEN"
    assert {r["name"] for r in read["reads"]} == {"site_assignment"}, "a secondary has no packages or collections of its own"
    assert result["settings"]["boundaries"]["items"][0]["status"] == "verified"
    assert "POST-03" not in result["steps"] and result["status"] == "pending", "the methods still need confirming"
