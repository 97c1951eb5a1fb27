"""The upgrade's progress in the readiness report (report/progress.py): records written by the phases themselves (the
site upgrade and post-upgrade rooms run against their models, the client run record by upgrade_progress), read back
into the ``progress`` section over the lab, and rendered."""
import datetime
import json
import os
import xml.etree.ElementTree as ET

import pytest
import yaml

from ansible_collections.sms.upgrade.plugins.action.site_wave import wave_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_json
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import (
    post_upgrade, site_status, site_upgrade, upgrade_inputs, upgrade_progress, upgrade_records)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import (
    render_console, render_html, render_junit, render_markdown)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.progress_view import duration

from ..phases import model_hands, site_lab, upgrade_hands, upgrade_lab
from ..phases.fake_site import lab_site
from ..phases.fake_site20 import FakeSite20

NOW = datetime.datetime(2026, 12, 8, 12, 0, tzinfo=datetime.timezone.utc)
CEN = ("CENSRV01", "CENSQL01", "CENHLP01", "CENLOG01")
CEN_CLIENTS = ["CENNT001", "CENNT002", "CENNT003", "CENNT004", "CENMAC01"]
STEPS = ["preflight", "quiesce", "rollback_point", "setup", "monitor", "deinstall", "verify", "erd"]


def lab_groups():
    with open(os.path.join(site_lab.LAB, "hosts.yml"), encoding="utf-8") as handle:
        tree = yaml.safe_load(handle)
    groups = {}

    def walk(name, node):
        members = list(((node or {}).get("hosts") or {}).keys())
        for child, sub in ((node or {}).get("children") or {}).items():
            members += walk(child, sub)
        groups[name] = members
        return members
    walk("all", tree["all"])
    return groups


def report(tmp_path, status_dir, records_dir):
    """The readiness report over the lab (its snapshots and upgrade plan) with the records' directories."""
    groups = lab_groups()
    hosts = sorted(set(groups["sms_upgrade"]))
    found, _paths, _warning = run_readiness(
        hosts, groups, os.path.join(site_lab.LAB, "snapshots"), str(tmp_path / "reports"), NOW,
        plan_file=site_lab.PLAN, upgrade_dirs={"site_upgrade_dir": str(status_dir), "records_dir": str(records_dir)})
    return found


def upgrade_cen(tmp_path, monkeypatch):
    """The site upgrade of CEN against the site model to ``verified``: its site record and the wave's record."""
    clock = site_lab.FakeClock()
    monkeypatch.setattr(site_upgrade.PHASE, "clock", clock)
    monkeypatch.setattr(upgrade_inputs, "vault_problems", lambda vault, hosts, now: {})
    monkeypatch.setattr(upgrade_inputs, "database_readiness", lambda *a: ([], {"path": "C:\\MSSQL\\BACKUP\\SMS_CEN.DAT"}))
    site = lab_site({h: site_lab.prepared(site_lab.snapshot(h)) for h in CEN}, CEN, media={"CENSRV01": "2.0.1380.1000"})
    site.m("CENSRV01")["scenario"] = "success"
    planned = site_lab.wave("central")
    status_dir = tmp_path / "site_upgrade"
    task = {"site": planned["sites"][0], "wave": "central", "plan_file": site_lab.PLAN, "status_dir": str(status_dir),
            "journal_dir": str(tmp_path / "journal"), "vault_dir": str(tmp_path / "vault"),
            "report": site_lab.clearing_report(str(tmp_path / "gate"), list(site_lab.groups())), "setup_media": "D:\\",
            "poll_seconds": 0, "monitor_minutes": 60}
    ctx = model_hands.context(site_upgrade.PHASE, "CENSRV01", task, now=clock.now())
    result = site_upgrade.PHASE.run(ctx, model_hands.ModelHands(site, "CENSRV01"))
    assert result["status"] == "verified", result["msg"]
    site_status.write_wave_record(str(status_dir), "central", "20261205T180000Z",
                                  wave_record(planned, {"CENSRV01": result}, False))
    return status_dir


