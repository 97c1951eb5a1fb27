"""The database playbook through ansible-playbook: check mode over the embedded lab, and real runs against the model.

Check mode runs over ``inventories/lab`` as it is: every host is in ``sms_snapshots_only``, so each SQL host is planned
from its snapshot and never contacted. The real runs use a copy of the lab whose two SQL hosts are reachable through a
management host (``mgmt01``, a local connection) and a lab SQL Server (``LABSQL01``) for the rehearsal. PowerShell
cannot run here, so the collection is mounted as an overlay (the approach of roles/windows_sim.py: a collections tree
whose stand-ins answer for what needs Windows): everything is the repository's, except the module
``sms.upgrade.database``, which is a Python stand-in answering from the SQL Server 6.5 model (fake_sql65.py) kept in a
JSON file. The action plugin, the room, the role and the playbook are the real ones.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

import collection_tree

from ..plugins.plugin_utils.phases import fake_sql65

REPO = collection_tree.REPO
LAB = os.path.join(REPO, "inventories", "lab")
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
STATE_ENV = "SMS_SQL65_STATE"
pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")

STAND_IN = '''#!/usr/bin/python
# A stand-in of sms.upgrade.database for the playbook tests: the SQL Server 6.5 model (fake_sql65) answers.
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sms.upgrade.plugins.module_utils.fake_sql65 import load, locked, save

OPTIONS = %r


def main():
    spec = dict((name, {"type": "raw"}) for name in OPTIONS)
    spec["login_password"]["no_log"] = True
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    path = os.environ["%s"]
    with locked(path):
        model = load(path)
        args = dict((k, v) for k, v in module.params.items() if v is not None)
        result = model.execute_module("sms.upgrade.database", args, {"inventory_hostname": "MGMT01"},
                                      check_mode=module.check_mode)
        save(model, path)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
'''


def module_options():
    """The module's options: its sidecar's and the doc fragment's (computer, share_map)."""
    with open(os.path.join(REPO, "plugins", "modules", "database.yml"), encoding="utf-8") as handle:
        return sorted(set(yaml.safe_load(handle)["DOCUMENTATION"]["options"]) | {"computer", "share_map"})


def build_collections(root):
    """``<root>/ansible_collections`` with sms.upgrade as an overlay of the repository and the model as its module."""
    base = os.path.join(root, "ansible_collections")
    collection = os.path.join(base, "sms", "upgrade")
    collection_tree.link_all(REPO, collection, skip=("plugins",))
    collection_tree.link_all(os.path.join(REPO, "plugins"), os.path.join(collection, "plugins"), skip=("modules", "module_utils"))
    collection_tree.link_all(os.path.join(REPO, "plugins", "modules"), os.path.join(collection, "plugins", "modules"),
                             skip=("database.ps1", "database.yml"))
    collection_tree.link_all(os.path.join(REPO, "plugins", "module_utils"), os.path.join(collection, "plugins", "module_utils"))
    shutil.copy(fake_sql65.__file__, os.path.join(collection, "plugins", "module_utils", "fake_sql65.py"))
    with open(os.path.join(collection, "plugins", "modules", "database.py"), "w", encoding="utf-8") as handle:
        handle.write(STAND_IN % (module_options(), STATE_ENV))
    collection_tree.link_dependencies(base)
    return root


def run_playbook(name, *extra, inventory=os.path.join(LAB, "hosts.yml"), collections=None, state=None):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections or collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    if state:
        env[STATE_ENV] = state
    return subprocess.run([PLAYBOOK, "-i", inventory, name] + list(extra), capture_output=True, text=True, env=env,
                          cwd=REPO, check=False)


