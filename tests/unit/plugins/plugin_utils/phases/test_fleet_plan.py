"""Fleet plans: one pass over every host, only hosts with something to do, rollback from the journal."""
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import client_agents
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import write_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.fleet_plan import FleetPlanError
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import plan_fleet, plan_host

LAB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab", "snapshots")
LAB_CLIENTS = sorted(n[:-5] for n in os.listdir(LAB) if n[3:5] in ("NT", "95", "31", "WF", "DO", "OS", "MA")) + ["CENNT099"]


def test_fleet_plan_lists_only_the_hosts_with_something_to_do():
    plans = plan_fleet("client_agents", LAB_CLIENTS, snapshot_dir=LAB)
    assert sorted(plans) == ["CEN31001", "CEN95003", "CENNT013", "CENNT014", "CENNT099", "P01NT006"]
    assert plans["CENNT013"]["changes"] == client_agents.plan_client(_snapshot("CENNT013"))[0]
    assert plans["CENNT099"]["changes"] == [] and "no snapshot file" in plans["CENNT099"]["problems"][0]
    assert plans["CENNT014"]["problems"] and plans["P01NT006"]["source"].endswith("P01NT006.json")


def test_fleet_rollback_inverts_what_each_journal_says_was_changed(tmp_path):
    changes, _problems = client_agents.plan_client(_snapshot("CENNT013"))
    write_record(str(tmp_path), "CENNT013", "client_agents", "20261125T080000Z", {"changes": [
        {"change": changes[0], "status": "changed"}, {"change": changes[1], "status": "conflict"}]})
    plans = plan_fleet("client_agents", ["CENNT013", "CENNT001"], journal_dir=str(tmp_path), rollback=True)
    assert list(plans) == ["CENNT013"]
    assert plans["CENNT013"]["changes"] == [client_agents.invert(changes[0])]
    (tmp_path / "CENNT001").mkdir()
    (tmp_path / "CENNT001" / "client_agents-20261125T080000Z.json").write_text("[]", encoding="utf-8")
    broken = plan_fleet("client_agents", ["CENNT001"], journal_dir=str(tmp_path), rollback=True)
    assert "not an sms.upgrade journal record" in broken["CENNT001"]["problems"][0]


def test_fleet_plan_needs_its_directory_and_a_known_phase(tmp_path):
    with pytest.raises(FleetPlanError, match="snapshot_dir is required"):
        plan_fleet("client_agents", ["A"])
    with pytest.raises(FleetPlanError, match="rollback needs journal_dir"):
        plan_fleet("client_agents", ["A"], snapshot_dir=str(tmp_path), rollback=True)
    with pytest.raises(FleetPlanError, match="unknown phase 'no_such_phase'"):
        plan_fleet("no_such_phase", ["A"], snapshot_dir=str(tmp_path))
    with pytest.raises(FleetPlanError, match="phase site_upgrade is planned on each host, not from snapshots"):
        plan_fleet("site_upgrade", ["A"], snapshot_dir=str(tmp_path))


def test_plan_host_is_text_for_the_report():
    plans = plan_host("client", _snapshot("P01NT006"))
    assert plans == {"client_agents": {"changes": ["service Wuser32: start mode auto -> disabled, state running -> stopped"],
                                       "problems": []}}
    assert plan_host("client", _snapshot("CENNT001")) is None and plan_host("site_server", {}) is None


def _snapshot(host):
    import json
    with open(os.path.join(LAB, host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)
