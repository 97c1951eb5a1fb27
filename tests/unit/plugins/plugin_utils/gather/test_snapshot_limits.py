"""Hostile snapshot files: each problem is a finding on its own host naming the field, never an exception."""
import json

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import (
    deep_path, is_date_time, limits, load_snapshot, validate_snapshot)

from ..snapshots import client, site_server


def _load(tmp_path, text, host="WKS01"):
    path = tmp_path / ("%s.json" % host)
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return load_snapshot(host, str(path))


def _raw(**extra):
    """A valid client snapshot as JSON text, with ``"marker": MARK`` that tests replace by raw JSON."""
    return json.dumps(client(**extra)).replace('"MARK"', "%s")


def _problems(loaded):
    assert loaded.data is None and not loaded.valid
    return {p.path: p.message for p in loaded.problems}


def test_nesting_deeper_than_the_parser_can_go_names_the_field(tmp_path):
    text = _raw(extra={"deep": "MARK"}) % ("[" * 50000 + "]" * 50000)
    problems = _problems(_load(tmp_path, text))
    [(path, message)] = problems.items()
    assert path.startswith("extra.deep[0][0]") and "nested deeper than %d levels" % limits()["max_depth"] in message


def test_nesting_the_parser_reads_but_no_snapshot_has_names_the_field(tmp_path):
    text = _raw(os={"family": "windows_nt", "version": "4.0", "name": "MARK"}) % ("[" * 200 + "]" * 200)
    problems = _problems(_load(tmp_path, text))
    assert len(problems) == 1 and next(iter(problems)).startswith("os.name[0]")


def test_deep_path_follows_keys_and_indexes():
    text = '{"a": 1, "b": [0, {"c": [[[1]]]}]}'
    assert deep_path(text, 3) == "b[1].c"
    assert deep_path(text, 5) == "b[1].c[0][0]"
    assert deep_path(text, 6) == "$"


@pytest.mark.parametrize("literal, words", [
    ("9" * 5000, "integer of 5000 digits"),
    ("-" + "1" * 40, "integer of 40 digits"),
    ("NaN", "is NaN"), ("Infinity", "is Infinity"), ("-Infinity", "is -Infinity"),
    ("1e400", "is inf"),
    ('"SP\\ud800"', "lone surrogate (U+D800 at character 3)"),
])
def test_values_json_or_utf8_cannot_carry_name_their_field(tmp_path, literal, words):
    text = _raw(os={"family": "windows_nt", "version": "4.0", "csd_version": "MARK"}) % literal
    assert words in _problems(_load(tmp_path, text))["os.csd_version"]


def test_a_key_with_a_lone_surrogate_is_named(tmp_path):
    text = json.dumps(client()).replace('"site_code"', '"site\\udc80", "site_code"', 1).replace(
        '"site\\udc80", ', '"site\\udc80": 1, ', 1)
    problems = _problems(_load(tmp_path, text))
    assert any("is a key that holds a lone surrogate" in m for m in problems.values())
    assert all("\udc80" not in path for path in problems)


def test_a_megabyte_value_is_refused_by_field_and_the_message_stays_short(tmp_path):
    huge = "A" * (limits()["max_text_chars"] + 1)
    loaded = _load(tmp_path, json.dumps(client(os={"family": "windows_nt", "version": "4.0", "name": huge})))
    message = _problems(loaded)["os.name"]
    assert "characters long" in message and len(message) < 200


def test_a_file_larger_than_the_limit_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setitem(limits(), "max_file_bytes", 100)
    problems = _problems(_load(tmp_path, json.dumps(client())))
    assert "a snapshot file holds at most 100" in problems["$"]


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01T00:00:00Z", "2026-11-20 06:00:00", "2026-11-20T06:00:00"])
def test_date_time_fields_are_validated_and_named(value):
    problems = {p.path: p.message for p in validate_snapshot("WKS01", client(collected_at=value))}
    assert "not a date and time" in problems["collected_at"]


def test_date_times_with_an_offset_are_accepted():
    assert is_date_time("2026-11-20T06:00:00Z") and is_date_time("2026-11-20T06:00:00.5+02:00")
    assert validate_snapshot("WKS01", client(collected_at="2026-11-20T06:00:00+01:00")) == []


def test_a_bad_date_inside_a_section_names_its_field():
    snap = site_server()
    snap["sms_tree"]["xnf_files"] = [{"path": "C:\\SMS\\X.XNF", "size": 1, "sha256": "0" * 64, "modified": "soon"}]
    paths = {p.path for p in validate_snapshot("SRV01", snap)}
    assert "sms_tree.xnf_files[0].modified" in paths


@pytest.mark.parametrize("field", ["content", "load", "run"])
def test_win_ini_text_latin1_cannot_hold_is_refused_by_field(field):
    win_ini = {"present": True, "has_windows_section": True, "load": "", "run": "", "content": "[windows]\r\n"}
    win_ini[field] = "SMSRUN16.EXE \u4e2d"
    problems = {p.path: p.message for p in validate_snapshot("WKS01", client(win_ini=win_ini))}
    assert "U+4E2D at character 14, which latin-1 does not have" in problems["win_ini.%s" % field]


def test_latin1_text_is_accepted():
    win_ini = {"present": True, "load": "C:\\PROGRA~1\\\u00e9t\u00e9.EXE", "run": "", "content": "\u00ff\u00e9\r\n"}
    assert validate_snapshot("WKS01", client(win_ini=win_ini)) == []
