"""Static proof for what the PowerShell modules share (SmsTarget.psm1): every call reaches a function its file defines
or requires, the target is made in one place and guesses nothing, one function names causes and they are the ones
the controller knows, and hashes, timestamps and failures each have one helper."""
import glob
import json
import os
import re

import pytest

ps_contracts = pytest.importorskip("ps_contracts")

from ansible_collections.sms.upgrade.plugins.plugin_utils.common import causes  # noqa: E402
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import PROBLEM_CAUSES  # noqa: E402

REPO = ps_contracts.REPO
UTILS = os.path.join(REPO, "plugins", "module_utils")
TARGET = os.path.join(UTILS, "SmsTarget.psm1")
FILES = sorted(glob.glob(os.path.join(REPO, "plugins", "modules", "*.ps1")) + glob.glob(os.path.join(UTILS, "*.psm1")))


def _read(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def _name(path):
    return os.path.basename(path)


def _function(path, name):
    root, source = ps_contracts.parse(_read(path))
    return ps_contracts.text(ps_contracts.function_node(root, source, name), source)


def _util_path(required):
    assert required.startswith(ps_contracts.UTIL_PREFIX), required
    return os.path.join(UTILS, required[len(ps_contracts.UTIL_PREFIX):] + ".psm1")


def _reachable(path, seen=None):
    """Functions a file can call: its own, and those exported by the utils it requires, transitively."""
    seen = set() if seen is None else seen
    source = _read(path)
    found = set(ps_contracts.defined_functions(source))
    for required in ps_contracts.required_utils(source):
        util = _util_path(required)
        if util not in seen:
            seen.add(util)
            found |= set(ps_contracts.exported_functions(_read(util)))
            found |= _exported_beneath(util, seen)
    return found


def _exported_beneath(util, seen):
    """What the utils a util requires export (loaded with it, so callable by its callers too)."""
    found = set()
    for required in ps_contracts.required_utils(_read(util)):
        below = _util_path(required)
        if below not in seen:
            seen.add(below)
            found |= set(ps_contracts.exported_functions(_read(below))) | _exported_beneath(below, seen)
    return found


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_every_call_reaches_a_function_the_file_defines_or_requires(path):
    source = _read(path)
    for required in ps_contracts.required_utils(source):
        assert os.path.exists(_util_path(required)), "%s requires %s, which does not exist" % (_name(path), required)
    missing = set(ps_contracts.called_commands(source)) - _reachable(path)
    assert missing == set(), "%s calls functions it neither defines nor requires: %s" % (_name(path), sorted(missing))


@pytest.mark.parametrize("path", [p for p in FILES if p.endswith(".psm1")], ids=_name)
def test_a_util_exports_only_what_it_defines(path):
    source = _read(path)
    exported = set(ps_contracts.exported_functions(source))
    assert exported and exported <= set(ps_contracts.defined_functions(source))


def test_the_reachability_check_sees_a_missing_require():
    source = _read(os.path.join(REPO, "plugins", "modules", "site_facts.ps1"))
    assert "Invoke-SmsModule" in ps_contracts.called_commands(source)
    assert "Invoke-SmsModule" not in ps_contracts.exported_functions(_read(os.path.join(UTILS, "SmsGather.psm1")))
    assert "Invoke-SmsModule" in ps_contracts.exported_functions(_read(TARGET))


def test_the_target_is_made_once_from_computer_and_share_map_and_guesses_nothing():
    body = _function(TARGET, "Get-SmsTarget")
    assert "$local = [String]::IsNullOrEmpty($computer)" in body
    assert set(ps_contracts.record_keys(body, "Get-SmsTarget")) == {"Name", "IsLocal", "ShareMap"}
    for path in FILES:
        source = _read(path)
        assert not re.search(r"'localhost'|'\.'|-(?:eq|in|ne)\s+@?\(?[^)\n]*\$env:COMPUTERNAME", source), _name(path)
        if path != TARGET:
            assert not re.search(r"IsLocal\s*=|Params\.(?:computer|share_map)\b|\.share_map\.Keys", source, re.IGNORECASE), \
                "%s decides the target itself: use Get-SmsTarget -Params" % _name(path)


@pytest.mark.parametrize("path", [p for p in FILES if p.endswith(".ps1")], ids=_name)
def test_every_module_takes_its_target_from_smstarget(path):
    source = _read(path)
    assert "Get-SmsTarget" in _reachable(path)
    assert "Get-SmsTarget -Params $module.Params" in source or "Invoke-SmsModule -Module $module" in source, _name(path)
    if "Invoke-SmsModule" not in source:
        # sql_facts: $env:COMPUTERNAME names the machine the module runs on (where isql must be), never the target.
        assert _name(path) == "sql_facts.ps1"


def test_one_function_names_causes_and_the_controller_knows_them_all():
    returned = set(ps_contracts.function_string_returns(_read(TARGET), "Get-SmsErrorCause"))
    assert returned == set(causes.MODULE_CAUSES)
    explicit = set()
    for path in FILES:
        source = _read(path)
        if path != TARGET:
            assert not [f for f in ps_contracts.defined_functions(source) if "cause" in f.lower()], \
                "%s maps causes itself: use Get-SmsErrorCause" % _name(path)
        explicit |= set(ps_contracts.literal_values_for(source, "Cause"))
    assert explicit - set(causes.MODULE_CAUSES) == set(causes.EXPLICIT_CAUSES)
    with open(os.path.join(REPO, "plugins", "plugin_utils", "data", "schemas", "snapshot-common.v1.json")) as handle:
        schema = set(json.load(handle)["$defs"]["section_error"]["properties"]["cause"]["enum"])
    # A gather section error: any cause the function names, a hive left loaded (older snapshots), or the controller's.
    assert schema == set(causes.MODULE_CAUSES) | {"hive_in_use"} | set(causes.GATHER_CAUSES)
    every = set(causes.MODULE_CAUSES) | set(causes.EXPLICIT_CAUSES) | set(causes.GATHER_CAUSES)
    assert {causes.problem_cause(c) for c in every} <= set(PROBLEM_CAUSES)
    assert {cause for cause, dummy in causes.MESSAGE_CAUSES} <= set(PROBLEM_CAUSES)


def test_hashes_timestamps_and_failures_each_have_one_helper():
    for path in FILES:
        source = _read(path)
        if path == TARGET:
            continue
        assert "BitConverter]::ToString" not in source, "%s formats a hash: use ConvertTo-SmsHashText" % _name(path)
        assert "ToString('yyyy" not in source, "%s formats a time: use ConvertTo-SmsTimestamp" % _name(path)
        assert not re.search(r"\$module\.FailJson\(\"Failed to", source, re.IGNORECASE) or _name(path) == "sql_facts.ps1", \
            "%s: fail through Invoke-SmsModule" % _name(path)
    assert _function(TARGET, "ConvertTo-SmsTimestamp").count("'yyyy-MM-ddTHH:mm:ssZ'") == 1


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_modules_build_no_diff(path):
    """The actions build the diff from the plan (phases/changeset.py, preserve.py, restore.py); a module diff would be
    computed on the machine and never read."""
    assert not re.search(r"\$module\.Diff", _read(path), re.IGNORECASE)


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_no_dotnet_call_is_given_null_for_a_path(path):
    """PowerShell passes $null to a .NET string parameter as "", which File.Replace refuses: [NullString]::Value."""
    assert not re.search(r"::Replace\([^)]*\$null", _read(path), re.IGNORECASE)
