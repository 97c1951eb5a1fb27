"""The wave plan, the site upgrade's records, and what it reads from the earlier phases (their interfaces)."""
import datetime
import json
import os
import shutil

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import UpgradePlan
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import RECORD, RECORD_SCHEMA
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_status, site_wave, upgrade_inputs
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_upgrade import download_params

from . import site_lab

NOW = site_lab.NOW


def test_the_waves_of_the_lab_plan_in_order_with_their_servers_and_methods():
    central = site_lab.wave("central")
    assert [s["site"] for s in central["sites"]] == ["CEN"]
    cen = central["sites"][0]
    assert (cen["server"]["host"], cen["sql"]["host"], cen["sql"]["database"]) == ("CENSRV01", "CENSQL01", "SMS_CEN")
    assert [h["host"] for h in cen["helpers"]] == ["CENHLP01"] and [h["host"] for h in cen["logon"]] == ["CENLOG01"]
    assert cen["steps"][:4] == ["preflight", "quiesce", "rollback_point", "setup"]
    branches = site_lab.wave("branches", {"CENSRV01": {"sender_kbps": 64, "concurrent_sendings": 3}})
    assert [(s["site"], s["role"], s["parent"], s["method"]) for s in branches["sites"]] == [
        ("P01", "primary", "CEN", None), ("S01", "secondary", "CEN", "download_from_parent"),
        ("S03", "secondary", "P01", "local_cd")]
    download = branches["sites"][1]["download"]
    assert download["expected_minutes"] == 138.7, "65 MB at 64 kbit/s"
    assert download["max_at_once"] == 2, "below the parent's three concurrent sendings (KB Q199250)"
    assert "handoff" in branches["sites"][1]["steps"] and "quiesce" not in branches["sites"][1]["steps"]
    assert branches["stay_on_1_2"][0]["site"] == "S02"
    lines = site_wave.describe_wave(branches)
    assert lines[0].startswith("wave branches: 3 site(s), window 2026-12-12T18:00:00Z")
    assert "expected 138.7 min at 64 kbit/s, at most 2 at once" in lines[2]


def test_without_a_plan_every_site_is_one_wave_top_down():
    servers = [h for h, g in site_lab.groups().items() if "sms_site_servers" in g or "sms_sql" in g]
    snapshots = {h: site_lab.snapshot(h) for h in servers if os.path.exists(os.path.join(site_lab.LAB, "snapshots", h + ".json"))}
    planned = site_wave.plan_wave(UpgradePlan.whole_inventory(), None, site_lab.hosts_info(), snapshots, download_params())
    order = [s["site"] for s in planned["sites"]]
    assert order[0] == "CEN" and order.index("P01") < order.index("S03") and order.index("P01") < order.index("S02")
    assert not planned["wave"]["planned"]


def test_a_site_without_a_server_in_the_inventory_is_named():
    info = site_lab.hosts_info()
    info.pop("S01SRV01")
    servers = [h for h in info if "sms_site_servers" in info[h]["groups"]]
    snapshots = {h: site_lab.snapshot(h) for h in servers if os.path.exists(os.path.join(site_lab.LAB, "snapshots", h + ".json"))}
    from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan
    planned = site_wave.plan_wave(load_plan(os.path.join(site_lab.LAB, "upgrade_plan.yml")), "branches", info, snapshots,
                                  download_params())
    assert [s["site"] for s in planned["sites"]] == ["P01", "S03"]
    assert planned["problems"] == ["site S01: no site server in the inventory (a host in sms_central, sms_primary or "
                                   "sms_secondary and in sms_site_S01)"]