@pytest.fixture(name="report_dir", scope="module")
def fixture_report_dir(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    result = run_playbook("sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % reports)
    assert result.returncode == 0, result.stdout[-2000:]
    return str(reports)


def recap(stdout, host):
    return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", re.search(r"^%s\s+:(.*)$" % host, stdout, re.M).group(1)))


def test_check_mode_over_the_lab_shows_every_sql_hosts_statements_and_why(report_dir, tmp_path):
    # Every SQL host of the lab, across its waves: the plan set aside (the whole inventory is one wave).
    result = run_playbook("sms.upgrade.database", "--check", "--diff", "-e", "sms_upgrade_report_dir=%s" % report_dir,
                          "-e", "sms_upgrade_vault_dir=%s" % (tmp_path / "vault"), "-e", "sms_upgrade_plan_file=")
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    assert "Traceback" not in out + result.stderr
    assert "-- CENSQL01 SMS_CEN: step site_db_size (PRE-14)\n-- why: The seed's \"Database Size\"" in out
    assert "ALTER DATABASE SMS_CEN ON SMS_CEN_DATA2 = 50\n" in out
    assert "EXEC master..sp_dboption 'SMS_CEN', 'trunc. log on chkpt.', 'true'" in out
    assert "-- P01SQL01 SMS_P01: step consistency (PRE-16, PRE-29)" in out and "DBCC NEWALLOC (SMS_P01)" in out
    assert "CONV20.EXE /S LABSQL01 /D SMS_CEN /U sa /P ********" in out
    assert "LABSQL01: rehearsal of SMS_P01 (P01SQL01) on LABSQL01: 1 planned" in out
    assert "'CENSQL01: database SMS_CEN on CENSQL01: 2 manual, 1 open, 6 planned'" in out
    assert "P01SQL01: database SMS_P01 on P01SQL01: 1 manual, 5 ok, 2 planned" in out
    assert not (tmp_path / "vault").exists(), "check mode writes nothing"


def test_a_wave_prepares_only_its_sql_hosts(report_dir, tmp_path):
    result = run_playbook("sms.upgrade.database", "--check", "-e", "sms_upgrade_report_dir=%s" % report_dir,
                          "-e", "sms_upgrade_vault_dir=%s" % (tmp_path / "vault"), "-e", "sms_upgrade_wave=central")
    out = result.stdout
    assert result.returncode == 0, out[-3000:]
    assert "P01SQL01: outside wave central: site P01 is upgraded in wave branches" in out
    assert "CENSQL01: database SMS_CEN on CENSQL01" in out and "P01SQL01: database SMS_P01" not in out
    assert "LABSQL01: rehearsal of SMS_CEN (CENSQL01) on LABSQL01" in out and "(P01SQL01)" not in out


def test_a_real_run_of_the_lab_snapshots_is_refused_by_name(report_dir, tmp_path):
    result = run_playbook("sms.upgrade.database", "--limit", "localhost,P01SQL01", "-e", "sms_upgrade_plan_file=", "-e",
                          "sms_upgrade_report_dir=%s" % report_dir, "-e", "sms_upgrade_vault_dir=%s" % (tmp_path / "vault"))
    assert result.returncode != 0
    assert "P01SQL01 is in sms_snapshots_only: the site database cannot be prepared from a saved snapshot" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def reachable_lab(tmp_path):
    """A copy of the lab whose SQL hosts are reached through mgmt01, with a lab SQL Server and the model's state."""
    lab = tmp_path / "lab"
    shutil.copytree(LAB, lab)
    path = lab / "hosts.yml"
    inventory = yaml.safe_load(path.read_text(encoding="utf-8"))
    children = inventory["all"]["children"]
    for host in ("CENSQL01", "P01SQL01", "LABSQL01"):
        del children["sms_snapshots_only"]["hosts"][host]
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    children["management"] = {"hosts": {"mgmt01": local}}
    path.write_text(yaml.safe_dump(inventory), encoding="utf-8")
    group_vars = lab / "group_vars" / "all.yml"
    group_vars.write_text(group_vars.read_text(encoding="utf-8") + "\n".join([
        "", "sms_upgrade_relay: mgmt01", "sms_upgrade_sql_user: sa", "sms_upgrade_sql_password: not-shown-anywhere",
        "sms_upgrade_conv20_path: 'E:\\SMSSETUP\\BIN\\X86.BIN\\CONV20.EXE'",
        "sms_upgrade_sql_queries: {duplicate_smsids: 'select SMSID, Name from {database}..MachineIdentity'}", ""]),
        encoding="utf-8")
    snapshots = [json.loads((lab / "snapshots" / ("%s.json" % host)).read_text(encoding="utf-8"))
                 for host in ("CENSQL01", "P01SQL01")]
    model = fake_sql65.FakeSql65.lab(*snapshots)
    lab_snapshot = json.loads(json.dumps(snapshots[0]))
    lab_snapshot.update(computer="LABSQL01", connections=[])
    for db in lab_snapshot["databases"]:
        if db["name"] == "SMS_CEN":   # the lab database must hold the grown production one
            db["devices"][0]["size_mb"] = db["data_mb"] = 400
    model.add_server("LABSQL01", fake_sql65.server_from_snapshot(lab_snapshot))
    p01 = dict(snapshots[1], computer="LABSQL01")
    model.server("LABSQL01")["databases"]["SMS_P01"] = fake_sql65.server_from_snapshot(p01)["databases"]["SMS_P01"]
    state = str(tmp_path / "model.json")
    fake_sql65.save(model, state)
    return str(path), state


def report_for(report_dir, inventory, target):
    """A copy of the lab's report, recorded for the copied inventory (the gate refuses a report of another inventory;
    the copy's snapshots are the lab's own, so the report still describes them)."""
    shutil.copytree(report_dir, target)
    path = os.path.join(target, "latest.json")
    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    report["inventory"] = dict(report["inventory"], sources=[inventory], dirs=[os.path.dirname(inventory)])
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle)
    return str(target)


def test_a_real_run_ends_verified_a_second_changes_nothing_and_readiness_sees_it(report_dir, tmp_path):
    collections = build_collections(str(tmp_path / "collections"))
    inventory, state = reachable_lab(tmp_path)
    report_dir = report_for(report_dir, inventory, tmp_path / "reports")
    vault = tmp_path / "vault"
    extra = ["-e", "sms_upgrade_report_dir=%s" % report_dir, "-e", "sms_upgrade_vault_dir=%s" % vault, "-e", "sms_upgrade_plan_file=",
             "-e", '{"database_approve": ["site_db_size", "tempdb"]}', "--limit", "localhost,CENSQL01,P01SQL01,LABSQL01"]
    first = run_playbook("sms.upgrade.database", *extra, inventory=inventory, collections=collections, state=state)
    assert first.returncode == 0, first.stdout[-4000:]
    out = first.stdout
    assert "Traceback" not in out + first.stderr and "not-shown-anywhere" not in out + first.stderr
    assert "'tempdb: verified: tempdb data 61 MB, log 12 MB" in out.replace("\n        ", " ")
    assert "'consistency: verified: DBCC CHECKDB, NEWALLOC, CHECKCATALOG clean'" in out
    assert "LABSQL01: rehearsal of SMS_CEN (CENSQL01) on LABSQL01: 1 verified" in out
    assert "LABSQL01: rehearsal of SMS_P01 (P01SQL01) on LABSQL01: 1 verified" in out
    model = fake_sql65.load(state)
    assert {"SMS_CEN_DATA2", "TEMPDB_DATA", "TEMPDB_LOG"} <= set(model.server("CENSQL01")["devices"])
    assert model.server("LABSQL01")["databases"]["SMS_CEN"]["converted"] is True
    assert (vault / "CEN" / "CENSQL01" / "database-record.json").exists()
    assert (vault / "P01" / "P01SQL01" / "database-record.json").exists()
    second = run_playbook("sms.upgrade.database", *extra, inventory=inventory, collections=collections, state=state)
    assert second.returncode == 0, second.stdout[-4000:]
    for host in ("CENSQL01", "P01SQL01", "LABSQL01"):
        assert recap(second.stdout, host)["changed"] == 0, (host, second.stdout[-3000:])
    readiness = run_playbook("sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "after"),
                             "-e", "sms_upgrade_vault_dir=%s" % vault, "-e", "sms_upgrade_plan_file=")
    assert readiness.returncode == 0, readiness.stdout[-2000:]
    with open(os.path.join(str(tmp_path / "after"), "latest.json"), encoding="utf-8") as handle:
        findings = dict(((f["host"], f["rule"]), f) for f in json.load(handle)["findings"])
    for rule in ("sql.site_db_size", "sql.tempdb_size", "sql.log_truncate_or_size", "manual.conversion_tested"):
        assert findings[("CENSQL01", rule)]["status"] == "pass", (rule, findings[("CENSQL01", rule)]["message"])
    assert findings[("P01SQL01", "manual.routine_maintenance")]["status"] == "pass"
    maintenance = findings[("CENSQL01", "manual.routine_maintenance")]
    assert maintenance["status"] == "fail" and "step duplicates: manual" in maintenance["message"]
