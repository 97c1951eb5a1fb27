"""What is kept and how the vault versions it: selection, manifest, decisions, verification."""
import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import vault_relpath
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import (
    Item, extra_file_sets, select_files)
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import (
    MANIFEST, VaultError, VaultFiles, decide, host_dir, host_manifest_text, load_manifest, new_manifest, preservation,
    record, save_manifest, verify)

SHA_A, SHA_B, SHA_C = "a" * 64, "b" * 64, "c" * 64


def rec(path, size=10, sha=SHA_A, **extra):
    return dict({"path": path, "size": size, "sha256": sha, "modified": "2026-06-01T09:00:00Z"}, **extra)


def test_files_are_filed_relative_to_their_category_base():
    tree = {
        "package_definition_files": [rec("C:\\SMS\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\MSAPPS32.PDF"), rec("D:\\PDF\\OFFICE97.PDF")],
        "xnf_files": [rec("C:\\SMS\\SITE.SRV\\MAINCFG.BOX\\CLIENT.SRC\\X86.BIN\\00000409\\UINFO.XNF")],
        "site_control_files": [rec("C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0"), rec("c:\\sms\\SYSTEM.MAP")],
        "logon_scripts": [rec("C:\\SMS\\SITE.SRV\\MAINCFG.BOX\\SMSLS.BAT", location="maincfg"),
                          rec("C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT", location="netlogon")],
    }
    items, problems = select_files(tree, "C:\\SMS")
    assert problems == []
    assert {(i.category, i.relative) for i in items} == {
        ("package_definition_files", "ENU/MSAPPS32.PDF"), ("package_definition_files", "D/PDF/OFFICE97.PDF"),
        ("xnf_files", "X86.BIN/00000409/UINFO.XNF"), ("site_control_files", "SITE.SRV/SITECFG.BOX/SITECTRL.CT0"),
        ("site_control_files", "SYSTEM.MAP"), ("logon_scripts", "maincfg/SMSLS.BAT"), ("logon_scripts", "netlogon/SMSLS.BAT")}


def test_duplicates_collisions_exclusions_and_unsafe_names():
    tree = {
        "logon_scripts": [rec("C:\\A\\SMSLS.BAT", location="netlogon"), rec("c:\\a\\smsls.bat", location="netlogon"),
                          rec("D:\\B\\SMSLS.BAT", location="netlogon")],
        "collected_files": [rec("C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\CON"),
                            rec("C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\X\\..\\..\\Y"),
                            rec("C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\ok.col"),
                            rec("C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\skip.tmp")],
    }
    items, problems = select_files(tree, "C:\\SMS", exclude={"collected_files": ["*.TMP"]})
    relatives = sorted(i.relative for i in items)
    assert relatives == ["netlogon/D/B/SMSLS.BAT", "netlogon/SMSLS.BAT", "ok.col"]
    assert sorted(p["cause"] for p in problems) == ["unsafe_name", "unsafe_name"]
    assert any("device name CON" in p["message"] for p in problems)
    with pytest.raises(ValueError, match="unknown categories: bogus"):
        select_files(tree, "C:\\SMS", exclude={"bogus": []})


def test_extra_sources_are_checked():
    assert extra_file_sets([{"category": "package_definition_files", "path": "D:\\PDF", "include": "*.PDF"}]) == [
        {"name": "package_definition_files", "path": "D:\\PDF", "include": ["*.PDF"], "recurse": True}]
    cases = (([{"path": "D:\\PDF"}], "needs 'category'"),
             ([{"category": "logon_scripts", "path": "C:\\X"}], "is not one of"),
             ([{"category": "mif_files", "path": "relative\\dir"}], "not absolute"))
    for bad, message in cases:
        with pytest.raises(ValueError, match=message):
            extra_file_sets(bad)


# ------------------------------------------------------------------ vault
def item(rel="ENU/X.PDF", sha=SHA_A, size=10, category="package_definition_files"):
    return Item(category, rel, "C:\\SMS\\PRIMSITE.SRV\\IMPORT.SRC\\" + rel.replace("/", "\\"), size, sha, None)


def put(directory, stored, data):
    path = os.path.join(directory, *stored.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)


