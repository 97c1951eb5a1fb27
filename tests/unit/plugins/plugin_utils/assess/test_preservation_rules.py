"""The readiness rules read the preservation record: preserve.site_control needs the registry export and the site
description too; preserve.database_documents needs the database exports to verify."""
import datetime
from unittest import mock

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import parse_answers
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS, Context
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import preservation

from ..snapshots import site_database, site_server, write_fleet
from ..phases.fake_host import preserve_run, sha
from ..phases.fake_host import site_server as fake_site_server

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
RULES = load_catalog(CHECKS)
AT = "2026-11-25T10:00:00Z"


def findings(tmp_path, snapshots, preservation):
    hosts = write_fleet(str(tmp_path), snapshots)
    inputs = [HostInput(h, str(tmp_path / ("%s.json" % h)), None, None) for h in hosts]
    found, _records = assess_fleet(inputs, RULES, parse_answers(None, {r.id: r for r in RULES}), merge_params(None), NOW,
                                   preservation)
    return {(f["host"], f["rule"]): f for f in found}


def ok(files=1, verified=True, problems=(), sources=None):
    return {"verified": verified, "files": files, "bytes": 10, "verified_at": AT, "host_verified_at": AT,
            "problems": list(problems), "sources": sources or {}, "exclude": []}


