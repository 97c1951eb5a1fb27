"""The site_upgrade room against the site model: the whole run per site, its failures, and what a later run resumes."""
import copy
import json

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_upgrade, upgrade_inputs
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_status import load_site, save_site, new_site_record

from . import site_lab
from .fake_site import lab_site
from .model_hands import ModelHands, context

PHASE = site_upgrade.PHASE
CEN = ("CENSRV01", "CENSQL01", "CENHLP01", "CENLOG01")
SP1 = "2.0.1380.1000"
RTM = "2.0.1239.0000"


@pytest.fixture(name="env")
def fixture_env(tmp_path, monkeypatch):
    """The inputs of the earlier phases as the pre-flight reads them: a clearing report, a verified vault, a database
    record (the last two through their interface functions, which have their own tests)."""
    clock = site_lab.FakeClock()
    monkeypatch.setattr(PHASE, "clock", clock)
    monkeypatch.setattr(upgrade_inputs, "vault_problems", lambda vault, hosts, now: {})
    monkeypatch.setattr(upgrade_inputs, "database_readiness", lambda *a: ([], {"path": "C:\\MSSQL\\BACKUP\\SMS_CEN-baseline.DAT"}))
    env = {"tmp": tmp_path, "clock": clock, "report": site_lab.clearing_report(str(tmp_path / "reports"), list(site_lab.groups()))}
    return env


def cen(scenario="success", media=SP1):
    site = lab_site({h: site_lab.prepared(site_lab.snapshot(h)) for h in CEN}, CEN, media={"CENSRV01": media} if media else None)
    site.m("CENSRV01")["scenario"] = scenario
    return site


def args(env, entry, **more):
    tmp = env["tmp"]
    return dict({"site": entry, "wave": "central", "plan_file": site_lab.PLAN, "status_dir": str(tmp / "status"),
                 "journal_dir": str(tmp / "journal"),
                 "vault_dir": str(tmp / "vault"), "report": env["report"], "setup_media": "D:\\", "poll_seconds": 0,
                 "monitor_minutes": 60}, **more)


def run(site, env, entry=None, check_mode=False, host="CENSRV01", **more):
    entry = entry or site_lab.wave("central")["sites"][0]
    ctx = context(PHASE, host, args(env, entry, **more), check_mode=check_mode, now=env["clock"].now())
    return PHASE.run(ctx, ModelHands(site, host, check_mode=check_mode))


def steps(result):
    return [(s["step"], s["status"]) for s in result["timeline"]]


def test_scripted_upgrade_from_sp1_media_reaches_verified_and_a_second_run_changes_nothing(env):
    site = cen()
    result = run(site, env)
    assert result["status"] == "verified", result["msg"]
    assert steps(result) == [("preflight", "ok"), ("quiesce", "changed"), ("rollback_point", "ok"), ("setup", "changed"),
                             ("monitor", "ok"), ("deinstall", "ok"), ("verify", "ok"), ("erd", "to_do")]
    assert result["changed"] is True and "failed" not in result
    server = site.m("CENSRV01")
    sms_2 = ["SMS_EXECUTIVE", "SMS_SITE_COMPONENT_MANAGER", "SMS_SQL_MONITOR"]
    assert sorted(n for n in server["services"] if n != "WUSER32") == sms_2
    assert server["services"]["WUSER32"]["state"] == "stopped", "turned off before the upgrade, not started again"
    assert sorted(server["shares"]) == ["NETLOGON", "SMS_PKGC"], "the distribution share stays (UPG-03)"
    assert not site.m("CENHLP01")["services"] and not site.m("CENHLP01")["shares"]
    assert site.m("CENSQL01")["databases"]["SMS_CEN"]["options"] == ["select into/bulkcopy", "trunc. log on chkpt."] or \
        "single user" not in site.m("CENSQL01")["databases"]["SMS_CEN"]["options"]
    start = next(c for c in site.state["calls"] if c["mode"] == "start")
    assert start["check_mode"] is False
    record = load_site(str(env["tmp"] / "status"), "CEN")
    assert record["status"] == "verified" and [e["step"] for e in record["timeline"]][-1] == "erd"
    assert all(e["started_at"] <= e["ended_at"] for e in record["timeline"])
    assert (env["tmp"] / "vault" / "rollback-point" / "CEN" / "CENSRV01" / "manifest.json").exists()
    again = run(site, env)
    assert again["status"] == "verified" and again["changed"] is False, again["msg"]
    assert steps(again) == [("deinstall", "ok"), ("verify", "ok"), ("erd", "to_do")]


