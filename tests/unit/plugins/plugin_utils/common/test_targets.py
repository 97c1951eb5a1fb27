"""Direct or relay is decided once, on the controller: targets.py, the relay filter, and the roles and playbooks that
delegate only through it."""
import glob
import os
import re
from types import SimpleNamespace

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sms.upgrade.plugins.filter.targets import relay
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import (
    COMPUTER_VAR, RELAY_VAR, Target, TargetError, delegate_host, resolve_target)

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".."))


def task(delegate_to=None):
    return SimpleNamespace(delegate_to=delegate_to)


@pytest.mark.parametrize("host_vars, controller, expected", [
    ({"inventory_hostname": "CENSRV01"}, False, "CENSRV01"),
    ({"inventory_hostname": "CENSRV01", RELAY_VAR: ""}, False, "CENSRV01"),
    ({"inventory_hostname": "CENSRV01", RELAY_VAR: "CENSRV01"}, False, "CENSRV01"),
    ({"inventory_hostname": "CENNT013", RELAY_VAR: "mgmt01"}, False, "mgmt01"),
    ({"inventory_hostname": "CENNT013", RELAY_VAR: "mgmt01"}, True, "localhost"),
])
def test_delegate_host(host_vars, controller, expected):
    assert delegate_host(host_vars, controller) == expected
    assert relay(host_vars, controller=controller) == expected


def test_relay_filter_refuses_what_is_not_a_host_s_variables():
    with pytest.raises(AnsibleFilterError, match=r"relay: give the host's variables, hostvars\[inventory_hostname\]"):
        relay("CENSRV01")
    with pytest.raises(AnsibleFilterError, match="relay: give"):
        relay({"sms_upgrade_relay": "mgmt01"})


def test_direct_passes_no_computer_even_when_the_inventory_names_one():
    """The module then acts on the machine it runs on; a name would make PowerShell go over the network to itself."""
    assert resolve_target(task(), {"inventory_hostname": "CENSQL01", COMPUTER_VAR: "CENSRV01"}) == \
        Target("CENSQL01", None, None)
    assert resolve_target(task("CENSRV01"), {"inventory_hostname": "CENSRV01", RELAY_VAR: "CENSRV01"}) == \
        Target("CENSRV01", None, None)


def test_relay_passes_the_legacy_machine():
    variables = {"inventory_hostname": "CENNT013", RELAY_VAR: "mgmt01"}
    assert resolve_target(task("mgmt01"), variables) == Target("CENNT013", "mgmt01", "CENNT013")
    assert resolve_target(task("mgmt01"), dict(variables, **{COMPUTER_VAR: "CENNT013.CORP"})).computer == "CENNT013.CORP"
    assert resolve_target(task("mgmt01"), variables, given="OTHER").computer == "OTHER"


def test_a_task_given_computer_keeps_it_in_direct_mode():
    assert resolve_target(task(), {"inventory_hostname": "labvm1"}, given="SMSUPG-NO-SUCH-HOST") == \
        Target("labvm1", None, "SMSUPG-NO-SUCH-HOST")


def test_the_controller_plans_without_contacting_the_host():
    target = resolve_target(task("localhost"), {"inventory_hostname": "CENNT013", RELAY_VAR: "mgmt01"})
    assert target == Target("CENNT013", "localhost", "CENNT013")


@pytest.mark.parametrize("delegate_to, message", [
    ("mgmt02", "CENNT013 names relay mgmt01 (sms_upgrade_relay) but the task is delegated to mgmt02"),
    (None, "CENNT013 names relay mgmt01 (sms_upgrade_relay) but the task is not delegated: use delegate_to"),
    ("CENNT013", "but the task is not delegated"),
])
def test_a_task_that_does_not_run_on_the_host_s_relay_is_refused(delegate_to, message):
    with pytest.raises(TargetError, match=re.escape(message)):
        resolve_target(task(delegate_to), {"inventory_hostname": "CENNT013", RELAY_VAR: "mgmt01"})


def _yaml_files():
    return sorted(glob.glob(os.path.join(REPO, "roles", "*", "tasks", "*.yml")) + glob.glob(os.path.join(REPO, "playbooks", "*.yml")))


def test_roles_and_playbooks_delegate_only_through_the_relay_filter():
    """No role or playbook reads sms_upgrade_relay or sms_upgrade_computer itself or passes a module computer: the
    filter delegates and the action decides the machine."""
    delegations = 0
    for path in _yaml_files():
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        where = os.path.relpath(path, REPO)
        for value in re.findall(r"^\s*delegate_to:\s*(.+)$", text, re.MULTILINE):
            assert value.strip() == "localhost" or "sms.upgrade.relay" in value, "%s: delegate_to: %s" % (where, value)
            delegations += "sms.upgrade.relay" in value
        assert not re.search(r"\{\{[^}]*\b(%s|%s)\b" % (RELAY_VAR, COMPUTER_VAR), text), where
        assert not re.search(r"^\s+computer:", text, re.MULTILINE), "%s passes computer to a module" % where
    assert delegations >= 6
