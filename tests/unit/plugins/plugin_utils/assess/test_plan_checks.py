"""The plan.* rules: each ordering rule of the upgrade paper fires on a plan that breaks it and not on one that keeps it.

The base fleet: CEN (central) with the primary P01 and the secondary S01 below it, and the secondary S02 below P01;
the base plan upgrades them top-down in three waves and passes every rule.
"""
import copy
import datetime

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import HIERARCHY_HOST, parse_answers
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import PlanError, UpgradePlan, parse_plan

from ..snapshots import client, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
RULES = load_catalog(CHECKS)
BY_ID = {r.id: r for r in RULES}
PLAN_RULES = [r.id for r in RULES if r.id.startswith("plan.")]


def sms(site, role, parent=None, **changes):
    return dict(site_server()["sms"], site_code=site, site_name=site, site_role=role, parent_site_code=parent, **changes)


def fleet(**sms_changes):
    """Site servers (``SRV<code>``) and one NT client per site; ``sms_changes`` maps a site code to sms overrides."""
    shape = [("CEN", "central", None), ("P01", "primary", "CEN"), ("S01", "secondary", "CEN"), ("S02", "secondary", "P01")]
    servers = [site_server(host="SRV" + code, site=code, role=role, parent=parent,
                           sms=sms(code, role, parent, **sms_changes.get(code, {}))) for code, role, parent in shape]
    return servers + [client(host="WKS" + code, site=code, smsid=code + "00001") for code, _r, _p in shape]


def window(day):
    return {"start": "2026-12-%02dT18:00:00Z" % day, "end": "2026-12-%02dT06:00:00Z" % (day + 1)}


BASE = {
    "schema_version": 1,
    "waves": [{"name": "one", "window": window(5), "sites": [{"site": "CEN"}]},
              {"name": "two", "window": window(12), "sites": [{"site": "P01"}, {"site": "S01", "method": "download_from_parent"}]},
              {"name": "three", "window": window(19), "sites": [{"site": "S02", "method": "local_cd"}]}],
}
FINAL_CONFIG = [{"rule": "manual.secondary_final_config", "hosts": ["SRV" + code], "decision": "configured_before_parent_upgrade",
                 "by": "Ann", "at": "2026-11-20T10:00:00Z", "reason": "final settings made"} for code in ("S01", "S02")]


def plan_of(**changes):
    document = copy.deepcopy(BASE)
    document.update(changes)
    return document


def assess(tmp_path, plan=None, snapshots=None, answers=None, params=None):
    """The hierarchy findings of plan.* rules by rule id (``plan``: a document, default BASE, or an UpgradePlan/PlanError
    as is)."""
    plan = BASE if plan is None else plan
    hosts = write_fleet(str(tmp_path), snapshots if snapshots is not None else fleet())
    inputs = [HostInput(h, str(tmp_path / ("%s.json" % h)), None, None) for h in hosts]
    loaded = parse_plan(plan, "plan.yml") if isinstance(plan, dict) else plan
    document = {"schema_version": 1, "answers": FINAL_CONFIG if answers is None else answers}
    findings, _records = assess_fleet(inputs, RULES, parse_answers(document, BY_ID), merge_params(params), NOW, plan=loaded)
    return {f["rule"]: f for f in findings if f["host"] == HIERARCHY_HOST and f["rule"].startswith("plan.")}


def fired(findings, rule, wave, text):
    """The rule fails, blocks, names ``wave`` as blocked and says ``text``."""
    finding = findings[rule]
    assert finding["status"] == "fail" and finding["blocks"], finding["message"]
    assert finding["evidence"]["waves"] == ([wave] if isinstance(wave, str) else wave), finding["evidence"]
    assert text in finding["message"], finding["message"]
    return finding


def test_a_plan_that_keeps_every_rule_passes_them_all(tmp_path):
    findings = assess(tmp_path)
    assert {rule: f["status"] for rule, f in findings.items()} == dict.fromkeys(PLAN_RULES, "pass")
    assert all(f["evidence"]["waves"] == [] for f in findings.values())
    assert "plan.yml: 3 wave(s) upgrade 4 site(s) (one, two, three); 0 site(s) stay on SMS 1.2" in findings["plan.valid"]["message"]


