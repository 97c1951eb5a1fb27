"""Raw module results become schema-valid snapshots; unreadable sources become section errors."""
import hashlib

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import build, isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import validate_snapshot

from .raw_results import client_raw, sample, site_raw

NOW = "2026-11-25T08:00:00Z"


def _snapshot(kind, host, relay=None):
    return build.envelope(kind, host, host, NOW, "0.1.0", relay=relay)


def _valid(snapshot):
    problems = validate_snapshot(snapshot["host"], snapshot)
    assert problems == [], problems
    return snapshot


def test_site_server_snapshot_from_raw():
    snapshot, identity = build.build_site_server(site_raw(), _snapshot("site_server", "CENSRV01"), ["sms_central"])
    _valid(snapshot)
    assert snapshot["sms"]["site_code"] == "CEN" and snapshot["sms"]["site_role"] == "central"
    assert snapshot["sms"]["csdver"] == "Service Pack 4" and snapshot["sms"]["setup_version"] == "786"
    assert snapshot["os"] == {"family": "windows_nt", "name": "Windows NT Server", "version": "4.0", "build": 1381,
                              "csd_version": "Service Pack 6", "product_type": "domain_controller"}
    assert snapshot["hardware"]["memory_mb"] == 128
    assert snapshot["roles"] == ["site", "logon", "distribution"]
    assert snapshot["sms_tree"]["logon_scripts"][0]["location"] == "netlogon"
    assert snapshot["sms_tree"]["package_definition_files"][0]["size"] == 2048
    assert snapshot["site_control"]["helper_servers"][0]["name"] == "CENHLP01"
    assert identity["sql_database"] == "SMS_CEN"
    assert snapshot["errors"] == []


def test_unreadable_registry_marks_every_section_it_feeds():
    raw = site_raw(errors=[{"section": "registry", "cause": "remote_registry_stopped",
                            "message": "the Remote Registry service is not running on CENSRV01"}])
    raw["registry"] = {"values": {}, "subkeys": {}}
    snapshot, dummy = build.build_site_server(raw, _snapshot("site_server", "CENSRV01"))
    _valid(snapshot)
    assert {e["section"] for e in snapshot["errors"]} == {"os", "ie", "sms", "registry", "hardware"}
    assert all(e["cause"] == "remote_registry_stopped" for e in snapshot["errors"])
    assert "Remote Registry" in snapshot["errors"][0]["message"]


def test_site_code_falls_back_to_inventory_and_fails_clearly_without_it():
    raw = site_raw(text_files={"site_control": {"path": "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "present": False,
                                                "content": None}})
    snapshot, dummy = build.build_site_server(raw, _snapshot("site_server", "CENLOG01"), ["sms_logon"], site_code_hint="cen")
    _valid(snapshot)
    assert snapshot["sms"]["site_code"] == "CEN" and snapshot["roles"] == ["logon", "distribution"]
    with pytest.raises(build.GatherError, match="site code unknown.*SITECTRL.CT0"):
        build.build_site_server(raw, _snapshot("site_server", "CENLOG01"))


def test_damaged_site_control_file_is_a_parse_error_not_a_crash():
    raw = site_raw()
    raw["text_files"]["site_control"]["content"] = "SITE CONTROL FILE [786][1.08]\r\nBEGIN_SENDER\r\n"
    snapshot, dummy = build.build_site_server(raw, _snapshot("site_server", "CENSRV01"), site_code_hint="CEN")
    _valid(snapshot)
    error = next(e for e in snapshot["errors"] if e["section"] == "site_control")
    assert error["cause"] == "parse_error" and "SITECTRL.CT0" in error["message"]


def test_client_snapshot_from_raw():
    snapshot = _valid(build.build_client(client_raw(), _snapshot("client", "CENNT017")))
    assert snapshot["site_code"] == "CEN"
    assert snapshot["remote_control"] == {"present": True, "service": "Wuser32", "state": "running", "start_mode": "auto"}
    assert [s["name"] for s in snapshot["services"]] == ["SMS_PACKAGE_COMMAND_MANAGER_NT"]
    text = "[windows]\r\nload=\r\nrun=\r\n[Desktop]\r\nWallpaper=(None)\r\n"
    assert snapshot["win_ini"] == {"present": True, "path": "C:\\WINNT\\WIN.INI", "has_windows_section": True,
                                   "load": "", "run": "", "truncated": False, "content": text,
                                   "sha256": hashlib.sha256(text.encode("latin-1")).hexdigest()}
    assert snapshot["csdver"] is None
    assert snapshot["user_entries"][0]["load"].endswith("SMSRUN32.EXE")


def test_win_ini_keeps_every_byte_and_drops_content_when_truncated():
    text = "; caf\xe9\n[windows]\nload=C:\\MS\\SMS\\BIN\\SMSRUN16.EXE\r\n"
    snapshot = build.build_win_ini({"path": "C:\\WINDOWS\\WIN.INI", "present": True, "content": text})
    assert snapshot["content"].encode("latin-1") == text.encode("latin-1")
    assert snapshot["load"] == "C:\\MS\\SMS\\BIN\\SMSRUN16.EXE"
    cut = build.build_win_ini({"path": "C:\\WINDOWS\\WIN.INI", "present": True, "content": text[:20], "truncated": True})
    assert (cut["truncated"], cut["content"], cut["sha256"]) == (True, None, None)
    assert build.build_win_ini({"path": None, "present": False, "content": None}) == {"present": False, "path": None}


