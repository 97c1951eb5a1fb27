"""What to do first, over the lab: every blocking finding once, in the upgrade's order, each with what fixes it."""
import datetime
import os

import pytest
import yaml

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.report import actions

from .test_lab import GROUPS, LAB

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
STAGES = ["gather", "before", "phases", "decide"]


@pytest.fixture(name="report", scope="module")
def report_fixture(tmp_path_factory):
    base = tmp_path_factory.mktemp("actions")
    report, _paths, _warning = run_readiness(
        GROUPS["sms_upgrade"], GROUPS, os.path.join(LAB, "snapshots"), str(base), NOW,
        answers_file=os.path.join(LAB, "answers.yml"), plan_file=os.path.join(LAB, "upgrade_plan.yml"),
        inventory={"name": "lab", "sources": [os.path.join(LAB, "hosts.yml")]})
    return report


def steps(report, rule):
    return [s for s in report["actions"] if rule in s["rules"]]


def test_every_blocking_finding_is_in_exactly_one_numbered_step(report):
    planned = [(h, r) for s in report["actions"] for r in s["rules"] for h in s["hosts"]
               if any(f["host"] == h and f["rule"] == r and f["blocks"] for f in report["findings"])]
    blocking = [(f["host"], f["rule"]) for f in report["findings"] if f["blocks"]]
    assert sorted(planned) == sorted(blocking)
    assert [s["step"] for s in report["actions"]] == list(range(1, len(report["actions"]) + 1))


def test_steps_follow_the_upgrade_order(report):
    order = [STAGES.index(s["stage"]) for s in report["actions"]]
    assert order == sorted(order)
    phases = [s["phase"] for s in report["actions"] if s["stage"] == "phases"]
    assert phases == sorted(phases, key=actions.phase_rank) and phases[0] == "preserve" and "client_agents" in phases


def test_an_error_says_how_to_fix_the_gather_not_the_rules_remediation(report):
    [step] = [s for s in report["actions"] if s.get("cause") == "remote_registry_stopped"]
    assert step["stage"] == "gather" and step["hosts"] == ["CENNT014"] and step["rules"] == ["client.smsrun_registry"]
    assert step["fix"]["text"].startswith("Start the Remote Registry service on CENNT014") and "gather again" in step["fix"]["text"]
    remediation = next(f for f in report["findings"] if f["rule"] == "client.smsrun_registry")["remediation"]["hint"]
    assert remediation not in step["fix"]["text"]
    [missing] = [s for s in report["actions"] if s.get("cause") == "not_gathered"]
    assert missing["hosts"] == ["CENNT099"] and "sms_snapshots_only" in missing["fix"]["text"]


def test_a_step_carries_title_checklist_text_observed_and_expected(report):
    [step] = steps(report, "site.nt_version")
    assert step["stage"] == "before" and step["title"] == "Windows NT Server 4.0 Service Pack 4 or later on the site server"
    assert step["checklist"][0]["id"] == "PRE-05" and step["checklist"][0]["text"].startswith("Windows NT Server 4.0 SP4")
    assert {o["host"]: o["observed"] for o in step["observed"]}["P01SRV01"].startswith("Windows NT Server 4.0 Service Pack 3 ")
    assert step["expected"] == "Windows NT Server 4.0 Service Pack 4 or later"


def test_a_phase_step_names_its_playbook_once_per_wave(report):
    [step] = steps(report, "client.remote_control_agent")
    assert step["fix"]["kind"] == "playbook" and step["fix"]["playbook"] == "sms.upgrade.client_agents"
    inventory = os.path.join(LAB, "hosts.yml")
    assert step["fix"]["commands"] == ["ansible-playbook -i %s sms.upgrade.client_agents -e sms_upgrade_wave=%s --check --diff"
                                       % (inventory, wave) for wave in ("central", "branches")]


def test_a_decision_comes_with_an_answers_entry_that_loads(report):
    [step] = steps(report, "manual.secondary_final_config")
    assert step["stage"] == "decide" and step["fix"]["kind"] == "answers"
    [entry] = yaml.safe_load(step["fix"]["answers_entry"])
    assert entry["rule"] == "manual.secondary_final_config" and entry["hosts"] == ["S02SRV01", "S03SRV01"]
    assert "configured_before_parent_upgrade" in entry["decision"]


def test_an_answers_entry_for_the_hierarchy_quotes_its_name():
    rule = next(r for r in load_catalog(CHECKS) if r.id == "hierarchy.change_plan")
    [entry] = yaml.safe_load(actions.answers_entry(rule, ["(hierarchy)"]))
    assert entry["hosts"] == ["(hierarchy)"] and entry["rule"] == "hierarchy.change_plan"


def test_a_phase_the_order_does_not_know_comes_after_the_known_ones():
    known = actions.report_data()["phase_order"]
    assert sorted(["zz_new", known[0], "aa_new", known[-1]], key=actions.phase_rank) == [known[0], known[-1], "aa_new", "zz_new"]


def test_every_cause_a_gather_reports_has_a_fix():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import GATHER_CAUSES, MODULE_CAUSES
    fixes = actions.report_data()["gather_fixes"]
    assert set(MODULE_CAUSES) | set(GATHER_CAUSES) <= set(fixes)
    for text in fixes.values():
        assert text.format(hosts="H", rules="R")
