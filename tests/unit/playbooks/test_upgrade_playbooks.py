"""The post_upgrade and client_upgrade playbooks through ansible-playbook: check mode over the lab with site CEN
upgraded (a copy of the lab snapshots with SMS 2.0 values, as the re-gather after the site upgrade shows it), and real
runs against the models (the SMS 2.0 site CENSRV01 and clients going from 1.2 to 2.0) through model_overlay.py."""
import json
import os
import re

import pytest
import yaml

from ..plugins.plugin_utils.phases import upgrade_lab
from ..plugins.plugin_utils.phases.fake_client20 import FakeClient20
from ..plugins.plugin_utils.phases.fake_site20 import FakeSite20, model_overrides
from .model_overlay import PLAYBOOK, build_collections, load_model, run_playbook, save_model

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")
WHO = {"by": "jdoe", "at": "2026-11-22"}
SITE_VARS = {
    "sms_upgrade_site_settings": {"boundaries": [{"ip_subnet": "10.1.0.0/16"}],
                                  "discovery_methods": ["windows_networking_logon_discovery"],
                                  "client_installation_methods": ["windows_networking_logon_client_installation"]},
    "sms_upgrade_client_method": "installation_wizard",
    "sms_upgrade_logon_point": "CENSRV01",
    "sms_upgrade_post_upgrade_preserve": False,
}
DONE = {"sms_upgrade_post_upgrade_scripted": ["boundaries", "discovery_methods", "client_installation_methods"],
        "sms_upgrade_provider_overrides": model_overrides(),
        "sms_upgrade_post_upgrade_confirmations": {
            "tree_backup": dict(WHO, decision="backed_up"), "emergency_repair_disk": dict(WHO, decision="made"),
            "security": dict(WHO, decision="recreated"), "queries": dict(WHO, decision="not_needed"),
            "job:CEN00117": dict(WHO, decision="recreated"), "job:CEN00090": dict(WHO, decision="not_needed"),
            "file_collection": dict(WHO, decision="configured"),
            "logon_script:netlogon/SMSLS.BAT": dict(WHO, decision="merged")}}
LIVE = ("CENSRV01", "CENNT013", "CENNT001", "CEN95001", "CENNT003", "CENNT002", "CENMAC01", "CENDOS01")


def _write_yaml(path, data):
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(data, handle)