def test_rtm_media_stops_at_the_wizard_and_a_later_run_verifies_what_the_wizard_did(env):
    site = cen(media=RTM)
    first = run(site, env)
    assert first["status"] == "wizard_pending" and "failed" not in first
    assert "KB Q235768" in first["msg"]
    assert any("Site code: CEN" in a for a in first["handoff"]["answers"])
    assert not [c for c in site.state["calls"] if c["mode"] == "start"], "RTM media: Setup is never started"
    assert site.m("CENSRV01")["services"]["SMS_EXECUTIVE"]["start_mode"] == "disabled", "quiesced for the wizard"
    waiting = run(site, env)
    assert waiting["status"] == "wizard_pending" and waiting["changed"] is False
    site.run_wizard("CENSRV01")
    done = run(site, env)
    assert done["status"] == "verified", done["msg"]


def test_setup_failing_before_the_conversion_puts_the_services_back(env):
    site = cen("fail_before_conversion")
    before = copy.deepcopy(site.m("CENSRV01")["services"])
    result = run(site, env)
    assert result["status"] == "setup_failed" and result["failed"] is True
    assert "Setup cannot upgrade the Systems Management Server database" in result["msg"]
    assert site.m("CENSRV01")["services"] == before, "start modes and states back from the journal"
    assert steps(result)[-1] == ("put_back", "changed")


def test_a_failed_conversion_is_left_for_the_recovery_and_the_next_run_refuses(env):
    site = cen("fail_in_conversion")
    result = run(site, env)
    assert result["status"] == "conversion_failed" and result["failed"] is True
    assert "Unable to put database in single-user mode" in result["msg"]
    assert "C:\\MSSQL\\BACKUP\\SMS_CEN-baseline.DAT" in result["msg"]
    assert site.m("CENSRV01")["services"]["SMS_EXECUTIVE"]["start_mode"] == "disabled", "nothing restarted after the conversion began"
    again = run(site, env)
    assert again["status"] == "conversion_failed" and "site_upgrade_recover" in again["msg"]
    assert len([c for c in site.state["calls"] if c["mode"] == "start"]) == 1


def test_an_unreachable_helper_stops_the_site_before_anything_changes(env):
    site = cen()
    site.m("CENHLP01")["reachable"] = False
    before = json.dumps(site.state["machines"], sort_keys=True)
    result = run(site, env)
    assert result["status"] == "stopped" and result["failed"] is True
    assert "servers_reachable: not reachable from CENSRV01: CENHLP01" in result["msg"]
    assert json.dumps(site.state["machines"], sort_keys=True) == before
    assert steps(result) == [("preflight", "failed")]
    assert not (env["tmp"] / "journal").exists()


def test_a_stale_report_and_a_full_mif_queue_stop_the_site(env):
    site = cen()
    site.put("CENSRV01", "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\DELTAMIF.COL\\00000007.MIF", b"START COMPONENT")
    env["clock"].advance(days=8)
    result = run(site, env)
    assert result["status"] == "stopped"
    assert "mif_queues: C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\DELTAMIF.COL holds 1 file(s)" in result["msg"]
    assert "readiness: readiness report 20261205T170000Z is 8.0 days old" in result["msg"]


def test_the_pre_flight_trusts_a_report_only_for_its_inventory_and_reads_that_inventory_s_folder(env, tmp_path, monkeypatch):
    """As the gate: a report made for another inventory stops the site untouched; without ``report`` the pre-flight
    reads ``sms-upgrade-reports/<inventory name>`` in the current directory."""
    entry = site_lab.wave("central")["sites"][0]
    site = cen()
    before = json.dumps(site.state["machines"], sort_keys=True)
    elsewhere = str(tmp_path / "copy" / "lab" / "hosts.yml")
    ctx = context(PHASE, "CENSRV01", args(env, entry), now=env["clock"].now(), inventory=elsewhere)
    result = PHASE.run(ctx, ModelHands(site, "CENSRV01"))
    assert result["status"] == "stopped" and steps(result) == [("preflight", "failed")]
    assert "was made for inventory %s, not %s" % (site_lab.LAB, tmp_path / "copy" / "lab") in result["msg"]
    assert json.dumps(site.state["machines"], sort_keys=True) == before
    monkeypatch.chdir(tmp_path)
    without = dict(args(env, entry))
    del without["report"]
    ctx = context(PHASE, "CENSRV01", without, now=env["clock"].now(), inventory=site_lab.INVENTORY)
    result = PHASE.run(ctx, ModelHands(site, "CENSRV01"))
    assert "no readiness report at %s" % (tmp_path / "sms-upgrade-reports" / "lab" / "latest.json") in result["msg"]
    site_lab.clearing_report(str(tmp_path / "sms-upgrade-reports" / "lab"), list(site_lab.groups()))
    result = PHASE.run(ctx, ModelHands(site, "CENSRV01"))
    assert result["status"] == "verified", result["msg"]