def test_versions_never_overwrite(tmp_path):
    import hashlib
    manifest = new_manifest("CEN", "CENSRV01", "CENSRV01", "C:\\P")
    vault = VaultFiles(str(tmp_path))
    first = decide(manifest, item(), "C:\\P", {}, vault)
    assert (first.kind, first.version, first.stored, first.need_host_copy, first.need_vault_copy) == (
        "new", 1, "v1/package_definition_files/ENU/X.PDF", True, True)
    record(manifest, first, "t1")
    changed = decide(manifest, item(sha=SHA_B), "C:\\P", {}, vault)
    assert (changed.kind, changed.version, changed.stored) == ("changed", 2, "v2/package_definition_files/ENU/X.PDF")
    record(manifest, changed, "t2")
    back = decide(manifest, item(sha=SHA_A), "C:\\P", {"V1/PACKAGE_DEFINITION_FILES/ENU/X.PDF": {"sha256": SHA_A, "size": 10}},
                  vault)
    assert (back.kind, back.version, back.need_host_copy) == ("reverted", 1, False)
    record(manifest, back, "t3")
    assert manifest["entries"][0]["current"] == 1 and [v["version"] for v in manifest["entries"][0]["versions"]] == [1, 2]
    # an unrecorded copy from an interrupted run holds v3 with other content: it is kept, the new content is v4
    data = b"interrupted"
    put(str(tmp_path), "v3/package_definition_files/ENU/X.PDF", data)
    vault.forget("v3/package_definition_files/ENU/X.PDF")
    third = decide(manifest, item(sha=hashlib.sha256(b"new").hexdigest(), size=3), "C:\\P", {}, vault)
    assert third.version == 4 and "unrecorded copy" in third.note


def test_unchanged_needs_nothing_when_both_copies_verify(tmp_path):
    import hashlib
    data = b"0123456789"
    sha = hashlib.sha256(data).hexdigest()
    manifest = new_manifest("CEN", "CENSRV01", "CENSRV01", "C:\\P")
    vault = VaultFiles(str(tmp_path))
    decision = decide(manifest, item(sha=sha), "C:\\P", {}, vault)
    put(str(tmp_path), decision.stored, data)
    vault.forget(decision.stored)
    record(manifest, decision, "t1")
    again = decide(manifest, item(sha=sha), "C:\\P", {decision.stored.upper(): {"sha256": sha, "size": 10}}, vault)
    assert (again.kind, again.need_host_copy, again.need_vault_copy) == ("unchanged", False, False)
    status = verify(str(tmp_path), manifest, "now")
    assert status["package_definition_files"] == {
        "verified": True, "files": 1, "bytes": 10, "verified_at": "now", "host_verified_at": "t1", "problems": [],
        "sources": {"C:\\SMS\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\X.PDF": [sha]}, "exclude": [], "names": ["ENU/X.PDF"]}
    put(str(tmp_path), decision.stored, b"tampered!!")
    status = verify(str(tmp_path), manifest, "now")
    assert status["package_definition_files"]["verified"] is False
    assert "missing or different in the vault" in status["package_definition_files"]["problems"][0]


