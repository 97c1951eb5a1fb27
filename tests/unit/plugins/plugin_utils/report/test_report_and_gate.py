"""Report assembly, diff with the previous run, atomic storage and the gate."""
import datetime
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.report import store as report_store
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_json
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import (
    ANY_PHASE, GateError, PhasePolicy, evaluate_gate, load_report, parse_max_age, phase_policy)
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import host_inputs, run_readiness

from ..snapshots import client, site_database, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
GROUPS = {"sms_site_servers": ["SRV01"], "sms_sql": ["SQL01"], "sms_clients": ["WKS01", "WKS02"],
          "sms_site_AAA": ["SRV01", "SQL01", "WKS01", "WKS02"]}


def fleet(tmp_path, dirty=True):
    wks2 = client(host="WKS02", smsid="AAA00002")
    if dirty:
        wks2["remote_control"].update(start_mode="auto", state="running")
    snapshots = tmp_path / "snapshots"
    return write_fleet(str(snapshots), [site_server(), site_database(), client(), wks2]), str(snapshots)


def run(tmp_path, now=NOW, dirty=True, **kwargs):
    hosts, snapshots = fleet(tmp_path, dirty)
    return run_readiness(hosts, GROUPS, snapshots, str(tmp_path / "reports"), now, **kwargs)


def validator():
    jsonschema = pytest.importorskip("jsonschema")
    schema = read_json("schemas", "readiness-report.v2.json")
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_report_matches_its_schema_and_counts(tmp_path):
    report, paths, warning = run(tmp_path)
    assert warning is None
    errors = sorted(validator().iter_errors(report), key=lambda e: list(e.absolute_path))
    assert [e.message for e in errors] == []
    assert report["collection_version"] == "0.1.0"
    summary = report["summary"]
    assert summary["hosts"] == 4
    assert summary["counts"]["fail"] == sum(1 for f in report["findings"] if f["status"] == "fail")
    assert summary["by_site"]["AAA"]["hosts"] == 4
    assert {"site", "sql", "client", "hierarchy"} <= set(summary["by_tier"])
    assert summary["by_rule"]["client.remote_control_agent"]["counts"]["fail"] == 1


def test_the_file_writes_a_rules_fields_once_per_rule_and_on_failing_findings(tmp_path):
    report, paths, _warning = run(tmp_path)
    with open(paths["json"], encoding="utf-8") as handle:
        stored = json.load(handle)
    assert [e.message for e in validator().iter_errors(stored)] == []
    by_rule = stored["summary"]["by_rule"]
    for written, full in zip(stored["findings"], report["findings"]):
        if full["status"] in ("fail", "error"):
            assert written == full
        else:
            assert not {"title", "remediation", "references"} & set(written)
            assert written == {k: v for k, v in full.items() if k not in ("title", "remediation", "references")}
            rule = by_rule[full["rule"]]
            assert (rule["title"], rule["remediation"], rule["references"]) == (
                full["title"], full["remediation"], full["references"]), "the rule's fields are in summary.by_rule"
    passing = next(f for f in stored["findings"] if f["status"] == "pass")
    del stored["summary"]["by_rule"][passing["rule"]]["remediation"]
    assert any("remediation" in e.message for e in validator().iter_errors(stored))
    failing = next(f for f in stored["findings"] if f["status"] == "fail")
    del failing["title"]
    assert any("'title' is a required property" in e.message for e in validator().iter_errors(stored))


def test_files_written_and_latest_replaced(tmp_path):
    report, paths, _warning = run(tmp_path)
    for key in ("json", "markdown", "html", "junit"):
        assert os.path.getsize(paths[key]) > 0
    with open(paths["latest"], encoding="utf-8") as handle:
        assert json.load(handle)["run_id"] == report["run_id"]
    assert not [n for n in os.listdir(tmp_path / "reports") if n.endswith(".partial") or n.startswith(".latest-")]


def test_second_run_in_the_same_second_gets_its_own_directory(tmp_path):
    first, _paths, _warning = run(tmp_path)
    second, paths, _warning = run(tmp_path)
    assert second["run_id"] == first["run_id"] + "-2"
    assert os.path.isdir(paths["dir"])