def test_a_long_setup_is_watched_again_by_the_next_run(env):
    site = cen("hang")
    first = run(site, env, monitor_minutes=2, poll_seconds=30)
    assert first["status"] == "setup_running" and "failed" not in first
    assert "run the playbook again later" in first["msg"]
    site.m("CENSRV01")["scenario"] = "success"
    second = run(site, env)
    assert second["status"] == "verified", second["msg"]
    assert len([c for c in site.state["calls"] if c["mode"] == "start"]) == 1, "a running Setup is never started twice"


def test_check_mode_changes_nothing_and_records_nothing(env):
    site = cen()
    before = json.dumps(site.state["machines"], sort_keys=True)
    result = run(site, env, check_mode=True)
    assert result["status"] == "planned" and result["changed"] is True
    assert json.dumps(site.state["machines"], sort_keys=True) == before
    assert not (env["tmp"] / "status").exists() and not (env["tmp"] / "journal").exists()
    assert ("setup", "would_change") in steps(result)
    assert any(d["before_header"] == "service SMS_EXECUTIVE" for d in result["diff"])


def secondary_env(env, parent_status="verified"):
    record = new_site_record("CEN", "central")
    record.update(status=parent_status, updated_at="2026-12-05T20:00:00Z")
    save_site(str(env["tmp"] / "status"), record)
    entry = next(s for s in site_lab.wave("branches", {"CENSRV01": {"sender_kbps": 128}})["sites"] if s["site"] == "S01")
    site = lab_site({"S01SRV01": site_lab.prepared(site_lab.snapshot("S01SRV01"))}, ["S01SRV01"])
    return site, entry


def test_a_secondary_is_handed_to_the_wizard_with_its_method_and_verified_when_it_reports(env):
    site, entry = secondary_env(env)
    first = run(site, env, entry=entry, host="S01SRV01", wave="branches")
    assert first["status"] == "handed_off", first["msg"]
    answers = " ".join(first["handoff"]["answers"])
    assert "Download the upgrade from the parent site" in answers and "65 MB" in answers and "69.3 minutes" in answers
    assert "sendcode sms_site_config_manager 193" in answers
    assert site.m("S01SRV01")["services"]["SMS_EXECUTIVE"]["start_mode"] == "auto", "a secondary is not quiesced"
    site.run_wizard("S01SRV01")
    done = run(site, env, entry=entry, host="S01SRV01", wave="branches")
    assert done["status"] == "verified", done["msg"]
    assert done["later_checks"][0]["check"] == "parent_shows_site" and done["later_checks"][0]["due"] > "2026-12-05"


def test_a_secondary_that_never_reports_is_overdue(env):
    site, entry = secondary_env(env)
    run(site, env, entry=entry, host="S01SRV01", wave="branches")
    env["clock"].advance(hours=25)
    late = run(site, env, entry=entry, host="S01SRV01", wave="branches")
    assert late["status"] == "overdue" and late["failed"] is True
    assert "has not reported SMS 2.0 25.0 hours after the hand-off" in late["msg"]


def test_a_secondary_waits_for_its_parent(env):
    site, entry = secondary_env(env, parent_status="wizard_pending")
    result = run(site, env, entry=entry, host="S01SRV01", wave="branches")
    assert result["status"] == "stopped" and "parent site CEN is not on SMS 2.0 yet" in result["msg"]


def test_setup_that_cannot_be_started_remotely_hands_off_to_the_wizard(env):
    site = cen()
    site.m("CENSRV01")["wmi"] = False
    result = run(site, env)
    assert result["status"] == "wizard_pending" and "failed" not in result
    assert "Setup could not be started on CENSRV01" in result["msg"] and "RPC server is unavailable" in result["msg"]
    assert site.m("CENSRV01")["services"]["SMS_EXECUTIVE"]["start_mode"] == "disabled", "quiesced and copied for the wizard"
    site.run_wizard("CENSRV01")
    assert run(site, env)["status"] == "verified"


def test_a_setup_started_by_hand_is_watched_not_started_again(env):
    site = cen()
    site.start_by_hand("CENSRV01")
    result = run(site, env)
    assert result["status"] == "verified", result["msg"]
    assert ("setup", "running") in steps(result)
    assert site.m("CENSRV01")["processes"] == 1, "no second Setup"
