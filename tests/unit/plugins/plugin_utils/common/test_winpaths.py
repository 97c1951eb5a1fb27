"""Path safety: nothing escapes the vault or the host root, Windows can hold every name, long paths are cut."""
import os

import pytest
from hypothesis import assume, given, settings, strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import (
    HOST_PARTIAL_SUFFIX, MAX_HOST_PATH, UnsafePath, check_host_root, controller_join, is_within, join_windows, qualified_segments,
    relative_to, segment_problem, split_source, stored_path, vault_relpath)


@pytest.mark.parametrize("value", [
    "..", "../etc/passwd", "a/../../b", "a\\..\\b", "/etc/passwd", "\\Windows", "C:\\SMS", "C:x", "c:", "\\\\srv\\share\\x",
    "\\\\?\\C:\\x", "a//b", "a/./b", "", "CON", "con.txt", "a/NUL", "a/COM1.log", "LPT9", "a/AUX .x", "CLOCK$",
    "a/b:stream", "a/b*", "a/b?", 'a/"b"', "a/b|c", "a/<b>", "a/b.", "a/b ", "tab\tname", "x" * 256,
])
def test_unsafe_relative_paths_are_refused(value):
    with pytest.raises(UnsafePath):
        vault_relpath(value)


@pytest.mark.parametrize("value, expected", [
    ("ENU/MSAPPS32.PDF", "ENU/MSAPPS32.PDF"),
    ("ENU\\MSAPPS32.PDF", "ENU/MSAPPS32.PDF"),
    ("netlogon/SMSLS.BAT", "netlogon/SMSLS.BAT"),
    ("CONSOLE.TXT", "CONSOLE.TXT"),
    ("COM10", "COM10"),
    (".hidden", ".hidden"),
    ("Bjørn's ÄÖ file.txt", "Bjørn's ÄÖ file.txt"),
    ("a b/c d.e", "a b/c d.e"),
])
def test_safe_relative_paths(value, expected):
    assert vault_relpath(value) == expected


@pytest.mark.parametrize("path, anchor, segments", [
    ("C:\\SMS\\SITE.SRV", "C:", ["SMS", "SITE.SRV"]),
    ("c:/sms/", "C:", ["sms"]),
    ("\\\\?\\D:\\PDF\\X.PDF", "D:", ["PDF", "X.PDF"]),
    ("\\\\CENSRV01\\C$\\SMS", "UNC/CENSRV01/C$", ["SMS"]),
    ("\\\\?\\UNC\\CENSRV01\\NETLOGON\\SMSLS.BAT", "UNC/CENSRV01/NETLOGON", ["SMSLS.BAT"]),
])
def test_split_source(path, anchor, segments):
    assert split_source(path) == (anchor, segments)


@pytest.mark.parametrize("path", ["SMS\\X", "\\SMS", "\\\\server", "C:\\SMS\\..\\WINNT", "", None, 5])
def test_bad_sources(path):
    with pytest.raises(UnsafePath):
        split_source(path)


def test_relative_to_is_segment_wise_and_case_insensitive():
    assert relative_to("C:\\SMS\\Site.srv\\X", "c:\\sms") == ["Site.srv", "X"]
    assert relative_to("C:\\SMS2\\X", "C:\\SMS") is None
    assert relative_to("D:\\SMS\\X", "C:\\SMS") is None
    assert relative_to("C:\\SMS", "C:\\SMS") is None
    assert qualified_segments("\\\\SRV\\NETLOGON\\SMSLS.BAT") == ["UNC", "SRV", "NETLOGON", "SMSLS.BAT"]


@pytest.mark.parametrize("root, sms_root, message", [
    ("C:\\SMS\\BACKUP", "C:\\SMS", "inside the SMS tree"),
    ("c:\\sms", "C:\\SMS", "inside the SMS tree"),
    ("C:\\", "C:\\SMS", "drive or share root"),
    ("C:\\DATA", "C:\\DATA\\SMS", "contains the SMS tree"),
    ("C:\\SMSBACKUP", None, "KB Q139627"),
    ("D:\\scman.old", None, "KB Q139627"),
    ("BACKUP", None, "not absolute"),
    ("C:\\BACK\\..\\SMS", None, "'..'"),
    ("C:\\NUL\\X", None, "device name"),
])
def test_bad_host_roots(root, sms_root, message):
    with pytest.raises(UnsafePath, match=message.replace("(", "\\(")):
        check_host_root(root, sms_root)


