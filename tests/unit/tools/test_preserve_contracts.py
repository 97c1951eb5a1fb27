"""Static proof for the preserve_files PowerShell module: $spec matches the documentation, the action sets only
documented options, the results and causes it returns are the ones the Python brains read."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ps_contracts = pytest.importorskip("ps_contracts")
import collection_tree  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import problem_cause  # noqa: E402
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase  # noqa: E402

PRESERVE = get_phase("preserve")
RESTORE = get_phase("restore")
from ansible_collections.sms.upgrade.plugins.plugin_utils.common import winpaths as paths
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import preserve as phase  # noqa: E402
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import PROBLEM_CAUSES  # noqa: E402

REPO = ps_contracts.REPO
ANSIBLE_DOC = shutil.which("ansible-doc", path=os.path.dirname(sys.executable)) or shutil.which("ansible-doc")
PSM1 = os.path.join(REPO, "plugins", "module_utils", "SmsPreserve.psm1")


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def doc():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree())
    result = subprocess.run([ANSIBLE_DOC, "-j", "sms.upgrade.preserve_files"], capture_output=True, text=True, check=True, env=env)
    return json.loads(result.stdout)["sms.upgrade.preserve_files"]["doc"]


def spec():
    """Get-SmsPreserveSpec: the gather spec of kind preserve_files plus its own options table."""
    merged = ps_contracts.gather_spec("preserve_files")
    with open(PSM1, "rb") as handle:
        root, source = ps_contracts.parse(handle.read())
    function = ps_contracts.function_node(root, source, "Get-SmsPreserveSpec")
    own = ps_contracts.hashtable(ps_contracts._last_hashtable(function), source)  # pylint: disable=protected-access
    merged["options"].update(own)
    return merged


def test_spec_and_action_options_match_the_documentation(doc):
    module_spec = spec()
    assert module_spec["supports_check_mode"] is True
    assert ps_contracts.compare_options(module_spec["options"], doc["options"], "preserve_files") == []
    assert ps_contracts.compare_options(PRESERVE.option_spec(), doc["options"], "preserve_files (action)") == []
    documented_only = set(doc["options"]) - set(module_spec["options"]) - set(PRESERVE.option_spec())
    assert documented_only == set()
    assert set(PRESERVE.SET_BY_ACTION) <= set(module_spec["options"])
    assert PRESERVE.option_spec()["login_password"]["no_log"] is True


def test_the_check_detects_a_mismatch(doc):
    module_spec = spec()
    module_spec["options"]["copies"]["options"]["sha256"]["required"] = False
    module_spec["options"]["undocumented"] = {"type": "str"}
    problems = ps_contracts.compare_options(module_spec["options"], doc["options"], "preserve_files")
    assert any("copies: option sha256 required" in p or "copies: option sha256" in p for p in problems)
    assert any("undocumented" in p for p in problems)


def test_the_brains_read_only_what_the_module_returns():
    returned = set(ps_contracts.result_keys(_read(PSM1))) | set(ps_contracts.result_keys(
        _read(os.path.join(REPO, "plugins", "module_utils", "SmsGather.psm1"))))
    source = _read(phase.__file__)
    read = set(re.findall(r"(?:inventory|applied|result)\.get\(\"([a-z_]+)\"", source))
    assert read - {"failed", "msg"} <= returned, read - returned
    assert {"host_root_io", "host_files", "host_free_bytes", "registry_tree", "file_sets", "errors", "copies",
            "documents"} <= read


def test_outcome_records_statuses_and_causes_are_what_python_expects():
    psm1 = _read(PSM1)
    assert set(ps_contracts.record_keys(psm1, "New-SmsPreserveOutcome")) == {"id", "dest", "status", "cause", "message"}
    statuses = set(ps_contracts.literal_values_for(psm1, "Status"))
    assert statuses == {"copied", "present", "written", "replaced", "would_copy", "would_write", "failed"}
    assert set(phase.OK_COPY) | set(phase.OK_WRITE) <= statuses
    causes = set(ps_contracts.literal_values_for(psm1, "Cause"))
    gather_causes = set(ps_contracts.function_string_returns(
        _read(os.path.join(REPO, "plugins", "module_utils", "SmsTarget.psm1")), "Get-SmsErrorCause"))
    mapped = {problem_cause(c) for c in causes | gather_causes}
    assert mapped <= set(PROBLEM_CAUSES), mapped - set(PROBLEM_CAUSES)
    assert {"locked", "disk_full", "path_too_long", "conflict", "changed", "not_found"} <= causes | gather_causes


def test_restore_spec_matches_the_documentation():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree())
    out = subprocess.run([ANSIBLE_DOC, "-j", "sms.upgrade.restore_files"], capture_output=True, text=True, check=True, env=env)
    doc = json.loads(out.stdout)["sms.upgrade.restore_files"]["doc"]
    with open(PSM1, "rb") as handle:
        root, source = ps_contracts.parse(handle.read())
    restore_spec = ps_contracts.hashtable(ps_contracts._last_hashtable(  # pylint: disable=protected-access
        ps_contracts.function_node(root, source, "Get-SmsRestoreSpec")), source)
    assert restore_spec["supports_check_mode"] is True
    assert ps_contracts.compare_options(restore_spec["options"], doc["options"], "restore_files") == []
    assert ps_contracts.compare_options(RESTORE.option_spec(), doc["options"], "restore_files (action)") == []
    assert set(doc["options"]) == set(restore_spec["options"]) | set(RESTORE.option_spec())
    assert set(ps_contracts.result_keys(_read(PSM1))) >= {"targets", "restored"}


def test_restore_replaces_a_target_in_one_step_and_never_leaves_it_missing():
    """Restore-SmsFile puts a file over an existing target with ReplaceFile (the old file becomes the backup); where it
    falls back to two moves, every move of the new file in is undone by moving the old file back."""
    with open(PSM1, "rb") as handle:
        root, source = ps_contracts.parse(handle.read())
    body = ps_contracts.text(ps_contracts.function_node(root, source, "Restore-SmsFile"), source)
    assert "[System.IO.File]::Replace($temp, $io, $backup)" in body
    moves_in = len(re.findall(r"try \{ \[System\.IO\.File\]::Move\(\$temp, \$io\) \}", body))
    undos = len(re.findall(r"catch \{ \[System\.IO\.File\]::Move\(\$backup, \$io\); throw \}", body))
    assert moves_in == undos == 2


def test_the_host_deletes_only_the_leftovers_the_controller_names():
    """Invoke-SmsPreserveApply removes exactly the paths in remove_partials (with the suffix), nothing it finds itself;
    the suffix is the one the Python brains know."""
    with open(PSM1, "rb") as handle:
        root, source = ps_contracts.parse(handle.read())
    body = ps_contracts.text(ps_contracts.function_node(root, source, "Invoke-SmsPreserveApply"), source)
    assert "EnumerateFiles" not in body and "$Module.Params.remove_partials" in body
    assert "'%s'" % paths.HOST_PARTIAL_SUFFIX in _read(PSM1).split("$script:SmsPartialSuffix = ", 1)[1].splitlines()[0]


def _all_keys(path):
    """Every key of every hashtable literal and every ``$Module.Result.<key>`` of a PowerShell file."""
    with open(path, "rb") as handle:
        data = handle.read()
    root, source = ps_contracts.parse(data)
    keys = set(ps_contracts.result_keys(data))
    for node in ps_contracts.walk(root):
        if node.type == "hash_literal_expression":
            keys |= set(ps_contracts.hashtable(node, source))
    return keys


def test_every_field_the_brains_read_from_a_module_record_is_one_the_powershell_writes():
    """Not only the top-level results: the per-file, per-directory, per-section and per-outcome records too."""
    powershell = set()
    for directory in ("module_utils", "modules"):
        folder = os.path.join(REPO, "plugins", directory)
        for name in os.listdir(folder):
            if name.endswith((".ps1", ".psm1")):
                powershell |= _all_keys(os.path.join(folder, name))
    source = _read(phase.__file__)
    read = set(re.findall(r"\b(?:inventory|applied|result|raw|status|entry|error|item|held|file_set)\.get\(\"([a-z_0-9]+)\"", source))
    assert {"directory", "host_partials", "removed_partials", "skipped_file_sets", "reason", "cause"} <= read
    assert read - {"failed", "msg"} <= powershell, sorted(read - powershell)


def test_registry_export_entries_may_hold_a_wildcard_in_their_last_part_only():
    """preserve.yml exports the SMS service keys as Services\\SMS_*: the module resolves a wildcard in the last part of a
    key path (Resolve-SmsRegistryPattern) before it reads each key's tree, and only there."""
    from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import preserve_data
    keys = preserve_data()["documents"]["registry"]["keys"]
    assert "SYSTEM\\CurrentControlSet\\Services\\SMS_*" in keys and "SOFTWARE\\Microsoft\\SMS" in keys
    assert all(not set("*?") & set(key.rsplit("\\", 1)[0]) for key in keys), keys
    with open(PSM1, "rb") as handle:
        root, source = ps_contracts.parse(handle.read())
    resolve = ps_contracts.text(ps_contracts.function_node(root, source, "Resolve-SmsRegistryPattern"), source)
    assert "$Path.LastIndexOf('\\')" in resolve and "-like $leaf" in resolve and "IndexOfAny([char[]]'*?')" in resolve
    inventory = ps_contracts.text(ps_contracts.function_node(root, source, "Invoke-SmsPreserveInventory"), source)
    assert re.search(r"Resolve-SmsRegistryPattern -BaseKey \$base -Path \$pattern\)\) \{ Get-SmsRegistryTree -BaseKey \$base "
                     r"-Path \$key \}", inventory)
