"""The lab as the post-upgrade and client tests need it: snapshots of an upgraded site, a vault, a database record.

Nothing here changes the committed lab: every function writes into a directory the test gives (copies of the lab's
snapshots with SMS 2.0 values where a site was upgraded, the way a re-gather after the site upgrade would show it).
"""
import hashlib
import json
import os
import shutil

from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import MANIFEST, new_manifest, save_manifest

LAB = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab"))
FULL_VERSION = "2.00.1493.2000"
UPGRADED_AT = "2026-11-20T06:00:00Z"   # the lab snapshots' collected_at: the re-gather that shows SMS 2.0
SMSLS_12 = b"@echo off\r\nrem SMS 1.2 logon script with the CORP changes\r\nnet use p: \\\\CENSRV01\\APPS\r\n"
SMSLS_20 = "@echo off\r\nrem SMS 2.0 logon script\r\n"


def lab_snapshot(host):
    with open(os.path.join(LAB, "snapshots", host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def upgraded_snapshots(directory, sites=("CEN",)):
    """A copy of the lab snapshots in ``directory`` whose site servers of ``sites`` report SMS 2.0."""
    os.makedirs(directory, exist_ok=True)
    source = os.path.join(LAB, "snapshots")
    for name in os.listdir(source):
        with open(os.path.join(source, name), encoding="utf-8") as handle:
            snapshot = json.load(handle)
        if snapshot["kind"] == "site_server" and "site" in snapshot.get("roles", []) and snapshot["sms"]["site_code"] in sites:
            snapshot["sms"]["full_version"] = FULL_VERSION
        with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
            json.dump(snapshot, handle)
    return str(directory)


def _stored(data, category, path, version=1):
    return "v%d/%s/%s" % (version, category, path)


def make_vault(vault_root, site, host, files, at="2026-11-21T08:00:00Z"):
    """A verified vault directory for ``host``: ``files`` is ``[(category, path, source, bytes)]``."""
    directory = os.path.join(vault_root, site, host)
    manifest = new_manifest(site, host, host, "C:\\PRESERVED-SMS12\\%s\\%s" % (site, host))
    for category, path, source, data in files:
        stored = _stored(data, category, path)
        target = os.path.join(directory, *stored.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as handle:
            handle.write(data)
        manifest["entries"].append({"category": category, "path": path, "source": source, "current": 1, "versions": [
            {"version": 1, "stored": stored, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(), "source": source,
             "source_modified": None, "preserved_at": at, "host_verified_at": at}]})
    save_manifest(os.path.join(directory, MANIFEST), manifest)
    return directory


def database_record(vault_root, site, host, dump_at="2026-11-21T07:00:00Z", clean=True, database="SMS_CEN"):
    """The database phase's record (the integration point of POST-01) with a dump and a DBCC run at ``dump_at``."""
    directory = os.path.join(vault_root, site, host)
    os.makedirs(directory, exist_ok=True)
    record = {"schema": "sms.upgrade.database_record", "schema_version": "1.0", "steps": {},
              "dumps": [{"kind": "post_upgrade", "database": database, "at": dump_at, "verified": True,
                         "path": "D:\\DUMPS\\%s-post.DAT" % database}],
              "consistency": {"at": dump_at, "clean": clean, "findings": [] if clean else [{"level": 16, "text": "x"}]}}
    with open(os.path.join(directory, "database-record.json"), "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    return record


NETLOGON_SMSLS = "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT"


def cen_vault(vault_root, registry_at="2026-11-21T08:00:00Z"):
    """What the preserve phase kept for CEN (and exported again after the upgrade): SMSLS.BAT, collected files, the
    database documents, and the registry export."""
    make_vault(vault_root, "CEN", "CENSRV01", [
        ("logon_scripts", "netlogon/SMSLS.BAT", NETLOGON_SMSLS, SMSLS_12),
        ("collected_files", "00000001.COL", "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\00000001.COL", b"col1"),
        ("collected_files", "00000002.COL", "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\00000002.COL", b"col2"),
        ("mstest_files", "X86.BIN/00000409/OFFSETUP.PCD", "C:\\SMS\\SITE.SRV\\MAINCFG.BOX\\MSTEST\\X86.BIN\\00000409\\OFFSETUP.PCD", b"pcd"),
    ], at="2026-11-19T08:00:00Z")
    registry = os.path.join(vault_root, "CEN", "CENSRV01")
    with open(os.path.join(registry, "manifest.json"), encoding="utf-8") as handle:
        manifest = json.load(handle)
    data = b"REGEDIT4\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SMS\\Setup]\r\n\"Full Version\"=\"2.00.1493.2000\"\r\n"
    os.makedirs(os.path.join(registry, "v1", "registry"), exist_ok=True)
    with open(os.path.join(registry, "v1", "registry", "SMS-registry.reg"), "wb") as handle:
        handle.write(data)
    manifest["entries"].append({"category": "registry", "path": "SMS-registry.reg", "source": "HKLM\\SOFTWARE\\Microsoft\\SMS",
                                "current": 1, "versions": [{"version": 1, "stored": "v1/registry/SMS-registry.reg",
                                                            "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                                                            "source": "HKLM\\SOFTWARE\\Microsoft\\SMS", "source_modified": None,
                                                            "preserved_at": registry_at, "host_verified_at": registry_at}]})
    save_manifest(os.path.join(registry, "manifest.json"), manifest)
    make_vault(vault_root, "CEN", "CENSQL01", [
        ("database_documents", "database-summary.md", "CENSQL01 SMS_CEN", b"# summary\n"),
        ("database_documents", "job_details.csv", "CENSQL01 SMS_CEN JobDetails", b"id,name\n")], at="2026-11-19T08:00:00Z")
    database_record(vault_root, "CEN", "CENSQL01")
    return vault_root


def copy_lab(target):
    """A copy of the whole lab inventory (hosts.yml, group_vars, plan, answers, snapshots)."""
    shutil.copytree(LAB, target)
    return str(target)