def test_good_host_roots():
    assert check_host_root("C:\\PRESERVED-SMS12", "C:\\SMS") == "C:\\PRESERVED-SMS12"
    assert check_host_root("d:/backup/sms12/", "C:\\SMS") == "D:\\backup\\sms12"
    assert check_host_root("C:\\SMS2-PRESERVED\\CEN", "C:\\SMS") == "C:\\SMS2-PRESERVED\\CEN"
    assert check_host_root("\\\\NAS\\BACKUP\\SMS", "C:\\SMS") == "\\\\NAS\\BACKUP\\SMS"


def test_stored_path_is_versioned_and_short():
    assert stored_path(1, "package_definition_files", "ENU/X.PDF", "C:\\P") == "v1/package_definition_files/ENU/X.PDF"
    deep = "/".join(["DIRECTORY%02d" % i for i in range(30)]) + "/REPORT.COL"
    stored = stored_path(3, "collected_files", deep, "C:\\PRESERVED-SMS12")
    assert stored.startswith("v3/collected_files/_long/") and stored.endswith(".COL")
    assert len(join_windows("C:\\PRESERVED-SMS12", stored)) <= MAX_HOST_PATH
    assert stored != stored_path(3, "collected_files", deep.replace("REPORT", "OTHER"), "C:\\PRESERVED-SMS12")
    with pytest.raises(UnsafePath):
        stored_path(0, "x", "a", "C:\\P")
    with pytest.raises(UnsafePath):
        stored_path(1, "x", "a", "C:\\" + "R" * 230)


# ------------------------------------------------------------------ property tests
NAME_CHARS = st.characters(codec="utf-8", categories=("L", "N", "P", "S", "Zs", "Cc"))
SEGMENTS = st.one_of(st.text(NAME_CHARS, min_size=0, max_size=12),
                     st.sampled_from(["..", ".", "CON", "nul.txt", "COM1", "LPT3.DAT", "a:b", "x.", "y ", "C:", "~1"]))
RAW_PATHS = st.one_of(
    st.lists(SEGMENTS, min_size=1, max_size=6).map("/".join),
    st.lists(SEGMENTS, min_size=1, max_size=6).map("\\".join),
    st.text(max_size=40))


@given(RAW_PATHS)
@settings(max_examples=500)
def test_a_relative_path_never_escapes_the_vault(raw):
    try:
        rel = vault_relpath(raw)
    except UnsafePath:
        return
    root = "/vault/CEN/CENSRV01"
    joined = os.path.normpath(controller_join(root, rel))
    assert joined.startswith(root + "/")
    segments = rel.split("/")
    assert all(segment_problem(s) is None for s in segments)
    assert ".." not in segments and "" not in segments
    assert not any(s.split(".")[0].rstrip(" ").upper() in ("CON", "NUL", "AUX", "PRN", "COM1", "LPT3") for s in segments)
    assert vault_relpath(rel) == rel  # idempotent


@given(RAW_PATHS)
@settings(max_examples=300)
def test_a_windows_join_stays_under_the_host_root(raw):
    try:
        rel = vault_relpath(raw)
    except UnsafePath:
        return
    path = join_windows("C:\\PRESERVED-SMS12", rel)
    assert is_within(path, "C:\\PRESERVED-SMS12")
    assert relative_to(path, "C:\\PRESERVED-SMS12") == rel.split("/")


@given(st.lists(st.text(NAME_CHARS, min_size=1, max_size=40), min_size=1, max_size=12),
       st.integers(min_value=1, max_value=999), st.sampled_from(["C:\\P", "C:\\PRESERVED-SMS12", "D:\\" + "B" * 80]))
@settings(max_examples=300)
def test_stored_paths_are_safe_and_short(segments, version, host_root):
    try:
        rel = vault_relpath("/".join(segments))
    except UnsafePath:
        return
    stored = stored_path(version, "collected_files", rel, host_root)
    assert vault_relpath(stored) == stored
    assert stored.startswith("v%d/collected_files/" % version)
    assert len(join_windows(host_root, stored)) <= MAX_HOST_PATH
    assert not stored.upper().endswith(HOST_PARTIAL_SUFFIX.upper())


