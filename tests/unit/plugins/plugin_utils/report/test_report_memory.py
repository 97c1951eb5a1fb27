"""The report is written one format at a time and the JSON text in pieces, byte for byte what json.dumps gives."""
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import render
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import copy_atomically
from ansible_collections.sms.upgrade.plugins.plugin_utils.report import store
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import render_json_chunks

REPORT = {"schema": "sms.upgrade.readiness_report", "run_id": "20261203T120000Z", "empty": [],
          "findings": [{"host": "CEN%03d" % n, "message": "Ü \u2028 \"quoted\" </script>", "n": n} for n in range(7)],
          "hosts": [{"host": "CEN001"}], "summary": {"hosts": 7, "nested": [[1, 2], {"a": None}]}, "last": True}


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1000])
def test_the_json_pieces_join_to_exactly_what_json_dumps_gives(chunk):
    pieces = list(render_json_chunks(REPORT, chunk=chunk))
    text = "".join(pieces)
    assert text == json.dumps(REPORT, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert json.loads(text) == REPORT
    if chunk < len(REPORT["findings"]):
        assert len(pieces) > len(REPORT) + 2, "a long list must be encoded in several pieces"


def test_formats_are_rendered_one_at_a_time_and_latest_is_a_copy_of_the_json(tmp_path):
    run_id = store.claim_run_id(str(tmp_path), REPORT["run_id"])
    rendered, order = {}, []

    def renderer(fmt):
        def render_format():
            order.append(fmt)
            return render_json_chunks(REPORT, chunk=2) if fmt == "json" else "%s text\n" % fmt
        return render_format
    rendered = {fmt: renderer(fmt) for fmt, _name in store.FILES}
    paths = store.write_report(str(tmp_path), {"run_id": run_id}, rendered)
    assert order == [fmt for fmt, _name in store.FILES]
    with open(paths["json"], encoding="utf-8") as handle:
        written = handle.read()
    assert json.loads(written) == REPORT
    with open(paths["latest"], encoding="utf-8") as handle:
        assert handle.read() == written
    with open(paths["html"], encoding="utf-8") as handle:
        assert handle.read() == "html text\n"


def test_a_copy_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "latest.json"
    target.write_text("old", encoding="utf-8")
    with pytest.raises(OSError):
        copy_atomically(str(tmp_path / "missing.json"), str(target))
    assert target.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["latest.json"]
    (tmp_path / "new.json").write_text("new", encoding="utf-8")
    copy_atomically(str(tmp_path / "new.json"), str(target))
    assert target.read_text(encoding="utf-8") == "new"


def test_render_fills_only_what_the_template_names_and_keeps_unknown_names():
    values = {"observed": ["a", "b"], "count": 3, "sms": {"x": 1}, "unused": object()}
    assert render("{observed} of {count}; {missing} stays", values) == "a, b of 3; {missing} stays"
    assert render("{count:>4}|", values) == "   3|"
    assert render(None, values) == ""
    assert render("no placeholders", values) == "no placeholders"


def test_junit_is_written_a_test_case_at_a_time_and_counts_every_case():
    import xml.etree.ElementTree as ET
    from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import render_junit, render_junit_pieces

    findings = [{"host": "H%d" % n, "rule": "r.%d" % (n % 3), "checklist": ["PRE-01"], "tier": ("client", "site")[n % 2],
                 "status": ("pass", "fail", "error", "not_applicable")[n % 4], "blocks": n % 4 == 2, "severity": "high",
                 "message": "m & <%d>" % n, "evidence": {}, "remediation": {}, "waves": ["all"], "answer": None}
                for n in range(9)]
    report = {"run_id": "R1", "generated_at": "2026-12-03T12:00:00+00:00", "findings": findings}
    pieces = list(render_junit_pieces(report))
    assert len(pieces) > len(findings), "one piece per test case"
    root = ET.fromstring("".join(pieces).split("\n", 1)[1])
    assert "".join(pieces) == render_junit(report)
    assert [s.get("name") for s in root] == ["sms.upgrade.site", "sms.upgrade.client"]
    assert root.get("tests") == "9" and root.get("failures") == "2" and root.get("errors") == "2"
    assert sum(len(s.findall("testcase")) for s in root) == 9
    assert root.find(".//testcase[@classname='H2']/error").get("type") == "blocking"


def test_the_previous_report_keeps_only_what_the_comparison_reads(tmp_path):
    previous = dict(REPORT, findings=[dict(f, rule="r.%d" % f["n"], status=("fail", "pass", "error")[f["n"] % 3],
                                           blocks=False, evidence={"observed": "x" * 100}) for f in REPORT["findings"]],
                    diff={"new": [{"host": "CEN000", "rule": "r.0", "status": "fail"}]})
    (tmp_path / store.LATEST).write_text(json.dumps(previous), encoding="utf-8")
    loaded, warning = store.read_previous(str(tmp_path))
    assert warning is None and loaded["run_id"] == REPORT["run_id"]
    assert loaded["findings"] == [{"host": f["host"], "rule": f["rule"], "status": f["status"]}
                                  for f in previous["findings"] if f["status"] != "pass"]
    assert {f["status"] for f in loaded["findings"]} == {"fail", "error"}
    assert set(loaded) == {"run_id", "findings"}


def _written(tmp_path, findings):
    report = dict(REPORT, findings=findings, inventory={"name": "lab", "dirs": ["/inv"]})
    run_id = store.claim_run_id(str(tmp_path), report["run_id"])
    rendered = {fmt: (lambda: render_json_chunks(report)) if fmt == "json" else "x" for fmt, _name in store.FILES}
    store.write_report(str(tmp_path), report, rendered)
    return report


def test_the_next_run_reads_the_small_summary_written_with_latest(tmp_path, monkeypatch):
    findings = [{"host": "H%d" % n, "rule": "r", "status": ("fail", "pass")[n % 2], "blocks": False, "message": "m"} for n in range(6)]
    _written(tmp_path, findings)
    summary = json.loads((tmp_path / store.COMPARED).read_text(encoding="utf-8"))
    assert [f["host"] for f in summary["findings"]] == ["H0", "H2", "H4"]

    def no_whole_report(path):
        raise AssertionError("the whole report was read: %s" % path)
    monkeypatch.setattr(store, "_compared_of", no_whole_report)
    loaded, warning = store.read_previous(str(tmp_path), {"dirs": ["/inv"]})
    assert warning is None and loaded["run_id"] == REPORT["run_id"]
    assert loaded["findings"] == [{"host": h, "rule": "r", "status": "fail"} for h in ("H0", "H2", "H4")]


@pytest.mark.parametrize("damage", ["latest_changed", "summary_garbled", "summary_missing"])
def test_a_summary_that_does_not_match_latest_is_not_used(tmp_path, damage):
    findings = [{"host": "H%d" % n, "rule": "r", "status": "fail", "blocks": False, "message": "m"} for n in range(3)]
    _written(tmp_path, findings)
    latest = tmp_path / store.LATEST
    if damage == "latest_changed":
        report = json.loads(latest.read_text(encoding="utf-8"))
        report["findings"] = report["findings"][:1]
        latest.write_text(json.dumps(report), encoding="utf-8")
    elif damage == "summary_garbled":
        (tmp_path / store.COMPARED).write_text('{"findings": [1, 2]}', encoding="utf-8")
    else:
        (tmp_path / store.COMPARED).unlink()
    loaded, warning = store.read_previous(str(tmp_path), {"dirs": ["/inv"]})
    assert warning is None
    expected = findings[:1] if damage == "latest_changed" else findings
    assert loaded["findings"] == [{"host": f["host"], "rule": "r", "status": "fail"} for f in expected]
