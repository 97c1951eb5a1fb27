"""The upgrade plan in the readiness report: waves with sites and hosts, kept sites, the waves each finding blocks."""
import datetime

import pytest
import yaml

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_json
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import render_console, render_html, render_markdown

from ..snapshots import client, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
PLAN = {
    "schema_version": 1,
    "waves": [{"name": "first", "window": {"start": "2026-12-05T18:00:00Z", "end": "2026-12-06T06:00:00Z"},
               "sites": [{"site": "CEN"}]},
              {"name": "second", "window": {"start": "2026-12-12T18:00:00Z", "end": "2026-12-13T06:00:00Z"},
               "sites": [{"site": "S01", "method": "download_from_parent"}]}],
    "stay_on_1_2": [{"site": "S02", "reason": "OS/2 clients", "clients": ["os2"]}],
}
ANSWERS = {"schema_version": 1, "answers": [
    {"rule": "manual.secondary_final_config", "hosts": ["SRVS01", "SRVS02"], "decision": "configured_before_parent_upgrade",
     "by": "Ann", "at": "2026-11-20T10:00:00Z", "reason": "done"}]}


def lab(tmp_path, plan="default", dirty_client="WKSS01"):
    """CEN with the secondaries S01 and S02 below it, one client each; ``dirty_client`` has SMSRUN32 in its profile.

    ``plan``: a plan document, YAML text, None (no plan file) or "default" (PLAN)."""
    plan = PLAN if plan == "default" else plan
    servers = [site_server(host="SRV" + code, site=code, role=role, parent=parent,
                           sms=dict(site_server()["sms"], site_code=code, site_role=role, parent_site_code=parent))
               for code, role, parent in (("CEN", "central", None), ("S01", "secondary", "CEN"), ("S02", "secondary", "CEN"))]
    clients = [client(host="WKS" + code, site=code, smsid=code + "00001") for code in ("CEN", "S01", "S02")]
    for snap in clients:
        if snap["host"] == dirty_client:
            snap["user_entries"][0]["load"] = "SMSRUN32.EXE"
    hosts = write_fleet(str(tmp_path / "snap"), servers + clients)
    groups = {"sms_site_servers": hosts[:3], "sms_clients": hosts[3:]}
    (tmp_path / "answers.yml").write_text(yaml.safe_dump(ANSWERS), encoding="utf-8")
    plan_file = tmp_path / "upgrade_plan.yml"
    if plan is not None:
        plan_file.write_text(plan if isinstance(plan, str) else yaml.safe_dump(plan), encoding="utf-8")
    report, _paths, _warning = run_readiness(hosts, groups, str(tmp_path / "snap"), str(tmp_path / "rep"), NOW,
                                             answers_file=str(tmp_path / "answers.yml"), plan_file=str(plan_file))
    return report


def finding(report, host, rule):
    return next(f for f in report["findings"] if f["host"] == host and f["rule"] == rule)


def test_report_with_a_plan_matches_the_schema(tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    schema = read_json("schemas", "readiness-report.v2.json")
    report = lab(tmp_path)
    assert report["schema_version"] == "2.0"
    errors = jsonschema.Draft202012Validator(schema).iter_errors(report)
    assert [e.message for e in errors] == []


def test_waves_list_their_sites_in_order_with_hosts_and_status(tmp_path):
    plan = lab(tmp_path)["plan"]
    assert plan["present"] and plan["valid"] and len(plan["sha256"]) == 64
    first, second = plan["waves"]
    assert first["sites"] == [{"site": "CEN", "role": "central", "parent": None, "method": None, "hosts": 2}]
    assert second["sites"] == [{"site": "S01", "role": "secondary", "parent": "CEN", "method": "download_from_parent", "hosts": 2}]
    assert second["download_mb"] == 65 and first["download_mb"] == 0
    assert plan["stay_on_1_2"] == [{"site": "S02", "reason": "OS/2 clients", "clients": ["os2"], "hosts": 2}]
    assert plan["unplanned"] == []


def test_a_host_finding_blocks_the_wave_of_its_site_and_none_for_a_kept_site(tmp_path):
    report = lab(tmp_path)
    dirty = finding(report, "WKSS01", "client.smsrun_registry")
    assert dirty["blocks"] and dirty["waves"] == ["second"]
    waves = {w["name"]: w for w in report["plan"]["waves"]}
    assert waves["second"]["status"] == "blocked" and waves["second"]["blocking"] >= 1
    kept = lab(tmp_path / "kept", dirty_client="WKSS02")
    assert finding(kept, "WKSS02", "client.smsrun_registry")["waves"] == []
    assert {w["name"]: w["blocking"] for w in kept["plan"]["waves"]}["second"] < waves["second"]["blocking"]


def test_hierarchy_findings_block_every_wave_unless_they_name_theirs(tmp_path):
    report = lab(tmp_path)
    assert finding(report, "(hierarchy)", "hierarchy.change_plan")["waves"] == ["first", "second"]
    assert finding(report, "(hierarchy)", "plan.top_down")["waves"] == []
    broken = dict(PLAN, waves=[dict(PLAN["waves"][0], sites=[{"site": "S01", "method": "local_cd"}, {"site": "CEN"}])])
    top_down = finding(lab(tmp_path / "b", broken), "(hierarchy)", "plan.top_down")
    assert top_down["blocks"] and top_down["waves"] == ["first"]


def test_without_a_plan_file_the_whole_inventory_is_one_wave(tmp_path):
    report = lab(tmp_path, plan=None)
    plan = report["plan"]
    assert not plan["present"] and plan["sha256"] is None
    assert [(w["name"], [s["site"] for s in w["sites"]], w["hosts"]) for w in plan["waves"]] == [("all", ["CEN", "S01", "S02"], 6)]
    assert finding(report, "WKSS01", "client.smsrun_registry")["waves"] == ["all"]
    assert "No upgrade plan at %s" % (tmp_path / "upgrade_plan.yml") in render_console(report)[2]


def test_a_plan_that_does_not_load_leaves_no_wave_and_says_why(tmp_path):
    report = lab(tmp_path, plan="schema_version: 1\nwaves: []\n")
    plan = report["plan"]
    assert not plan["valid"] and plan["waves"] == [] and "waves: [] should be non-empty" in plan["problems"][0]
    assert finding(report, "(hierarchy)", "plan.valid")["status"] == "error"
    assert "cannot be used: waves: [] should be non-empty" in render_markdown(report)


def test_renderers_show_the_plan_and_the_waves_findings_block(tmp_path):
    report = lab(tmp_path)
    text = render_markdown(report)
    assert "## Upgrade plan" in text and "| second | 2026-12-12T18:00:00Z to 2026-12-13T06:00:00Z | S01 (secondary of CEN, " \
        "download from parent) | 2 | blocked: " in text
    assert "| S02 | 2 | os2 | OS/2 clients |" in text
    assert "high, blocking wave(s) second: " in text
    page = render_html(report)
    assert '<section id="plan"><h2>Upgrade plan</h2>' in page and "S01 (secondary of CEN, download from parent)" in page
    lines = render_console(report)
    assert any(line.startswith("wave second [S01]: 2 host(s), blocked: ") and line.endswith("downloads about 65 MB") for line in lines)
    assert "staying on SMS 1.2: S02 (2 host(s))" in lines
    assert any(line.strip().startswith("client.smsrun_registry") and line.endswith("; second") for line in lines)
