"""Reading program entries of load/run strings."""
import pytest
from hypothesis import given, strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.startup import names_program, program_stem, startup_entries


@pytest.mark.parametrize("value", [
    "SMSRUN32.EXE", "C:\\MS\\SMS\\BIN\\SMSRUN32.EXE", "c:\\ms\\sms\\bin\\smsrun32", "clock.exe,smsrun32.exe",
    '"C:\\Program Files\\x.exe" C:\\MS\\SMS\\BIN\\SMSRUN32.EXE', "C:/MS/SMS/BIN/SmsRun32.Exe  nav.exe",
])
def test_names_program_finds_smsrun32(value):
    assert names_program(value, "SMSRUN32.EXE")


@pytest.mark.parametrize("value", [None, "", "SMSRUN16.EXE", "SMSRUN32.EXE.BAK", "MYSMSRUN32.EXE", "C:\\SMSRUN32\\x.exe"])
def test_names_program_ignores_other_programs(value):
    assert not names_program(value, "SMSRUN32.EXE")


def test_entries_keep_spans_and_quotes():
    value = 'a.exe, "C:\\P F\\b.exe"  c'
    entries = startup_entries(value)
    assert [e[0] for e in entries] == ["a.exe", '"C:\\P F\\b.exe"', "c"]
    assert all(value[start:end] == text for text, start, end in entries)


def test_non_string_is_refused():
    with pytest.raises(TypeError, match="must be a string"):
        startup_entries(42)


def test_program_stem():
    assert program_stem("C:\\MS\\SMS\\BIN\\smsrun16.exe") == "SMSRUN16"
    assert program_stem('"clock"') == "CLOCK"


names = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True)


@given(st.lists(names, max_size=6), st.sampled_from([" ", ",", ", "]))
def test_a_program_is_named_exactly_when_listed(programs, separator):
    value = separator.join("C:\\BIN\\%s.EXE" % p for p in programs)
    assert names_program(value, "SMSRUN32.EXE") == any(p.upper() == "SMSRUN32" for p in programs)
