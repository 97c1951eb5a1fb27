"""Documents of what SMS 2.0 does not keep: registry export, site properties, database exports."""
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.documents import (
    DocumentError, csv_document, database_summary, registry_export, site_properties)

SAMPLES = os.path.join(os.path.dirname(__file__), "..", "gather", "samples")


def test_registry_export_is_regedit4():
    keys = [
        {"path": "SOFTWARE\\Microsoft\\SMS\\Identification", "values": [
            {"name": "Installation Directory", "type": "String", "value": "C:\\SMS"},
            {"name": "AppleTalk Zone Name", "type": "String", "value": 'Zone "A"'}]},
        {"path": "SOFTWARE\\Microsoft\\SMS", "values": [{"name": "", "type": "String", "value": "default"}]},
        {"path": "SOFTWARE\\Microsoft\\SMS\\Components\\SMS_SITE_CONFIG_MANAGER", "values": [
            {"name": "Watchdogging Interval", "type": "DWord", "value": 120},
            {"name": "Negative", "type": "DWord", "value": -1},
            {"name": "Path", "type": "ExpandString", "value": "%SystemRoot%"},
            {"name": "List", "type": "MultiString", "value": ["a", "b"]},
            {"name": "Blob", "type": "Binary", "value": "AAEC/w=="}]},
    ]
    text = registry_export(keys).decode("cp1252")
    assert text.startswith("REGEDIT4\r\n\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SMS]\r\n@=\"default\"\r\n")
    assert '"Installation Directory"="C:\\\\SMS"' in text
    assert '"AppleTalk Zone Name"="Zone \\"A\\""' in text
    assert '"Watchdogging Interval"=dword:00000078' in text and '"Negative"=dword:ffffffff' in text
    assert '"Path"=hex(2):25,53,79,73,74,65,6d,52,6f,6f,74,25,00' in text
    assert '"List"=hex(7):61,00,62,00,00' in text
    assert '"Blob"=hex:00,01,02,ff' in text
    assert text.index("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\SMS\\Components") < text.index("Identification]")
    assert "\n" not in text.replace("\r\n", "")


