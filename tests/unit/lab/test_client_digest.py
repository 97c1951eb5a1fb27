"""The assessment keeps a digest of each client for the rules about other hosts and reads the whole snapshot again
when it assesses the client: the findings are exactly those of keeping every snapshot whole."""
import json
import os
import shutil

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import engine
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.build import stored_finding

from .test_lab import GROUPS, LAB, NOW


def _findings(tmp_path, snapshot_dir, name):
    report, _paths, _warning = run_readiness(
        GROUPS["sms_upgrade"], GROUPS, snapshot_dir, str(tmp_path / name), NOW,
        answers_file=os.path.join(LAB, "answers.yml"), plan_file=os.path.join(LAB, "upgrade_plan.yml"))
    return report["findings"]


def test_the_digest_gives_the_findings_of_whole_snapshots(tmp_path, monkeypatch):
    snapshots = os.path.join(LAB, "snapshots")
    with_digest = _findings(tmp_path, snapshots, "digest")
    monkeypatch.setattr(engine, "client_digest", lambda data: data)
    whole = _findings(tmp_path, snapshots, "whole")
    assert with_digest == whole
    hierarchy = [f for f in whole if f["host"] == "(hierarchy)" or f["rule"] == "site.unsupported_clients"]
    assert hierarchy, "the lab must exercise the rules that read other hosts' clients"


def test_a_client_snapshot_that_changes_during_the_run_is_not_assessed(tmp_path, monkeypatch):
    snapshots = str(tmp_path / "snapshots")
    shutil.copytree(os.path.join(LAB, "snapshots"), snapshots)
    client = sorted(h for h in GROUPS["sms_clients"] if os.path.exists(os.path.join(snapshots, h + ".json")))[0]
    original = engine.read_snapshot_file

    def read_after_a_new_gather(host, path, now=None):
        if host == client:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write("\n")
        return original(host, path, now)
    monkeypatch.setattr(engine, "read_snapshot_file", read_after_a_new_gather)
    findings = {(f["host"], f["rule"]): f for f in _findings(tmp_path, snapshots, "changed")}
    valid = findings[(client, "snapshot.valid")]
    assert valid["status"] == "error" and valid["blocks"]
    assert "changed while the fleet was assessed" in valid["message"]
    others = [f for (host, rule), f in findings.items() if host == client and rule != "snapshot.valid"]
    assert others and all(f["status"] == "skipped" for f in others)


def test_worker_processes_give_the_report_of_one_process(tmp_path, monkeypatch):
    from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import readiness
    from ansible_collections.sms.upgrade.plugins.plugin_utils.common import parallel

    snapshots = os.path.join(LAB, "snapshots")
    single = _findings(tmp_path, snapshots, "single")
    monkeypatch.setattr(readiness, "PARALLEL_FROM", 0)
    monkeypatch.setattr(parallel, "CHUNK", 4)
    calls = []
    original = parallel.ProcessPoolExecutor

    def counted(*args, **kwargs):
        calls.append(kwargs.get("max_workers", args[0] if args else None))
        return original(*args, **kwargs)
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", counted)
    report, paths, _warning = run_readiness(
        GROUPS["sms_upgrade"], GROUPS, snapshots, str(tmp_path / "workers"), NOW,
        answers_file=os.path.join(LAB, "answers.yml"), plan_file=os.path.join(LAB, "upgrade_plan.yml"), workers=3)
    assert calls, "the workers were used"
    assert report["findings"] == single
    with open(paths["json"], encoding="utf-8") as handle:
        assert json.load(handle)["findings"] == [stored_finding(f) for f in single], "the files written by the workers are complete"
    assert all(os.path.getsize(paths[fmt]) > 1000 for fmt in ("markdown", "html", "junit"))
