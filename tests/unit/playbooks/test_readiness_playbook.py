"""The readiness playbook through ansible-playbook: bad input gives a clear message, never a traceback."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

import collection_tree
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_status

REPO = collection_tree.REPO
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")


def run_playbook(inventory, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    return subprocess.run([PLAYBOOK, "-i", inventory, "sms.upgrade.readiness", "--check"] + list(extra),
                          capture_output=True, text=True, env=env, cwd=REPO, check=False)


def lab_copy(tmp_path):
    lab = tmp_path / "lab"
    shutil.copytree(os.path.join(REPO, "inventories", "lab"), lab)
    return lab


def test_lab_run_writes_the_report_and_changes_nothing(tmp_path):
    result = run_playbook(os.path.join(REPO, "inventories", "lab", "hosts.yml"), "-e", "sms_upgrade_report_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "changed=1" not in result.stdout and "BLOCKED: " in result.stdout
    with open(tmp_path / "latest.json", encoding="utf-8") as handle:
        assert json.load(handle)["check_mode"] is True


def test_with_limit_the_report_covers_the_limited_hosts_read_with_the_first_ones_variables(tmp_path):
    """The assessment play runs on one host (the first of the run) with the run's hosts: --limit still applies, and the
    inventory's variables are read as run_once read them before."""
    lab = lab_copy(tmp_path)
    with open(lab / "group_vars" / "sms_upgrade.yml", "a", encoding="utf-8") as handle:
        handle.write("\nsms_upgrade_inventory_name: limited-lab\n")
    result = run_playbook(str(lab / "hosts.yml"), "--limit", "P01*", "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "r"))
    assert result.returncode == 0, result.stdout[-3000:]
    with open(tmp_path / "r" / "latest.json", encoding="utf-8") as handle:
        report = json.load(handle)
    hosts = {h["host"] for h in report["hosts"]} - {"(hierarchy)"}
    assert hosts and all(h.startswith("P01") for h in hosts)
    assert report["inventory"]["name"] == "limited-lab"


def test_empty_inventory_is_a_clear_message(tmp_path):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text("all:\n  children:\n    sms_upgrade: {}\n", encoding="utf-8")
    result = run_playbook(str(inventory))
    assert result.returncode != 0
    assert "has no host in group sms_upgrade" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_bad_answers_file_names_the_entry(tmp_path):
    lab = lab_copy(tmp_path)
    (lab / "answers.yml").write_text("schema_version: 1\nanswers:\n  - rule: sql.version_sp4\n    by: x\n    at: 2026-11-01\n"
                                     "    reason: y\n", encoding="utf-8")
    result = run_playbook(str(lab / "hosts.yml"), "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "r"))
    assert result.returncode != 0
    assert "answer #1 (sql.version_sp4): rule sql.version_sp4 cannot be answered" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    assert not (tmp_path / "r" / "latest.json").exists()


def test_malformed_snapshot_becomes_an_error_finding(tmp_path):
    lab = lab_copy(tmp_path)
    (lab / "snapshots" / "CENNT001.json").write_text('{"kind": "client", ', encoding="utf-8")
    result = run_playbook(str(lab / "hosts.yml"), "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "r"))
    assert result.returncode == 0, result.stdout[-3000:]
    with open(tmp_path / "r" / "latest.json", encoding="utf-8") as handle:
        findings = {(f["host"], f["rule"]): f for f in json.load(handle)["findings"]}
    finding = findings[("CENNT001", "snapshot.valid")]
    assert finding["status"] == "error" and "is not valid JSON" in finding["message"]


def test_unknown_parameter_is_refused(tmp_path):
    result = run_playbook(os.path.join(REPO, "inventories", "lab", "hosts.yml"), "-e", "sms_upgrade_report_dir=%s" % tmp_path,
                          "-e", '{"sms_upgrade_assessment_params": {"min_ram": 1}}')
    assert result.returncode != 0 and "unknown assessment parameter 'min_ram'" in result.stdout


def test_unwritable_report_dir_is_a_clear_message(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    result = run_playbook(os.path.join(REPO, "inventories", "lab", "hosts.yml"), "-e", "sms_upgrade_report_dir=%s" % blocker)
    assert result.returncode != 0
    assert "sms.upgrade.readiness_report: cannot write the report under %s" % blocker in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_gate_role_stops_a_phase_and_names_the_blockers(tmp_path):
    lab = os.path.join(REPO, "inventories", "lab", "hosts.yml")
    assert run_playbook(lab, "-e", "sms_upgrade_report_dir=%s" % tmp_path).returncode == 0
    phase = tmp_path / "phase.yml"
    phase.write_text("- name: A phase that changes site servers\n  hosts: sms_secondary\n  gather_facts: false\n"
                     "  roles:\n    - role: sms.upgrade.gate\n  tasks:\n    - name: Never reached\n"
                     "      ansible.builtin.debug:\n        msg: changed something\n", encoding="utf-8")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1")
    # A run without a wave: the lab's upgrade plan is set aside (empty sms_upgrade_plan_file), so every secondary is in
    # the one wave of the whole inventory, as before the lab had a plan.
    result = subprocess.run([PLAYBOOK, "-i", lab, str(phase), "-e", "sms_upgrade_report_dir=%s" % tmp_path,
                             "-e", "sms_upgrade_plan_file="], capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert result.returncode != 0
    assert "readiness gate closed for this phase" in result.stdout
    assert "S02SRV01" in result.stdout and "changed something" not in result.stdout
    stale = subprocess.run([PLAYBOOK, "-i", lab, str(phase), "-e", "sms_upgrade_report_dir=%s" % tmp_path,
                            "-e", "sms_upgrade_report_max_age=0h", "-e", "sms_upgrade_wave=branches"],
                           capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert stale.returncode != 0 and "days old; the limit is 0.0 days" in stale.stdout


def test_the_report_shows_the_recorded_progress_and_names_an_unusable_record(tmp_path):
    lab = lab_copy(tmp_path)
    record = site_status.new_site_record("CEN", "central")
    record.update(status="setup_running", updated_at="2026-12-05T18:20:00Z", timeline=[
        {"step": "setup", "run": "20261205T180000Z", "started_at": "2026-12-05T18:00:00Z", "ended_at": "2026-12-05T18:20:00Z",
         "seconds": 1200.0, "status": "running", "message": "Setup is converting the database"}])
    site_status.save_site(str(lab / "site_upgrade"), record)
    (lab / "upgrade_records").mkdir()
    (lab / "upgrade_records" / "progress.json").write_text("[1, 2", encoding="utf-8")
    result = run_playbook(str(lab / "hosts.yml"), "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "r"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert "wave central: in progress [CEN setup running]" in result.stdout
    with open(tmp_path / "r" / "latest.json", encoding="utf-8") as handle:
        progress = json.load(handle)["progress"]
    cen = next(s for s in progress["sites"] if s["site"] == "CEN")
    assert cen["site_upgrade"]["timeline"][0]["seconds"] == 1200.0 and progress["waves"][0]["status"] == "in_progress"
    assert progress["notes"] == ["the record %s is unreadable: Expecting ',' delimiter: line 1 column 6 (char 5); move it "
                                 "away to start a new one" % (lab / "upgrade_records" / "progress.json")]


def test_unreachable_hosts_and_relays_are_blocking_errors_and_the_fleet_report_is_written(tmp_path):
    lab = lab_copy(tmp_path)
    with open(lab / "hosts.yml", encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    children = inventory["all"]["children"]
    dead = {"ansible_connection": "winrm", "ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_user": "x",
            "ansible_password": "x", "ansible_winrm_scheme": "http", "ansible_winrm_transport": "basic"}
    inventory["all"]["hosts"] = {"deadrelay": dead}
    clients = children["sms_upgrade"]["children"]["sms_clients"]["hosts"]
    clients.update(CENNT050={"sms_upgrade_relay": "deadrelay"}, CENNT051=dict(dead))
    children["sms_site_CEN"]["hosts"].update(CENNT050=None, CENNT051=None)
    with open(lab / "hosts.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle)
    old = json.loads((lab / "snapshots" / "CENNT001.json").read_text(encoding="utf-8"))
    old.update(host="CENNT050", computer="CENNT050", collected_at="2026-11-01T06:00:00Z")
    (lab / "snapshots" / "CENNT050.json").write_text(json.dumps(old), encoding="utf-8")
    result = run_playbook(str(lab / "hosts.yml"), "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "r"))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    with open(tmp_path / "r" / "latest.json", encoding="utf-8") as handle:
        report = json.load(handle)
    errors = {f["host"]: f for f in report["findings"] if f["rule"] == "snapshot.valid" and f["status"] == "error"}
    assert set(errors) == {"CENNT050", "CENNT051", "CENNT099"} and errors["CENNT050"]["blocks"]
    assert "not gathered in this run: unreachable" in errors["CENNT050"]["message"]
    assert "collected at 2026-11-01T06:00:00+00:00" in errors["CENNT050"]["message"]
    assert "is not assessed" in errors["CENNT050"]["message"]
    assert not (lab / "snapshots" / "CENNT050.json").exists()
    assert {h["host"] for h in report["hosts"]} >= {"CENNT050", "CENNT051", "CENSRV01", "CENNT001"}
    assert report["summary"]["hosts"] == 49
    [step] = [s for s in report["actions"] if s.get("cause") == "unreachable"]
    assert step["hosts"] == ["CENNT050", "CENNT051"] and "relay" in step["fix"]["text"]
    assert "blocked hosts: " in result.stdout and "CENNT050" in result.stdout.split("blocked hosts: ", 1)[1].split("\n")[0]


# Every playbook but the test-only lab_seed (it acts on lab VMs named in its own inventory).
SITE_PLAYBOOKS = sorted("sms.upgrade." + name[:-4] for name in os.listdir(os.path.join(REPO, "playbooks"))
                        if name.endswith(".yml") and name != "lab_seed.yml")


def test_every_site_playbook_is_checked_for_a_wrong_inventory_path():
    assert {"sms.upgrade.site_upgrade", "sms.upgrade.site_upgrade_recover", "sms.upgrade.readiness"} <= set(SITE_PLAYBOOKS)


@pytest.mark.parametrize("playbook", SITE_PLAYBOOKS)
def test_a_wrong_inventory_path_says_the_file_is_missing(tmp_path, playbook):
    missing = str(tmp_path / "inventories" / "nosuch" / "hosts.yml")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    result = subprocess.run([PLAYBOOK, "-i", missing, playbook, "--check"], capture_output=True, text=True, env=env,
                            cwd=str(tmp_path), check=False)
    assert result.returncode != 0, result.stdout[-2000:]
    assert "The inventory file %s does not exist: check the -i path" % missing in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_outside_make_the_collection_installs_from_the_checkout_and_runs_the_site_commands(tmp_path):
    galaxy, doc = (os.path.join(os.path.dirname(sys.executable), name) for name in ("ansible-galaxy", "ansible-doc"))
    collections = tmp_path / "collections"
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(HOME=str(tmp_path / "home"), ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=str(collections))
    installed = subprocess.run([galaxy, "collection", "install", "--offline", REPO, "-p", str(collections)],
                               capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    described = subprocess.run([doc, "-t", "module", "sms.upgrade.readiness_report"], capture_output=True, text=True,
                               env=env, cwd=str(tmp_path), check=False)
    assert described.returncode == 0 and "once for the whole fleet" in described.stdout, described.stderr
    result = subprocess.run([PLAYBOOK, "-i", os.path.join(REPO, "inventories", "lab", "hosts.yml"), "sms.upgrade.readiness",
                             "--check"], capture_output=True, text=True, env=env, cwd=str(tmp_path), check=False)
    assert result.returncode == 0, result.stdout[-2000:]
    assert (tmp_path / "sms-upgrade-reports" / "lab" / "latest.json").is_file()


def _makefile():
    with open(os.path.join(REPO, "Makefile"), encoding="utf-8") as handle:
        return handle.read()


def _requirements(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as handle:
        return [line.split("==")[0].strip().lower() for line in handle if line.strip() and not line.startswith("#")]


def test_make_demo_installs_only_what_the_demo_needs():
    demo = _requirements("requirements-demo.txt")
    assert "ansible-core" in demo
    assert not {"ansible", "molecule", "ansible-lint", "antsibull-docs", "antsibull-changelog", "pytest", "pywinrm"} & set(demo)
    assert "-r requirements-demo.txt" in _requirements("requirements.txt")
    makefile = _makefile()
    assert "\ndemo: $(DEMO_STAMP)\n" in makefile and "-r requirements-demo.txt" in makefile.split("$(DEMO_STAMP):")[1]
    for name in ("ANSIBLE_HOME", "ANSIBLE_LOCAL_TEMP", "ANSIBLE_REMOTE_TEMP", "ANSIBLE_COLLECTIONS_PATH"):
        assert re.search(r"^export %s = \$\((CACHE|TREE)\)" % name, makefile, flags=re.M), name


def test_the_demo_runs_with_ansible_core_and_this_collection_only_quietly_and_writes_only_where_told(tmp_path):
    """The demo's playbook with no other collection (the demo installs none), Ansible's home and temporary files where
    the Makefile puts them (here a stand-in for the checkout's .cache): no warning or error, nothing in HOME or TMPDIR."""
    tree, home, tmp, cache = (tmp_path / name for name in ("tree", "home", "tmp", "cache"))
    for directory in (home, tmp, cache):
        directory.mkdir()
    (tree / "ansible_collections" / "sms").mkdir(parents=True)
    os.symlink(REPO, str(tree / "ansible_collections" / "sms" / "upgrade"))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "TMPDIR": str(tmp), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_COLLECTIONS_PATH": str(tree), "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
           "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"), "ANSIBLE_HOME": str(cache / "ansible"),
           "ANSIBLE_LOCAL_TEMP": str(cache / "ansible" / "tmp"), "ANSIBLE_REMOTE_TEMP": str(cache / "ansible" / "tmp")}
    result = subprocess.run([PLAYBOOK, "-i", os.path.join(REPO, "inventories", "lab", "hosts.yml"), "sms.upgrade.readiness",
                             "--check", "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "reports")],
                            capture_output=True, text=True, env=env, cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    for word in ("[WARNING]", "[ERROR]", "[DEPRECATION WARNING]", "Traceback"):
        assert word not in result.stdout + result.stderr, word
    assert (tmp_path / "reports" / "latest.json").is_file()
    assert not os.listdir(str(home)) and not os.listdir(str(tmp))
