"""The rule the site upgrade remediates: an upgraded site server with SMS 1.2 services or shares left."""
import copy

from .test_assess import assess, status
from ..snapshots import site_server

RULE = "site.sms12_left_after_upgrade"


def upgraded(services, shares):
    snapshot = site_server()
    snapshot["sms"]["full_version"] = "2.00.1380.1000"
    snapshot["services"] = [{"name": n, "state": "running", "start_mode": "auto"} for n in services]
    snapshot["shares"] = [{"name": n, "path": "C:\\SMS", "remark": None} for n in shares]
    return snapshot


def test_a_1_2_site_server_is_not_judged(tmp_path):
    findings, _records = assess(tmp_path, [site_server()])
    assert status(findings, "SRV01", RULE) == "not_applicable"


def test_leftover_services_or_shares_fail_and_2_0_names_pass(tmp_path):
    clean = upgraded(["SMS_SITE_COMPONENT_MANAGER", "SMS_EXECUTIVE", "SMS_SQL_MONITOR"], ["SMS_PKGC", "NETLOGON"])
    findings, _records = assess(tmp_path / "clean", [clean])
    assert status(findings, "SRV01", RULE) == "pass", "SMS_EXECUTIVE is SMS 2.0's too; package shares stay"
    left = upgraded(["SMS_EXECUTIVE", "SMS_HIERARCHY_MANAGER"], ["SMS_PKGC"])
    findings, _records = assess(tmp_path / "services", [left])
    assert status(findings, "SRV01", RULE) == "fail"
    assert "SMS_HIERARCHY_MANAGER" in findings[("SRV01", RULE)]["message"]
    share = upgraded(["SMS_EXECUTIVE"], ["SMS_SHRC"])
    findings, _records = assess(tmp_path / "share", [copy.deepcopy(share)])
    assert status(findings, "SRV01", RULE) == "fail"
    assert findings[("SRV01", RULE)]["blocks"] is True