@given(st.lists(st.text(NAME_CHARS, min_size=1, max_size=20), min_size=0, max_size=4),
       st.text(NAME_CHARS, min_size=1, max_size=20), st.sampled_from([".smsupg-partial", ".SMSUPG-PARTIAL", ".SmsUpg-Partial"]),
       st.sampled_from(["C:\\P", "D:\\" + "B" * 120]))
@settings(max_examples=200)
def test_a_stored_name_never_looks_like_a_copy_in_progress(parents, stem, suffix, host_root):
    try:
        rel = vault_relpath("/".join(parents + [stem + suffix]))
    except UnsafePath:
        return
    stored = stored_path(1, "collected_files", rel, host_root)
    assert vault_relpath(stored) == stored and not stored.upper().endswith(HOST_PARTIAL_SUFFIX.upper())
    assert len(join_windows(host_root, stored)) <= MAX_HOST_PATH


@given(st.lists(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8), min_size=1,
                max_size=5), st.lists(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8),
                                      min_size=1, max_size=5))
def test_within_is_consistent_with_relative_to(base, rest):
    base_path = "C:\\" + "\\".join(base)
    child = base_path + "\\" + "\\".join(rest)
    assert is_within(child, base_path) and relative_to(child, base_path) == rest
    assert is_within(child.lower(), base_path.upper())
    sibling = base_path + "X\\" + "\\".join(rest)
    assume(not sibling.upper().startswith(base_path.upper() + "\\"))
    assert relative_to(sibling, base_path) is None


# ------------------------------------------------------------------ host roots that lead into the SMS tree another way (9)
@pytest.mark.parametrize("root", [
    "\\\\CENSRV01\\C$\\SMS\\KEEP", "\\\\censrv01.corp.example\\c$\\sms\\keep", "\\\\localhost\\C$\\SMS\\KEEP",
    "\\\\127.0.0.1\\C$\\SMS", "\\\\?\\UNC\\CENSRV01\\C$\\SMS\\KEEP", "\\\\CENSRV01\\CDRIVE\\SMS\\KEEP",
])
def test_the_machines_own_shares_are_seen_as_its_drives(root):
    with pytest.raises(UnsafePath, match="inside the SMS tree"):
        check_host_root(root, "C:\\SMS", ["CENSRV01"], {"C": "CDRIVE"})


@pytest.mark.parametrize("root", ["\\\\.\\C:\\SMS\\KEEP", "\\\\?\\GLOBALROOT\\Device\\HarddiskVolume1\\SMS\\KEEP",
                                  "\\\\?\\Volume{0d3f2a3e-0000-0000-0000-100000000000}\\KEEP", "//./C:/KEEP"])
def test_device_namespace_paths_are_refused(root):
    with pytest.raises(UnsafePath, match="device namespace"):
        check_host_root(root, "C:\\SMS")


def test_other_machines_and_ordinary_shares_stay_as_they_are():
    assert check_host_root("\\\\NAS\\BACKUP\\SMS", "C:\\SMS", ["CENSRV01"]) == "\\\\NAS\\BACKUP\\SMS"
    assert check_host_root("\\\\CENSRV01\\BACKUP\\SMS", "C:\\SMS", ["CENSRV01"]) == "\\\\CENSRV01\\BACKUP\\SMS"
    assert check_host_root("\\\\CENSRV01\\D$\\KEEP", "C:\\SMS", ["CENSRV01"]) == "\\\\CENSRV01\\D$\\KEEP"
    with pytest.raises(UnsafePath, match="KB Q139627"):
        check_host_root("\\\\CENSRV01\\C$\\SMSKEEP", None, ["CENSRV01"])


@given(st.lists(st.text(st.characters(codec="ascii", categories=("L", "N")), min_size=1, max_size=8), min_size=0, max_size=4),
       st.sampled_from(["C", "c"]), st.sampled_from(["CENSRV01", "censrv01", "CENSRV01.corp.example", "localhost"]))
@settings(max_examples=200)
def test_no_admin_share_spelling_of_a_path_in_the_sms_tree_is_accepted(below, drive, server):
    root = "\\\\%s\\%s$\\SMS%s" % (server, drive, "".join("\\" + part for part in below))
    with pytest.raises(UnsafePath):
        check_host_root(root, "C:\\SMS", ["CENSRV01"])
