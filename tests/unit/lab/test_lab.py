"""The embedded lab: valid snapshots, consistent inventory, and each planted problem detected."""
import datetime
import json
import os
import subprocess
import sys

import pytest
import yaml

import build_lab
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import build_win_ini
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import render_html, render_markdown
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import validate_snapshot

LAB = build_lab.LAB
NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)


def inventory_groups():
    with open(os.path.join(LAB, "hosts.yml"), encoding="utf-8") as handle:
        tree = yaml.safe_load(handle)
    groups = {}

    def walk(name, node):
        node = node or {}
        members = list((node.get("hosts") or {}).keys())
        for child, sub in (node.get("children") or {}).items():
            members += walk(child, sub)
        groups[name] = members
        return members
    walk("all", tree["all"])
    return groups


GROUPS = inventory_groups()


def snapshot(host):
    with open(os.path.join(LAB, "snapshots", host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def test_every_snapshot_is_valid_and_named_after_its_host():
    names = sorted(n[:-5] for n in os.listdir(os.path.join(LAB, "snapshots")))
    assert names
    for host in names:
        assert validate_snapshot(host, snapshot(host)) == [], host


def test_every_inventory_host_has_a_snapshot_except_the_documented_one():
    hosts = set(GROUPS["sms_upgrade"])
    files = {n[:-5] for n in os.listdir(os.path.join(LAB, "snapshots"))}
    assert hosts - files == set(build_lab.MISSING)
    assert files <= hosts
    assert set(GROUPS["sms_snapshots_only"]) == hosts | set(build_lab.LAB_SQL), "the lab SQL Server is never contacted either"
    assert set(GROUPS["sms_lab_sql"]) == set(build_lab.LAB_SQL) and not set(build_lab.LAB_SQL) & hosts


def test_groups_match_snapshot_kinds():
    kinds = {"sms_clients": "client", "sms_sql": "site_database", "sms_site_servers": "site_server",
             "sms_helper": "site_server", "sms_logon": "site_server"}
    for group, kind in kinds.items():
        for host in GROUPS[group]:
            if host not in build_lab.MISSING:
                assert snapshot(host)["kind"] == kind, host


def test_lab_covers_every_os_family_and_tier():
    families = {snapshot(h)["os"]["family"] for h in GROUPS["sms_clients"] if h not in build_lab.MISSING}
    assert families == {"windows_nt", "windows_9x", "windows_3x", "wfw", "ms_dos", "os2", "macintosh"}
    assert len(GROUPS["sms_clients"]) >= 30 and len(GROUPS["sms_secondary"]) >= 3


def test_committed_lab_matches_its_builder(tmp_path):
    build_lab.write(str(tmp_path), build_lab.servers(), build_lab.clients(), build_lab.HEADER, build_lab.MISSING)
    for name in ["hosts.yml"] + ["snapshots/" + n for n in os.listdir(tmp_path / "snapshots")]:
        with open(os.path.join(LAB, name), encoding="utf-8") as committed:
            assert committed.read() == (tmp_path / name).read_text(encoding="utf-8"), "%s: run tests/tools/build_lab.py" % name


@pytest.fixture(scope="module")
def lab_report(tmp_path_factory):
    report, _paths, _warning = run_readiness(
        GROUPS["sms_upgrade"], GROUPS, os.path.join(LAB, "snapshots"), str(tmp_path_factory.mktemp("reports")), NOW,
        answers_file=os.path.join(LAB, "answers.yml"))
    return {(f["host"], f["rule"]): f for f in report["findings"]}, report


PLANTED = [
    ("P01SRV01", "site.nt_version", "fail"), ("S02SRV01", "site.nt_version", "fail"),
    ("P01SRV01", "site.ie_version", "fail"), ("S02SRV01", "site.sms_service_pack", "fail"),
    ("S03SRV01", "site.sms_version", "fail"), ("S03SRV01", "site.sms_service_pack", "skipped"),
    ("S02SRV01", "site.hardware", "fail"), ("P01SRV01", "site.sna_sender", "fail"),
    ("CENSRV01", "site.helper_senders", "fail"), ("CENSRV01", "site.helper_components", "fail"),
    ("CENHLP01", "helper.role_removed", "fail"), ("CENSRV01", "site.smsls_bat", "fail"),
    ("CENLOG01", "site.smsls_bat", "pass"), ("CENSRV01", "preserve.collected_files", "fail"),
    ("CENSRV01", "preserve.xnf_files", "fail"), ("S01SRV01", "preserve.xnf_files", "not_applicable"),
    ("CENSQL01", "sql.tempdb_size", "fail"), ("CENSQL01", "sql.tempdb_off_master", "fail"),
    ("CENSQL01", "sql.tempdb_select_into", "fail"), ("CENSQL01", "sql.reserved_collection_names", "fail"),
    ("CENSQL01", "sql.duplicate_smsids", "fail"), ("CENSQL01", "sql.active_jobs", "fail"),
    ("CENSQL01", "sql.machine_history", "fail"), ("CENSQL01", "sql.open_connections", "fail"),
    ("CENSQL01", "sql.site_db_size", "fail"), ("CENSQL01", "sql.log_truncate_or_size", "fail"),
    ("P01SQL01", "sql.version_sp4", "fail"), ("P01SQL01", "sql.tempdb_size", "pass"),
    ("P01SQL01", "sql.log_truncate_or_size", "pass"), ("P01SQL01", "manual.routine_maintenance", "fail"),
    ("CENNT013", "client.remote_control_agent", "fail"), ("CENNT013", "client.smsrun_registry", "fail"),
    ("CENNT014", "client.smsrun_registry", "error"), ("CEN95003", "client.smsrun_win_ini", "fail"),
    ("CEN31001", "client.smsrun_win_ini", "fail"), ("CEN95002", "client.smsrun_win_ini", "pass"),
    ("CENDOS01", "client.unsupported_os", "fail"), ("CENMAC01", "client.unsupported_os", "fail"),
    ("CENOS201", "client.unsupported_os", "fail"), ("CENNT001", "client.remote_control_agent", "pass"),
    ("CENNT099", "snapshot.valid", "error"), ("(hierarchy)", "hierarchy.duplicate_smsids", "fail"),
    ("(hierarchy)", "hierarchy.change_plan", "pass"), ("CENSRV01", "site.unsupported_clients", "fail"),
    ("P01SRV01", "site.client_components_autostart", "fail"), ("S01SRV01", "site.client_components_autostart", "pass"),
]


@pytest.mark.parametrize("host, rule, status", PLANTED)
def test_planted_problem_is_reported(lab_report, host, rule, status):
    findings, _records = lab_report
    assert findings[(host, rule)]["status"] == status, findings[(host, rule)]["message"]


def test_ready_site_and_answered_items(lab_report):
    findings, report = lab_report
    maintenance = findings[("P01SQL01", "manual.routine_maintenance")]
    assert maintenance["answer"]["by"].startswith("Marta Kowalski") and not maintenance["blocks"], \
        "the database phase has not run in the lab: the DBA's answer accepts the finding instead"
    assert report["summary"]["by_site"]["S01"]["blocked_hosts"] == 0
    sna = findings[("P01SRV01", "site.sna_sender")]
    assert sna["answer"]["by"].startswith("Lee Tran") and not sna["blocks"]
    assert "CENNT013" in findings[("CENNT013", "client.smsrun_registry")]["host"]
    assert "CORP\\jsmith" in findings[("CENNT013", "client.smsrun_registry")]["message"]


def test_lab_win_ini_is_what_the_gather_builder_makes_of_its_text():
    for name in sorted(os.listdir(os.path.join(LAB, "snapshots"))):
        win_ini = snapshot(name[:-5]).get("win_ini")
        if win_ini:
            rebuilt = build_win_ini({"present": True, "path": win_ini["path"], "content": win_ini["content"]})
            assert rebuilt == win_ini, name


def test_inventory_parses_with_ansible_inventory():
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if not os.path.exists(binary):
        pytest.skip("ansible-inventory is not installed next to %s" % sys.executable)
    result = subprocess.run([binary, "-i", os.path.join(LAB, "hosts.yml"), "--list"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "WARNING" not in result.stderr, result.stderr
    listed = json.loads(result.stdout)
    assert sorted(listed["sms_clients"]["hosts"]) == sorted(GROUPS["sms_clients"])


def test_generated_fleet_is_valid_and_parses(tmp_path):
    script = os.path.join(os.path.dirname(build_lab.__file__), "..", "perf", "generate_fleet.py")
    subprocess.run([sys.executable, script, "--clients", "60", "--out", str(tmp_path)], check=True, capture_output=True)
    names = [n[:-5] for n in os.listdir(tmp_path / "snapshots")]
    assert len(names) == 69
    for host in names:
        with open(tmp_path / "snapshots" / (host + ".json"), encoding="utf-8") as handle:
            assert validate_snapshot(host, json.load(handle)) == [], host
    with open(tmp_path / "hosts.yml", encoding="utf-8") as handle:
        tree = yaml.safe_load(handle)
    assert len(tree["all"]["children"]["sms_upgrade"]["children"]["sms_clients"]["hosts"]) == 60


def test_report_shows_what_the_client_agents_phase_would_change(lab_report):
    _findings, report = lab_report
    plans = {h["host"]: h["plans"]["client_agents"] for h in report["hosts"] if h.get("plans")}
    assert sorted(plans) == ["CEN31001", "CEN95003", "CENNT013", "CENNT014", "P01NT006"]
    assert plans["P01NT006"] == {"changes": ["service Wuser32: start mode auto -> disabled, state running -> stopped"],
                                 "problems": []}
    assert len(plans["CENNT013"]["changes"]) == 4
    assert plans["CENNT014"]["changes"] == [] and "remote_registry_stopped" in plans["CENNT014"]["problems"][0]
    markdown = render_markdown(report)
    assert "## Planned changes: phase client_agents (5 hosts)" in markdown
    assert "  - C:\\\\WINDOWS\\\\WIN.INI [windows] load='C:\\\\MS\\\\SMS\\\\BIN\\\\SMSRUN16.EXE NAV.EXE' -> 'NAV.EXE'" in markdown
    html = render_html(report)
    assert "<summary>phase client_agents: 5 hosts</summary>" in html and "<b>P01NT006</b>" in html
