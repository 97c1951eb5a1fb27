"""Static proof for the post_upgrade and client_upgrade modules: $spec matches the docs and the action, and what the
PowerShell returns and accepts is what the rooms send and read (and what the models in the unit tests answer)."""
import os
import re

import pytest

ps_contracts = pytest.importorskip("ps_contracts")

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase  # noqa: E402

REPO = ps_contracts.REPO
MODULES = ("post_upgrade", "client_upgrade")


def _read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return handle.read()


def test_what_the_action_sets_is_what_the_module_takes():
    """The $spec against the docs and the action's options: test_module_contracts.test_spec_matches_documentation."""
    for module in MODULES:
        spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "%s.ps1" % module))
        assert spec["supports_check_mode"] is True
        phase = get_phase(module)
        assert set(phase.SET_BY_ACTION) <= set(spec["options"])
        assert set(phase.module_option_spec()) <= set(spec["options"])


def test_change_kinds_and_results_are_what_the_rooms_send_and_read():
    psm1 = _read("plugins", "module_utils", "SmsUpgrade.psm1")
    kinds = set(re.findall(r"^\s+'([a-z_]+)' \{ Invoke-Sms", psm1, re.MULTILINE))
    assert kinds == {"wmi_instance", "wmi_embedded"}
    post = _read("plugins", "plugin_utils", "phases", "post_upgrade.py") + _read("plugins", "plugin_utils", "phases", "post_upgrade_review.py")
    assert set(re.findall(r'"kind": "([a-z_]+)"', post)) == kinds
    client = _read("plugins", "modules", "client_upgrade.ps1")
    assert "'start_process'" in client and "Invoke-SmsChange " in client, "file_content goes to SmsApply's compare-and-set"
    room = _read("plugins", "plugin_utils", "phases", "client_upgrade.py")
    assert set(re.findall(r'"kind": "([a-z_]+)"', room)) == {"file_content", "start_process"}
    statuses = set(ps_contracts.literal_values_for(psm1, "Status"))
    assert statuses == {"changed", "unchanged", "would_change", "conflict", "failed"}
    status_keys = set(ps_contracts.record_keys(psm1, "New-SmsProviderStatus"))
    assert status_keys == {"namespace", "connected", "code", "cause", "message"}
    assert set(ps_contracts.record_keys(psm1, "New-SmsReadError")) == {"code", "cause", "message"}


def test_module_results_are_what_the_rooms_read():
    post = set(ps_contracts.result_keys(_read("plugins", "modules", "post_upgrade.ps1").encode()))
    assert {"provider", "objects", "files", "registry", "changes", "computer"} <= post
    client = set(ps_contracts.result_keys(_read("plugins", "modules", "client_upgrade.ps1").encode()))
    assert {"addresses", "processes", "changes", "computer"} <= client
    room = _read("plugins", "plugin_utils", "phases", "post_upgrade.py")
    assert set(re.findall(r'raw\.get\("([a-z_]+)"\)', room)) - {"failed", "msg"} <= post
    room = _read("plugins", "plugin_utils", "phases", "client_upgrade.py")
    read = set(re.findall(r'raw\.get\("([a-z_]+)"\)', room)) - {"failed", "msg"}
    assert read <= client | {"computer", "registry", "file_sets", "text_files"}, "the rest is client_facts' (SmsGather)"


def test_wmi_codes_are_mapped_on_the_controller_to_known_causes():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import MODULE_CAUSES
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.post_upgrade import phase_data, wmi_cause
    codes = phase_data()["provider"]["wmi_codes"]
    assert set(codes.values()) <= set(MODULE_CAUSES)
    assert wmi_cause(phase_data(), "AccessDenied", "other", "x") == "access_denied"
    assert wmi_cause(phase_data(), None, "unreachable", "x") == "unreachable"
    assert wmi_cause(phase_data(), "Failed", "other", "The RPC server is unavailable") == "unreachable"
    assert "ErrorCode" in _read("plugins", "module_utils", "SmsUpgrade.psm1"), "the module returns the code, decides nothing"
