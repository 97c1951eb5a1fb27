"""The gate trusts a report only as far as it holds together, is from the past, is for this inventory and still
describes the snapshots it assessed."""
import datetime
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.gate import (
    GateError, evaluate_gate, load_report, phase_policy, report_problems)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.store import inventory_identity

from ..snapshots import client, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(name="made")
def made_fixture(tmp_path):
    dirty = client(host="WKS02", smsid="AAA00002")
    dirty["remote_control"].update(start_mode="auto", state="running")
    snapshots = str(tmp_path / "snapshots")
    hosts = write_fleet(snapshots, [site_server(), client(), dirty])
    inventory = inventory_identity([str(tmp_path / "inv" / "hosts.yml")])
    report, paths, _warning = run_readiness(hosts, {"sms_site_AAA": hosts}, snapshots, str(tmp_path / "reports"), NOW,
                                            inventory=inventory)
    return report, paths, inventory, snapshots


def rewrite(paths, change):
    with open(paths["json"], encoding="utf-8") as handle:
        report = json.load(handle)
    change(report)
    with open(paths["json"], "w", encoding="utf-8") as handle:
        json.dump(report, handle)
    return paths["json"]


def test_a_report_as_written_holds_together(made):
    _report, paths, _inventory, _snapshots = made
    assert report_problems(load_report(paths["json"])) == []


def test_the_gate_reads_the_report_without_the_finding_fields_it_never_uses(made):
    report, paths, inventory, _snapshots = made
    loaded = load_report(paths["json"])
    assert [(f["host"], f["rule"], f["status"], f["blocks"]) for f in loaded["findings"]] == \
        [(f["host"], f["rule"], f["status"], f["blocks"]) for f in report["findings"]]
    assert not any(field in f for f in loaded["findings"] for field in ("evidence", "remediation", "references", "title"))
    assert loaded["hosts"] == json.loads(json.dumps(report["hosts"])), "only findings are trimmed"
    whole = json.loads(json.dumps(report))
    policy = phase_policy("")
    verdicts = [evaluate_gate(r, ["WKS01", "WKS02"], 86400, NOW, policy, inventory=inventory["sources"]) for r in (loaded, whole)]
    assert verdicts[0] == verdicts[1] and verdicts[0].blockers, "the same verdict, blockers named with their messages"


def test_a_finding_edited_to_stop_blocking_is_refused(made):
    _report, paths, _inventory, _snapshots = made

    def hide(report):
        for finding in report["findings"]:
            if finding["host"] == "WKS02" and finding["rule"] == "client.remote_control_agent":
                finding["blocks"] = False
    with pytest.raises(GateError, match="finding client.remote_control_agent of WKS02 says blocks=false, but a fail finding "
                                        "of a blocking rule blocks"):
        load_report(rewrite(paths, hide))


def test_a_summary_that_disagrees_with_the_findings_is_refused(made):
    _report, paths, _inventory, _snapshots = made
    with pytest.raises(GateError, match="the summary counts 0 blocking finding"):
        load_report(rewrite(paths, lambda r: r["summary"]["counts"].update(blocking=0)))


def test_a_host_marked_clear_while_its_findings_block_is_refused(made):
    _report, paths, _inventory, _snapshots = made

    def clear(report):
        for host in report["hosts"]:
            host["blocked"] = False
        report["summary"]["blocked_hosts"] = 0
    with pytest.raises(GateError, match="cannot be trusted"):
        load_report(rewrite(paths, clear))


@pytest.mark.parametrize("change, words", [
    (lambda r: r.update(findings="all clear"), "'findings' is not a list"),
    (lambda r: r.update(findings=[1, 2]), "finding #1 is malformed"),
    (lambda r: r["findings"][0].update(status="fine"), "finding #1 is malformed"),
    (lambda r: r["findings"][0].pop("blocks"), "finding #1 is malformed"),
    (lambda r: r.update(hosts={"WKS01": 1}), "'hosts' is not a list"),
    (lambda r: r.update(generated_at="tomorrow"), "generated_at 'tomorrow' is not a time"),
    (lambda r: r.pop("run_id"), "run_id is missing"),
])
def test_a_malformed_report_is_a_clear_refusal_not_a_traceback(made, change, words):
    _report, paths, _inventory, _snapshots = made
    with pytest.raises(GateError, match=words):
        load_report(rewrite(paths, change))