def test_site_control_needs_the_registry_export_and_the_site_description(tmp_path):
    tree = dict(site_server()["sms_tree"], site_control_files=[
        {"path": "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "size": 100, "sha256": "a" * 64},
        {"path": "C:\\SMS\\SYSTEM.MAP", "size": 10, "sha256": "b" * 64}])
    snapshot = site_server(sms_tree=tree)
    both = ok(2, sources={"C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0": ["a" * 64], "C:\\SMS\\SYSTEM.MAP": ["b" * 64]})
    partial = findings(tmp_path, [snapshot], {"SRV01": {"site_control_files": both, "registry": ok()}})
    finding = partial[("SRV01", "preserve.site_control")]
    assert finding["status"] == "fail" and "no verified site documents yet" in finding["message"]
    assert finding["remediation"]["playbook"] == "sms.upgrade.preserve"
    complete = findings(tmp_path, [snapshot], {"SRV01": {"site_control_files": both, "registry": ok(), "site_documents": ok()}})
    assert complete[("SRV01", "preserve.site_control")]["status"] == "pass"
    assert "with registry, site documents" in complete[("SRV01", "preserve.site_control")]["message"]
    one = ok(1, sources={"C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0": ["a" * 64]})
    short = findings(tmp_path, [snapshot], {"SRV01": {"site_control_files": one, "registry": ok(), "site_documents": ok()}})
    assert short[("SRV01", "preserve.site_control")]["status"] == "fail"
    assert "1 with no copy in the vault (C:\\SMS\\SYSTEM.MAP)" in short[("SRV01", "preserve.site_control")]["message"]


def test_database_documents_must_verify(tmp_path):
    none = findings(tmp_path, [site_database()], {})
    assert none[("SQL01", "preserve.database_documents")]["status"] == "fail"
    assert none[("SQL01", "preserve.database_documents")]["blocks"] is True
    assert "run the preserve playbook" in none[("SQL01", "preserve.database_documents")]["message"]
    broken = findings(tmp_path, [site_database()], {"SQL01": {"database_documents": ok(2, False, [
        "query job_details: export job_details of SMS_AAA failed: SQL error 208: Invalid object name (other)"])}})
    assert "Invalid object name" in broken[("SQL01", "preserve.database_documents")]["message"]
    good = findings(tmp_path, [site_database()], {"SQL01": {"database_documents": ok(3)}})
    assert good[("SQL01", "preserve.database_documents")]["status"] == "pass"
    assert good[("SQL01", "preserve.database_documents")]["message"] == "3 document(s) verified at %s." % AT


# ------------------------------------------------------------------ per-file evidence (paths and SHA-256, not counts)
COL = "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\"


def preserved_vault(tmp_path, host, **options):
    """Run the preserve phase against the in-memory host and return what vault_verify would return."""
    vault = tmp_path / "vault"
    outcome = preserve_run(host, now=AT, **dict({"host": "CENSRV01", "site": "CEN", "vault_root": str(vault)}, **options))
    return outcome, preservation(str(vault), AT)


def collected(*pairs):
    return [{"path": COL + name, "size": len(data), "sha256": sha(data), "modified": AT} for name, data in pairs]


def check(category, files, record, host="CENSRV01", params=None):
    ctx = Context(host, "CEN", ["site"], {"sms_tree": {"root": "C:\\SMS", category: files}}, {}, None, record, None, NOW)
    return CHECKS["preserved"](ctx, dict({"category": category}, **(params or {})))


def test_the_rule_matches_each_file_by_path_and_sha256_not_by_count(tmp_path):
    _outcome, record = preserved_vault(tmp_path, fake_site_server())
    same = check("collected_files", collected(("00000001.COL", b"collected 1"), ("00000002.COL", b"collected 2")), record)
    assert same.status == "pass" and "each verified in the vault with the snapshot's SHA-256" in same.observed
    # SMS deleted 00000001.COL and a new 00000099.COL arrived: the vault still holds two verified files
    arrived = check("collected_files", collected(("00000002.COL", b"collected 2"), ("00000099.COL", b"new!!")), record)
    assert arrived.status == "fail"
    assert "1 with no copy in the vault (%s00000099.COL)" % COL in arrived.observed
    # 00000001.COL was edited after the preserve run: same count, other content
    edited = check("collected_files", collected(("00000001.COL", b"EDITED!!!"), ("00000002.COL", b"collected 2")), record)
    assert edited.status == "fail"
    assert "1 changed since they were preserved" in edited.observed and "00000001.COL" in edited.observed
    assert "00000002.COL" not in edited.observed


def test_files_left_out_on_purpose_are_reported_as_excluded_not_missing(tmp_path):
    host = fake_site_server(**{COL + "SCRATCH.TMP": b"tmp"})
    outcome, record = preserved_vault(tmp_path, host, exclude={"collected_files": ["*.TMP"]})
    assert outcome["problems"] == []
    files = collected(("00000001.COL", b"collected 1"), ("00000002.COL", b"collected 2"), ("SCRATCH.TMP", b"tmp"))
    result = check("collected_files", files, record)
    assert result.status == "pass", result.observed
    assert "1 left out on purpose by sms_upgrade_preserve_exclude (%sSCRATCH.TMP)" % COL in result.observed
    assert "no verified copy" not in result.observed


def test_a_modified_smsls_bat_needs_a_copy_with_the_snapshots_content(tmp_path):
    _outcome, record = preserved_vault(tmp_path, fake_site_server())
    netlogon = "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT"
    default = "C:\\SMS\\SITE.SRV\\MAINCFG.BOX\\SMSLS.BAT"

    def smsls(netlogon_content):
        tree = {"root": "C:\\SMS", "logon_scripts": [
            {"path": default, "size": 1, "sha256": sha(b"@echo off\r\nrem SMS default\r\n"), "location": "maincfg"},
            {"path": netlogon, "size": 1, "sha256": sha(netlogon_content), "location": "netlogon"}]}
        fleet = mock.Mock(site_server=lambda site: ("CENSRV01", {"sms_tree": tree}))
        ctx = Context("CENSRV01", "CEN", ["site"], {"sms_tree": tree}, {}, fleet, record, None, NOW)
        return CHECKS["smsls_preserved"](ctx, {})
    assert smsls(b"@echo off\r\nrem modified by corp IT\r\n").status == "pass"
    later = smsls(b"@echo off\r\nrem modified again after the preserve run\r\n")
    assert later.status == "fail" and "changed since they were preserved" in later.observed and netlogon in later.observed


# ------------------------------------------------------------------ both copies, every version (6)
def test_host_copies_last_verified_long_ago_do_not_count(tmp_path):
    _outcome, record = preserved_vault(tmp_path, fake_site_server())
    files = collected(("00000001.COL", b"collected 1"), ("00000002.COL", b"collected 2"))
    params = merge_params(None)
    fresh = Context("CENSRV01", "CEN", ["site"], {"sms_tree": {"root": "C:\\SMS", "collected_files": files}}, params, None,
                    record, None, NOW)
    assert CHECKS["preserved"](fresh, {"category": "collected_files"}).status == "pass"
    later = fresh._replace(now=NOW + datetime.timedelta(days=params["preserve_host_max_age_days"] + 1))
    stale = CHECKS["preserved"](later, {"category": "collected_files"})
    assert stale.status == "fail" and "host copies outside the SMS tree were last verified 8.1 days ago" in stale.observed


def test_a_damaged_earlier_version_fails_the_category(tmp_path):
    host = fake_site_server()
    preserved_vault(tmp_path, host)
    host.put(COL + "00000001.COL", b"collected 1, second content")
    _outcome, record = preserved_vault(tmp_path, host)
    assert record["CENSRV01"]["collected_files"]["verified"] is True
    (tmp_path / "vault" / "CEN" / "CENSRV01" / "v1" / "collected_files" / "00000001.COL").write_bytes(b"bit rot")
    damaged = preservation(str(tmp_path / "vault"), AT)["CENSRV01"]["collected_files"]
    assert damaged["verified"] is False
    assert damaged["problems"] == ["00000001.COL v1 (an earlier version): missing or different in the vault (expected 11 "
                                   "bytes, SHA-256 %s)" % sha(b"collected 1")]


# ------------------------------------------------------------------ the rules claim what they check (16)
def test_the_database_documents_rule_names_what_verified_and_claims_no_query_export(tmp_path):
    host = fake_site_server()
    host.sql_output = "SMSUPG>>physical_disks\n a\n --\n 1\n"
    preserve_run(host, ["site_database"], now=AT, host="SQL01", site="AAA", vault_root=str(tmp_path), database="SMS",
                 sql_queries={"job_details": None, "jobs": None})
    good = findings(tmp_path / "fleet", [site_database()], preservation(str(tmp_path), AT))[("SQL01", "preserve.database_documents")]
    assert good["status"] == "pass"
    assert good["message"] == "2 document(s) verified at %s: database-summary.md, physical_disks.csv." % AT
    rule = next(r for r in RULES if r.id == "preserve.database_documents")
    assert "PRE-21" not in rule.checklist  # no query export is configured by default: manual.queries_documented covers it