def post_upgrade_cen(tmp_path):
    """The post-upgrade of CEN against the SMS 2.0 site model, without scripted settings: ``pending``."""
    records = tmp_path / "records"
    site = FakeSite20(upgrade_lab.lab_snapshot("CENSRV01"), upgrade_lab.lab_snapshot("CENSQL01"),
                      [upgrade_lab.lab_snapshot(h) for h in ("CENNT001", "CENNT002", "CENNT003", "CENNT004")],
                      files={upgrade_lab.NETLOGON_SMSLS: upgrade_lab.SMSLS_20})
    task = {"snapshot_dir": upgrade_lab.upgraded_snapshots(tmp_path / "snapshots"),
            "vault_dir": upgrade_lab.cen_vault(str(tmp_path / "post_vault")), "records_dir": str(records),
            "journal_dir": str(tmp_path / "post_journal"), "site_settings": {"boundaries": [{"ip_subnet": "10.1.0.0/16"}]}}
    ctx = upgrade_hands.context(post_upgrade.PHASE, "CENSRV01", task, groups=["sms_central", "sms_site_CEN"])
    result = post_upgrade.PHASE.run(ctx, upgrade_hands.ModelHands({"CENSRV01": site}, "CENSRV01"))
    assert result["status"] == "pending" and result["conversion"], result["msg"]
    return records


def clients_cen(records):
    """A client run over CEN: 1 upgraded, 2 pending (one unreachable), 1 staying on 1.2, 1 failed."""
    for host, status, reason in (("CENNT001", "upgraded", "verified"), ("CENNT003", "failed", "did not come over in 48 h")):
        path = upgrade_records.client_path(str(records), "CEN", host)
        upgrade_records.save(path, dict(upgrade_records.load(path, "client", host=host, site="CEN"), status=status, reason=reason))
    results = {"CENNT002": {"phase": "client_upgrade", "site": "CEN", "status": "unreachable", "reason": "no network"},
               "CENMAC01": {"phase": "client_upgrade", "site": "CEN", "status": "stays_on_1_2", "reason": "macintosh"}}
    record = upgrade_progress.run_record(str(records), "client_upgrade", "central", load_plan(site_lab.PLAN), ["CEN"],
                                         {"CEN": CEN_CLIENTS, "S02": ["S02NT001", "S02OS201"]}, results, NOW)
    upgrade_progress.write(str(records), record, NOW)


@pytest.fixture(name="recorded", scope="module")
def fixture_recorded(tmp_path_factory):
    """The lab's report after CEN's site upgrade, post-upgrade and a client run (built once: the lab takes seconds)."""
    tmp_path = tmp_path_factory.mktemp("progress")
    with pytest.MonkeyPatch.context() as monkeypatch:
        status_dir = upgrade_cen(tmp_path, monkeypatch)
    records = post_upgrade_cen(tmp_path)
    clients_cen(records)
    return report(tmp_path, status_dir, records), tmp_path


def site(found, code):
    return next(s for s in found["progress"]["sites"] if s["site"] == code)