def test_diff_with_previous_run(tmp_path):
    first, _paths, _warning = run(tmp_path, dirty=True)
    assert first["diff"]["previous_run_id"] is None and first["diff"]["new"] == []
    later = NOW + datetime.timedelta(hours=1)
    second, _paths, _warning = run(tmp_path, now=later, dirty=False)
    assert second["diff"]["previous_run_id"] == first["run_id"]
    assert {"host": "WKS02", "rule": "client.remote_control_agent", "status": "pass"} in second["diff"]["fixed"]
    assert second["diff"]["still_failing"], "manual items stay failing"
    third, _paths, _warning = run(tmp_path, now=later + datetime.timedelta(hours=1), dirty=True)
    assert {"host": "WKS02", "rule": "client.remote_control_agent", "status": "fail"} in third["diff"]["new"]


def test_corrupt_latest_is_a_warning_not_a_crash(tmp_path):
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "latest.json").write_text("{broken", encoding="utf-8")
    report, _paths, warning = run(tmp_path)
    assert "unreadable" in warning and report["diff"]["previous_run_id"] is None


def test_report_dir_inside_an_installed_collection_is_refused(tmp_path):
    collection = tmp_path / "ansible_collections" / "sms" / "upgrade"
    collection.mkdir(parents=True)
    (collection / "MANIFEST.json").write_text("{}", encoding="utf-8")
    with pytest.raises(report_store.ReportStoreError, match="inside the installed collection"):
        report_store.check_report_dir(str(collection / "reports"), str(collection))
    report_store.check_report_dir(str(tmp_path / "elsewhere"), str(collection))


def test_empty_inventory_and_missing_snapshot_dir_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="no hosts to assess"):
        host_inputs([], {}, str(tmp_path))
    with pytest.raises(ValueError, match="snapshot directory .* does not exist"):
        run_readiness(["X"], {}, str(tmp_path / "nope"), str(tmp_path / "r"), NOW)


def test_host_inputs_use_groups_for_kind_and_site(tmp_path):
    inputs = {i.host: i for i in host_inputs(["SRV01", "WKS01", "LOOSE"], GROUPS, "/snap")}
    assert (inputs["SRV01"].expected_kind, inputs["SRV01"].site) == ("site_server", "AAA")
    assert inputs["WKS01"].snapshot_path == "/snap/WKS01.json"
    assert inputs["LOOSE"].expected_kind is None


@pytest.mark.parametrize("value, seconds", [("7d", 604800), (7, 604800), ("36h", 129600), ("90m", 5400), ("2w", 1209600), ("1.5", 129600)])
def test_parse_max_age(value, seconds):
    assert parse_max_age(value) == seconds


@pytest.mark.parametrize("value", ["soon", "-1d", "", True, "7 days"])
def test_bad_max_age(value):
    with pytest.raises(GateError, match="is not a duration"):
        parse_max_age(value)


def test_gate_closed_for_blockers_age_and_unknown_hosts(tmp_path):
    report, paths, _warning = run(tmp_path)
    loaded = load_report(str(tmp_path / "reports"))
    verdict = evaluate_gate(loaded, ["WKS02", "NEWHOST"], parse_max_age("7d"), NOW + datetime.timedelta(days=8))
    assert not verdict.passed
    text = " ".join(verdict.reasons)
    assert "8.0 days old" in text and "NEWHOST" in text and "blocking finding" in text
    assert any("client.remote_control_agent" in b for b in verdict.blockers["WKS02"])
    assert "(hierarchy)" in verdict.blockers


def test_gate_open_when_nothing_blocks(tmp_path):
    report, paths, _warning = run(tmp_path, dirty=False)
    clean = load_report(paths["json"])
    clean["findings"] = [dict(f, blocks=False) for f in clean["findings"] if f["host"] == "WKS01"]
    verdict = evaluate_gate(clean, ["WKS01"], parse_max_age("7d"), NOW + datetime.timedelta(hours=2))
    assert verdict.passed and verdict.reasons == [] and verdict.age_hours == 2.0


