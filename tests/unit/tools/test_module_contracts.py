"""Static proof for the PowerShell modules: $spec matches the documentation, and what they return
matches the snapshot schema and what the Python builders read."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

ps_contracts = pytest.importorskip("ps_contracts")
import collection_tree  # noqa: E402  pylint: disable=wrong-import-position

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import validators  # noqa: E402

REPO = ps_contracts.REPO
MODULES = ("site_facts", "client_facts", "sql_facts", "client_agents", "database", "site_services", "site_upgrade",
           "post_upgrade", "client_upgrade")
ANSIBLE_DOC = shutil.which("ansible-doc", path=os.path.dirname(sys.executable)) or shutil.which("ansible-doc")


def _read(*parts):
    with open(os.path.join(REPO, *parts), encoding="utf-8") as handle:
        return handle.read()


@pytest.fixture(scope="module")
def docs():
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree())
    result = subprocess.run([ANSIBLE_DOC, "-j"] + ["sms.upgrade.%s" % m for m in MODULES],
                            capture_output=True, text=True, check=True, env=env)
    data = json.loads(result.stdout)
    return {name.split(".")[-1]: entry["doc"] for name, entry in data.items()}


def _schema(name):
    return validators()[name].schema if name in validators() else None


def _common_defs():
    with open(os.path.join(REPO, "plugins", "plugin_utils", "data", "schemas", "snapshot-common.v1.json")) as handle:
        return json.load(handle)["$defs"]


def _client_schema():
    with open(os.path.join(REPO, "plugins", "plugin_utils", "data", "schemas", "client.v1.json")) as handle:
        return json.load(handle)


def _action_module(module):
    return __import__("ansible_collections.sms.upgrade.plugins.action.%s" % module, fromlist=["ActionModule"]).ActionModule


def _action_options(module):
    """The options the action takes: a phase's spec for phase actions, ACTION_OPTIONS for the others."""
    action = _action_module(module)
    if getattr(action, "PHASE", None):
        from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase
        return get_phase(action.PHASE).option_spec()
    return action.ACTION_OPTIONS


@pytest.mark.parametrize("module", MODULES)
def test_spec_matches_documentation(module, docs):
    spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "%s.ps1" % module))
    assert spec["supports_check_mode"] is True
    doc_options = docs[module]["options"]
    assert ps_contracts.compare_options(spec["options"], doc_options, module) == []
    action_options = _action_options(module)
    assert ps_contracts.compare_options(action_options, doc_options, module + " (action)") == []
    documented_only = set(doc_options) - set(spec["options"]) - set(action_options)
    assert documented_only == set(), "documented but neither in $spec nor in the action: %s" % documented_only


def test_apply_action_passes_only_what_the_module_takes():
    spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "client_agents.ps1"))
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase
    module_options = get_phase("client_agents").module_option_spec()
    assert set(module_options) | {"changes"} == set(spec["options"])
    assert ps_contracts.compare_options(module_options, spec["options"], "client_agents (action to module)") == []


def test_change_results_are_what_the_apply_action_reads():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import changeset as apply_action
    psm1 = _read("plugins", "module_utils", "SmsApply.psm1")
    keys = set(ps_contracts.record_keys(psm1, "New-SmsChangeResult"))
    assert set(apply_action.RESULT_KEYS) | {"current"} == keys
    statuses = set(ps_contracts.literal_values_for(psm1, "Status"))
    assert statuses == set(apply_action.APPLIED + apply_action.BAD) | {"unchanged"}
    causes = set(ps_contracts.function_string_returns(_read("plugins", "module_utils", "SmsTarget.psm1"), "Get-SmsErrorCause"))
    assert "unreachable" in causes, "all_unreachable() relies on this cause"
    kinds = set(re.findall(r"^\s+'([a-z_]+)' \{ Invoke-Sms", psm1, re.MULTILINE))
    assert kinds == {"service", "user_value", "file_content", "share"}