def test_the_section_shows_each_wave_and_the_timeline_post_upgrade_conversion_and_clients_of_each_site(recorded):
    found, tmp_path = recorded
    progress = found["progress"]
    assert progress["status"] == "recorded" and progress["notes"] == []
    assert [(w["name"], w["status"], w["counts"]) for w in progress["waves"]] == [
        ("central", "verified", {"verified": 1}), ("branches", "not_started", {"not_started": 3})]
    assert progress["waves"][0]["last_run"] and progress["waves"][0]["record"].endswith("central-latest.json")
    assert [s["site"] for s in progress["sites"]] == ["CEN", "P01", "S01", "S03", "S02"]
    cen = site(found, "CEN")
    assert cen["site_upgrade"]["status"] == "verified"
    assert cen["site_upgrade"]["record"] == str(tmp_path / "site_upgrade" / "sites" / "CEN.json")
    timeline = cen["site_upgrade"]["timeline"]
    assert [(e["step"], e["status"]) for e in timeline] == list(zip(STEPS, ["ok", "changed", "ok", "changed", "ok", "ok",
                                                                            "ok", "to_do"]))
    assert all(e["started_at"] and isinstance(e["seconds"], (int, float)) for e in timeline)
    assert cen["post_upgrade"]["status"] == "pending" and cen["post_upgrade"]["reason"]
    rows = {r["kind"]: r for r in cen["post_upgrade"]["conversion"]}
    assert rows["Machine groups"]["converted"] is True and rows["Machine groups"]["fate"] == "converted"
    assert rows["Alerts"]["fate"] == "lost" and rows["Jobs"]["converted"] is False
    assert cen["clients"]["status"] == "recorded"
    assert {k: cen["clients"][k] for k in ("upgraded", "pending", "staying_on_1_2", "failed", "total")} == {
        "upgraded": 1, "pending": 2, "staying_on_1_2": 1, "failed": 1, "total": 5}
    assert cen["clients"]["failed_hosts"] == [{"host": "CENNT003", "reason": "did not come over in 48 h"}]
    s01 = site(found, "S01")
    assert s01["wave"] == "branches"
    assert all(s01[k]["status"] == "not_started" for k in ("site_upgrade", "post_upgrade", "clients"))
    s02 = site(found, "S02")
    assert s02["stays_on_1_2"] and s02["site_upgrade"]["status"] == "not_applicable"
    assert s02["clients"]["staying_on_1_2"] == 2, "progress.json counts the kept site's clients"


def test_the_report_with_progress_matches_the_schema(recorded):
    jsonschema = pytest.importorskip("jsonschema")
    found = recorded[0]
    assert found["schema_version"] == "2.0"
    errors = jsonschema.Draft202012Validator(read_json("schemas", "readiness-report.v2.json")).iter_errors(found)
    assert [e.message for e in errors] == []


def test_markdown_and_html_show_the_waves_the_timeline_the_conversion_table_and_the_clients(recorded):
    found = recorded[0]
    markdown = render_markdown(found)
    section = markdown.split("## Upgrade progress", 1)[1].split("\n## ", 1)[0]
    assert "| central | verified | CEN verified |" in section
    assert "| branches | not started | P01 not started, S01 not started, S03 not started | - |" in section
    assert "1 upgraded, 2 pending, 1 staying on 1.2, 1 failed (of 5)" in section
    assert "| S02 | stays on SMS 1.2 (" in section
    assert "### Site CEN" in section and "| preflight | 2026-12-05T18:00:00Z |" in section
    assert "| Alerts | no | - | - | lost (SMS 2.0 status messages replace alerts.) |" in section
    assert "Failed clients: CENNT003 (did not come over in 48 h)" in section
    page = render_html(found)
    part = page.split('<section id="progress">', 1)[1].split("</section>", 1)[0]
    assert "<td>central</td><td>verified</td><td>CEN verified</td>" in part
    assert "<summary>site CEN</summary>" in part and "<td>rollback_point</td>" in part
    assert "<td>Machine groups</td><td>yes</td>" in part


def test_console_and_junit_name_the_waves_and_the_failed_clients(recorded):
    found = recorded[0]
    lines = render_console(found)
    assert "  wave central: verified [CEN verified]" in lines
    assert "  site CEN: 1 client(s) failed" in lines
    root = ET.fromstring(render_junit(found))
    suite = next(s for s in root if s.get("name") == "sms.upgrade.progress")
    cases = {c.get("classname"): c for c in suite}
    assert cases["CEN"].find("failure").get("message") == "1 client(s) failed"
    assert cases["S01"].find("skipped") is not None and "S02" not in cases
    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("skipped") == "3"
    assert int(root.get("failures")) >= 1