def test_site_records_round_trip_and_a_foreign_file_is_refused(tmp_path):
    record = site_status.new_site_record("cen", "central")
    record["status"] = "verified"
    path = site_status.save_site(str(tmp_path), record)
    assert site_status.load_site(str(tmp_path), "CEN")["status"] == "verified"
    assert site_status.site_statuses(str(tmp_path), ["CEN", "P01"]) == {"CEN": site_status.load_site(str(tmp_path), "CEN")}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump({"schema": "something else"}, handle)
    with pytest.raises(site_status.StatusError, match="is not a site upgrade record"):
        site_status.load_site(str(tmp_path), "CEN")
    with pytest.raises(site_status.StatusError, match="three letters"):
        site_status.site_path(str(tmp_path), "../x")
    wave = site_status.write_wave_record(str(tmp_path), "central", "20261205T180000Z", {"sites": []})
    with open(os.path.join(str(tmp_path), "waves", "central-latest.json"), encoding="utf-8") as handle:
        assert json.load(handle)["schema"] == site_status.WAVE_SCHEMA
    assert wave.endswith("central-20261205T180000Z.json")


def record(directory, steps=None, dumps=None):
    os.makedirs(directory, exist_ok=True)
    at = "2026-12-05T16:00:00Z"
    document = {"schema": RECORD_SCHEMA, "schema_version": "1.0",
                "steps": steps if steps is not None else {"consistency": {"status": "ok", "at": at},
                                                          "baseline_dump": {"status": "ok", "at": at}},
                "dumps": dumps if dumps is not None else [
                    {"kind": "baseline", "database": "SMS_CEN", "path": "D:\\B\\old.DAT", "at": "2026-12-01T00:00:00Z", "verified": True},
                    {"kind": "baseline", "database": "SMS_CEN", "path": "D:\\B\\new.DAT", "at": at, "verified": True},
                    {"kind": "safety", "database": "SMS_CEN", "path": "D:\\B\\safety.DAT", "at": at, "verified": True}]}
    with open(os.path.join(directory, RECORD), "w", encoding="utf-8") as handle:
        json.dump(document, handle)


def test_the_database_phase_record_is_read_through_its_interface(tmp_path):
    vault = str(tmp_path)
    reasons, baseline = upgrade_inputs.database_readiness(vault, "CEN", "CENSQL01", "SMS_CEN", ["consistency", "baseline_dump"], NOW, 7)
    assert baseline is None and "no database preparation record" in reasons[0]
    record(str(tmp_path / "CEN" / "CENSQL01"))
    reasons, baseline = upgrade_inputs.database_readiness(vault, "CEN", "CENSQL01", "SMS_CEN", ["consistency", "baseline_dump"], NOW, 7)
    assert reasons == [] and baseline["path"] == "D:\\B\\new.DAT", "the newest verified baseline dump"
    later = NOW + datetime.timedelta(days=8)
    reasons, _baseline = upgrade_inputs.database_readiness(vault, "CEN", "CENSQL01", "SMS_CEN", ["consistency"], later, 7)
    assert "more than 7 day(s) ago" in reasons[0]
    record(str(tmp_path / "CEN" / "CENSQL01"), steps={"consistency": {"status": "findings", "message": "Msg 2540"}}, dumps=[])
    reasons, _baseline = upgrade_inputs.database_readiness(vault, "CEN", "CENSQL01", "SMS_CEN", ["consistency", "baseline_dump"], NOW, 7)
    assert reasons == ["database step consistency is findings: Msg 2540", "database step baseline_dump is not done",
                       "no verified baseline dump of SMS_CEN in %s" % os.path.join(
                           vault, "CEN", "CENSQL01", "database-record.json")]
    record(str(tmp_path / "CEN" / "CENSQL01"), dumps=[
        {"kind": "baseline", "database": "master", "path": "D:\\B\\master.DAT", "at": "2026-12-05T16:00:00Z", "verified": True}])
    _reasons, baseline = upgrade_inputs.database_readiness(vault, "CEN", "CENSQL01", "SMS_CEN", ["consistency"], NOW, 7)
    assert baseline is None, "only a dump of the site database is the one the recovery restores"


def test_the_preserve_vault_must_verify_for_every_host(tmp_path):
    problems = upgrade_inputs.vault_problems(str(tmp_path), ["CENSRV01"], NOW)
    assert problems == {"CENSRV01": ["nothing preserved in %s: run sms.upgrade.preserve first" % tmp_path]}