def test_without_a_plan_every_plan_rule_is_not_applicable(tmp_path):
    findings = assess(tmp_path, plan=UpgradePlan.whole_inventory("/inv/upgrade_plan.yml"))
    assert {f["status"] for f in findings.values()} == {"not_applicable"}
    assert "No upgrade plan at /inv/upgrade_plan.yml: every changing phase treats the whole inventory as one wave" in \
        findings["plan.valid"]["message"]


def test_a_plan_that_does_not_load_is_a_blocking_error_and_the_rest_is_skipped(tmp_path):
    findings = assess(tmp_path, plan=PlanError("/inv/upgrade_plan.yml", ["wave 'two', site S01, method: 'ftp' is not one of …"]))
    valid = findings["plan.valid"]
    assert valid["status"] == "error" and valid["blocks"]
    assert "The upgrade plan cannot be used: wave 'two', site S01, method: 'ftp'" in valid["message"]
    assert {f["status"] for rule, f in findings.items() if rule != "plan.valid"} == {"skipped"}


# ------------------------------------------------------------------ top-down
def test_top_down_fires_for_a_site_upgraded_before_its_parent(tmp_path):
    plan = plan_of()
    plan["waves"][0]["sites"].insert(0, plan["waves"][1]["sites"].pop(1))
    fired(assess(tmp_path, plan), "plan.top_down", "one", "S01 is upgraded before its parent CEN (wave one)")


def test_top_down_fires_for_a_site_under_a_parent_that_stays_on_1_2(tmp_path):
    plan = plan_of(stay_on_1_2=[{"site": "P01", "reason": "keeps the OS/2 clients"}])
    del plan["waves"][1]["sites"][0]
    finding = fired(assess(tmp_path, plan), "plan.top_down", "three", "S02 would report to P01, which stays on SMS 1.2")
    assert finding["evidence"]["violations"] == [{"wave": "three", "site": "S02",
                                                  "problem": "S02 would report to P01, which stays on SMS 1.2"}]


def test_top_down_holds_within_a_wave_and_for_a_parent_already_on_2_0(tmp_path):
    plan = plan_of()
    plan["waves"][1]["sites"].append(plan["waves"][2]["sites"].pop())
    del plan["waves"][2]
    assert assess(tmp_path, plan)["plan.top_down"]["status"] == "pass", "P01 comes before S02 in the same wave"
    upgraded = fleet(CEN={"full_version": "2.00.1239.0000"})
    plan = plan_of(waves=BASE["waves"][1:])
    assert assess(tmp_path, plan, snapshots=upgraded)["plan.top_down"]["status"] == "pass"


# ------------------------------------------------------------------ SP4 on 1.2 children
def test_children_sp4_fires_in_the_parents_wave(tmp_path):
    snapshots = fleet(S02={"csdver": "Service Pack 3"}, S01={"setup_version": "682", "csdver": None})
    findings = assess(tmp_path, snapshots=snapshots)
    finding = fired(findings, "plan.children_sp4", ["one", "two"],
                    "S01 (child of CEN) runs SMS 1.1 (build 682), older than SMS 1.2; it needs Service Pack 4 before CEN is upgraded")
    assert "S02 (child of P01) runs SMS 1.2 Service Pack 3; it needs Service Pack 4 before P01 is upgraded" in finding["message"]


def test_children_sp4_does_not_fire_for_sp4_children_or_children_already_on_2_0(tmp_path):
    assert assess(tmp_path)["plan.children_sp4"]["status"] == "pass"
    snapshots = fleet(S02={"csdver": None, "full_version": "2.00.1239.0000"})
    assert assess(tmp_path, snapshots=snapshots)["plan.children_sp4"]["status"] == "pass"


def test_children_sp4_names_a_child_of_the_site_control_file_without_snapshot(tmp_path):
    snapshots = fleet()
    snapshots[0]["site_control"]["child_sites"] = [{"site_code": "S09", "site_role": "secondary"}]
    fired(assess(tmp_path, snapshots=snapshots), "plan.children_sp4", "one",
          "S09 (a child of CEN in its site control file) has no snapshot, so its service pack is unknown")