@pytest.fixture(name="lab", scope="module")
def fixture_lab(tmp_path_factory):
    """The lab with CEN on SMS 2.0, its vault, site variables, a readiness report, and a live inventory for the models."""
    root = tmp_path_factory.mktemp("upgraded")
    lab = upgrade_lab.copy_lab(root / "lab")
    upgrade_lab.upgraded_snapshots(os.path.join(lab, "snapshots"))
    upgrade_lab.cen_vault(os.path.join(lab, "vault"))
    _write_yaml(os.path.join(lab, "group_vars", "sms_site_CEN.yml"), SITE_VARS)
    reports = str(root / "reports")
    result = run_playbook("sms.upgrade.readiness", os.path.join(lab, "hosts.yml"), "--check",
                          "-e", "sms_upgrade_report_dir=%s" % reports)
    assert result.returncode == 0, result.stdout[-3000:]
    with open(os.path.join(lab, "hosts.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    children = inventory["all"]["children"]
    for host in LIVE:
        del children["sms_snapshots_only"]["hosts"][host]
    children["management"] = {"hosts": {"mgmt01": {"ansible_connection": "local",
                                                   "ansible_python_interpreter": os.path.join(os.path.dirname(PLAYBOOK), "python")}}}
    _write_yaml(os.path.join(lab, "live.yml"), inventory)
    os.makedirs(os.path.join(lab, "host_vars"), exist_ok=True)
    _write_yaml(os.path.join(lab, "host_vars", "CEN95001.yml"), {"sms_upgrade_client_method": "logon_installation"})
    _write_yaml(os.path.join(lab, "host_vars", "CENNT003.yml"), {"sms_upgrade_client_watch_hours": 0})
    collections = build_collections(str(root / "collections"), ["post_upgrade", "client_upgrade", "client_facts", "client_agents"])
    return {"dir": lab, "reports": reports, "collections": collections, "root": root}


def models(lab, name, site=None):
    """The models of this test's machines: the upgraded site CENSRV01 and the live clients."""
    directory = str(lab["root"] / name)
    site = site or FakeSite20(upgrade_lab.lab_snapshot("CENSRV01"), upgrade_lab.lab_snapshot("CENSQL01"),
                              [upgrade_lab.lab_snapshot(h) for h in ("CENNT001", "CENNT013", "CEN95001", "CENNT003")],
                              files={upgrade_lab.NETLOGON_SMSLS: upgrade_lab.SMSLS_20})
    save_model(directory, "CENSRV01", "site", site)
    behaviour = {"CENNT013": "start", "CENNT001": "start", "CEN95001": "logon", "CENNT003": "never"}
    for host, how in behaviour.items():
        save_model(directory, host, "client", FakeClient20(upgrade_lab.lab_snapshot(host), behaviour=how))
    return directory


def play(lab, name, *extra, live=False, state=None, wave="central"):
    inventory = os.path.join(lab["dir"], "live.yml" if live else "hosts.yml")
    args = ["-e", "sms_upgrade_report_dir=%s" % lab["reports"], "-e", "sms_upgrade_wave=%s" % wave,
            "-e", "sms_upgrade_records_dir=%s" % (lab["root"] / ("records-" + (os.path.basename(state) if state else "check")))]
    if live:
        args += ["-e", "sms_upgrade_relay=mgmt01"]
    return run_playbook(name, inventory, *(args + list(extra)), collections=lab["collections"] if live else None, models=state)


def recap(stdout, host):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", re.search(r"^%s\s+:(.*)$" % host, stdout, re.M).group(1))}


def flat(text):
    return " ".join(text.split())


def test_post_upgrade_check_mode_shows_the_plan_of_the_upgraded_site_and_changes_nothing(lab):
    result = play(lab, "sms.upgrade.post_upgrade", "--check", "--diff")
    out = flat(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert "CENSRV01: post_upgrade: site CEN planned:" in out
    assert "read through root\\SMS\\site_CEN on CENSRV01: SMS_Collection, SMS_DistributionPoint, SMS_Package" in out
    assert "POST-02 boundary ip_subnet 10.1.0.0/16: read back, manual step if missing" in out
    assert "POST-01 database_dump: done" in out and "POST-01 emergency_repair_disk: pending" in out
    assert "POST-05 logon_script:netlogon/SMSLS.BAT: pending" in out and "POST-05 job:CEN00117: pending" in out
    assert "P01SRV01: outside wave central: site P01 is upgraded in wave branches" in out
    assert "CEN: post-upgrade planned; clients: 0 upgraded, 23 pending, 0 staying on 1.2, 0 failed (of 23)" in out
    assert "S02: stays on SMS 1.2" in out and "2 staying on 1.2" in out
    assert not os.path.exists(lab["root"] / "records-check"), "check mode writes no record"


def test_client_upgrade_check_mode_groups_the_clients_and_touches_none_before_the_site_is_ready(lab):
    result = play(lab, "sms.upgrade.client_upgrade", "--check")
    out = flat(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert "CENMAC01: client_upgrade: stays on 1 2: SMS 2.0 does not support macintosh" not in out
    assert "CENMAC01: client_upgrade: stays on 1.2: SMS 2.0 does not support macintosh: it stays on SMS 1.2; move it into kept site S02" in out
    assert "CENDOS01: client_upgrade: needs os upgrade: SMS 2.0 does not support ms_dos; the upgrade plan upgrades its OS first" in out
    assert ("CENNT013: client_upgrade: pending: not touched until: site CEN has no post-upgrade record: run "
            "sms.upgrade.post_upgrade for it first (POST-02)") in out
    assert "before the upgrade remove (client_agents room): CORP\\jsmith" in out
    assert "S02NT001: outside wave central: site S02 stays on SMS 1.2" in out
    assert "batch ending at client 22 of 22: 0 upgraded, 19 pending, 3 staying on 1.2, 0 failed" in out
    assert "CEN: post-upgrade not run; clients: 0 upgraded, 20 pending, 3 staying on 1.2, 0 failed (of 23)" in out


def test_real_runs_against_the_models_end_verified_and_a_second_run_changes_nothing(lab):
    state = models(lab, "models-ok")
    extra = ["-e", json.dumps(DONE), "--limit", "localhost,mgmt01,CENSRV01,CENNT013,CENNT001,CEN95001,CENMAC01,CENDOS01"]
    site = play(lab, "sms.upgrade.post_upgrade", "--diff", *extra, live=True, state=state)
    out = flat(site.stdout)
    assert site.returncode == 0, site.stdout[-4000:]
    assert "Traceback" not in site.stdout + site.stderr
    assert "CENSRV01: post_upgrade: site CEN verified: every post-upgrade step done and verified" in out
    assert "+AssignDetails: [10.1.0.0]" in site.stdout.replace("\n", " ") or "AssignDetails: [10.1.0.0]" in site.stdout
    assert recap(site.stdout, "CENSRV01")["changed"] == 1
    model = load_model(state, "CENSRV01")
    assert model.classes["SMS_SCI_SiteAssignment"][0]["AssignTypes"] == ["IP Subnet"]
    again = play(lab, "sms.upgrade.post_upgrade", *extra, live=True, state=state)
    assert again.returncode == 0 and recap(again.stdout, "CENSRV01")["changed"] == 0, again.stdout[-3000:]
    clients = play(lab, "sms.upgrade.client_upgrade", "--diff", *extra, live=True, state=state)
    out = flat(clients.stdout)
    assert clients.returncode == 0, clients.stdout[-4000:]
    assert "Traceback" not in clients.stdout + clients.stderr
    assert "-C:\\MS\\SMS\\BIN\\SMSRUN32.EXE C:\\TOOLS\\CLOCK.EXE" in clients.stdout, "CLI-04: SMSRUN removed just before"
    for host in ("CENNT013", "CENNT001"):
        assert recap(clients.stdout, host)["changed"] == 1, host
        assert load_model(state, host).upgraded and load_model(state, host).started.upper().endswith("SMSMAN.EXE"), host
    assert load_model(state, "CEN95001").upgraded and recap(clients.stdout, "CEN95001")["changed"] == 0, \
        "logon installation: nothing to push, the run watched it come over"
    assert "CEN: post-upgrade verified; clients: 3 upgraded, 18 pending, 2 staying on 1.2, 0 failed (of 23)" in out
    runs = os.listdir(str(lab["root"] / "records-models-ok" / "runs"))
    assert len([r for r in runs if r.startswith("client_upgrade-central-")]) == 1
    with open(str(lab["root"] / "records-models-ok" / "progress.json"), encoding="utf-8") as handle:
        progress = json.load(handle)
    assert progress["sites"]["CEN"]["clients"]["upgraded"] == 3 and progress["sites"]["CEN"]["post_upgrade"]["status"] == "verified"
    assert progress["sites"]["S02"]["kept_on_1_2"].startswith("Holds the Macintosh")
    second = play(lab, "sms.upgrade.client_upgrade", *extra, live=True, state=state)
    assert second.returncode == 0, second.stdout[-3000:]
    for host in ("CENNT013", "CENNT001", "CEN95001", "CENMAC01", "CENDOS01"):
        assert recap(second.stdout, host)["changed"] == 0, host


def test_failures_are_named_a_client_that_never_comes_over_an_unreachable_one_and_a_provider_access_denied(lab):
    state = models(lab, "models-bad")
    extra = ["-e", json.dumps(DONE), "--limit", "localhost,mgmt01,CENSRV01,CENNT003,CENNT002"]
    assert play(lab, "sms.upgrade.post_upgrade", *extra, live=True, state=state).returncode == 0
    first = play(lab, "sms.upgrade.client_upgrade", *extra, live=True, state=state)
    out = flat(first.stdout)
    assert first.returncode == 0, first.stdout[-3000:]
    assert "unreachable: CENNT002 (cannot read the client: The network path was not found" in out
    with open(str(lab["root"] / "records-models-bad" / "progress.json"), encoding="utf-8") as handle:
        pending = {p["host"]: p for p in json.load(handle)["sites"]["CEN"]["pending"]}
    assert pending["CENNT003"]["status"] == "started" and pending["CENNT003"]["reason"].startswith("SMSMAN.EXE started since")
    assert pending["CENNT002"]["status"] == "unreachable"
    second = play(lab, "sms.upgrade.client_upgrade", *extra, "-e", "sms_upgrade_client_max_fail_percentage=100", live=True,
                  state=state)
    out = flat(second.stdout)
    assert second.returncode == 2, second.stdout[-3000:]
    assert "CENNT003: client_upgrade: failed: did not come over within 0 h of" in out and "sms_ini_gone" in out
    assert "failed: CENNT003 (did not come over within 0 h" in out
    denied = FakeSite20(upgrade_lab.lab_snapshot("CENSRV01"), upgrade_lab.lab_snapshot("CENSQL01"))
    denied.access_denied = True
    state = models(lab, "models-denied", site=denied)
    result = play(lab, "sms.upgrade.post_upgrade", *extra, live=True, state=state)
    assert result.returncode == 2
    assert "the SMS Provider root\\SMS\\site_CEN on CENSRV01 cannot be used (access_denied): Access denied" in flat(result.stdout)
