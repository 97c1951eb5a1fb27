"""The site upgrade playbook through ansible-playbook: the wave's plan over the lab in check mode, and real runs of the
waves against the model of the lab's site servers (model_lab.py: the model answers the modules, everything else runs)."""
import json
import os
import re
import subprocess

import pytest

import collection_tree

from .model_lab import PLAYBOOK, REPO, ModelLab

pytestmark = pytest.mark.skipif(not os.path.exists(PLAYBOOK), reason="ansible-playbook is not installed next to python")
FAST = ("-e", "site_upgrade_poll_seconds=0", "-e", "sms_upgrade_setup_media=D:\\")


def run_playbook(playbook, *extra):
    """A playbook over the embedded lab (every host from its snapshot)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
               ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))
    return subprocess.run([PLAYBOOK, "-i", os.path.join(REPO, "inventories", "lab", "hosts.yml"), playbook] + list(extra),
                          capture_output=True, text=True, env=env, cwd=REPO, check=False)


def recap(result, host):
    match = re.search(r"%s\s+: ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=(\d+)" % host, result.stdout)
    assert match, result.stdout[-3000:]
    return int(match.group(1)), int(match.group(2))


def machines(lab):
    return json.dumps(lab.model().state["machines"], sort_keys=True)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """The lab made ready for both waves and preserved (once per module; each test works on a copy)."""
    return ModelLab(tmp_path_factory.mktemp("model")).prepare()


def test_check_mode_over_the_lab_shows_the_ordered_plan_and_changes_nothing(tmp_path):
    reports = "sms_upgrade_report_dir=%s" % (tmp_path / "reports")
    assert run_playbook("sms.upgrade.readiness", "--check", "-e", reports).returncode == 0
    result = run_playbook("sms.upgrade.site_upgrade", "--check", "--diff", "-e", reports, "-e", "sms_upgrade_wave=branches",
                          "-e", "sms_upgrade_site_upgrade_dir=%s" % (tmp_path / "status"),
                          "-e", "sms_upgrade_journal_dir=%s" % (tmp_path / "journal"))
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    plan = [line.strip() for line in out.splitlines() if re.match(r"\s*- '\d\. ", line)]
    assert [line[6:9] for line in plan] == ["P01", "S01", "S03"], "the plan's order: the primary, then its secondaries"
    assert "method download_from_parent; about 65 MB from CEN" in out.replace("\n        ", " ")
    assert "stays on SMS 1.2: S02" in out
    assert "P01 would_stop: P01SRV01: pre-flight would stop P01" in out.replace("\n        ", " ")
    assert "parent site CEN is not on SMS 2.0 yet" in out.replace("\n        ", " ")
    assert "handoff: planned: On CENSRV01 (SMS 2.0), run the Secondary Site Upgrade Wizard for S01" in out.replace("\n        ", " ")
    assert result.returncode == 2, "the sites the pre-flight would stop fail the run"
    assert not (tmp_path / "status").exists() and not (tmp_path / "journal").exists(), "check mode writes nothing"


def test_the_central_wave_reaches_verified_against_the_models_and_a_second_run_changes_nothing(prepared, tmp_path):
    lab = prepared.copy(tmp_path)
    before = machines(lab)
    check = lab.run("sms.upgrade.site_upgrade", "--check", "--diff", "-e", "sms_upgrade_wave=central", *FAST)
    assert check.returncode == 0, check.stdout[-3000:]
    assert "+start_mode: disabled\n+state: stopped" in check.stdout
    assert "setup: would_change: would start D:\\SMSSETUP\\BIN\\I386\\SETUP.EXE /UPGRADE /NOUSERINPUT" in check.stdout
    assert machines(lab) == before and not os.path.exists(os.path.join(lab.lab, "site_upgrade"))
    first = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=central", *FAST)
    assert first.returncode == 0, first.stdout[-4000:]
    assert "CEN verified: CENSRV01: CEN: SMS 2.00.1380.1000, verified" in first.stdout
    steps = re.findall(r"- '([a-z_]+): ([a-z_]+):", first.stdout)
    assert [s for s, _status in steps] == ["preflight", "quiesce", "rollback_point", "setup", "monitor", "deinstall",
                                           "verify", "erd"]
    model = lab.model()
    assert model.m("CENSRV01")["registry"]["SOFTWARE\\Microsoft\\SMS\\Setup\\Full Version"] == "2.00.1380.1000"
    assert not model.m("CENHLP01")["services"] and not model.m("CENLOG01")["shares"].get("SMS_SHR")
    assert "SMS_PKGC" in model.m("CENSRV01")["shares"]
    with open(os.path.join(lab.lab, "site_upgrade", "waves", "central-latest.json"), encoding="utf-8") as handle:
        record = json.load(handle)
    assert record["schema"] == "sms.upgrade.site_upgrade.wave" and record["summary"] == {"verified": 1}
    assert [e["step"] for e in record["sites"][0]["timeline"]][0] == "preflight"
    assert os.path.exists(os.path.join(lab.vault, "rollback-point", "CEN", "CENSRV01", "manifest.json"))
    second = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=central", *FAST)
    assert second.returncode == 0 and recap(second, "CENSRV01") == (0, 0), second.stdout[-3000:]
    assert "CEN verified" in second.stdout


def test_the_branches_wave_hands_the_secondaries_to_the_wizard_and_verifies_them_after(prepared, tmp_path):
    lab = prepared.copy(tmp_path)
    assert lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=central", *FAST).returncode == 0
    first = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=branches", *FAST)
    assert first.returncode == 0, first.stdout[-4000:]
    out = first.stdout.replace("\n        ", " ")
    assert "P01 verified" in out and "S01 handed_off" in out and "S03 handed_off" in out
    assert "sendcode sms_site_config_manager 193" in out and "SMS 2.0 CD (SP1 or later)" in out
    model = lab.model()
    model.run_wizard("S01SRV01")
    model.run_wizard("S03SRV01")
    lab.save(model)
    second = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=branches", *FAST)
    assert second.returncode == 0, second.stdout[-4000:]
    assert all("%s verified" % site in second.stdout for site in ("P01", "S01", "S03"))
    third = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=branches", *FAST)
    assert [recap(third, host)[0] for host in ("P01SRV01", "S01SRV01", "S03SRV01")] == [0, 0, 0]


def test_nothing_is_stopped_or_removed_on_a_site_whose_pre_flight_fails(prepared, tmp_path):
    lab = prepared.copy(tmp_path)
    model = lab.model()
    model.m("CENHLP01")["reachable"] = False
    lab.save(model)
    before = machines(lab)
    result = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=central", *FAST)
    assert result.returncode == 2
    out = result.stdout.replace("\n        ", " ")
    assert "CEN stopped: CENSRV01: pre-flight stopped CEN before anything was changed" in out
    assert "servers_reachable: not reachable from CENSRV01: CENHLP01" in out
    assert machines(lab) == before
    assert not os.path.exists(os.path.join(lab.lab, "journal"))


def test_a_failed_conversion_is_recovered_from_the_rollback_point_and_the_journal(prepared, tmp_path):
    lab = prepared.copy(tmp_path)
    model = lab.model()
    model.m("CENSRV01")["scenario"] = "fail_in_conversion"
    services = json.dumps(model.m("CENSRV01")["services"], sort_keys=True)
    site_control = "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0"
    content = model.file("CENSRV01", site_control)
    lab.save(model)
    failed = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=central", *FAST)
    assert failed.returncode == 2 and "CEN conversion_failed" in failed.stdout, failed.stdout[-3000:]
    model = lab.model()
    del model.m("CENSRV01")["files"][site_control.upper()]  # what Setup took before the conversion failed
    lab.save(model)
    refused = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=central", *FAST)
    assert refused.returncode == 2 and "sms.upgrade.site_upgrade_recover" in refused.stdout.replace("\n        ", " ")
    assert len(lab.model().calls_to("sms.upgrade.site_upgrade")) and \
        len([c for c in lab.model().state["calls"] if c["mode"] == "start"]) == 1, "Setup is not started again"
    recover = ("sms.upgrade.site_upgrade_recover", "-e", "site_upgrade_recover_site=CEN", "-e", "site_upgrade_recover_conversion=true")
    tree = lab.run(*recover)
    assert tree.returncode == 2, tree.stdout[-3000:]
    out = tree.stdout.replace("\n        ", " ")
    assert "load the baseline dump" in out and "SMS_CEN-baseline.DAT" in out
    model = lab.model()
    assert model.file("CENSRV01", site_control) == content, "the tree is back from the rollback point"
    assert model.m("CENSRV01")["services"]["SMS_EXECUTIVE"]["start_mode"] == "disabled", "no service before the database"
    back = lab.run(*recover, "-e", "site_upgrade_recover_database_loaded=true")
    assert back.returncode == 0, back.stdout[-3000:]
    assert json.dumps(lab.model().m("CENSRV01")["services"], sort_keys=True) == services
    model = lab.model()
    model.m("CENSRV01")["scenario"] = "success"
    lab.save(model)
    again = lab.run("sms.upgrade.site_upgrade", "-e", "sms_upgrade_wave=central", "-e", "site_upgrade_retry_after_recovery=true",
                    *FAST)
    assert again.returncode == 0 and "CEN verified" in again.stdout, again.stdout[-3000:]


@pytest.mark.parametrize("site", [None, "../", "ZZZ"])
def test_the_recovery_refuses_a_site_it_cannot_find_instead_of_doing_nothing(site):
    extra = ("-e", "site_upgrade_recover_site=%s" % site) if site else ()
    result = run_playbook("sms.upgrade.site_upgrade_recover", "--check", *extra)
    assert result.returncode == 2, result.stdout[-2000:]
    out = " ".join(result.stdout.split())
    assert "Name the site to recover with -e site_upgrade_recover_site=<SITE>" in out
    assert "(%s is not)" % (site.upper() if site else "none given") in out