def test_spec_check_detects_a_mismatch(docs):
    spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "client_facts.ps1"))
    spec["options"]["hash_max_mb"]["type"] = "str"
    spec["options"]["undocumented"] = {"type": "str"}
    problems = ps_contracts.compare_options(spec["options"], docs["client_facts"]["options"], "client_facts")
    assert any("hash_max_mb type" in p for p in problems) and any("undocumented" in p for p in problems)


@pytest.mark.parametrize("module", ["sql_facts", "database"])
def test_secrets_are_no_log(module):
    spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "%s.ps1" % module))
    assert spec["options"]["login_password"]["no_log"] is True
    if module == "database":
        from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase
        assert get_phase("database").option_spec()["login_password"]["no_log"] is True


@pytest.mark.parametrize("function,definition,extra", [
    ("New-SmsServiceRecord", "service", set()),
    ("New-SmsShareRecord", "share", {"type"}),
    ("New-SmsFileRecord", "file", set()),
    ("New-SmsSectionError", "section_error", set()),
])
def test_record_keys_match_the_schema(function, definition, extra):
    keys = set(ps_contracts.record_keys(_read("plugins", "module_utils", "SmsGather.psm1"), function))
    assert keys == set(_common_defs()[definition]["properties"]) | extra


def test_user_entry_keys_and_sources_match_the_schema():
    psm1 = _read("plugins", "module_utils", "SmsGather.psm1")
    item = _client_schema()["properties"]["user_entries"]["items"]
    assert set(ps_contracts.record_keys(psm1, "New-SmsUserEntryRecord")) == set(item["properties"])
    sources = set(ps_contracts.literal_values_for(psm1, "Source"))
    assert sources == set(item["properties"]["source"]["enum"])


def test_enum_values_are_schema_values():
    psm1 = _read("plugins", "module_utils", "SmsGather.psm1")
    service = _common_defs()["service"]["properties"]
    assert set(ps_contracts.hashtable_values(psm1, "$script:SmsServiceStates")) <= set(service["state"]["enum"])
    assert set(ps_contracts.hashtable_values(psm1, "$script:SmsStartModes")) == set(service["start_mode"]["enum"])
    causes = set(ps_contracts.function_string_returns(_read("plugins", "module_utils", "SmsTarget.psm1"), "Get-SmsErrorCause"))
    assert causes <= set(_common_defs()["section_error"]["properties"]["cause"]["enum"])
    assert {"access_denied", "unreachable", "remote_registry_stopped", "locked", "not_found"} <= causes


def _raw_keys_read(*parts):
    source = _read(*parts)
    return set(re.findall(r"raw\.get\(\"([a-z_]+)\"", source)) | set(re.findall(r"raw\[\"([a-z_]+)\"\]", source))


def test_builders_read_only_what_the_modules_return():
    gather_keys = set(ps_contracts.result_keys(_read("plugins", "module_utils", "SmsGather.psm1")))
    read = _raw_keys_read("plugins", "plugin_utils", "gather", "build.py") | _raw_keys_read("plugins", "plugin_utils", "gather", "action.py")
    assert read - {"failed", "msg"} <= gather_keys
    assert {"registry", "services", "shares", "file_sets", "text_files", "user_entries", "errors"} <= read
    sql_keys = set(ps_contracts.result_keys(_read("plugins", "modules", "sql_facts.ps1")))
    assert _raw_keys_read("plugins", "action", "sql_facts.py") <= sql_keys
    runner = set(ps_contracts.record_keys(_read("plugins", "module_utils", "SmsSql.psm1"), "Invoke-SmsSqlScript"))
    assert {"output", "stderr", "rc", "client_path"} <= runner, "sql_facts.ps1 returns what the shared runner gives it"