def test_a_report_nested_too_deep_to_parse_is_a_clear_refusal(tmp_path):
    path = tmp_path / "latest.json"
    path.write_text('{"schema_version": "1.2", "x": %s}' % ("[" * 100000 + "]" * 100000), encoding="utf-8")
    with pytest.raises(GateError, match="is unreadable"):
        load_report(str(tmp_path))


def test_a_report_dated_in_the_future_is_refused(made):
    report, _paths, _inventory, _snapshots = made
    verdict = evaluate_gate(report, ["WKS01"], 86400, NOW - datetime.timedelta(hours=1), phase_policy("client_agents"))
    assert not verdict.passed and "3600 seconds after now" in verdict.reasons[0]


def test_a_report_for_another_inventory_is_refused(made, tmp_path):
    report, _paths, inventory, _snapshots = made
    policy = phase_policy("client_agents")
    assert evaluate_gate(report, ["WKS01"], 86400, NOW, policy, inventory=inventory["sources"]).passed
    other = str(tmp_path / "other" / "hosts.yml")
    verdict = evaluate_gate(report, ["WKS01"], 86400, NOW, policy, inventory=[other])
    assert not verdict.passed and "was made for inventory %s, not %s" % (inventory["dirs"][0], os.path.dirname(other)) \
        in verdict.reasons[0]
    beside = os.path.join(inventory["dirs"][0], "live.yml")
    assert evaluate_gate(report, ["WKS01"], 86400, NOW, policy, inventory=[beside]).passed, \
        "another file of the same inventory directory is the same inventory"
    unrecorded = dict(report, inventory=None)
    assert "does not record the inventory" in evaluate_gate(unrecorded, ["WKS01"], 86400, NOW, policy, inventory=[other]).reasons[0]


def test_a_host_whose_snapshot_changed_since_the_report_is_left_out(made):
    report, _paths, _inventory, snapshots = made
    policy = phase_policy("client_agents")
    assert evaluate_gate(report, ["WKS01", "WKS03"], 86400, NOW, policy, verify_snapshots=True).blocked_hosts == ["WKS03"]
    with open(os.path.join(snapshots, "WKS01.json"), "a", encoding="utf-8") as handle:
        handle.write("\n")
    verdict = evaluate_gate(report, ["WKS01"], 86400, NOW, policy, verify_snapshots=True)
    assert verdict.blocked_hosts == ["WKS01"] and "changed since readiness report" in verdict.blockers["WKS01"][0]
    os.unlink(os.path.join(snapshots, "WKS01.json"))
    gone = evaluate_gate(report, ["WKS01"], 86400, NOW, policy, verify_snapshots=True)
    assert "cannot be read now" in gone.blockers["WKS01"][0]


def test_a_report_of_an_older_version_without_snapshot_hashes_is_refused_for_its_hosts(made):
    report, _paths, _inventory, _snapshots = made
    older = dict(report, hosts=[{k: v for k, v in h.items() if k != "snapshot_sha256"} for h in report["hosts"]])
    verdict = evaluate_gate(older, ["WKS01"], 86400, NOW, phase_policy("client_agents"), verify_snapshots=True)
    assert verdict.blocked_hosts == ["WKS01"] and "does not record which snapshot" in verdict.blockers["WKS01"][0]


def test_the_old_shared_report_folder_is_named_when_the_inventorys_folder_is_empty(tmp_path):
    reports = tmp_path / "sms-upgrade-reports"
    reports.mkdir()
    (reports / "latest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(GateError, match="reports are kept per inventory now"):
        load_report(str(reports / "lab"))


def test_an_error_of_a_rule_the_phase_fixes_still_leaves_its_host_out():
    policy = phase_policy("client_agents")
    report = {"run_id": "r1", "generated_at": "2026-11-25T11:00:00Z", "hosts": [{"host": "WKS01"}, {"host": "WKS02"}],
              "findings": [{"host": "WKS01", "rule": "client.smsrun_registry", "status": "fail", "blocks": True,
                            "checklist": [], "message": "SMSRUN32.EXE is still started"},
                           {"host": "WKS02", "rule": "client.smsrun_registry", "status": "error", "blocks": True,
                            "checklist": [], "message": "Cannot evaluate: could not read 'user_entries'"}]}
    verdict = evaluate_gate(report, ["WKS01", "WKS02"], 86400, NOW, policy)
    assert verdict.passed and verdict.blocked_hosts == ["WKS02"]
    assert "could not read 'user_entries'" in verdict.blockers["WKS02"][0]
