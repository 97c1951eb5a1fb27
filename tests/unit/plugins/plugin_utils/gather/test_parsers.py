"""Parsers of the raw files a gather returns: SMS.INI, CSDVER.SMS, SITECTRL.CT0, resource lists."""
import pytest
from hypothesis import given, strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.ini import ini_value, parse_csdver, parse_ini
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.resources import ResourceListError, memory_mb
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.site_control import (
    interpret_site_control, read_site_control, sender_type)

from .raw_results import resource_list, sample


def test_sms_ini_sections_keys_with_spaces_and_first_occurrence_wins():
    sections, problems = parse_ini(sample("SMS.INI"))
    assert problems == []
    assert sections["SMS"]["SMS Unique ID"] == "CEN00017"
    assert ini_value(sections, "sms", "sitecode") == "CEN"  # the later [sms] SiteCode=XXX is ignored
    assert sections["Sight"] == {"Allow Takeover": "1", "Permission Required": "0"}


def test_ini_reports_stray_lines_without_failing():
    sections, problems = parse_ini("orphan=1\r\n[SMS]\r\ngarbage line\r\nSiteCode=ABC\r\n")
    assert sections == {"SMS": {"SiteCode": "ABC"}}
    assert len(problems) == 2 and "outside any section" in problems[0] and "line 3" in problems[1]


@given(st.dictionaries(st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,12}[A-Za-z0-9]", fullmatch=True),
                       st.from_regex(r"[^\r\n]{0,20}", fullmatch=True).map(str.strip), max_size=8))
def test_ini_round_trip_of_any_keys_and_values(entries):
    unique = {}
    for key, value in entries.items():
        if key.lower() not in {k.lower() for k in unique}:
            unique[key] = value
    text = "[SMS]\r\n" + "".join("%s=%s\r\n" % item for item in unique.items())
    sections, problems = parse_ini(text)
    assert problems == []
    assert sections.get("SMS", {}) == unique


@pytest.mark.parametrize("text,label", [("Service Pack 4\r\n", "Service Pack 4"), ("\r\n  SP3 \r\n", "SP3"), ("", "")])
def test_csdver_label(text, label):
    assert parse_csdver(text) == label


def test_site_control_header_and_sections():
    scf = read_site_control(sample("SITECTRL.CT0"))
    assert (scf.build, scf.syntax, scf.problems) == (786, "1.08", [])
    assert [name for name, dummy, dummy2 in scf.sections].count("SENDER") == 2


def test_site_control_identity_senders_helpers_and_no_secrets():
    facts, problems = interpret_site_control(sample("SITECTRL.CT0"))
    assert problems == []
    identity, control = facts["identity"], facts["site_control"]
    assert identity == {"site_code": "CEN", "site_name": "Central site", "site_role": "central", "parent_site_code": None,
                        "domain": "CORP", "site_server": "CENSRV01", "install_dir": "C:\\SMS", "sql_server": "CENSQL01",
                        "sql_database": "SMS_CEN"}
    assert control["senders"] == [{"type": "lan", "server": "CENSRV01", "name": "SMS_LAN_SENDER"},
                                  {"type": "sna_batch", "server": "CENHLP01", "name": "SMS_SNA_BATCH_SENDER"}]
    assert control["helper_servers"] == [{"name": "CENHLP01", "components": ["SMS_DESPOOLER", "SMS_SNA_BATCH_SENDER"]}]
    assert control["logon_servers"] == [{"name": "CENSRV01", "domain": "CORP"}, {"name": "CENLOG01", "domain": "CORP"}]
    assert control["child_sites"] == [{"site_code": "P01"}, {"site_code": "S02"}]
    assert control["addresses"] == [{"site_code": "P01", "sender": "LAN Sender", "format": "MS_LAN"},
                                    {"site_code": "S02", "sender": "LAN Sender", "format": "MS_LAN"}]
    assert control["automatic_logon_scripts"] is True
    assert control["client_installation"] == 0x313
    text = repr(facts)
    for secret in ("8F3A0C11D2", "77AB3C0E9F", "5E6F7A", "0D1C2B", "9C8B7A", "22A9F0E1"):
        assert secret not in text


def test_site_control_secondary_and_damaged_file():
    text = sample("SITECTRL.CT0").replace("<6>\r\n  <CEN>\r\n  <>", "<9>\r\n  <S01>\r\n  <P01>")
    facts, problems = interpret_site_control(text)
    assert (facts["identity"]["site_role"], facts["identity"]["parent_site_code"], problems) == ("secondary", "P01", [])
    facts, problems = interpret_site_control("garbage\r\nBEGIN_SITE_ACCOUNT\r\n  <6>\r\n  <TOOLONG>\r\n")
    assert facts["identity"]["site_code"] is None
    assert any("missing header" in p for p in problems)
    assert any("not closed" in p for p in problems)


@pytest.mark.parametrize("label,kind", [("MS_LAN_SENDER", "lan"), ("MS_ASYNC_RAS_SENDER", "ras_async"),
                                        ("MS_ISDN_RAS_SENDER", "ras_isdn"), ("MS_X25_RAS_SENDER", "ras_x25"),
                                        ("MS_SNA_INTERACTIVE_SENDER", "sna_interactive"), ("SNA batch", "sna_batch"),
                                        ("COURIER", None)])
def test_sender_type(label, kind):
    assert sender_type(label) == kind


def test_unknown_sender_is_a_problem_not_a_guess():
    text = sample("SITECTRL.CT0").replace("MS_SNA_BATCH_SENDER", "MS_PIGEON").replace("SMS_SNA_BATCH_SENDER", "SMS_PIGEON")
    facts, problems = interpret_site_control(text)
    assert len(facts["site_control"]["senders"]) == 1
    assert any("MS_PIGEON" in p for p in problems)


def test_physical_memory_from_resource_list():
    assert memory_mb(resource_list(0x9F000, 0x7F60000)) == 128
    assert memory_mb(resource_list(0x100, flags=0x0800)) == 1024 * 1024  # LARGE_64: length << 32
    with pytest.raises(ResourceListError):
        memory_mb(resource_list(0x1000)[:-3])


def test_site_control_addresses_keep_the_sender_type_of_each_link():
    # RG-1.2 S3D59: "ADDRESS <Originating Site Code><Destination Site Code><Sender Type><Address string format><Address
    # String>"; "The sender type can be LAN Sender, SNA Sender, or RAS Sender." Lines of other sites are not this site's.
    text = sample("SITECTRL.CT0").replace("ADDRESS <CEN><S02><LAN Sender><MS_LAN>", "ADDRESS <CEN><S02><SNA Sender><MS_SNA_BATCH>")
    text += "ADDRESS <P01><CEN><SNA Sender><MS_SNA_BATCH><0011AABB>\r\n"
    facts, _problems = interpret_site_control(text)
    assert facts["site_control"]["addresses"][1] == {"site_code": "S02", "sender": "SNA Sender", "format": "MS_SNA_BATCH"}
    assert all(a["site_code"] != "CEN" for a in facts["site_control"]["addresses"])
    assert "0011AABB" not in repr(facts)