def test_the_database_room_reads_only_what_its_module_returns():
    """The room reads raw.get(...) and entry.get(...) of the module's results: every key is one the module sets."""
    source = _read("plugins", "plugin_utils", "phases", "database.py")
    returned = set(ps_contracts.result_keys(_read("plugins", "modules", "database.ps1")))
    read = set(re.findall(r"raw\.get\(\"([a-z_]+)\"", source))
    assert read - {"failed", "msg"} <= returned
    assert {"output", "timed_out", "files", "log", "rc"} <= read
    record = re.search(r"\$record = @\{([^}]*)\}", _read("plugins", "modules", "database.ps1")).group(1)
    file_keys = set(re.findall(r"(\w+) = ", record))
    used = set(re.findall(r"stat(?:\[\"|\.get\(\")([a-z_0-9]+)\"", source))
    assert {"exists", "dir_exists", "free_bytes", "sha256", "size", "error"} <= used
    assert used <= file_keys, used - file_keys


def test_the_database_module_takes_what_the_room_sends():
    spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "database.ps1"))
    source = _read("plugins", "plugin_utils", "phases", "database.py")
    sent = set(re.findall(r"\"(mode|script|client|timeout|read_only|paths|share_map|conv20_path|conv20_database|"
                          r"conv20_log|login_user|login_password)\": ", source))
    assert sent <= set(spec["options"])
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase
    assert set(get_phase("database").SET_BY_ACTION) <= set(spec["options"])


def test_gather_text_and_file_names_are_what_the_builders_expect():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import gather_data
    data = gather_data()
    tree = _schema("site_server")["properties"]["sms_tree"]["properties"]
    for file_set in data["site_server_file_sets"]:
        name = file_set["name"].split(".")[0]
        assert name in tree, file_set
        if file_set["name"].startswith("logon_scripts."):
            location = tree["logon_scripts"]["items"]["allOf"][1]["properties"]["location"]["enum"]
            assert file_set["name"].split(".")[1] in location
    assert {t["name"] for t in data["client_text_files"]} == {"sms_ini", "csdver", "win_ini"}


@pytest.mark.parametrize("module", ["site_services", "site_upgrade"])
def test_site_upgrade_actions_set_every_module_option_they_do_not_take(module):
    """The options a task gives (computer, MODULE_OPTIONS) plus those the action fills itself are the module's $spec."""
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import get_phase
    spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "%s.ps1" % module))
    phase = get_phase(module)
    assert set(phase.module_option_spec()) | set(phase.SET_BY_ACTION) == set(spec["options"])


def test_site_upgrade_reads_only_what_the_module_takes():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_services
    spec = ps_contracts.module_spec(os.path.join(REPO, "plugins", "modules", "site_services.ps1"))
    assert set(site_services.PHASE.read_args()) <= set(spec["options"])
    psm1 = _read("plugins", "module_utils", "SmsSite.psm1")
    service = set(ps_contracts.record_keys(psm1, "Get-SmsSiteService"))
    assert service == {"name", "present", "start_mode", "state", "path"}
    share = set(ps_contracts.record_keys(_read("plugins", "module_utils", "SmsGather.psm1"), "Get-SmsShareDetail"))
    assert share == {"name"} | set(site_services.SHARE_FIELDS), "a share as the journal keeps it and the rollback puts it back"
    for key in ("reachable", "offset", "text", "file_version", "files", "names", "running", "process_id", "status"):
        assert re.search(r"\b%s = " % key, psm1), "SmsSite.psm1 returns no %s" % key


def test_the_share_change_takes_what_the_site_services_room_sends():
    """A share change removes ``from`` (its path compared) or creates ``to`` with every field the journal kept."""
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_services
    root, source = ps_contracts.parse(_read("plugins", "module_utils", "SmsApply.psm1"))
    body = ps_contracts.text(ps_contracts.function_node(root, source, "Invoke-SmsShareChange"), source)
    assert "$Change.from.path" in body
    for field in site_services.SHARE_FIELDS:
        assert "$Change.to.%s" % field in body, field
    change = site_services.plan_share_removal({"name": "SMS_SITE", "path": "C:\\SMS\\SITE.SRV", "remark": None,
                                               "max_uses": -1, "sddl": "D:(A;;FA;;;BA)"})
    assert set(change) == {"kind", "id", "name", "from", "to"} and set(site_services.invert(change)["to"]) == set(
        site_services.SHARE_FIELDS)
