"""roles/lab_seed: the seed covers what the gather reads, the guards refuse real SMS machines, absent removes it all.

Two kinds of checks. The role's defaults and plan (vars/main.yml), rendered by Ansible's own templar, are compared
with gather.yml, the lab snapshots and the unit-test samples. And ansible-playbook runs the role against a
simulated Windows host (windows_sim.py): that proves the role's logic (guards, record, order of steps,
idempotence, exact removal, what the gather builders make of the result), not Windows itself.
"""
import base64
import fnmatch
import glob
import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

import collection_tree
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import (
    build_client, build_site_server, envelope, gather_data)
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.site_control import interpret_site_control
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import validate_snapshot

from . import windows_sim as sim

REPO = collection_tree.REPO
ROLE = os.path.join(REPO, "roles", "lab_seed")
SAMPLES = os.path.join(REPO, "tests", "unit", "plugins", "plugin_utils", "gather", "samples")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
SMS_KEY = "SOFTWARE\\MICROSOFT\\SMS"


def read_yaml(*parts):
    with open(os.path.join(ROLE, *parts), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def problems():
    return read_yaml("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]["lab_seed_problems"]["choices"]


def render(expression, **variables):
    """An expression over the role's defaults and vars, rendered by Ansible's templar as in a play."""
    loader = DataLoader()
    scope = {}
    for part in ("defaults", "vars"):
        scope.update(loader.load_from_file(os.path.join(ROLE, part, "main.yml"), trusted_as_template=True))
    scope.update(group_names=[], inventory_hostname="labvm1", lab_seed_system_root="C:\\Windows")
    scope.update(variables)
    return Templar(loader=loader, variables=scope).template(trust_as_template("{{ %s }}" % expression))


def lab_snapshots(kind, role=None, without_role=None):
    found = []
    for path in sorted(glob.glob(os.path.join(REPO, "inventories", "lab", "snapshots", "*.json"))):
        with open(path, encoding="utf-8") as handle:
            snapshot = json.load(handle)
        if snapshot["kind"] != kind or (role and role not in snapshot.get("roles", [])):
            continue
        if without_role and without_role in snapshot.get("roles", []):
            continue
        if kind == "client" and snapshot["os"]["family"] != "windows_nt":
            continue
        found.append(snapshot)
    assert found, "no %s snapshot in the lab" % kind
    return found


def under(path, directory, recurse=True):
    path, directory = path.upper(), directory.upper().rstrip("\\") + "\\"
    return path.startswith(directory) and (recurse or "\\" not in path[len(directory):])


def resolve(path, tokens):
    for token in re.findall(r"%([A-Z_]+(?::[^%]+)?)%", path):
        if token.upper() not in tokens:
            return None
        path = path.replace("%" + token + "%", tokens[token.upper()])
    return path


def site_tokens():
    shares = render("lab_seed_plan_shares", lab_seed_kind="site_server")
    return dict({"SMS_ROOT": render("lab_seed_sms_root"), "SYSTEM_ROOT": "C:\\Windows"},
                **{"SHARE:" + share["name"].upper(): share["path"] for share in shares})


# ---- what the gather reads is what the defaults seed ----------------------------------------------------------
def test_every_sms_registry_value_the_gather_reads_is_seeded_and_no_windows_value_is_faked():
    entries = render("lab_seed_plan_registry", lab_seed_kind="site_server", lab_seed_problems=problems())
    by_default = render("lab_seed_plan_registry", lab_seed_kind="site_server")
    seeded = {(e["key"] + "\\" + e["name"]).upper() for e in entries if "name" in e}
    tagged = {(e["key"] + "\\" + e["name"]).upper() for e in entries if "name" in e and "problem" in e}
    default = {(e["key"] + "\\" + e["name"]).upper() for e in by_default if "name" in e}
    services = {s["name"].upper() for s in render("lab_seed_plan_services", lab_seed_kind="client")}
    sms_values = set()
    for name, path in gather_data()["registry"].items():
        upper = path.upper()
        if upper.startswith(SMS_KEY + "\\"):
            sms_values.add(upper)
            assert upper in seeded, "%s (%s) is read by the gather but never seeded" % (name, path)
        elif upper.startswith("SYSTEM\\CURRENTCONTROLSET\\SERVICES\\"):
            assert upper.split("\\")[3] in services, "%s: service %s is not seeded on a client" % (name, path)
        else:
            assert upper not in seeded, "%s is a real Windows value and must not be faked" % path
    # A plain 1.2 site has every SMS value but the SMS 2.0 ones, which come only with a planted problem.
    assert default == sms_values - tagged
    assert tagged == {gather_data()["registry"]["sms_full_version"].upper()}
    for kind in ("site_server", "client"):
        for entry in render("lab_seed_plan_registry", lab_seed_kind=kind, lab_seed_problems=problems()):
            assert re.match(render("lab_seed_sms_key_pattern"), entry["key"]), entry


def test_sms_subkeys_match_the_lab_site_servers():
    created = {e["key"].split("\\")[3] for e in render("lab_seed_plan_registry", lab_seed_kind="site_server")}
    for snapshot in lab_snapshots("site_server", role="site"):
        assert set(snapshot["registry"]["sms_subkeys"]) <= created, snapshot["host"]


def test_every_site_server_file_set_finds_seeded_files():
    files = render("lab_seed_plan_files", lab_seed_kind="site_server")
    tokens = site_tokens()
    for file_set in gather_data()["site_server_file_sets"]:
        path = resolve(file_set["path"], tokens)
        assert path, "%s: %s names a share the seed does not create" % (file_set["name"], file_set["path"])
        matched = [f["path"] for f in files if under(f["path"], path, file_set["recurse"])
                   and any(fnmatch.fnmatch(f["path"].rsplit("\\", 1)[-1].upper(), p.upper()) for p in file_set["include"])]
        assert matched, "file set %s (%s) would find no seeded file" % (file_set["name"], path)


def test_every_text_file_the_gather_reads_is_seeded():
    site_files = {f["path"].upper(): f for f in render("lab_seed_plan_files", lab_seed_kind="site_server")}
    client_files = {f["path"].upper(): f for f in render("lab_seed_plan_files", lab_seed_kind="client")}
    for text in gather_data()["site_server_text_files"]:
        path = resolve(text["path"], site_tokens()).upper()
        assert path in site_files, text
    site_control = resolve(gather_data()["site_server_text_files"][0]["path"], site_tokens()).upper()
    assert site_files[site_control]["src"] == render("lab_seed_site_control_file")
    seeded = {"sms_ini": render("lab_seed_sms_ini_path", lab_seed_kind="client"),
              "win_ini": render("lab_seed_win_ini", lab_seed_kind="client")}
    for text in gather_data()["client_text_files"]:
        path = resolve(text["path"], {"SYSTEM_ROOT": "C:\\Windows"})
        assert path.upper() in client_files or path.upper() == seeded.get(text["name"], "").upper(), text
    lines = render("lab_seed_plan_win_ini_lines", lab_seed_kind="client")
    assert re.match(r"^load=\S*SMSRUN16\.EXE\r\n$", lines, re.I), lines


def test_services_match_the_gather_patterns_and_the_lab():
    data = gather_data()
    assert set(render("lab_seed_guard_service_patterns")) == set(
        data["site_server_service_patterns"] + data["client_service_patterns"])
    for kind, role in (("site_server", "site"), ("client", None)):
        names = {s["name"] for s in render("lab_seed_plan_services", lab_seed_kind=kind)}
        for snapshot in lab_snapshots(kind, role=role):
            assert {s["name"] for s in snapshot["services"]} <= names, snapshot["host"]
        for name in names:
            assert any(fnmatch.fnmatch(name.upper(), p.upper()) for p in data["%s_service_patterns" % kind]), name


def test_shares_match_the_lab_site_servers():
    names = {s["name"] for s in render("lab_seed_plan_shares", lab_seed_kind="site_server")}
    for snapshot in lab_snapshots("site_server", role="site", without_role="distribution"):
        assert {s["name"] for s in snapshot["shares"]} <= names, snapshot["host"]


def test_user_values_are_seeded_in_an_unloaded_and_the_default_hive():
    entries = render("lab_seed_plan_user_entries", lab_seed_kind="client")
    key = render("lab_seed_user_key")
    for name, path in gather_data()["user_values"].items():
        value_key, value = path.rsplit("\\", 1)
        assert value_key == key
        assert any(e["hive"] == "test_user" and e["value"] == value and "SMSRUN32" in e["data"].upper() for e in entries), name
    assert any(e["hive"] == "default_user" and "SMSRUN32" in e["data"].upper() for e in entries)
    assert render("lab_seed_plan_user_entries", lab_seed_kind="site_server") == []


def test_planted_problems_switch_their_items():
    none = {"lab_seed_kind": "client", "lab_seed_problems": []}
    wuser = render("lab_seed_plan_services", **none)[0]
    assert (wuser["start_mode"], wuser["state"]) == ("disabled", "stopped")
    assert render("lab_seed_plan_user_entries", **none) == []
    assert render("lab_seed_plan_win_ini_lines", **none) == ""
    wuser = render("lab_seed_plan_services", lab_seed_kind="client")[0]
    assert (wuser["start_mode"], wuser["state"]) == ("auto", "started")


def test_the_site_control_file_is_the_unit_sample_and_names_the_default_site():
    with open(os.path.join(ROLE, "files", "SITECTRL.CT0"), "rb") as ours, \
            open(os.path.join(SAMPLES, "SITECTRL.CT0"), "rb") as sample:
        text = ours.read()
        assert text == sample.read()
    facts, parse_problems = interpret_site_control(text.decode("latin-1").replace("\n", "\r\n"))
    assert parse_problems == []
    assert facts["identity"]["site_code"] == render("lab_seed_site_code")
    assert facts["identity"]["install_dir"].upper() == render("lab_seed_sms_root").upper()


# ---- documentation, guards, record ----------------------------------------------------------------------------
def test_argument_specs_document_every_default_and_every_problem_does_something():
    options = read_yaml("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = read_yaml("defaults", "main.yml")
    assert set(options) == set(defaults)
    assert all(option.get("description") and option.get("type") for option in options.values())
    assert not set(read_yaml("vars", "main.yml")) & set(defaults), "vars/main.yml would override an input"
    with open(os.path.join(ROLE, "defaults", "main.yml"), encoding="utf-8") as d, \
            open(os.path.join(ROLE, "vars", "main.yml"), encoding="utf-8") as v:
        text = d.read() + v.read()
    for problem in problems():
        assert text.count(problem) >= 1, "planted problem %s changes nothing" % problem
    for name in ("lab_seed_site_registry", "lab_seed_user_entries"):
        assert {e["problem"] for e in defaults[name] if "problem" in e} <= set(problems())


@pytest.mark.parametrize("sms_exists,marker,refused", [
    (True, {"exists": False}, True),
    (True, {"exists": True, "properties": {"Seeded": {"type": "REG_SZ", "value": "client"}}}, False),
    (False, {"exists": False}, False),
])
def test_the_refusal_guard(sms_exists, marker, refused):
    assert render("lab_seed_refuse_sms_machine | bool", lab_seed_sms={"exists": sms_exists}, lab_seed_marker=marker) is refused


def test_nothing_changes_before_the_guards():
    tasks = read_yaml("tasks", "main.yml")
    guard = [i for i, t in enumerate(tasks) if t.get("when") == "lab_seed_refuse_sms_machine | bool"]
    assert len(guard) == 1 and "{{ inventory_hostname }}" in tasks[guard[0]]["ansible.builtin.fail"]["msg"]
    confirm = [i for i, t in enumerate(tasks) if "lab_seed_confirm" in str(t.get("when"))]
    assert confirm == [0]
    read_only = {"ansible.builtin.fail", "ansible.builtin.assert", "ansible.windows.win_reg_stat"}
    for task in tasks[:guard[0]]:
        assert read_only & set(task), task["name"]


@pytest.mark.parametrize("kind", ["site_server", "client"])
def test_the_record_covers_everything_seeded(kind):
    scope = {"lab_seed_kind": kind, "lab_seed_problems": problems()}
    record = render("lab_seed_record_lists", **scope)
    trees = record["Trees"]
    paths = render("lab_seed_plan_dirs", **scope) + [f["path"] for f in render("lab_seed_plan_files", **scope)]
    paths += [s["path"] for s in render("lab_seed_plan_shares", **scope)]
    for path in paths:
        assert any(under(path, tree) or path.upper() == tree.upper() for tree in trees), path
    assert render("lab_seed_win_ini_backup").upper().startswith(render("lab_seed_data_dir").upper() + "\\")
    assert render("lab_seed_data_dir") in trees
    assert record["Services"] == [s["name"] for s in render("lab_seed_plan_services", **scope)]
    assert record["RegistryKeys"] == [render("lab_seed_sms_key")]
    assert record["Files"] == ([render("lab_seed_sms_ini_path")] if kind == "client" else [])
    # absent_apply.yml removes each recorded list
    text = yaml.safe_dump(read_yaml("tasks", "absent_apply.yml"))
    for name in list(record) + ["Shares", "TestUser", "TestUserSid", "WinIni", "WinIniBackup"]:
        assert "lab_seed_marker_props.%s" % name in text, name


# ---- the role against a simulated Windows host ----------------------------------------------------------------
needs_playbook = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")


@pytest.fixture(scope="module")
def collections(tmp_path_factory):
    return sim.build_collections(str(tmp_path_factory.mktemp("sim")), REPO)


class SimHost:
    def __init__(self, collections, tmp_path, state):
        self.collections, self.tmp_path = collections, tmp_path
        self.state_file = tmp_path / "state.json"
        self.state = state
        self.inventory = tmp_path / "hosts.yml"
        self.inventory.write_text("all:\n  children:\n    sms_lab:\n      hosts:\n        labvm1:\n"
                                  "          ansible_connection: local\n          ansible_python_interpreter: %s\n"
                                  % sys.executable, encoding="utf-8")

    @property
    def state(self):
        with open(self.state_file, encoding="utf-8") as handle:
            return json.load(handle)

    @state.setter
    def state(self, value):
        with open(self.state_file, "w", encoding="utf-8") as handle:
            json.dump(value, handle)

    def run(self, *extra, confirm=True):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_LOCAL_TEMP=str(self.tmp_path / "tmp"), **{sim.STATE_ENV: str(self.state_file)})
        args = [PLAYBOOK, "-i", str(self.inventory), "sms.upgrade.lab_seed"] + list(extra)
        if confirm:
            args += ["-e", "sms_upgrade_lab_seed_confirm=true"]
        result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=str(self.tmp_path), check=False)
        assert "Traceback" not in result.stdout + result.stderr, result.stdout[-3000:] + result.stderr[-3000:]
        return result


def recap(result):
    match = re.search(r"labvm1\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)", result.stdout)
    assert match, result.stdout[-3000:] + result.stderr[-3000:]
    return int(match.group(1)), int(match.group(2))


def comparable(state):
    return {key: value for key, value in state.items() if key != "next_rid"}


def file_text(state, path):
    return base64.b64decode(state["files"][path.upper()]["b64"]).decode("latin-1")


def snapshot_of(state, kind, groups):
    raw = sim.gather_raw(state, kind, gather_data())
    snapshot = envelope(kind, "labvm1", "LABVM1", "2026-11-25T08:00:00Z", "0.1.0")
    snapshot = build_site_server(raw, snapshot, groups)[0] if kind == "site_server" else build_client(raw, snapshot)
    assert [p.message for p in validate_snapshot("labvm1", snapshot)] == []
    assert snapshot["errors"] == []
    return snapshot


@needs_playbook
def test_site_server_seed_is_read_by_the_gather_is_idempotent_and_is_removed_exactly(collections, tmp_path):
    host = SimHost(collections, tmp_path, sim.new_state())
    before = host.state
    changed, failed = recap(host.run("-e", "lab_seed_kind=site_server"))
    assert failed == 0 and changed > 0
    seeded = host.state
    assert recap(host.run("-e", "lab_seed_kind=site_server")) == (0, 0)
    snapshot = snapshot_of(seeded, "site_server", ["sms_primary"])
    assert snapshot["roles"] == ["site", "logon"]
    assert snapshot["sms"]["site_code"] == "CEN" and snapshot["sms"]["install_dir"] == "C:\\SMS"
    assert snapshot["sms"]["setup_version"] == "786" and snapshot["sms"]["csdver"] == "Service Pack 4"
    assert snapshot["sms"]["full_version"] is None
    assert {s["name"] for s in snapshot["services"]} == {s["name"] for s in lab_snapshots("site_server", "site")[0]["services"]}
    assert all(s["state"] == "running" for s in snapshot["services"])
    for file_set in gather_data()["site_server_file_sets"]:
        name = "logon_scripts" if file_set["name"].startswith("logon_scripts.") else file_set["name"]
        assert snapshot["sms_tree"].get(name), name
    assert snapshot["os"]["version"] == "6.3" and snapshot["ie"]["version"] == "9.11.14393.0"  # the VM's own values
    assert all("[sms.upgrade-lab]" in s["description"] for s in seeded["services"].values())
    removed = recap(host.run("-e", "lab_seed_state=absent"))
    assert removed[1] == 0 and removed[0] > 0
    assert comparable(host.state) == comparable(before)
    assert recap(host.run("-e", "lab_seed_state=absent")) == (0, 0)


@needs_playbook
def test_client_seed_restores_every_hive_value_and_win_ini_byte_for_byte(collections, tmp_path):
    state = sim.new_state()
    admin = "HKU\\" + sim.ADMIN_SID + "\\Software\\Microsoft\\Windows NT\\CurrentVersion\\Windows"
    sim.set_value(state, admin, "Load", "REG_SZ", "C:\\TOOLS\\CLOCK.EXE")
    default_hive = state["hives"]["C:\\USERS\\DEFAULT\\NTUSER.DAT"]
    default_hive["SOFTWARE\\MICROSOFT\\WINDOWS NT\\CURRENTVERSION\\WINDOWS"]["values"]["RUN"] = {
        "name": "Run", "type": "REG_EXPAND_SZ", "data": "%SystemRoot%\\NOTEPAD.EXE"}
    host = SimHost(collections, tmp_path, state)
    before = host.state
    entries = read_yaml("defaults", "main.yml")["lab_seed_user_entries"] + [
        {"hive": "connecting_user", "value": "Load", "data": "C:\\MS\\SMS\\BIN\\SMSRUN32.EXE C:\\TOOLS\\CLOCK.EXE"},
        {"hive": "default_user", "value": "Run", "data": "SMSRUN32.EXE"}]
    extra = ["-e", "lab_seed_kind=client", "-e", json.dumps({"lab_seed_user_entries": entries})]
    assert recap(host.run(*extra))[1] == 0
    seeded = host.state
    assert recap(host.run(*extra)) == (0, 0)
    assert seeded["loaded"] == before["loaded"], "a hive was left loaded"
    snapshot = snapshot_of(seeded, "client", ["sms_clients"])
    assert snapshot["site_code"] == "CEN" and snapshot["csdver"] == "Service Pack 4"
    assert snapshot["sms_ini"]["sections"]["SMS"]["SMS Unique ID"] == "CEN00001"
    assert snapshot["remote_control"] == {"present": True, "service": "Wuser32", "state": "running", "start_mode": "auto"}
    assert snapshot["win_ini"]["load"] == "C:\\MS\\SMS\\BIN\\SMSRUN16.EXE"
    by_source = {e["source"]: e for e in snapshot["user_entries"]}
    assert by_source["ntuser_dat"]["load"] == "C:\\MS\\SMS\\BIN\\SMSRUN32.EXE C:\\TOOLS\\CLOCK.EXE"
    assert by_source["ntuser_dat"]["run"] == "SMSRUN32.EXE"
    assert (by_source["default_user"]["load"], by_source["default_user"]["run"]) == ("C:\\MS\\SMS\\BIN\\SMSRUN32.EXE", "SMSRUN32.EXE")
    assert by_source["loaded_hive"]["load"].startswith("C:\\MS\\SMS\\BIN\\SMSRUN32.EXE")
    assert file_text(seeded, "C:\\Windows\\WIN.INI").startswith(file_text(before, "C:\\Windows\\WIN.INI"))
    assert recap(host.run("-e", "lab_seed_state=absent"))[1] == 0
    assert comparable(host.state) == comparable(before)
    assert recap(host.run("-e", "lab_seed_state=absent")) == (0, 0)


@needs_playbook
def test_a_real_sms_machine_is_refused_and_left_alone(collections, tmp_path):
    state = sim.new_state()
    sim.set_value(state, "HKLM\\SOFTWARE\\Microsoft\\SMS\\Identification", "Installation Directory", "REG_SZ", "D:\\SMS")
    host = SimHost(collections, tmp_path, state)
    for extra in (["-e", "lab_seed_kind=site_server"], ["-e", "lab_seed_state=absent"]):
        result = host.run(*extra)
        assert result.returncode != 0
        assert "labvm1: sms.upgrade.lab_seed refuses to run: HKLM\\SOFTWARE\\Microsoft\\SMS exists but the lab seed " \
               "marker" in " ".join(result.stdout.split())
        assert host.state == state


@needs_playbook
def test_a_host_read_through_a_relay_is_refused_and_its_own_name_is_not_a_relay(collections, tmp_path):
    """The relay filter decides (sms_upgrade_relay naming another host); a relay naming the host itself is direct."""
    host = SimHost(collections, tmp_path, sim.new_state())
    result = host.run("-e", "lab_seed_kind=client", "-e", "sms_upgrade_relay=mgmt01")
    assert result.returncode != 0
    assert "labvm1: sms.upgrade.lab_seed refuses to run: the host is read through the relay mgmt01 (sms_upgrade_relay)" \
        in " ".join(result.stdout.split())
    assert host.state == sim.new_state()
    assert recap(host.run("-e", "lab_seed_kind=client", "-e", "sms_upgrade_relay=labvm1"))[1] == 0


@needs_playbook
def test_without_confirmation_nothing_happens(collections, tmp_path):
    host = SimHost(collections, tmp_path, sim.new_state())
    result = host.run("-e", "lab_seed_kind=client", confirm=False)
    assert result.returncode != 0 and "labvm1: sms.upgrade.lab_seed refuses to run without confirmation" in result.stdout
    assert host.state == sim.new_state()


@needs_playbook
@pytest.mark.parametrize("kind,prepare,cause", [
    ("client", lambda s: s["services"].update(SMS_EXECUTIVE={
        "name": "SMS_EXECUTIVE", "display_name": "SMS_EXECUTIVE", "description": None, "path": "C:\\SMS\\X.EXE",
        "start_mode": "auto", "state": "running", "username": "LocalSystem"}), "service(s) SMS_EXECUTIVE exist"),
    ("site_server", lambda s: s["dirs"].update({"C:\\SMS": "C:\\SMS"}), "C:\\SMS exists without the marker file"),
    ("site_server", lambda s: sim.set_value(s, sim.SHARES, "SMS_SHR", "REG_MULTI_SZ", ["Path=C:\\X", "ShareName=SMS_SHR"]),
     "share SMS_SHR exists"),
    ("client", lambda s: sim.write_file(s, "C:\\SMS.INI", b"[SMS]\r\nSiteCode=ABC\r\n"), "C:\\SMS.INI exists and is not recorded"),
])
def test_anything_the_seed_would_create_that_exists_unmarked_is_refused(collections, tmp_path, kind, prepare, cause):
    state = sim.new_state()
    prepare(state)
    host = SimHost(collections, tmp_path, state)
    result = host.run("-e", "lab_seed_kind=%s" % kind)
    assert result.returncode != 0 and cause in " ".join(result.stdout.split()), result.stdout[-2000:]
    assert host.state == state


@needs_playbook
def test_an_existing_netlogon_share_is_left_out_and_kept(collections, tmp_path):
    state = sim.new_state()
    sim.set_value(state, sim.SHARES, "NETLOGON", "REG_MULTI_SZ",
                  ["Path=C:\\Windows\\SYSVOL\\sysvol\\corp\\SCRIPTS", "Remark=Logon server share", "ShareName=NETLOGON"])
    host = SimHost(collections, tmp_path, state)
    assert recap(host.run("-e", "lab_seed_kind=site_server"))[1] == 0
    shares = host.state["registry"][sim.SHARES.upper()]["values"]
    assert shares["NETLOGON"]["data"][1] == "Remark=Logon server share" and "REPL$" in shares
    result = host.run("-e", "lab_seed_kind=client")
    assert result.returncode != 0 and "already seeded as a site_server" in " ".join(result.stdout.split())
    assert recap(host.run("-e", "lab_seed_state=absent"))[1] == 0
    assert comparable(host.state) == comparable(state)