def test_without_records_the_section_says_not_started(tmp_path):
    found = report(tmp_path, tmp_path / "none", tmp_path / "none-either")
    progress = found["progress"]
    assert progress["status"] == "not_started" and progress["notes"] == []
    assert {w["status"] for w in progress["waves"]} == {"not_started"}
    assert {s["site_upgrade"]["status"] for s in progress["sites"] if not s["stays_on_1_2"]} == {"not_started"}
    assert "Not started: no site upgrade, post-upgrade or client record yet." in render_markdown(found)
    assert "upgrade progress: not started" in render_console(found)
    assert "sms.upgrade.progress" not in render_junit(found)


def test_a_malformed_record_is_a_note_naming_the_file_and_the_report_is_still_written(tmp_path):
    status_dir, records = tmp_path / "site_upgrade", tmp_path / "records"
    os.makedirs(status_dir / "sites")
    (status_dir / "sites" / "CEN.json").write_text("{not json", encoding="utf-8")
    site_status.write_wave_record(str(status_dir), "branches", "20261212T180000Z", {"sites": "not a list"})
    post = upgrade_records.site_path(str(records), "P01")
    upgrade_records.save(post, dict(upgrade_records.load(post, "site", site="P01"), status="pending", conversion="x"))
    os.makedirs(records, exist_ok=True)
    with open(upgrade_records.progress_path(str(records)), "w", encoding="utf-8") as handle:
        json.dump({"schema": "something else", "schema_version": "1.0"}, handle)
    found = report(tmp_path, status_dir, records)
    notes = found["progress"]["notes"]
    assert len(notes) == 4, notes
    assert any(str(status_dir / "sites" / "CEN.json") in n and "is unreadable" in n for n in notes)
    assert any(str(status_dir / "waves" / "branches-latest.json") in n and "is malformed" in n for n in notes)
    assert any(post in n and "is malformed" in n for n in notes)
    assert any(upgrade_records.progress_path(str(records)) in n and "sms.upgrade.upgrade_progress" in n for n in notes)
    assert site(found, "CEN")["site_upgrade"]["status"] == "unreadable"
    assert [w["status"] for w in found["progress"]["waves"]] == ["stopped", "not_started"]
    latest = json.loads((tmp_path / "reports" / "latest.json").read_text(encoding="utf-8"))
    assert latest["progress"]["notes"] == notes
    markdown = render_markdown(found)
    assert "Records that could not be used:" in markdown and str(status_dir / "sites" / "CEN.json") in markdown
    assert any(c.get("classname") == "records" for c in ET.fromstring(render_junit(found)).iter("testcase"))


def test_recorded_text_is_escaped_in_html_and_markdown(tmp_path):
    status_dir = tmp_path / "site_upgrade"
    record = site_status.new_site_record("CEN", "central")
    record.update(status="stopped", updated_at="2026-12-05T18:05:00Z", timeline=[
        {"step": "preflight", "run": "20261205T180000Z", "started_at": "2026-12-05T18:00:00Z",
         "ended_at": "2026-12-05T18:01:05Z", "seconds": 65.0, "status": "failed",
         "message": "<script>alert(1)</script> | a pipe"}])
    site_status.save_site(str(status_dir), record)
    found = report(tmp_path, status_dir, tmp_path / "records")
    page = render_html(found)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; | a pipe" in page
    markdown = render_markdown(found)
    assert "<script>" not in markdown.replace("\\<", "")
    assert "| preflight | 2026-12-05T18:00:00Z | 1 min 05 s | failed | \\<script>alert(1)\\</script> \\| a pipe |" in markdown
    assert [w["status"] for w in found["progress"]["waves"]][0] == "stopped"
    assert "  site CEN: site upgrade stopped" in render_console(found)


def test_durations_read_as_people_say_them():
    assert [duration(s) for s in (None, 0, 59.6, 65, 3599, 3600, 7380.4)] == [
        "-", "0 s", "1 min 00 s", "1 min 05 s", "59 min 59 s", "1 h 00 min", "2 h 03 min"]
