"""Removing SMSRUN entries: never drops or alters another program; WIN.INI keeps every other byte."""
import pytest
from hypothesis import given, strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.startup import remove_startup_program, startup_entries
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.win_ini import (
    WinIniError, plan_program_removal, read_windows_section, set_windows_value)


@pytest.mark.parametrize("value, expected", [
    ("C:\\MS\\SMS\\BIN\\SMSRUN32.EXE C:\\TOOLS\\CLOCK.EXE", "C:\\TOOLS\\CLOCK.EXE"),
    ("a.exe, smsrun32.exe, b.exe", "a.exe, b.exe"),
    ("a.exe smsrun32.exe,b.exe", "a.exe,b.exe"),
    ('"C:\\Program Files\\SMS\\SMSRUN32.EXE" nav', "nav"),
    ("smsrun32", ""),
    ("  SMSRUN32.EXE  ", ""),
    (" a.exe ", " a.exe "),
    ("", ""),
])
def test_examples(value, expected):
    assert remove_startup_program(value, "SMSRUN32.EXE") == expected


@pytest.mark.parametrize("value, program", [(None, "SMSRUN32.EXE"), (5, "SMSRUN32.EXE"), ("a", ""), ("a", None)])
def test_bad_input(value, program):
    with pytest.raises(TypeError):
        remove_startup_program(value, program)


PROGRAMS = st.sampled_from(["SMSRUN32.EXE", "smsrun32", "C:\\MS\\SMS\\BIN\\SmsRun32.exe", '"C:\\P F\\SMSRUN32.EXE"',
                            "CLOCK.EXE", "C:\\TOOLS\\NAV.EXE", "smsrun16.exe", "MYSMSRUN32.EXE", "SMSRUN32.EXE.BAK",
                            '"C:\\Program Files\\x.exe"'])
SEPARATORS = st.sampled_from([" ", ",", ", ", "  ", " ,"])


def is_target(entry):
    return entry.strip('"').split("\\")[-1].upper() in ("SMSRUN32.EXE", "SMSRUN32")


@given(st.lists(st.tuples(PROGRAMS, SEPARATORS), max_size=6), st.sampled_from(["", " "]), st.sampled_from(["", " ", ","]))
def test_other_programs_are_kept_exactly_and_in_order(parts, head, tail):
    value = head + "".join(p + s for p, s in parts[:-1]) + (parts[-1][0] if parts else "") + (tail if parts else "")
    result = remove_startup_program(value, "SMSRUN32.EXE")
    assert [e[0] for e in startup_entries(result)] == [p for p, _s in parts if not is_target(p)]
    assert remove_startup_program(result, "SMSRUN32.EXE") == result
    if not any(is_target(p) for p, _s in parts):
        assert result is value


WIN_INI = ("; WIN.INI of a Windows 95 client\r\n[windows]\r\nload = C:\\MS\\SMS\\BIN\\SMSRUN16.EXE  NAV.EXE \r\n"
           "run=SMSRUN16.EXE\r\nNullPort=None\r\n\r\n[Desktop]\r\nWallpaper=(None)\r\nload=SMSRUN16.EXE\r\n")


def test_read_windows_section():
    assert read_windows_section(WIN_INI) == {"has_windows_section": True, "load": "C:\\MS\\SMS\\BIN\\SMSRUN16.EXE  NAV.EXE",
                                             "run": "SMSRUN16.EXE"}
    assert read_windows_section("[Desktop]\nload=x\n")["has_windows_section"] is False


def test_removal_changes_only_the_values():
    new, changes = plan_program_removal(WIN_INI, "SMSRUN16.EXE", remove_startup_program)
    assert new == WIN_INI.replace("load = C:\\MS\\SMS\\BIN\\SMSRUN16.EXE  NAV.EXE \r\n", "load = NAV.EXE \r\n") \
        .replace("run=SMSRUN16.EXE\r\n", "run=\r\n")
    assert [c["key"] for c in changes] == ["load", "run"]
    assert "[Desktop]\r\nWallpaper=(None)\r\nload=SMSRUN16.EXE\r\n" in new
    again, none = plan_program_removal(new, "SMSRUN16.EXE", remove_startup_program)
    assert again == new and none == []


def test_no_windows_section_and_bad_values():
    with pytest.raises(WinIniError, match="no \\[windows\\] section"):
        plan_program_removal("[Desktop]\r\nload=SMSRUN16.EXE\r\n", "SMSRUN16.EXE", remove_startup_program)
    with pytest.raises(WinIniError, match="one line"):
        set_windows_value(WIN_INI, "load", "a\r\nb")
    with pytest.raises(WinIniError, match="no run= line"):
        set_windows_value("[windows]\nload=a\n", "run", "")


LINE = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, blacklist_characters="[]=;"), max_size=20)


@given(st.lists(st.tuples(LINE, LINE), max_size=5), st.lists(st.tuples(LINE, LINE), max_size=5), st.sampled_from(["\r\n", "\n"]))
def test_every_other_byte_survives(before, after, eol):
    other = "".join("%s=%s%s" % (k or "k", v, eol) for k, v in before)
    rest = "".join("%s=%s%s" % (k or "k", v, eol) for k, v in after)
    text = "[fonts]" + eol + other + "[windows]" + eol + "load=SMSRUN16.EXE CLOCK.EXE" + eol + "[ports]" + eol + rest
    new, _changes = plan_program_removal(text, "SMSRUN16.EXE", remove_startup_program)
    assert new == text.replace("load=SMSRUN16.EXE CLOCK.EXE", "load=CLOCK.EXE", 1)
    raw = text.encode("latin-1")
    assert new.encode("latin-1") == raw.replace(b"load=SMSRUN16.EXE CLOCK.EXE", b"load=CLOCK.EXE", 1)