# ------------------------------------------------------------------ no reconfiguring a 1.2 secondary under 2.0
def test_secondary_final_config_fires_without_a_confirmation(tmp_path):
    findings = assess(tmp_path, answers=FINAL_CONFIG[:1])
    fired(findings, "plan.secondary_final_config", "two",
          "S02 (1.2 secondary of P01) has no confirmed final configuration (manual.secondary_final_config for SRVS02)")


def test_secondary_final_config_fires_when_the_answer_contradicts_the_plan_or_comes_too_late(tmp_path):
    answers = [dict(FINAL_CONFIG[0], decision="parent_stays_on_1_2"), dict(FINAL_CONFIG[1], at="2026-12-12T20:00:00Z")]
    finding = fired(assess(tmp_path, answers=answers), "plan.secondary_final_config", ["one", "two"],
                    "S01: the answer to manual.secondary_final_config says its parent CEN stays on SMS 1.2, but the plan upgrades CEN")
    assert "S02: its final configuration was confirmed at 2026-12-12T20:00:00Z, not before the window of wave two (2026-12-12T18:00:00Z)" \
        in finding["message"]


def test_secondary_final_config_does_not_fire_when_confirmed_before_the_parents_wave(tmp_path):
    assert assess(tmp_path)["plan.secondary_final_config"]["status"] == "pass"


# ------------------------------------------------------------------ hierarchy changes
def test_hierarchy_changes_fire_between_upgrades(tmp_path):
    changes = [{"change": "Attach S02 to CEN", "sites": ["S02", "CEN", "P01"], "after": "two"},
               {"change": "Delete S01", "sites": ["S01", "CEN"], "before": "two"}]
    finding = fired(assess(tmp_path, plan_of(hierarchy_changes=changes)), "plan.hierarchy_changes", ["two"],
                    "'Attach S02 to CEN' comes after wave two, but S02 is not upgraded by then")
    assert "'Delete S01' comes before wave two, after sites are upgraded in wave one" in finding["message"]


def test_hierarchy_changes_before_the_first_or_after_the_last_upgrade_pass(tmp_path):
    changes = [{"change": "Delete S09", "sites": ["S09", "CEN"], "before": "one"},
               {"change": "Attach S01 to P01", "sites": ["S01", "P01"], "after": "two"}]
    finding = assess(tmp_path, plan_of(hierarchy_changes=changes))["plan.hierarchy_changes"]
    assert finding["status"] == "pass" and "2 hierarchy change(s)" in finding["message"]


def test_a_hierarchy_change_that_involves_a_site_kept_on_1_2_must_come_first(tmp_path):
    plan = plan_of(stay_on_1_2=[{"site": "S02", "reason": "Macintosh clients"}],
                   hierarchy_changes=[{"change": "Attach S02 to CEN", "sites": ["S02", "CEN"], "after": "two"}])
    del plan["waves"][2]
    fired(assess(tmp_path, plan), "plan.hierarchy_changes", "two", "but S02 is not upgraded by then")


# ------------------------------------------------------------------ at most five downloads at once
def six_secondaries_under_cen():
    extra = [site_server(host="SRVD%02d" % n, site="D%02d" % n, role="secondary", parent="CEN",
                         sms=sms("D%02d" % n, "secondary", "CEN")) for n in range(1, 7)]
    plan = plan_of()
    plan["waves"][1]["sites"] += [{"site": "D%02d" % n, "method": "download_from_parent"} for n in range(1, 6)]
    answers = FINAL_CONFIG + [dict(FINAL_CONFIG[0], hosts=["SRVD%02d" % n]) for n in range(1, 7)]
    plan["waves"][2]["sites"].append({"site": "D06", "method": "local_cd"})
    return fleet() + extra, plan, answers


def test_secondary_downloads_fire_above_five_per_parent_and_wave_with_the_transfer_estimate(tmp_path):
    snapshots, plan, answers = six_secondaries_under_cen()
    findings = assess(tmp_path, plan, snapshots, answers)
    finding = fired(findings, "plan.secondary_downloads", "two",
                    "6 secondaries download from CEN (S01, D01, D02, D03, D04, D05), about 390 MB; at most 5 can upgrade at one time")
    assert finding["evidence"]["downloads"] == [{"wave": "two", "parent": "CEN", "sites": ["S01", "D01", "D02", "D03", "D04", "D05"],
                                                 "mb": 390}]