def test_client_remote_control_from_registry_when_scm_unreadable():
    raw = client_raw(services=[], errors=[{"section": "services", "cause": "access_denied", "message": "OpenSCManager: denied"}])
    raw["registry"]["values"][build.gather_data()["registry"]["wuser32_start"]] = {"type": "REG_DWORD", "value": 4}
    snapshot = _valid(build.build_client(raw, _snapshot("client", "CENNT017")))
    assert snapshot["remote_control"]["start_mode"] == "disabled"
    assert {e["section"] for e in snapshot["errors"]} == {"services", "remote_control"}


def test_windows_31_client_needs_the_os_family_from_inventory():
    raw = client_raw(registry={"values": {}, "subkeys": {}}, services=[], user_entries=[],
                     errors=[{"section": "registry", "cause": "unreachable", "message": "no remote registry"}])
    with pytest.raises(build.GatherError, match="sms_upgrade_os_family"):
        build.build_client(raw, _snapshot("client", "CEN31001"))
    snapshot = _valid(build.build_client(raw, _snapshot("client", "CEN31001"), family_hint="windows_3x"))
    assert snapshot["os"] == {"family": "windows_3x"} and "user_entries" not in snapshot


def test_site_database_snapshot_from_isql_output():
    queries = build.sql_queries({"machine_groups": "select Name, GroupID from {database}..MachineGroupTable"})
    snapshot = build.build_site_database(sample("isql_cen.txt"), _snapshot("site_database", "CENSQL01"), "SMS_CEN",
                                         site_code="cen", queries=queries)
    _valid(snapshot)
    assert snapshot["sql"] == {"version": "6.50.281", "version_banner": "Microsoft SQL Server  6.50 - 6.50.281 (Intel X86)"}
    assert snapshot["devices"][1] == {"name": "SMS_CEN_DATA", "physical_name": "D:\\MSSQL\\DATA\\SMS_CEN.DAT",
                                      "size_mb": 250.0, "vdevno": 3}
    assert len(snapshot["devices"]) == 3  # the dump device (cntrltype 2) is not a disk device
    site, tempdb = snapshot["databases"][0], next(d for d in snapshot["databases"] if d["name"] == "tempdb")
    assert (site["name"], site["data_mb"], site["log_mb"], site["used_mb"]) == ("SMS_CEN", 250.0, 20.0, 210.0)
    assert site["options"] == ["select into/bulkcopy", "trunc. log on chkpt."]
    assert (tempdb["data_mb"], tempdb["log_shares_data_device"]) == (2.0, True)
    assert [c["program"] for c in snapshot["connections"]] == [None, "SMS_EXECUTIVE", "ISQL-32"]
    assert snapshot["machine_history"] == {"oldest": "1996-11-03T16:07:00Z"}
    assert snapshot["computer_count"] == 2950
    # KB Q183236: "Select * from Jobs where JobType = null" lists the (pending) system jobs; site_job is a system job
    # type of the SMS 1.2 API (SDK-1.2), workstation_script a user job.
    assert [(j["id"], j["active"], j["system"]) for j in snapshot["jobs"]] == [
        ("CEN00001", True, True), ("CEN00007", True, False), ("CEN00004", False, False), ("CEN00009", True, True)]
    assert snapshot["jobs"][1]["target_sites"] == ["P01"] and snapshot["jobs"][1]["type"] == "microsoft\\SMS\\workstation_script"
    assert dict(build.sql_queries())["jobs"] == "select * from {database}..Jobs"
    errors = {e["section"]: e for e in snapshot["errors"]}
    assert errors["machine_groups"]["cause"] == "not_found"
    assert "candidate tables: GroupMap, MachineGroups" in errors["machine_groups"]["message"]
    assert errors["duplicate_smsids"]["cause"] == "not_found" and "UNCONFIRMED" in errors["duplicate_smsids"]["message"]


def test_site_database_unknown_database_and_unknown_override():
    with pytest.raises(build.GatherError, match="SMS_XYZ does not exist.*SMS_CEN"):
        build.build_site_database(sample("isql_cen.txt"), _snapshot("site_database", "CENSQL01"), "SMS_XYZ")
    with pytest.raises(build.GatherError, match="unknown queries: machine_grups"):
        build.sql_queries({"machine_grups": "select 1"})


def test_login_failure_means_no_snapshot():
    output = "Msg 4002, Level 14, State 1\r\nLogin failed\r\n"
    with pytest.raises(build.db.SectionProblem, match="no output"):
        build.build_site_database(output, _snapshot("site_database", "CENSQL01"), "SMS_CEN")


def test_script_is_read_only_and_refuses_injection():
    script = isql.build_script(build.sql_queries(), "SMS_CEN")
    assert script.count("print 'SMSUPG>>") == len(build.sql_queries())
    assert "SMS_CEN..sysindexes" in script and "{database}" not in script
    with pytest.raises(isql.SqlScriptError, match="plain SQL Server 6.5 identifier"):
        isql.build_script(build.sql_queries(), "SMS; drop database x")
    with pytest.raises(isql.SqlScriptError, match="not a read-only"):
        isql.build_script([("evil", "select * into #x from sysobjects")], "SMS_CEN")
    with pytest.raises(isql.SqlScriptError, match="not a read-only"):
        isql.build_script([("evil", "dbcc shrinkdb(SMS)")], "SMS_CEN")
    assert isql.build_script([("ok", "select name from sysobjects where name = 'delete'")], "SMS_CEN")