def test_gate_without_report(tmp_path):
    with pytest.raises(GateError, match="no readiness report at .*run 'ansible-playbook"):
        load_report(str(tmp_path))
    (tmp_path / "latest.json").write_text('{"schema_version": "9.0"}', encoding="utf-8")
    with pytest.raises(GateError, match="not a readiness report of schema 1.x"):
        load_report(str(tmp_path))


def _finding(host, rule, blocks=True):
    return {"host": host, "rule": rule, "blocks": blocks, "checklist": ["PRE-27"], "message": "m"}


def _report(findings, hosts=("WKS01", "WKS02", "WKS03")):
    return {"run_id": "r1", "generated_at": "2026-11-25T11:00:00Z", "hosts": [{"host": h} for h in hosts],
            "findings": findings}


def test_phase_policy_comes_from_the_phase_room_and_the_rules_it_fixes():
    policy = phase_policy("client_agents")
    assert policy.scope == "host" and policy.requires == ("snapshot.*",)
    assert set(policy.remediates) == {"client.remote_control_agent", "client.smsrun_registry", "client.smsrun_win_ini"}
    assert "site.smsls_bat" in phase_policy("preserve").remediates, "the rule's fixed_by, not a list in the gate"
    assert phase_policy(None) == ANY_PHASE
    with pytest.raises(GateError, match="unknown phase 'nope' .*client_agents"):
        phase_policy("nope")


def test_phase_ignores_what_it_remediates_and_what_it_does_not_require():
    report = _report([_finding("WKS01", "client.smsrun_registry"), _finding("WKS02", "client.duplicate_thing")])
    policy = PhasePolicy("p", "play", ("snapshot.*", "client.duplicate_*"), ("client.smsrun_*",))
    verdict = evaluate_gate(report, ["WKS01", "WKS02"], 86400, NOW, policy)
    assert not verdict.passed and list(verdict.blockers) == ["WKS02"] and verdict.blocked_hosts == ["WKS02"]
    assert evaluate_gate(report, ["WKS01"], 86400, NOW, policy).passed


def test_host_scope_blocks_only_the_hosts_with_blockers():
    report = _report([_finding("WKS02", "snapshot.valid"), _finding("WKS01", "client.smsrun_registry")])
    policy = phase_policy("client_agents")
    verdict = evaluate_gate(report, ["WKS01", "WKS02", "WKS03", "NEW01"], 86400, NOW, policy)
    assert verdict.passed and verdict.reasons == []
    assert verdict.blocked_hosts == ["NEW01", "WKS02"]
    closed = evaluate_gate(report, ["WKS02", "NEW01"], 86400, NOW, policy)
    assert not closed.passed and "every host of the phase client_agents is blocked" in closed.reasons[0]


def test_host_scope_still_closes_for_hierarchy_blockers_and_age():
    policy = phase_policy("client_agents")
    report = _report([_finding("(hierarchy)", "snapshot.valid")])
    verdict = evaluate_gate(report, ["WKS01"], 86400, NOW, policy)
    assert not verdict.passed and verdict.blocked_hosts == ["WKS01"]
    stale = evaluate_gate(_report([]), ["WKS01"], 60, NOW, policy)
    assert not stale.passed and "days old" in stale.reasons[0]


# ------------------------------------------------------------------ the wave of a run
def _plan():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import parse_plan
    return parse_plan({"schema_version": 1, "waves": [
        {"name": "one", "window": {"start": "2026-12-05T18:00:00Z", "end": "2026-12-06T06:00:00Z"}, "sites": [{"site": "AAA"}]},
        {"name": "two", "window": {"start": "2026-12-12T18:00:00Z", "end": "2026-12-13T06:00:00Z"}, "sites": [{"site": "BBB"}]}]},
        "plan.yml", "f" * 64)


def _planned_report(findings, sha="f" * 64):
    report = _report(findings, hosts=())
    report.update(hosts=[{"host": "WKS01", "site": "AAA"}, {"host": "WKS02", "site": "BBB"}, {"host": "WKS03", "site": None}],
                  plan={"sha256": sha})
    return report


