"""The preserve playbook through ansible-playbook over the embedded lab, and the readiness report fed by the vault."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

import collection_tree
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp

from ..plugins.plugin_utils.phases.fake_host import FakeHost, preserve_run

REPO = collection_tree.REPO
LAB = os.path.join(REPO, "inventories", "lab", "hosts.yml")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")


def playbook(name, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    return subprocess.run([PLAYBOOK, "-i", LAB, name] + list(extra), capture_output=True, text=True, env=env, cwd=REPO,
                          check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("reports")
    result = playbook("sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % directory)
    assert result.returncode == 0, result.stdout[-3000:]
    return directory


def findings(report_dir):
    with open(os.path.join(str(report_dir), "latest.json"), encoding="utf-8") as handle:
        return {(f["host"], f["rule"]): f for f in json.load(handle)["findings"]}


def test_check_mode_plans_every_server_from_its_snapshot(report, tmp_path):
    vault = tmp_path / "vault"
    result = playbook("sms.upgrade.preserve", "--check", "--diff", "-e", "sms_upgrade_report_dir=%s" % report,
                      "-e", "sms_upgrade_vault_dir=%s" % vault, "-e", "sms_upgrade_wave=central")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "CENSRV01: 21 file(s) or document(s) would be copied" in result.stdout
    for item in ("collected_files/00000004.COL", "package_definition_files/D/PDF/OFFICE97.PDF", "logon_scripts/netlogon/SMSLS.BAT",
                 "registry/SMS-registry.reg", "site_documents/site-properties.md"):
        assert item in result.stdout.replace("\n        ", " ")
    assert "CENSQL01: 4 file(s) or document(s) would be copied" in result.stdout
    assert "database_documents/database-summary.md" in result.stdout
    # Scoped by the plan: the servers of wave central (site CEN) are planned, the others named and left out.
    assert "P01SRV01: outside wave central: site P01 is upgraded in wave branches" in result.stdout
    assert "P01SRV01: " not in result.stdout.split("Preserve | copy to the host")[1]
    assert "this run acts on 4 of 9 host(s) of the play (left out: 5 outside the wave)" in " ".join(result.stdout.split())
    assert not vault.exists()
    assert "Traceback" not in result.stdout + result.stderr


LAB_SERVERS = ("CENSRV01", "P01SRV01", "S01SRV01", "S02SRV01", "S03SRV01", "CENHLP01", "CENLOG01", "CENSQL01", "P01SQL01")


def task_sections(stdout):
    """``[(task name, its output lines)]`` in the order the play printed them."""
    sections = []
    for line in stdout.splitlines():
        banner = re.match(r"^TASK \[(.*)\] \**$", line)
        if banner:
            sections.append((banner.group(1), []))
        elif sections:
            sections[-1][1].append(line)
    return sections


def test_check_mode_says_per_host_what_would_change_and_announces_each_task_once(report, tmp_path):
    # Every server of the lab, across its waves: a run without a wave (the plan set aside with an empty
    # sms_upgrade_plan_file, so the whole inventory is one wave).
    result = playbook("sms.upgrade.preserve", "--check", "-e", "sms_upgrade_report_dir=%s" % report,
                      "-e", "sms_upgrade_vault_dir=%s" % (tmp_path / "vault"), "-e", "sms_upgrade_plan_file=")
    assert result.returncode == 0, result.stdout[-3000:]
    sections = task_sections(result.stdout)
    names = [name for name, _lines in sections]
    assert sorted(set(names)) == sorted(names), [n for n in names if names.count(n) > 1]  # no task repeated per host
    role = {name: lines for name, lines in sections if name.startswith("sms.upgrade.preserve : Preserve |")}
    copy_task = next(lines for name, lines in role.items() if "copy to the host and the vault" in name)
    said = next(lines for name, lines in role.items() if "what would be copied" in name)
    for host in LAB_SERVERS:
        assert "changed: [%s -> localhost]" % host in copy_task
        assert re.search(r"msg: '%s: \d+ file\(s\) or document\(s\) would be copied, \d+ bytes" % host, "\n".join(said)), host
    assert not [line for lines in role.values() for line in lines if line.startswith("skipping:")]
    recap = dict(re.findall(r"^(\w+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M))
    assert all(recap[host] == "1" for host in LAB_SERVERS), recap


def test_a_host_the_report_does_not_clear_is_left_out_by_name_and_the_others_go_on(report, tmp_path):
    blocked = tmp_path / "reports"
    shutil.copytree(str(report), str(blocked))
    with open(str(blocked / "latest.json"), encoding="utf-8") as handle:
        data = json.load(handle)
    for finding in data["findings"]:
        if (finding["host"], finding["rule"]) == ("CENLOG01", "snapshot.valid"):
            finding.update(status="fail", blocks=True, message="the snapshot is unreadable")
    # The gate recomputes blocking from the findings: the host and the summary must say the same.
    host = next(h for h in data["hosts"] if h["host"] == "CENLOG01")
    data["summary"]["blocked_hosts"] += 0 if host["blocked"] else 1
    data["summary"]["counts"]["blocking"] += 1
    host["blocked"] = True
    with open(str(blocked / "latest.json"), "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    result = playbook("sms.upgrade.preserve", "--check", "-e", "sms_upgrade_report_dir=%s" % blocked,
                      "-e", "sms_upgrade_vault_dir=%s" % (tmp_path / "vault"), "-e", "sms_upgrade_wave=central")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "CENLOG01: snapshot.valid [] the snapshot is unreadable" in result.stdout
    assert "CENLOG01: " not in result.stdout.split("TASK [Preserve each host]", 1)[1]
    assert "CENSRV01: 21 file(s) or document(s) would be copied" in result.stdout
    assert re.search(r"^CENLOG01\s+: ok=\d+\s+changed=0", result.stdout, re.M)


def test_without_check_mode_the_lab_is_refused_by_name(report, tmp_path):
    result = playbook("sms.upgrade.preserve", "--limit", "localhost,CENSRV01", "-e", "sms_upgrade_wave=central",
                      "-e", "sms_upgrade_report_dir=%s" % report,
                      "-e", "sms_upgrade_vault_dir=%s" % (tmp_path / "vault"))
    assert result.returncode != 0
    assert "CENSRV01 is in sms_snapshots_only: nothing can be copied from a saved snapshot; run with --check" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_the_gate_stops_the_phase_on_a_stale_report(report, tmp_path):
    result = playbook("sms.upgrade.preserve", "--check", "-e", "sms_upgrade_report_dir=%s" % report, "-e", "sms_upgrade_wave=central",
                      "-e", "sms_upgrade_report_max_age=0h", "-e", "sms_upgrade_vault_dir=%s" % (tmp_path / "vault"))
    assert result.returncode != 0 and "readiness gate closed for this phase" in result.stdout
    assert "would be copied" not in result.stdout


def lab_host(snapshot_dir):
    """CENSRV01 of the lab as a live host: the files its snapshot lists, with made-up content, and a copy of the lab
    snapshots in ``snapshot_dir`` whose CENSRV01 lists that content's size and SHA-256 (as a gather of it would)."""
    source = os.path.join(REPO, "inventories", "lab", "snapshots")
    os.makedirs(snapshot_dir)
    for name in os.listdir(source):
        shutil.copy(os.path.join(source, name), os.path.join(snapshot_dir, name))
    with open(os.path.join(source, "CENSRV01.json"), encoding="utf-8") as handle:
        snapshot = json.load(handle)
    files = {}
    for name, entries in snapshot["sms_tree"].items():
        if name == "root":
            continue
        for entry in entries:
            data = ("content of %s" % entry["path"]).encode("utf-8")
            files[entry["path"]] = data
            entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())
    with open(os.path.join(snapshot_dir, "CENSRV01.json"), "w", encoding="utf-8") as handle:
        json.dump(snapshot, handle)
    return FakeHost(files)