def test_registry_export_falls_back_to_unicode_and_wraps_long_values():
    data = registry_export([{"path": "SOFTWARE\\Microsoft\\SMS", "values": [
        {"name": "Name", "type": "String", "value": "\u4e2d\u6587"},
        {"name": "Long", "type": "Binary", "value": "AAAA" * 40}]}])
    assert data.startswith(b"\xff\xfe")
    text = data[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n")
    long_lines = [line for line in text.split("\r\n") if line.startswith('"Long"') or line.startswith("  ")]
    assert len(long_lines) > 1 and all(len(line) <= 80 for line in long_lines)


@pytest.mark.parametrize("keys, message", [
    ([], "no registry key"), ([{"values": []}], "has no path"),
    ([{"path": "SOFTWARE\\X", "values": [{"name": "b", "type": "Binary", "value": "not base64!"}]}], "not base64"),
    ([{"path": "SOFTWARE\\X", "values": [{"name": "t", "type": "Link", "value": ""}]}], "unknown registry type"),
])
def test_registry_export_refuses_bad_input(keys, message):
    with pytest.raises(DocumentError, match=message):
        registry_export(keys)


@given(st.lists(st.text(max_size=20), max_size=5))
@settings(max_examples=100)
def test_registry_strings_survive_escaping(values):
    keys = [{"path": "SOFTWARE\\Microsoft\\SMS", "values": [
        {"name": "v%d" % i, "type": "String", "value": v} for i, v in enumerate(values)]}]
    try:
        data = registry_export(keys)
    except UnicodeEncodeError:
        pytest.fail("export must fall back to UTF-16, not fail")
    text = data[2:].decode("utf-16-le") if data.startswith(b"\xff\xfe") else data.decode("cp1252")
    lines = text.split("\r\n")
    assert lines[0] in ("REGEDIT4", "Windows Registry Editor Version 5.00")
    for i, value in enumerate(values):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        if any(ord(c) < 32 for c in value):
            assert any(line.startswith('"v%d"=hex(1):' % i) for line in lines)
        else:
            assert '"v%d"="%s"' % (i, escaped) in lines
    assert all(line == "" or line[0] in '["@ ' or line.startswith(("REGEDIT4", "Windows Registry")) for line in lines)


def test_site_properties_from_the_sample_site_control_file():
    with open(os.path.join(SAMPLES, "SITECTRL.CT0"), encoding="latin-1") as handle:
        text = handle.read()
    doc = site_properties(text, "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "f" * 64).decode("utf-8")
    assert "# SMS 1.2 site properties: CEN" in doc
    assert "| site name | Central site |" in doc
    assert "| sna_batch | CENHLP01 |" in doc and "no (SNA senders are not converted)" in doc
    assert "| CENHLP01 | SMS_DESPOOLER" in doc
    assert "| Last Valid @ | (encrypted), (encrypted), 912345600 |" in doc
    assert "8F3A0C11D2" not in doc  # encrypted SITE_ACCOUNT fields never appear
    assert site_properties(text, "x", "f" * 64) == site_properties(text, "x", "f" * 64)
    with pytest.raises(DocumentError):
        site_properties("  ", "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "f" * 64)


def test_malformed_site_control_file_still_gives_a_document_with_its_problems():
    doc = site_properties("garbage\r\nBEGIN_SENDER\r\n", "x", "0" * 64).decode("utf-8")
    assert "## Problems reading the file" in doc and "missing header" in doc


def test_database_documents():
    data = csv_document({"columns": ["Disk", "Size"], "rows": [["C:", "4096"], ["D:, data", None]]})
    assert data == b'Disk,Size\r\nC:,4096\r\n"D:, data",\r\n'
    summary = database_summary({"site_database": "SMS_CEN", "site_code": "CEN", "machine_groups": [{"name": "Accounting", "id": "CEN00002"}],
                                "jobs": [{"id": "CEN00001", "name": "maint", "system": True, "active": True, "status": "Active"},
                                         {"id": "CEN00117", "name": "Office", "system": False, "active": True, "status": "Pending",
                                          "target_sites": ["P01"]}]},
                               {"queries": {"title": "Query definitions", "status": "UNCONFIRMED", "error": "not configured"},
                                "physical_disks": {"title": "Physical disks", "status": "UNCONFIRMED", "file": "physical_disks.csv",
                                                   "rows": 2, "error": None}}).decode("utf-8")
    assert summary.index("CEN00117") < summary.index("CEN00001")
    assert "re-create as an advertisement" in summary and "| Accounting | CEN00002 |" in summary
    assert "| Physical disks | UNCONFIRMED | physical_disks.csv | 2 | exported |" in summary
    assert "| Query definitions | UNCONFIRMED | - | - | not configured |" in summary


@pytest.mark.parametrize("kind", ["DWord", "QWord", "ExpandString", "MultiString", "String"])
def test_a_value_that_vanished_while_it_was_read_is_named_not_written_as_none(kind):
    keys = [{"path": "SOFTWARE\\Microsoft\\SMS\\Components", "values": [{"name": "Gone", "type": kind, "value": None}]}]
    with pytest.raises(DocumentError, match=r'value "Gone" of HKLM\\SOFTWARE\\Microsoft\\SMS\\Components \(%s\) has no data' % kind):
        registry_export(keys)


def test_a_type_dotnet_does_not_name_is_kept_as_a_comment_never_imported_as_reg_none():
    text = registry_export([{"path": "SOFTWARE\\Microsoft\\SMS", "values": [
        {"name": "Resources", "type": "Unknown", "value": "AAEC"}]}]).decode("cp1252")
    line = [x for x in text.split("\r\n") if "Resources" in x][0]
    assert line.startswith(';') and "data (hex): 00,01,02" in line and "hex(0)" not in text


VALUE = st.fixed_dictionaries({
    "name": st.one_of(st.none(), st.text(max_size=5), st.integers()),
    "type": st.sampled_from(["String", "DWord", "QWord", "ExpandString", "MultiString", "Binary", "None", "Unknown", "Link"]),
    "value": st.one_of(st.none(), st.integers(), st.text(max_size=8), st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=3),
                       st.booleans(), st.floats(allow_nan=False))})


@given(st.lists(st.one_of(VALUE, st.none(), st.text(max_size=3)), max_size=4))
@settings(max_examples=300)
def test_any_raw_registry_data_gives_a_document_or_a_document_error(values):
    try:
        registry_export([{"path": "SOFTWARE\\Microsoft\\SMS", "values": values}])
    except DocumentError:
        pass
