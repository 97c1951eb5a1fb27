"""One bad snapshot never costs the fleet: over a copy of the lab with hostile snapshots planted, every other host is
assessed as in the clean lab, the report is written in every format, and long values are shortened in all of them."""
import datetime
import json
import os
import shutil

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness

from .test_lab import GROUPS, LAB

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
HUGE = 1_000_000   # a valid value of a megabyte (below the snapshot limit): shortened in every report


def _text(host):
    with open(os.path.join(LAB, "snapshots", host + ".json"), encoding="utf-8") as handle:
        return handle.read()


def _edit(host, change):
    data = json.loads(_text(host))
    change(data)
    return json.dumps(data)


HOSTILE = {
    "CENNT001": ("os.csd_version", lambda: _text("CENNT001").replace('"Service Pack 5"', "9" * 5000, 1)),
    "CENNT002": ("extra", lambda: _text("CENNT002").replace('"host"', '"extra": %s, "host"' % ("[" * 40000 + "]" * 40000), 1)),
    "CENNT003": ("os.csd_version", lambda: _text("CENNT003").replace('"Service Pack 5"', '"SP\\ud800"', 1)),
    "CENNT004": ("os.csd_version", lambda: _text("CENNT004").replace('"Service Pack 5"', "NaN", 1)),
    "CEN95001": ("win_ini.content", lambda: _edit("CEN95001", lambda d: d["win_ini"].update(
        content=d["win_ini"]["content"] + "\u4e2d"))),
    "CENNT005": ("os.name", lambda: _edit("CENNT005", lambda d: d["os"].update(name="A" * 5_000_000))),
    "CENNT006": ("collected_at", lambda: _edit("CENNT006", lambda d: d.update(collected_at="yesterday"))),
}


def _statuses(report, hosts):
    return {(f["host"], f["rule"]): f["status"] for f in report["findings"] if f["host"] not in hosts}


@pytest.fixture(scope="module")
def clean_report(tmp_path_factory):
    base = tmp_path_factory.mktemp("clean")
    report, _paths, _warning = run_readiness(GROUPS["sms_upgrade"], GROUPS, os.path.join(LAB, "snapshots"),
                                             str(base / "reports"), NOW, plan_file=os.path.join(LAB, "upgrade_plan.yml"))
    return report


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile")
    snapshots = str(base / "snapshots")
    shutil.copytree(os.path.join(LAB, "snapshots"), snapshots)
    for host, (_field, text) in HOSTILE.items():
        with open(os.path.join(snapshots, host + ".json"), "w", encoding="utf-8", errors="surrogatepass") as handle:
            handle.write(text())
    with open(os.path.join(snapshots, "CENNT007.json"), "w", encoding="utf-8") as handle:
        handle.write(_edit("CENNT007", lambda d: d["os"].update(name="<!-- </script><password>" + "B" * HUGE)))
    report, paths, _warning = run_readiness(GROUPS["sms_upgrade"], GROUPS, snapshots, str(base / "reports"), NOW,
                                            plan_file=os.path.join(LAB, "upgrade_plan.yml"))
    return report, paths


@pytest.mark.parametrize("host", sorted(HOSTILE))
def test_each_hostile_snapshot_is_an_error_on_its_host_naming_the_field(hostile, host):
    report, _paths = hostile
    valid = next(f for f in report["findings"] if f["host"] == host and f["rule"] == "snapshot.valid")
    assert valid["status"] == "error" and valid["blocks"]
    assert HOSTILE[host][0] in [p["path"].split("[")[0] for p in valid["evidence"]["problems"]]
    assert len(valid["message"]) < 1000


def test_every_other_host_is_assessed_as_in_the_clean_lab(hostile, clean_report):
    report, _paths = hostile
    planted = set(HOSTILE) | {"CENNT007"}
    assert _statuses(report, planted) == _statuses(clean_report, planted)
    assert report["summary"]["hosts"] == clean_report["summary"]["hosts"]


def test_the_report_is_written_in_every_format_and_long_values_are_shortened(hostile):
    _report, paths = hostile
    for key in ("json", "markdown", "html", "junit", "latest"):
        with open(paths[key], encoding="utf-8") as handle:
            text = handle.read()
        assert "B" * 5000 not in text, key
        assert "A" * 5000 not in text, key
        assert os.path.getsize(paths[key]) < 2_000_000, key
