"""The site_services room against the site model: plan from a live read, compare-and-set, journal, rollback."""
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_services
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import latest_record

from .fake_site import FakeSite, machine, server_from_snapshot
from .model_hands import ModelHands, context

LAB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab", "snapshots")
PHASE = site_services.PHASE


def lab(host):
    with open(os.path.join(LAB, host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def run(site, host, tmp_path, check_mode=False, **args):
    hands = ModelHands(site, host, check_mode=check_mode)
    ctx = context(PHASE, host, dict({"journal_dir": str(tmp_path / "journal")}, **args), check_mode=check_mode)
    return PHASE.run(ctx, hands), hands


@pytest.fixture(name="site")
def fixture_site():
    site = FakeSite()
    site.add(server_from_snapshot(lab("CENSRV01")))
    return site


def test_the_six_services_and_three_shares_go_and_the_package_share_stays(site, tmp_path):
    result, hands = run(site, "CENSRV01", tmp_path)
    assert result.get("failed") is not True, result["msg"]
    assert hands.calls == 2, "one read, one change set"
    server = site.m("CENSRV01")
    assert {s["start_mode"] for s in server["services"].values()} == {"disabled"}
    assert {s["state"] for s in server["services"].values()} == {"stopped"}
    assert sorted(server["shares"]) == ["NETLOGON", "SMS_PKGC"], "UPG-03: the distribution server keeps its package share"
    order = [c["description"].split(":")[0] for c in result["changes"]][:2]
    assert order == ["service SMS_SITE_CONFIG_MANAGER", "service SMS_HIERARCHY_MANAGER"], "it starts the others: stopped first"
    path, record = latest_record(str(tmp_path / "journal"), "CENSRV01", "site_services")
    share = next(e["change"] for e in record["changes"] if e["change"]["id"] == "share:SMS_SHR")
    assert share["from"] == {"path": "C:\\SMS\\LOGON.SRV", "remark": "SMS Logon Directory", "max_uses": -1,
                             "sddl": "D:(A;;FA;;;WD)(A;;FA;;;BA)"}
    again, _hands = run(site, "CENSRV01", tmp_path)
    assert again["changed"] is False and again["changes"] == []
    assert latest_record(str(tmp_path / "journal"), "CENSRV01", "site_services")[0] == path


def test_check_mode_changes_nothing_and_shows_the_diff(site, tmp_path):
    before = json.dumps(site.m("CENSRV01"), sort_keys=True)
    result, _hands = run(site, "CENSRV01", tmp_path, check_mode=True)
    assert result["changed"] is True and {c["status"] for c in result["changes"]} == {"would_change"}
    assert json.dumps(site.m("CENSRV01"), sort_keys=True) == before
    assert not (tmp_path / "journal").exists()
    shr = next(d for d in result["diff"] if d["before_header"] == "share SMS_SHR")
    assert "sddl: D:(A;;FA;;;WD)(A;;FA;;;BA)" in shr["before"] and shr["after"] == "(absent)\n"


def test_rollback_puts_back_start_modes_states_and_shares_with_their_permissions(site, tmp_path):
    original = json.loads(json.dumps(site.m("CENSRV01")))
    run(site, "CENSRV01", tmp_path)
    result, _hands = run(site, "CENSRV01", tmp_path, rollback=True)
    assert result.get("failed") is not True, result["msg"]
    server = site.m("CENSRV01")
    assert server["services"] == original["services"]
    assert server["shares"] == original["shares"]
    again, _hands = run(site, "CENSRV01", tmp_path, rollback=True)
    assert again["changed"] is False


def test_a_share_moved_meanwhile_is_planned_again_from_what_the_server_holds(site, tmp_path):
    read = PHASE.read(None, ModelHands(site, "CENSRV01"))
    entry = PHASE.entry_from_read(read, "live read")
    site.m("CENSRV01")["shares"]["SMS_SITE"]["path"] = "D:\\SMS\\SITE.SRV\\DESPOOLR.BOX\\RECEIVE"
    result, _hands = run(site, "CENSRV01", tmp_path, plan=entry)
    outcome = next(c for c in result["changes"] if c["description"].startswith("share SMS_SITE"))
    assert outcome["status"] == "changed" and outcome.get("replanned") is True
    assert "SMS_SITE" not in site.m("CENSRV01")["shares"]


def test_an_unreachable_server_is_named_and_nothing_is_planned(tmp_path):
    site = FakeSite()
    site.add(machine("CENHLP01", services=["SMS_EXECUTIVE"], shares=[("SMS_SHRC", "C:\\SMS", None)], reachable=False))
    result, _hands = run(site, "CENHLP01", tmp_path)
    assert result["failed"] is True and result["unreachable_target"] is True
    assert "CENHLP01: CENHLP01 could not be read" in result["msg"]


def test_plan_only_plans_from_the_snapshot_with_permissions_read_at_run_time(tmp_path):
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    (snapshots / "CENHLP01.json").write_text(json.dumps(lab("CENHLP01")), encoding="utf-8")
    result, hands = run(FakeSite(), "CENHLP01", tmp_path, check_mode=True, plan_only=True, snapshot_dir=str(snapshots))
    assert hands.calls == 0
    assert [c["status"] for c in result["changes"]] == ["planned"] * 5
    assert "share SMS_SHRC (C:\\SMS): remove; path and permissions kept in the journal" in result["planned"]
    assert any("sddl: (read at run time)" in d["before"] for d in result["diff"])


def test_only_1_2_shares_are_planned():
    assert [n for n in ("SMS_SHR", "SMS_SHRD", "sms_site", "SMS_PKGD", "SMS_SHRDX", "NETLOGON") if site_services.is_1_2_share(n)] \
        == ["SMS_SHR", "SMS_SHRD", "sms_site"]


def test_the_2_0_executive_of_the_same_name_is_never_touched(tmp_path):
    site = FakeSite()
    server = site.add(machine("CENSRV01", services=["SMS_EXECUTIVE", "SMS_SITE_CONFIG_MANAGER"]))
    server["services"]["SMS_EXECUTIVE"]["path"] = "C:\\SMS\\BIN\\I386\\SMSEXEC.EXE"
    server["services"]["SMS_SITE_CONFIG_MANAGER"]["path"] = '"C:\\SMS\\SITE.SRV\\X86.BIN\\SITEINS.EXE" /run'
    result, _hands = run(site, "CENSRV01", tmp_path)
    assert [c["description"].split(":")[0] for c in result["changes"]] == ["service SMS_SITE_CONFIG_MANAGER"]
    assert server["services"]["SMS_EXECUTIVE"]["state"] == "running"
    server["services"]["SMS_EXECUTIVE"]["path"] = None
    unread, _hands = run(site, "CENSRV01", tmp_path)
    assert unread["failed"] is True and "service SMS_EXECUTIVE: its program path was not read" in unread["msg"]
