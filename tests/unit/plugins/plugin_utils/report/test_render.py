"""The four renderers: well-formed, escaped, complete, and usable at fleet scale."""
import datetime
import html
import re
import xml.etree.ElementTree as ET

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import render_console, render_html, render_junit, render_markdown
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.html import PASS_LIMIT, findings_rows

from ..snapshots import client, site_database, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
HOSTILE = "<script>alert(1)</script> | ]]> \x07 é"


def make_report(tmp_path, clients=3, hostile=True):
    user = "CORP\\" + (HOSTILE if hostile else "bob")
    snaps = [site_server(), site_database()]
    snaps += [client(host="WKS%05d" % n, smsid="AAA%05d" % n,
                     user_entries=[{"user": user, "source": "loaded_hive", "load": "SMSRUN32.EXE"}])
              for n in range(clients)]
    hosts = write_fleet(str(tmp_path / "snap"), snaps)
    groups = {"sms_clients": hosts[2:], "sms_site_AAA": hosts}
    report, _paths, _warning = run_readiness(hosts, groups, str(tmp_path / "snap"), str(tmp_path / "rep"), NOW)
    return report


@pytest.fixture(name="report")
def report_fixture(tmp_path):
    return make_report(tmp_path)


def test_markdown_tables_are_well_formed_and_escaped(report):
    text = render_markdown(report)
    assert text.startswith("# SMS 1.2 → 2.0 readiness report") and "**BLOCKED" in text
    for block in re.findall(r"(?:^\|.*\|\n)+", text, re.M):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in block.splitlines()}
        assert len(widths) == 1, block
    assert "\\| ]]>" in text
    assert "### WKS00000" in text and "client.smsrun_registry" in text


def findings_table(page):
    """The rows of the findings table, as the page holds them without any script."""
    body = re.search(r'<tbody id="findings-body">(.*?)</tbody>', page, re.S).group(1)
    return re.findall(r"<tr data-status=.*?</tr>", body, re.S)


def test_html_is_self_contained_and_escapes_data(report):
    page = render_html(report)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|url\(http|@import", page)
    assert "<script>alert(1)</script>" not in page
    hosts = [h for h in report["hosts"] if h["host"] != "(hierarchy)"]
    assert len(re.findall(r'<tr id="host-', page)) == len(hosts) and '<tr id="host-WKS00000">' in page
    rows = findings_table(page)
    assert len(rows) == len(report["findings"])
    escaped = html.escape(HOSTILE.split("|", maxsplit=1)[0].strip())
    assert any(escaped in row for row in rows)


def test_html_shows_at_most_the_row_limit_errors_and_blocking_first(report, monkeypatch):
    from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import html as html_module

    monkeypatch.setattr(html_module, "ROW_LIMIT", 3)
    monkeypatch.setattr(html_module, "PASS_LIMIT", 10)
    shown, omitted = findings_rows(report)
    assert len(shown) == 3 and omitted == len(report["findings"]) - 3
    failing = [f for f in report["findings"] if f["status"] in ("error", "fail")]
    assert len(failing) >= 3 and all(f["status"] in ("error", "fail") for f in shown)
    assert [f["status"] for f in shown] == sorted((f["status"] for f in shown), key=("error", "fail").index)
    page = render_html(report)
    assert "%d findings are left out of this page" % omitted in page
    assert len(findings_table(page)) == 3
    hosts = [h for h in report["hosts"] if h["host"] != "(hierarchy)"]
    assert len(hosts) > 3 and len(re.findall(r'<tr id="host-', page)) == 3
    assert "%d hosts are left out" % (len(hosts) - 3) in page and "<h2>Hosts (%d)</h2>" % len(hosts) in page
    blocked = [h for h in hosts if h["blocked"]]
    assert blocked and all('<tr id="host-%s">' % h["host"] in page for h in blocked[:3])


def test_html_leaves_out_passes_beyond_the_limit(report):
    big = dict(report, findings=report["findings"] * (PASS_LIMIT // len(report["findings"]) + 1))
    shown, omitted = findings_rows(big)
    passes = sum(1 for f in big["findings"] if f["status"] == "pass")
    assert omitted == passes and len(shown) == len(big["findings"]) - passes


def test_junit_parses_and_counts_match(report):
    root = ET.fromstring(render_junit(report).encode("utf-8"))
    counts = report["summary"]["counts"]
    assert int(root.get("tests")) == len(report["findings"])
    assert int(root.get("failures")) == counts["fail"] and int(root.get("errors")) == counts["error"]
    assert int(root.get("skipped")) == counts["not_applicable"] + counts["skipped"]
    suites = {s.get("name") for s in root.iter("testsuite")}
    assert {"sms.upgrade.site", "sms.upgrade.sql", "sms.upgrade.client", "sms.upgrade.hierarchy"} <= suites
    assert "\x07" not in ET.tostring(root, encoding="unicode")


def test_console_summary(report):
    lines = render_console(report, {"html": "/r/readiness.html", "json": "/r/readiness.json"})
    assert lines[0].startswith("BLOCKED")
    assert any(line.strip().startswith("client.smsrun_registry") for line in lines)
    assert lines[-2:] == ["html: /r/readiness.html", "json: /r/readiness.json"]


def test_html_size_for_a_large_fleet(tmp_path):
    report = make_report(tmp_path, clients=1500, hostile=False)
    page = render_html(report)
    per_host = len(page) / 1500
    assert per_host * 10000 < 25e6, "a 10,000-client page would be %.1f MB" % (per_host * 10000 / 1e6)
