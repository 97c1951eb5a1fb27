"""The sms.upgrade.hierarchy inventory plugin through the real Ansible tools, against the installed collection tree:
the lab's groups and host variables match the hand-written hosts.yml where they overlap, a generated hierarchy
parses, readiness runs over it, the cache is used, bad sources are clear errors, and ansible-doc renders."""
import json
import os
import shutil
import subprocess
import sys

import pytest

import collection_tree

REPO = collection_tree.REPO
LAB = os.path.join(REPO, "inventories", "lab")
BIN = os.path.dirname(sys.executable)
pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(BIN, "ansible-inventory")),
                                reason="ansible-inventory is not installed next to python")


def run(tool, *args, **env):
    environment = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
                       ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), **env)
    return subprocess.run([os.path.join(BIN, tool)] + list(args), capture_output=True, text=True, env=environment,
                          cwd=REPO, check=False)


def plain(value):
    """A value as the plugin set it: ansible-inventory marks text from an inventory plugin as unsafe (never templated)."""
    if isinstance(value, dict):
        return value["__ansible_unsafe"] if set(value) == {"__ansible_unsafe"} else {k: plain(v) for k, v in value.items()}
    return [plain(item) for item in value] if isinstance(value, list) else value


def listed(source):
    """``(groups: {group: every host below it}, hostvars)`` of ``ansible-inventory --list``."""
    result = run("ansible-inventory", "-i", source, "--list")
    assert result.returncode == 0 and "WARNING" not in result.stderr, result.stderr
    data = json.loads(result.stdout)

    def hosts(group):
        entry = data.get(group, {})
        found = set(entry.get("hosts", []))
        for child in entry.get("children", []):
            found |= hosts(child)
        return found
    return {group: hosts(group) for group in data if group != "_meta"}, plain(data["_meta"]["hostvars"])


def test_lab_groups_and_hostvars_match_the_hand_written_inventory_where_they_overlap():
    hand_groups, hand_vars = listed(os.path.join(LAB, "hosts.yml"))
    groups, hostvars = listed(os.path.join(LAB, "hierarchy.sms.yml"))
    common = set(hand_vars) & set(hostvars)
    assert set(hand_vars) - common == {"CENNT099", "LABSQL01"}  # never gathered; the rehearsal server: no snapshot
    assert set(hostvars) == common
    for group, hand_hosts in hand_groups.items():
        if group in ("all", "ungrouped", "sms_lab_sql"):
            continue
        assert groups[group] == hand_hosts & common, group
    for host in common:
        shared = set(hand_vars[host]) & set(hostvars[host])
        assert {k: hand_vars[host][k] for k in shared} == {k: hostvars[host][k] for k in shared}, host
        assert "sms_upgrade_snapshot_dir" in shared
    assert groups["sms_wave_branches"] == groups["sms_site_P01"] | groups["sms_site_S01"] | groups["sms_site_S03"]
    assert hostvars["CENNT011"]["sms_smsid"] == "CEN00042" and hostvars["P01DOS01"]["sms_os_family"] == "ms_dos"


def test_graph_of_a_generated_hierarchy(tmp_path):
    subprocess.run([sys.executable, os.path.join(REPO, "tests", "perf", "generate_fleet.py"), "--clients", "200",
                    "--out", str(tmp_path)], check=True, capture_output=True)
    result = run("ansible-inventory", "-i", str(tmp_path / "hierarchy.sms.yml"), "--graph")
    assert result.returncode == 0 and "WARNING" not in result.stderr, result.stderr
    assert "@sms_tier_secondary:" in result.stdout and "|--S03C000004" in result.stdout
    groups, _hostvars = listed(str(tmp_path / "hierarchy.sms.yml"))
    hand_groups, _hand_vars = listed(str(tmp_path / "hosts.yml"))
    assert len(groups["sms_clients"]) == 200
    for group in ("sms_clients", "sms_sql", "sms_site_servers", "sms_site_P01", "sms_snapshots_only"):
        assert groups[group] == hand_groups[group] - {"LABSQL01"}, group


def test_readiness_runs_over_the_plugin_inventory(tmp_path):
    lab = tmp_path / "lab"
    shutil.copytree(LAB, lab)
    result = run("ansible-playbook", "-i", str(lab / "hierarchy.sms.yml"), "sms.upgrade.readiness", "--check",
                 "-e", "sms_upgrade_report_dir=%s" % (tmp_path / "reports"))
    assert result.returncode == 0, result.stdout[-3000:]
    with open(tmp_path / "reports" / "latest.json", encoding="utf-8") as handle:
        report = json.load(handle)
    assert report["summary"]["hosts"] == 46
    rules = {(f["host"], f["rule"]): f["status"] for f in report["findings"]}
    assert rules[("CENNT013", "client.remote_control_agent")] == "fail"
    assert rules[("CENSQL01", "sql.duplicate_smsids")] == "fail"


def test_the_inventory_cache_is_used(tmp_path):
    lab = tmp_path / "lab"
    shutil.copytree(LAB, lab)
    config = lab / "hierarchy.sms.yml"
    config.write_text("plugin: sms.upgrade.hierarchy\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                      "cache_connection: %s\n" % (tmp_path / "cache"), encoding="utf-8")
    first = run("ansible-inventory", "-i", str(config), "--list")
    assert first.returncode == 0 and os.listdir(tmp_path / "cache"), first.stderr
    os.remove(lab / "snapshots" / "S03NT001.json")
    cached = json.loads(run("ansible-inventory", "-i", str(config), "--list").stdout)
    assert "S03NT001" in cached["sms_site_S03"]["hosts"]
    flushed = json.loads(run("ansible-inventory", "-i", str(config), "--list", "--flush-cache").stdout)
    assert "S03NT001" not in flushed["sms_site_S03"]["hosts"]


@pytest.mark.parametrize("config, cause", [
    ("plugin: sms.upgrade.hierarchy\nsnapshot_dir: nowhere\n", "snapshot directory %(dir)s/nowhere cannot be read"),
    ("plugin: sms.upgrade.hierarchy\nupgrade_plan: missing.yml\n", "upgrade_plan %(dir)s/missing.yml does not exist"),
    ("plugin: sms.upgrade.hierarchy\nupgrade_plan: bad_plan.yml\n", "upgrade plan %(dir)s/bad_plan.yml: "),
    ("plugin: sms.upgrade.hierarchy\nrelays:\n  - relay: mgmt01\n    site: [CEN]\n", "relays rule #1: unknown key site"),
])
def test_a_bad_source_names_the_file_and_the_cause(tmp_path, config, cause):
    shutil.copytree(os.path.join(LAB, "snapshots"), tmp_path / "snapshots")
    (tmp_path / "bad_plan.yml").write_text("schema_version: 1\nwaves: []\n", encoding="utf-8")
    source = tmp_path / "broken.sms.yml"
    source.write_text(config, encoding="utf-8")
    result = run("ansible-inventory", "-i", str(source), "--list", ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    assert result.returncode != 0
    output = " ".join(result.stderr.split())
    assert "%s: %s" % (source, cause % {"dir": tmp_path}) in output, result.stderr
    assert "Traceback" not in result.stderr


def test_ansible_doc_renders():
    result = run("ansible-doc", "-t", "inventory", "sms.upgrade.hierarchy")
    assert result.returncode == 0, result.stderr
    assert "relays" in result.stdout and "snapshots_only" in result.stdout and "EXAMPLES" in result.stdout