def test_scope_run_takes_the_site_from_the_report_else_from_the_groups():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import scope_run
    scope = scope_run(_plan(), "one", ["WKS01", "WKS02", "WKS03", "NEW01"], _planned_report([]), {"WKS03": "AAA", "WKS01": "BBB"})
    assert scope.hosts == ["WKS01", "WKS03"], "the snapshot's site (in the report) wins over the group"
    assert scope.left_out == {"WKS02": "outside wave one: site BBB is upgraded in wave two",
                              "NEW01": "outside wave one: no site code (its snapshot names none and it is in no sms_site_XXX group)"}


def test_a_hierarchy_blocker_closes_only_the_waves_it_names():
    plan, policy = _plan(), phase_policy("client_agents")
    two_only = dict(_finding("(hierarchy)", "plan.top_down"), waves=["two"])
    report = _planned_report([two_only])
    assert evaluate_gate(report, ["WKS01"], 86400, NOW, policy, plan, "one").passed
    closed = evaluate_gate(report, ["WKS02"], 86400, NOW, policy, plan, "two")
    assert not closed.passed and closed.blocked_hosts == ["WKS02"] and "plan.top_down" in closed.blockers["(hierarchy)"][0]
    older = _planned_report([_finding("(hierarchy)", "plan.top_down")])
    assert not evaluate_gate(older, ["WKS01"], 86400, NOW, policy, plan, "one").passed, "a finding without waves blocks all"


def test_with_a_plan_its_findings_count_for_every_phase_and_the_report_must_know_this_plan():
    plan, policy = _plan(), phase_policy("client_agents")
    report = _planned_report([dict(_finding("(hierarchy)", "plan.children_sp4"), waves=["one"])])
    assert "plan.*" not in policy.requires
    assert not evaluate_gate(report, ["WKS01"], 86400, NOW, policy, plan, "one").passed
    assert evaluate_gate(report, ["WKS01"], 86400, NOW, policy).passed, "without a plan the phase's own policy decides"
    stale_plan = evaluate_gate(_planned_report([], sha="0" * 64), ["WKS01"], 86400, NOW, policy, plan, "one")
    assert not stale_plan.passed and "was made with another version of the upgrade plan, not with upgrade plan plan.yml" \
        in stale_plan.reasons[0]
    no_plan = evaluate_gate(_planned_report([], sha=None), ["WKS01"], 86400, NOW, policy, plan, "one")
    assert "was made without an upgrade plan" in no_plan.reasons[0]


def test_announce_names_the_wave_its_sites_and_what_the_run_acts_on():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import UpgradePlan
    from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import wave_facts
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import announce, scope_run
    plan = _plan()
    report = _planned_report([_finding("WKS03", "snapshot.valid")])
    scope = scope_run(plan, "one", ["WKS01", "WKS02", "WKS03"], report, {"WKS03": "AAA"})
    verdict = evaluate_gate(report, scope.hosts, 86400, NOW, phase_policy("client_agents"), plan, "one")
    assert announce(plan, scope, verdict, 3) == (
        "Wave one of upgrade plan plan.yml (window 2026-12-05T18:00:00Z to 2026-12-06T06:00:00Z): sites AAA, in this order; "
        "this run acts on 1 of 3 host(s) of the play (left out: 1 outside the wave, 1 not cleared by readiness report r1).")
    assert wave_facts(plan, scope.wave) == {"name": "one", "planned": True, "sites": [{"site": "AAA", "method": None}],
                                            "plan_file": "plan.yml",
                                            "window": {"start": "2026-12-05T18:00:00Z", "end": "2026-12-06T06:00:00Z"}}
    whole = UpgradePlan.whole_inventory("/inv/upgrade_plan.yml")
    everything = scope_run(whole, None, ["WKS01", "WKS02"], report, {})
    assert announce(whole, everything, evaluate_gate(report, everything.hosts, 86400, NOW), 2) == \
        "No upgrade plan: the whole inventory is one wave; this run acts on 2 of 2 host(s) of the play."