def test_manifest_round_trip_and_bad_manifests(tmp_path):
    directory = host_dir(str(tmp_path), "cen", "CENSRV01")
    assert directory.endswith(os.path.join("CEN", "CENSRV01"))
    os.makedirs(directory)
    path = os.path.join(directory, MANIFEST)
    manifest = load_manifest(path, "CEN", "CENSRV01")
    record(manifest, decide(manifest, item(), "C:\\P", {}, VaultFiles(directory)), "t1")
    save_manifest(path, manifest)
    assert load_manifest(path, "CEN", "CENSRV01")["entries"][0]["path"] == "ENU/X.PDF"
    with pytest.raises(VaultError, match="belongs to CEN/CENSRV01"):
        load_manifest(path, "P01", "CENSRV01")
    text = json.loads(open(path, encoding="utf-8").read())
    text["entries"][0]["versions"][0]["stored"] = "../../../etc/passwd"
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(text, handle)
    with pytest.raises(VaultError, match="malformed.*climbs out"):
        load_manifest(path, "CEN", "CENSRV01")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{truncated")
    with pytest.raises(VaultError, match="unreadable.*move it aside"):
        load_manifest(path, "CEN", "CENSRV01")
    for site, host in (("CENTRAL", "X"), ("CEN", ".."), ("CEN", "a/b"), ("CEN", "CON")):
        with pytest.raises(VaultError):
            host_dir(str(tmp_path), site, host)


def test_preservation_reads_every_manifest(tmp_path):
    directory = host_dir(str(tmp_path), "CEN", "CENSRV01")
    os.makedirs(directory)
    manifest = load_manifest(os.path.join(directory, MANIFEST), "CEN", "CENSRV01")
    decision = decide(manifest, item(sha="88d4266fd4e6338d13b845fcf289579d209c897823b9217da3e161936f031589", size=4),
                      "C:\\P", {}, VaultFiles(directory))
    put(directory, decision.stored, b"abcd")
    record(manifest, decision, "t1")
    manifest["open_problems"] = [{"category": "collected_files", "source": "C:\\X.COL", "cause": "locked", "message": "m"}]
    save_manifest(os.path.join(directory, MANIFEST), manifest)
    broken = host_dir(str(tmp_path), "P01", "P01SRV01")
    os.makedirs(broken)
    with open(os.path.join(broken, MANIFEST), "w", encoding="utf-8") as handle:
        handle.write("[]")
    result = preservation(str(tmp_path), "now")
    assert result["CENSRV01"]["package_definition_files"]["verified"] is True
    assert result["CENSRV01"]["collected_files"]["verified"] is False
    assert result["P01SRV01"]["vault"]["verified"] is False
    assert preservation(str(tmp_path), "now", hosts=["P01SRV01"]).keys() == {"P01SRV01"}
    assert preservation(str(tmp_path / "missing"), "now") == {}


def test_host_manifest_is_stable():
    manifest = new_manifest("CEN", "CENSRV01", "CENSRV01", "C:\\P")
    record(manifest, decide(manifest, item(), "C:\\P", {}, VaultFiles("/nonexistent")), "t1")
    first = host_manifest_text(manifest)
    record(manifest, decide(manifest, item(), "C:\\P", {}, VaultFiles("/nonexistent")), "t2")
    assert host_manifest_text(manifest) == first and b"\r\n" in first


@given(st.lists(st.tuples(st.sampled_from(["ENU/A.PDF", "enu/a.pdf", "B.PDF", "C/D.PDF"]),
                          st.sampled_from([SHA_A, SHA_B, SHA_C])), min_size=1, max_size=25))
@settings(max_examples=200, deadline=None)
def test_any_history_keeps_every_content_once_and_never_reuses_a_version(history):
    manifest = new_manifest("CEN", "CENSRV01", "CENSRV01", "C:\\P")
    vault = VaultFiles("/nonexistent")
    for rel, sha in history:
        decision = decide(manifest, item(rel=rel, sha=sha), "C:\\P", {}, vault)
        record(manifest, decision, "t")
        entry = [e for e in manifest["entries"] if e["path"].upper() == rel.upper()][0]
        assert next(v for v in entry["versions"] if v["version"] == entry["current"])["sha256"] == sha
    for entry in manifest["entries"]:
        shas = [v["sha256"] for v in entry["versions"]]
        assert len(shas) == len(set(shas))
        assert len({v["stored"] for v in entry["versions"]}) == len(shas)
        assert all(vault_relpath(v["stored"]) == v["stored"] for v in entry["versions"])
    assert len(manifest["entries"]) == len({rel.upper() for rel, _sha in history})


# ------------------------------------------------------------------ names compared as NTFS compares them (15)
NTFS_NAMES = st.text(st.sampled_from(list("abcsSzZ") + ["ß", "ẞ", "ﬁ", "İ", "ı", "ς", "σ", "Σ", "é", "É", "ǅ"]), min_size=1, max_size=6)


SPELLINGS = [lambda n: n, str.upper, str.lower, str.casefold, lambda n: n.replace("ß", "SS"), lambda n: n.replace("SS", "ß"),
             lambda n: n.replace("ss", "ß"), lambda n: n.upper().replace("SS", "ß"), lambda n: n.swapcase()]


@given(NTFS_NAMES, st.one_of(NTFS_NAMES.map(lambda n: (None, n)), st.sampled_from(SPELLINGS).map(lambda f: (f, None))))
@settings(max_examples=400)
def test_two_names_windows_can_hold_apart_are_both_kept_apart(first, other):
    spell, second = other
    second = spell(first) if spell else second
    files = [rec("C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\%s.col" % name) for name in (first, second)]
    items, problems = select_files({"collected_files": files}, "C:\\SMS")
    same = "".join(c.upper() if len(c.upper()) == 1 else c for c in first) == \
        "".join(c.upper() if len(c.upper()) == 1 else c for c in second)
    assert problems == []
    if same:
        assert len(items) == 1
    else:
        assert [i.relative for i in items] == ["%s.col" % first, "%s.col" % second]  # each keeps its own vault path


def test_strasse_and_its_capitals_are_two_files():
    files = [rec("C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\Straße.col"), rec("C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\STRASSE.col")]
    items, problems = select_files({"collected_files": files}, "C:\\SMS")
    assert problems == [] and [i.relative for i in items] == ["Straße.col", "STRASSE.col"]
