"""Factories of valid snapshots for the engine's tests; each takes overrides of top-level keys."""
import copy
import json
import os

H = "0" * 64
COLLECTED = "2026-11-20T10:00:00Z"


def _envelope(kind, host):
    return {"schema": "sms.upgrade.snapshot", "schema_version": "1.0", "kind": kind, "host": host,
            "computer": host, "collected_at": COLLECTED,
            "collector": {"name": "unit", "version": "1", "mode": "lab"}}


def site_server(host="SRV01", site="AAA", role="primary", parent=None, **overrides):
    """A ready SMS 1.2 SP4 site server on NT 4.0 SP6 with IE 4.01 SP1."""
    snap = dict(_envelope("site_server", host), **{
        "os": {"family": "windows_nt", "name": "Windows NT Server", "version": "4.0", "build": 1381,
               "csd_version": "Service Pack 6", "product_type": "domain_controller"},
        "roles": ["site", "logon"],
        "ie": {"version": "4.72.3110.8"},
        "hardware": {"memory_mb": 256, "processors": 1,
                     "disks": [{"drive": "C:", "filesystem": "NTFS", "total_mb": 8000, "free_mb": 4000}]},
        "sms": {"setup_version": "786", "full_version": None, "csdver": "Service Pack 4",
                "install_dir": "C:\\SMS", "site_code": site, "site_name": site, "site_role": role,
                "parent_site_code": parent, "domain": "CORP"},
        "services": [{"name": "SMS_EXECUTIVE", "state": "running", "start_mode": "auto"}],
        "shares": [{"name": "SMS_SITE", "path": "C:\\SMS\\SITE.SRV\\DESPOOLR.BOX\\RECEIVE"}],
        "sms_tree": {"root": "C:\\SMS", "pending_mifs": [], "xnf_files": [], "package_definition_files": [], "mif_files": [],
                     "mstest_files": [], "collected_files": [], "site_control_files": [], "logon_scripts": [], "query_files": []},
        "site_control": {"header": "SITE CONTROL FILE [786][1.08]", "build": 786,
                         "senders": [{"type": "lan", "server": host}], "helper_servers": [],
                         "logon_servers": [{"name": host, "domain": "CORP"}], "child_sites": [],
                         "client_installation": 0x109},
    })
    snap.update(copy.deepcopy(overrides))
    return snap


def site_database(host="SQL01", site="AAA", **overrides):
    """A ready SQL Server 6.5 SP4 site database for 1,000 computers."""
    snap = dict(_envelope("site_database", host), **{
        "os": {"family": "windows_nt", "version": "4.0", "csd_version": "Service Pack 6", "product_type": "server"},
        "site_code": site,
        "sql": {"version": "6.50.281"},
        "site_database": "SMS",
        "devices": [{"name": "master", "size_mb": 25}, {"name": "SMS_DATA", "size_mb": 150},
                    {"name": "SMS_LOG", "size_mb": 20}, {"name": "TEMPDB_DEV", "size_mb": 60}],
        "databases": [
            {"name": "SMS", "data_mb": 150, "log_mb": 20, "used_mb": 90, "options": ["trunc. log on chkpt."],
             "devices": [{"device": "SMS_DATA", "segment": "data", "size_mb": 150},
                         {"device": "SMS_LOG", "segment": "log", "size_mb": 20}]},
            {"name": "tempdb", "data_mb": 50, "log_mb": 10, "options": ["select into/bulkcopy"],
             "devices": [{"device": "master", "segment": "data_and_log", "size_mb": 2},
                         {"device": "TEMPDB_DEV", "segment": "data", "size_mb": 58}]},
            {"name": "master", "data_mb": 25, "log_mb": 0, "log_shares_data_device": True, "options": []}],
        "computer_count": 1000,
        "machine_groups": [{"name": "Accounting PCs"}],
        "jobs": [{"id": "AAA00001", "system": True, "active": True}],
        "duplicate_smsids": [],
        "connections": [],
        "machine_history": {"oldest": "2026-10-20T00:00:00Z"},
    })
    snap.update(copy.deepcopy(overrides))
    return snap


def database_record(database, at, **overrides):
    """A database phase record (database-record.json) whose every verified result is from ``at``."""
    record = {
        "schema": "sms.upgrade.database_record", "schema_version": "1.0", "database": database, "computer": "SQL01",
        "dumps": [{"kind": "baseline", "database": name, "path": "C:\\MSSQL\\BACKUP\\%s-baseline.DAT" % name, "at": at,
                   "verified": True, "size": 1024, "sha256": "0" * 64} for name in (database, "master")],
        "consistency": {"at": at, "clean": True, "findings": []},
        "steps": {name: {"status": "ok", "at": at, "message": "ok", "facts": {}}
                  for name in ("site_db_size", "tempdb", "transaction_log", "history", "duplicates", "connections")},
        "rehearsal": {"at": at, "clean": True, "findings": [], "lab_server": "LABSQL01",
                      "baseline_path": "C:\\MSSQL\\BACKUP\\%s-baseline.DAT" % database},
    }
    record.update(copy.deepcopy(overrides))
    return record


def client(host="WKS01", site="AAA", family="windows_nt", smsid="AAA00001", **overrides):
    """A clean SMS 1.2 client: no SMSRUN entries, remote control disabled."""
    snap = dict(_envelope("client", host), **{
        "os": {"family": family, "version": "4.0"},
        "site_code": site,
        "sms_ini": {"present": True, "path": "C:\\SMS.INI",
                    "sections": {"SMS": {"SMS Unique ID": smsid, "SiteCode": site, "BuildNo": "786"}}},
        "win_ini": {"present": True, "has_windows_section": True, "load": "", "run": ""},
        "user_entries": [{"user": "CORP\\alice", "source": "loaded_hive", "load": "", "run": None}],
        "remote_control": {"present": True, "service": "Wuser32", "state": "stopped", "start_mode": "disabled"},
    })
    snap.update(copy.deepcopy(overrides))
    return snap


def write_fleet(directory, snapshots):
    """Write snapshots as <host>.json files; return the host names in order."""
    os.makedirs(directory, exist_ok=True)
    for snap in snapshots:
        with open(os.path.join(directory, "%s.json" % snap["host"]), "w", encoding="utf-8") as handle:
            json.dump(snap, handle)
    return [s["host"] for s in snapshots]
