"""Any text renders as text; the HTML reads without JavaScript and keeps its view in the URL; counts agree; JUnit and
the console tell what blocks."""
import datetime
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.readiness import run_readiness
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render import (
    render_console, render_html, render_junit, render_markdown)
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.render.html import SCRIPT

from ..snapshots import client, site_database, site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
NASTY = ("<!-- hidden --> </script><script>alert(1)</script> <password> <b>bold</b> [x](javascript:alert(1)) "
         "*em* _u_ `tick` | pipe &lt; &amp;")
MARKERS = ("<!--", "</script>", "<password>", "<b>", "&lt;")


@pytest.fixture(name="report", scope="module")
def report_fixture(tmp_path_factory):
    base = tmp_path_factory.mktemp("robust")
    snaps = [site_server(), site_database(),
             client(host="WKS01", user_entries=[{"user": "CORP\\" + NASTY, "source": "loaded_hive", "load": "SMSRUN32.EXE"}]),
             client(host="WKS02", smsid="AAA00002", remote_control={"present": True, "state": "running", "start_mode": "auto"}),
             client(host="WKS03", smsid="AAA00003")]
    hosts = write_fleet(str(base / "snap"), snaps)
    groups = {"sms_clients": hosts[2:], "sms_site_AAA": hosts}
    report, _paths, _warning = run_readiness(hosts, groups, str(base / "snap"), str(base / "rep"), NOW,
                                             inventory={"name": "branch <east>", "sources": ["/inv/east/hosts.yml"]})
    return report


def test_markdown_renders_any_text_as_text(report):
    markdown_it = pytest.importorskip("markdown_it")
    text = render_markdown(report)
    assert "CORP\\\\\\<!-- hidden --> \\</script>" in text
    rendered = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    for marker in ("<!--", "<script>", "<password>", "<b>bold", 'href="javascript'):
        assert marker not in rendered, marker
    assert "&lt;password&gt;" in rendered and "&lt;!-- hidden --&gt;" in rendered and "&amp;lt;" in rendered
    assert "[x](javascript:alert(1))" in rendered and "*em*" in rendered and "`tick`" in rendered


def test_markdown_tables_keep_their_columns_with_any_text(report):
    for block in re.findall(r"(?:^\|.*\|\n)+", render_markdown(report), re.M):
        widths = {len(re.findall(r"(?<!\\)\|", line)) for line in block.splitlines()}
        assert len(widths) == 1, block


def test_html_renders_any_text_as_text(report):
    page = render_html(report)
    assert page.count("<script>") == 1 and page.count("</script>") == 1
    assert "<!--" not in page and "<password>" not in page and "<b>bold" not in page
    assert "&lt;password&gt;" in page and "&lt;!-- hidden --&gt;" in page and "&amp;lt;" in page
    assert "<h1>SMS 1.2 → 2.0 readiness: branch &lt;east&gt;</h1>" in page


def test_the_html_findings_table_reads_without_javascript(report):
    page = render_html(report)
    assert "JSON.parse" not in SCRIPT and "application/json" not in page
    body = re.search(r'<tbody id="findings-body">(.*?)</tbody>', page, re.S).group(1)
    rows = re.findall(r'<tr data-status="([a-z_]+)" data-severity="([a-z]+)">(.*?)</tr>', body, re.S)
    assert len(rows) == len(report["findings"])
    statuses = [status for status, _severity, _cells in rows]
    assert statuses == sorted(statuses, key=["error", "fail", "pass", "not_applicable", "skipped"].index)
    failing = [cells for status, _severity, cells in rows if status == "fail"]
    assert any("WKS02" in cells and "client.remote_control_agent" in cells for cells in failing)
    assert ".filters,.pager{display:none}.js .filters,.js .pager{display:block}" in page


def test_html_links_go_somewhere_and_views_live_in_the_url(report):
    page = render_html(report)
    ids = set(re.findall(r'id="([^"]+)"', page))
    for target in set(re.findall(r'href="#([^"=&]+)"', page)):
        assert unquote(target) in ids or target in ids, target
    hosts = [h["host"] for h in report["hosts"] if h["host"] != "(hierarchy)"]
    assert all('id="host-%s"' % h in page for h in hosts)
    assert 'href="#status=error&amp;severity=all&amp;q="' in page
    assert 'href="#status=all&amp;severity=all&amp;q=WKS01"' in page
    assert "history.replaceState" in SCRIPT and "hashchange" in SCRIPT and "location.hash" in SCRIPT


def test_host_counts_agree_everywhere(report):
    summary = report["summary"]
    hosts = [h for h in report["hosts"] if h["host"] != "(hierarchy)"]
    assert summary["hosts"] == len(hosts) == sum(t["hosts"] for t in summary["by_tier"].values())
    assert summary["blocked_hosts"] == sum(t["blocked_hosts"] for t in summary["by_tier"].values())
    assert summary["hosts"] == sum(s["hosts"] for s in summary["by_site"].values())
    page = render_html(report)
    assert '<a class="card" href="#hosts"><b>%d</b>hosts</a>' % summary["hosts"] in page
    assert "<h2>Hosts (%d)</h2>" % summary["hosts"] in page
    assert "%d of %d host(s)" % (summary["blocked_hosts"], summary["hosts"]) in render_markdown(report)


def test_junit_tells_blocking_from_warning(report):
    root = ET.fromstring(render_junit(report).encode("utf-8"))
    failures = {(case.get("classname"), case.get("name").split(" ")[0]): case.find("failure")
                for case in root.iter("testcase") if case.find("failure") is not None}
    blocking = failures[("WKS02", "client.remote_control_agent")]
    assert blocking.get("type") == "blocking" and blocking.get("message").startswith("BLOCKING (high)")
    warnings = [f for key, f in failures.items() if f.get("type") == "warning"]
    assert warnings and all(f.get("message").startswith("WARNING") for f in warnings)
    expected = {f["rule"] for f in report["findings"] if f["status"] == "fail" and not f["blocks"]}
    assert {rule for (_host, rule), f in failures.items() if f.get("type") == "warning"} == expected
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert {"blocks", "severity", "waves", "blocking", "warning"} <= set(props)


def test_the_console_names_the_blocked_hosts_and_speaks_for_the_fleet(report):
    lines = render_console(report)
    assert lines[0].startswith("BLOCKED: %d of %d host(s)" % (report["summary"]["blocked_hosts"], report["summary"]["hosts"]))
    assert "whole fleet: %d hosts" % report["summary"]["hosts"] in lines[1]
    blocked = next(line for line in lines if line.startswith("blocked hosts: "))
    assert "WKS02" in blocked and "WKS03" not in blocked
    assert any(line.startswith("what to do first") for line in lines)