def test_the_report_is_read_with_the_site_upgrade_policy(tmp_path):
    reports = site_lab.clearing_report(str(tmp_path), ["CENSRV01", "CENSQL01"])
    report, reasons = upgrade_inputs.readiness(reports, ["CENSRV01", "CENSQL01"], "7d", NOW, site_lab.PLAN, "central")
    assert reasons == [] and upgrade_inputs.finding_status(report, "CENSRV01", "manual.client_agents_disabled")[0] == "pass"
    _report, reasons = upgrade_inputs.readiness(reports, ["CENSRV01", "CENHLP01"], "7d", NOW, site_lab.PLAN, "central")
    assert reasons == ["CENHLP01: not in readiness report 20261205T170000Z"]
    _report, reasons = upgrade_inputs.readiness(str(tmp_path / "none"), ["CENSRV01"], "7d", NOW, site_lab.PLAN, "central")
    assert "no readiness report at" in reasons[0]


def test_the_report_is_judged_for_the_plan_and_the_wave_as_the_gate_judges_it(tmp_path):
    """Made with this plan, a wave the plan has, and a hierarchy-wide blocker only for the waves it names."""
    blocker = {"host": "(hierarchy)", "rule": "plan.secondary_before_parent", "status": "fail", "blocks": True,
               "waves": ["branches"], "checklist": ["SEC-01"], "message": "S01 before its parent"}
    reports = site_lab.clearing_report(str(tmp_path / "r"), ["CENSRV01"], findings=[blocker])
    assert upgrade_inputs.readiness(reports, ["CENSRV01"], "7d", NOW, site_lab.PLAN, "central")[1] == []
    _report, reasons = upgrade_inputs.readiness(reports, ["P01SRV01"], "7d", NOW, site_lab.PLAN, "branches")
    assert "(hierarchy): blocked by plan.secondary_before_parent" in reasons
    without = site_lab.clearing_report(str(tmp_path / "w"), ["CENSRV01"], plan=None)
    _report, reasons = upgrade_inputs.readiness(without, ["CENSRV01"], "7d", NOW, site_lab.PLAN, "central")
    assert reasons and "made without an upgrade plan" in reasons[0]
    assert upgrade_inputs.readiness(without, ["CENSRV01"], "7d", NOW, None, None)[1] == [], "no plan: one wave, all"
    _report, reasons = upgrade_inputs.readiness(reports, ["CENSRV01"], "7d", NOW, site_lab.PLAN, "nowhere")
    assert "wave 'nowhere' is not in upgrade plan" in reasons[0]


def test_a_site_host_whose_snapshot_changed_since_the_report_is_not_cleared(tmp_path):
    """The pre-flight judges the report as the gate does: the snapshots must be those the report assessed (SHA-256)."""
    snapshots = tmp_path / "snapshots"
    snapshots.mkdir()
    for host in ("CENSRV01", "CENSQL01"):
        shutil.copy(os.path.join(site_lab.LAB, "snapshots", host + ".json"), str(snapshots / (host + ".json")))
    reports = site_lab.clearing_report(str(tmp_path / "r"), ["CENSRV01", "CENSQL01"], snapshots=str(snapshots))
    assert upgrade_inputs.readiness(reports, ["CENSRV01", "CENSQL01"], "7d", NOW, site_lab.PLAN, "central",
                                    inventory=[site_lab.INVENTORY])[1] == []
    with open(str(snapshots / "CENSQL01.json"), "a", encoding="utf-8") as handle:
        handle.write(" ")
    _report, reasons = upgrade_inputs.readiness(reports, ["CENSRV01", "CENSQL01"], "7d", NOW, site_lab.PLAN, "central")
    assert reasons == ["CENSQL01: the snapshot of CENSQL01 (%s) changed since readiness report 20261205T170000Z assessed "
                       "it: run the readiness playbook again" % (snapshots / "CENSQL01.json")]
    _report, reasons = upgrade_inputs.readiness(reports, ["CENSRV01"], "7d", NOW, site_lab.PLAN, "central",
                                                inventory=[str(tmp_path / "other" / "hosts.yml")])
    assert len(reasons) == 1 and "was made for inventory %s, not %s" % (site_lab.LAB, tmp_path / "other") in reasons[0]