def test_a_verified_vault_makes_the_preserve_rules_pass(tmp_path):
    reports, vault, snapshots = tmp_path / "reports", tmp_path / "vault", tmp_path / "snapshots"
    host = lab_host(str(snapshots))
    readiness = ("sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % reports,
                 "-e", "sms_upgrade_vault_dir=%s" % vault, "-e", "sms_upgrade_snapshot_dir=%s" % snapshots)
    assert playbook(*readiness).returncode == 0
    before = findings(reports)
    assert before[("CENSRV01", "preserve.collected_files")]["status"] == "fail"
    assert before[("CENSRV01", "site.smsls_bat")]["status"] == "fail"
    outcome = preserve_run(host, now=iso_stamp(),
                           host="CENSRV01", site="CEN", vault_root=str(vault), extra_sources=[
                               {"category": "package_definition_files", "path": "D:\\PDF", "include": ["*.PDF"]}])
    assert outcome["problems"] == []
    result = playbook(*readiness)
    assert result.returncode == 0, result.stdout[-3000:]
    after = findings(reports)
    for rule in ("preserve.xnf_files", "preserve.package_definition_files", "preserve.mif_files", "preserve.collected_files",
                 "preserve.mstest_files", "preserve.logon_scripts", "preserve.site_control", "site.smsls_bat"):
        assert after[("CENSRV01", rule)]["status"] == "pass", (rule, after[("CENSRV01", rule)]["message"])
    assert "verified in the vault with the snapshot's SHA-256 at" in after[("CENSRV01", "preserve.collected_files")]["message"]
    assert after[("P01SRV01", "preserve.package_definition_files")]["status"] == "fail"
    # the lab's own snapshot lists other content than the vault holds: the rules see it, file by file
    stale = playbook("sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % reports,
                     "-e", "sms_upgrade_vault_dir=%s" % vault)
    assert stale.returncode == 0, stale.stdout[-3000:]
    message = findings(reports)[("CENSRV01", "preserve.collected_files")]["message"]
    assert findings(reports)[("CENSRV01", "preserve.collected_files")]["status"] == "fail"
    assert "4 changed since they were preserved" in message and "00000001.COL" in message
    # a vault file damaged afterwards is caught by the next assessment
    damaged = vault / "CEN" / "CENSRV01" / "v1" / "collected_files" / "00000003.COL"
    damaged.write_bytes(b"bit rot")
    assert playbook(*readiness).returncode == 0
    damaged_finding = findings(reports)[("CENSRV01", "preserve.collected_files")]
    assert damaged_finding["status"] == "fail" and "00000003.COL" in damaged_finding["message"]


def test_restore_needs_a_selection_and_a_vault(tmp_path):
    missing = playbook("sms.upgrade.restore", "--check", "--limit", "CENSRV01")
    assert missing.returncode != 0 and "Name the files to restore with -e" in missing.stdout
    empty = playbook("sms.upgrade.restore", "--check", "--limit", "CENSRV01", "-e", "sms_upgrade_vault_dir=%s" % tmp_path,
                     "-e", '{"restore_select": ["package_definition_files/*"]}')
    assert empty.returncode != 0
    assert "CENSRV01: nothing preserved for CENSRV01: no vault manifest" in empty.stdout
    assert "Traceback" not in empty.stdout + empty.stderr
