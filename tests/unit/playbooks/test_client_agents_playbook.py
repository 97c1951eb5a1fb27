"""The client_agents playbooks over the embedded lab through ansible-playbook: gate per host, plan and diff, summary."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import collection_tree

REPO = collection_tree.REPO
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
LAB = os.path.join(REPO, "inventories", "lab", "hosts.yml")
pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")


def run_playbook(playbook, *extra, inventory=LAB):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    return subprocess.run([PLAYBOOK, "-i", inventory, playbook] + list(extra), capture_output=True, text=True, env=env,
                          cwd=REPO, check=False)


@pytest.fixture(name="report_dir", scope="module")
def fixture_report_dir(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    result = run_playbook("sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % reports)
    assert result.returncode == 0, result.stdout[-2000:]
    return str(reports)


# The lab has an upgrade plan (inventories/lab/upgrade_plan.yml). A run over clients of several waves is a run without
# a wave: with the plan file set empty the whole inventory is one wave, as before there was a plan, and the run warns.
NO_PLAN = "sms_upgrade_plan_file="


def test_check_mode_plans_every_client_and_names_the_ones_it_cannot(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "--diff", "-e", "sms_upgrade_report_dir=%s" % report_dir,
                          "-e", NO_PLAN)
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert result.returncode == 0, "CENNT014 (profiles unread: a gather error) is left out by the gate, named; the others go on"
    assert "-load=C:\\MS\\SMS\\BIN\\SMSRUN16.EXE NAV.EXE\n-run=SMSRUN16.EXE\n+load=NAV.EXE\n+run=\n" in out
    assert "-start_mode: auto\n-state: running\n+start_mode: disabled\n+state: stopped" in out
    assert "CORP\\akumar (C:\\WINNT\\Profiles\\akumar\\NTUSER.DAT)" in out
    assert "Left out of phase client_agents by readiness report" in out and "CENNT099: snapshot.valid" in out
    assert "36 of 38 host(s) processed: 4 planned, 32 unchanged" in out
    assert "CENNT014: client.smsrun_registry [PRE-26, PRE-27] Cannot evaluate: could not read 'user_entries' " \
        "(remote_registry_stopped)" in out
    assert "Client agents | fail the clients that could not be planned" in out
    assert "not run (left out by the gate, failed earlier, or in a batch not reached): CENNT014, CENNT099" in out
    assert "Could not match supplied host pattern" not in result.stdout + result.stderr
    assert "[WARNING]: no upgrade plan (sms_upgrade_plan_file is empty): the whole inventory is one wave" in \
        " ".join((result.stdout + result.stderr).split())
    assert "No upgrade plan: the whole inventory is one wave; this run acts on 36 of 38 host(s) of the play" in out


def test_batches_show_progress_and_only_clients_with_changes_are_contacted(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "--limit", "CEN95*:CENNT00*:CENNT013:P01NT006", "-e",
                          "sms_upgrade_report_dir=%s sms_upgrade_client_batch=2 %s" % (report_dir, NO_PLAN))
    assert result.returncode == 0, result.stdout[-2000:]
    progress = [line.strip() for line in result.stdout.splitlines() if "batch ending at client" in line]
    assert progress == ['"msg": "batch ending at client 2 of 3: 2 of 2 host(s) processed: 2 planned"',
                        '"msg": "batch ending at client 3 of 3: 1 of 1 host(s) processed: 1 planned"']
    assert "14 of 14 host(s) processed: 3 planned, 11 unchanged" in result.stdout
    assert "client_agents: 14 host(s): 3 to change, 0 with something that cannot be planned, 11 with nothing to do" in result.stdout
    applied = result.stdout.split("Client agents | turn off remote control and the SMSRUN")[1:]
    assert len(applied) == 2, "one task banner per batch"
    assert all("CENNT001" not in part.split("TASK [")[0] for part in applied), "a clean client is never contacted"


def test_a_failed_client_counts_in_its_batch_and_against_the_threshold(tmp_path):
    lab = tmp_path / "lab"
    shutil.copytree(os.path.join(REPO, "inventories", "lab"), lab)
    path = lab / "snapshots" / "CENNT012.json"
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    snapshot["remote_control"].update(start_mode="auto", state="running")
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    # CENNT013 cannot be planned: a loaded hive without a SID (a planning problem, not a gather error the gate stops)
    path = lab / "snapshots" / "CENNT013.json"
    snapshot = json.loads(path.read_text(encoding="utf-8"))
    for entry in snapshot["user_entries"]:
        if entry["source"] == "loaded_hive":
            entry["sid"] = None
    path.write_text(json.dumps(snapshot), encoding="utf-8")
    inventory = str(lab / "hosts.yml")
    reports = "sms_upgrade_report_dir=%s" % (tmp_path / "reports")
    assert run_playbook("sms.upgrade.readiness", "--check", "-e", reports, inventory=inventory).returncode == 0
    result = run_playbook("sms.upgrade.client_agents", "--check", "--limit", "CENNT01*", "-e", "%s sms_upgrade_client_batch=5 "
                          "sms_upgrade_client_max_fail_percentage=0 sms_upgrade_wave=central" % reports, inventory=inventory)
    assert result.returncode != 0
    assert "batch ending at client 2 of 2: 2 of 2 host(s) processed: 1 planned, 1 failed" in result.stdout
    assert "NO MORE HOSTS LEFT" in result.stdout


def test_a_stale_report_stops_every_client(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "-e",
                          "sms_upgrade_report_dir=%s sms_upgrade_report_max_age=0h sms_upgrade_wave=central" % report_dir)
    assert result.returncode != 0
    assert "readiness gate closed for this phase" in result.stdout and "days old" in result.stdout
    assert "TASK [sms.upgrade.client_agents : Client agents | turn off" not in result.stdout


def test_the_first_wave_plans_changes_only_for_its_own_clients(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "--diff", "-e",
                          "sms_upgrade_report_dir=%s sms_upgrade_wave=central" % report_dir)
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert result.returncode == 0, "CENNT014 (profiles unread) is left out by the gate, named; the other clients of CEN go on"
    announce = " ".join(out.split("Say which wave")[1].split("TASK [")[0].split())
    assert "Wave central of upgrade plan" in announce and "sites CEN, in this order; this run acts on 21 of 38 host(s) " \
        "of the play (left out: 15 outside the wave, 2 not cleared by readiness report" in announce
    assert "P01NT006: outside wave central: site P01 is upgraded in wave branches" in out
    assert "S02NT001: outside wave central: site S02 stays on SMS 1.2" in out
    assert "CENNT099: snapshot.valid" in out
    assert "client_agents: 21 host(s): 3 to change, 0 with something that cannot be planned, 18 with nothing to do" in out
    assert "21 of 23 host(s) processed: 3 planned, 18 unchanged" in out
    assert "CENNT014: client.smsrun_registry" in out.split("Left out of phase client_agents")[1]
    applied = out.split("Client agents | turn off remote control and the SMSRUN")[1].split("PLAY [")[0]
    assert "-load=C:\\MS\\SMS\\BIN\\SMSRUN16.EXE NAV.EXE" in applied and "-start_mode: auto" in applied
    contacted = {line.split("[")[1].split(" ")[0].rstrip("]") for line in applied.splitlines() if line.startswith("changed: [")}
    assert contacted == {"CENNT013", "CEN95003", "CEN31001"}, "P01NT006 (wave branches) has changes too but is not planned"


def test_a_wave_the_plan_blocks_is_stopped_and_a_run_must_name_a_known_wave(report_dir):
    branches = run_playbook("sms.upgrade.client_agents", "--check", "-e", "sms_upgrade_report_dir=%s sms_upgrade_wave=branches"
                            % report_dir)
    assert branches.returncode != 0
    closed = " ".join(branches.stdout.split())
    assert "readiness gate closed for this phase (wave branches)" in closed and "(hierarchy)" in closed
    assert "Turn off the client agents" not in branches.stdout
    unnamed = run_playbook("sms.upgrade.client_agents", "--check", "-e", "sms_upgrade_report_dir=%s" % report_dir)
    assert "name the wave this run acts on: -e sms_upgrade_wave=<wave>" in unnamed.stdout
    unknown = run_playbook("sms.upgrade.client_agents", "--check", "-e", "sms_upgrade_report_dir=%s sms_upgrade_wave=nope" % report_dir)
    assert unknown.returncode != 0 and "wave 'nope' is not in upgrade plan" in unknown.stdout.replace("''", "'")
    assert "(waves, in order: central, branches)" in " ".join(unknown.stdout.split())


def test_rollback_without_a_journal_puts_back_nothing(tmp_path):
    result = run_playbook("sms.upgrade.client_agents_rollback", "--check", "-e", "sms_upgrade_journal_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "client_agents rollback: 38 host(s): 0 to change, 0 with something that cannot be planned, 38 with nothing to do" in result.stdout
    assert "38 of 38 host(s) processed: 38 unchanged" in result.stdout


def test_rollback_contacts_only_clients_with_a_journal_and_names_an_unreadable_one(tmp_path):
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.client_agents import plan_client
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import write_record
    with open(os.path.join(REPO, "inventories", "lab", "snapshots", "P01NT006.json"), encoding="utf-8") as handle:
        change = plan_client(json.load(handle))[0][0]
    write_record(str(tmp_path), "P01NT006", "client_agents", "20261125T080000Z", {"changes": [{"change": change, "status": "changed"}]})
    (tmp_path / "CENNT001").mkdir()
    (tmp_path / "CENNT001" / "client_agents-20261125T080000Z.json").write_text("{}", encoding="utf-8")
    result = run_playbook("sms.upgrade.client_agents_rollback", "--check", "--diff", "-e", "sms_upgrade_journal_dir=%s" % tmp_path)
    assert result.returncode == 2
    assert "+start_mode: auto\n+state: running" in result.stdout
    assert "38 of 38 host(s) processed: 1 planned, 36 unchanged, 1 failed" in result.stdout
    assert "CENNT001: not rolled back:" in result.stdout and "not an sms.upgrade journal record" in result.stdout


def test_rollback_of_a_wave_contacts_only_its_clients(tmp_path):
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.client_agents import plan_client
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import write_record
    for host in ("P01NT006", "CENNT013"):
        with open(os.path.join(REPO, "inventories", "lab", "snapshots", "%s.json" % host), encoding="utf-8") as handle:
            changes = [{"change": change, "status": "changed"} for change in plan_client(json.load(handle))[0]]
        write_record(str(tmp_path), host, "client_agents", "20261125T080000Z", {"changes": changes})
    result = run_playbook("sms.upgrade.client_agents_rollback", "--check", "-e",
                          "sms_upgrade_journal_dir=%s sms_upgrade_wave=branches" % tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "client_agents rollback: 13 host(s): 1 to change, 0 with something that cannot be planned, 12 with nothing to do" \
        in result.stdout
    assert "CENNT013: outside wave branches: site CEN is upgraded in wave central" in result.stdout
    assert "13 of 13 host(s) processed: 1 planned, 12 unchanged" in result.stdout
    unknown = run_playbook("sms.upgrade.client_agents_rollback", "--check", "-e", "sms_upgrade_journal_dir=%s sms_upgrade_wave=x"
                           % tmp_path)
    assert unknown.returncode != 0 and "(waves, in order: central, branches)" in " ".join(unknown.stdout.split())


def test_a_plan_that_does_not_load_stops_the_run_naming_wave_site_and_cause(tmp_path):
    lab = tmp_path / "lab"
    shutil.copytree(os.path.join(REPO, "inventories", "lab"), lab, ignore=shutil.ignore_patterns("snapshots"))
    plan = (lab / "upgrade_plan.yml").read_text(encoding="utf-8").replace("method: local_cd", "method: ftp")
    (lab / "upgrade_plan.yml").write_text(plan, encoding="utf-8")
    result = run_playbook("sms.upgrade.client_agents", "--check", "-e", "sms_upgrade_wave=central", inventory=str(lab / "hosts.yml"))
    assert result.returncode != 0 and "Traceback" not in result.stdout + result.stderr
    said = " ".join(result.stdout.replace("''", "'").split())
    assert "upgrade plan %s: wave 'branches', site S03, method: 'ftp' is not one of" % (lab / "upgrade_plan.yml") in said
