"""The readiness rules read the preservation record: preserve.site_control needs the registry export and the site
description too; preserve.database_documents needs the database exports to verify."""
import datetime

from ansible_collections.sms.upgrade.plugins.plugin_utils.answers import parse_answers
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.params import merge_params

from ..snapshots import site_database, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
RULES = load_catalog(CHECKS)
AT = "2026-11-25T10:00:00Z"


def findings(tmp_path, snapshots, preservation):
    hosts = write_fleet(str(tmp_path), snapshots)
    inputs = [HostInput(h, str(tmp_path / ("%s.json" % h)), None, None) for h in hosts]
    found, _records = assess_fleet(inputs, RULES, parse_answers(None, {r.id: r for r in RULES}), merge_params(None), NOW,
                                   preservation)
    return {(f["host"], f["rule"]): f for f in found}


def ok(files=1, verified=True, problems=()):
    return {"verified": verified, "files": files, "bytes": 10, "verified_at": AT, "problems": list(problems)}


def test_site_control_needs_the_registry_export_and_the_site_description(tmp_path):
    tree = dict(site_server()["sms_tree"], site_control_files=[
        {"path": "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "size": 100, "sha256": "a" * 64},
        {"path": "C:\\SMS\\SYSTEM.MAP", "size": 10, "sha256": "b" * 64}])
    snapshot = site_server(sms_tree=tree)
    partial = findings(tmp_path, [snapshot], {"SRV01": {"site_control_files": ok(2), "registry": ok()}})
    finding = partial[("SRV01", "preserve.site_control")]
    assert finding["status"] == "fail" and "no verified site documents yet" in finding["message"]
    assert finding["remediation"]["playbook"] == "sms.upgrade.preserve"
    complete = findings(tmp_path, [snapshot], {"SRV01": {"site_control_files": ok(2), "registry": ok(), "site_documents": ok()}})
    assert complete[("SRV01", "preserve.site_control")]["status"] == "pass"
    assert "with registry, site documents" in complete[("SRV01", "preserve.site_control")]["message"]
    short = findings(tmp_path, [snapshot], {"SRV01": {"site_control_files": ok(1), "registry": ok(), "site_documents": ok()}})
    assert short[("SRV01", "preserve.site_control")]["status"] == "fail"


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
