"""The client_agents playbooks over the embedded lab through ansible-playbook: gate per host, plan and diff, summary."""
import os
import subprocess
import sys

import pytest

import collection_tree

REPO = collection_tree.REPO
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
LAB = os.path.join(REPO, "inventories", "lab", "hosts.yml")
pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")


def run_playbook(playbook, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CALLBACK_RESULT_FORMAT="json", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    return subprocess.run([PLAYBOOK, "-i", LAB, playbook] + list(extra), capture_output=True, text=True, env=env,
                          cwd=REPO, check=False)


@pytest.fixture(name="report_dir", scope="module")
def fixture_report_dir(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    result = run_playbook("sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % reports)
    assert result.returncode == 0, result.stdout[-2000:]
    return str(reports)


def test_check_mode_plans_every_client_and_names_the_ones_it_cannot(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "--diff", "-e", "sms_upgrade_report_dir=%s" % report_dir)
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert result.returncode == 2, "CENNT014 (profiles unread) fails; the others go on"
    assert "-load=C:\\MS\\SMS\\BIN\\SMSRUN16.EXE NAV.EXE\n-run=SMSRUN16.EXE\n+load=NAV.EXE\n+run=\n" in out
    assert "-start_mode: auto\n-state: running\n+start_mode: disabled\n+state: stopped" in out
    assert "CORP\\akumar (C:\\WINNT\\Profiles\\akumar\\NTUSER.DAT)" in out
    assert "CENNT099: left out of phase client_agents by readiness report" in out
    assert "37 of 38 host(s) processed: 4 planned, 32 unchanged, 1 failed" in out
    assert "failed CENNT014: CENNT014: client_agents: nothing applied; not planned: per-user Load/Run values" in out
    assert "not run (left out by the gate, failed earlier, or in a batch not reached): CENNT099" in out


def test_batches_show_progress(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "--limit", "CEN95*:CENNT00*", "-e",
                          "sms_upgrade_report_dir=%s sms_upgrade_client_batch=5" % report_dir)
    assert result.returncode == 0, result.stdout[-2000:]
    progress = [line.strip() for line in result.stdout.splitlines() if "batch ending at client" in line]
    assert progress[0].startswith('"msg": "batch ending at client 5 of 12: 5 of 5 host(s) processed')
    assert progress[-1].startswith('"msg": "batch ending at client 12 of 12: 2 of 2 host(s) processed')
    assert "12 of 12 host(s) processed: 1 planned, 11 unchanged" in result.stdout


def test_a_failed_client_counts_in_its_batch_and_against_the_threshold(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "--limit", "CENNT01*", "-e",
                          "sms_upgrade_report_dir=%s sms_upgrade_client_batch=5 sms_upgrade_client_max_fail_percentage=0" % report_dir)
    assert result.returncode != 0
    assert "batch ending at client 5 of 5: 5 of 5 host(s) processed: 1 planned, 3 unchanged, 1 failed" in result.stdout
    assert "MAX FAIL PERCENTAGE" in result.stdout.upper() or "NO MORE HOSTS LEFT" in result.stdout.upper()


def test_a_stale_report_stops_every_client(report_dir):
    result = run_playbook("sms.upgrade.client_agents", "--check", "-e",
                          "sms_upgrade_report_dir=%s sms_upgrade_report_max_age=0h" % report_dir)
    assert result.returncode != 0
    assert "readiness gate closed for this phase" in result.stdout and "days old" in result.stdout
    assert "TASK [sms.upgrade.client_agents : Client agents | turn off" not in result.stdout


def test_rollback_without_a_journal_puts_back_nothing(tmp_path):
    result = run_playbook("sms.upgrade.client_agents_rollback", "--check", "-e", "sms_upgrade_journal_dir=%s" % tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    assert "37 of 38 host(s) processed: 38 unchanged" not in result.stdout
    assert "38 of 38 host(s) processed: 38 unchanged" in result.stdout