def test_secondary_downloads_pass_at_five_and_the_limits_are_parameters(tmp_path):
    finding = assess(tmp_path)["plan.secondary_downloads"]
    assert finding["status"] == "pass" and finding["message"] == "Transfer estimate: wave two: 1 secondary from CEN, about 65 MB."
    snapshots, plan, answers = six_secondaries_under_cen()
    relaxed = assess(tmp_path, plan, snapshots, answers, {"secondary_download_max_at_once": 6, "secondary_download_mb": 70})
    assert relaxed["plan.secondary_downloads"]["status"] == "pass" and "about 420 MB" in relaxed["plan.secondary_downloads"]["message"]
    plan["waves"][1]["sites"][-1]["method"] = "parent_with_local_source"
    assert assess(tmp_path, plan, snapshots, answers)["plan.secondary_downloads"]["status"] == "pass"


# ------------------------------------------------------------------ methods
def test_secondary_methods_fire_for_a_secondary_without_and_a_primary_with_a_method(tmp_path):
    plan = plan_of()
    del plan["waves"][1]["sites"][1]["method"]
    plan["waves"][0]["sites"][0]["method"] = "local_cd"
    finding = fired(assess(tmp_path, plan), "plan.secondary_methods", ["one", "two"], "secondary S01 names no method")
    assert "CEN is a central site: method local_cd is for secondary sites" in finding["message"]


# ------------------------------------------------------------------ a 1.2 site for unsupported clients
def with_clients(*families):
    return fleet() + [client(host="OLD%02d" % n, site="CEN", family=family, smsid="CEN%05d" % (n + 10))
                      for n, family in enumerate(families)]


def test_unsupported_clients_fire_without_a_site_kept_for_macintosh_or_dos(tmp_path):
    finding = fired(assess(tmp_path, snapshots=with_clients("macintosh", "ms_dos", "ms_dos")), "plan.unsupported_clients",
                    "one", "CEN has 1 macintosh client(s) and the plan keeps no SMS 1.2 site for them")
    assert "CEN has 2 ms_dos client(s) and the plan keeps no SMS 1.2 site for them nor upgrades their OS (os_upgrades)" \
        in finding["message"]


def test_unsupported_clients_pass_with_a_kept_site_or_an_os_upgrade(tmp_path):
    plan = plan_of(stay_on_1_2=[{"site": "S02", "reason": "Macintosh clients", "clients": ["macintosh"]}],
                   os_upgrades=["ms_dos"])
    plan["waves"].pop()
    finding = assess(tmp_path, plan, with_clients("macintosh", "ms_dos"))["plan.unsupported_clients"]
    assert finding["status"] == "pass" and finding["evidence"]["kept_for"] == {"macintosh": ["S02"]}
    kept_without_clients = plan_of(stay_on_1_2=[{"site": "S02", "reason": "later"}], os_upgrades=["ms_dos"])
    kept_without_clients["waves"].pop()
    fired(assess(tmp_path, kept_without_clients, with_clients("macintosh")), "plan.unsupported_clients", "one",
          "1 macintosh client(s)")


# ------------------------------------------------------------------ unknown, twice (loader), neither
def test_unknown_sites_block_the_wave_that_names_them_and_unplanned_sites_block_every_wave(tmp_path):
    plan = plan_of(stay_on_1_2=[{"site": "K99", "reason": "old branch"}])
    plan["waves"][1]["sites"].append({"site": "X99"})
    plan["waves"].pop()
    findings = assess(tmp_path, plan)
    known = fired(findings, "plan.sites_known", ["one", "two", "three"][:2], "site X99 is not in this inventory")
    assert "site K99 (stay_on_1_2) is not in this inventory" in known["message"]
    fired(findings, "plan.sites_covered", ["one", "two"], "Sites the upgrade plan does not decide on: site S02 is in no wave")


def test_a_site_named_twice_never_reaches_the_checks(tmp_path):
    plan = plan_of()
    plan["waves"][2]["sites"].append({"site": "cen"})
    with pytest.raises(PlanError, match="site CEN: named twice, in wave 'one' and in wave 'three'"):
        parse_plan(plan, "plan.yml")
