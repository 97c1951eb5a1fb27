"""The vault store on its own: the lock and its holder, transfers that never replace a stored file, checkpoints and
what a stopped run keeps, the manifest's open problems."""
import errno
import hashlib
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.vault import store as store_module
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import VaultError
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import Item
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.store import (
    NothingPreserved, StoreError, VaultBusy, VaultStore)

HOST_ROOT = "C:\\PRESERVED-SMS12\\CEN\\CENSRV01"
NOW = "2026-11-25T10:00:00Z"


def vault(tmp_path, host="CENSRV01"):
    return VaultStore(str(tmp_path), "CEN", host, NOW, host_root=HOST_ROOT)


def decision(store, name, content, category="collected_files"):
    item = Item(category, name, "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\" + name, len(content),
                hashlib.sha256(content).hexdigest(), None)
    return store.decide(item, HOST_ROOT, None)


def fetcher(content):
    def fetch(_remote, local):
        with open(local, "wb") as handle:
            handle.write(content)
    return fetch


def saved(tmp_path, host="CENSRV01"):
    with open(os.path.join(str(tmp_path), "CEN", host, "manifest.json"), encoding="utf-8") as handle:
        return json.load(handle)


# ------------------------------------------------------------------ the lock
def test_a_second_writer_is_refused_and_the_message_names_the_holder(tmp_path):
    first, second = vault(tmp_path), vault(tmp_path)
    with first.locked():
        with pytest.raises(VaultBusy, match=r"another preserve run of CENSRV01 holds its vault directory .* \(pid %d since "
                                            r"2026-11-25T10:00:00Z\); runs of one host never overlap" % os.getpid()):
            with second.locked():
                pass  # pragma: no cover - never reached
        assert os.path.isdir(first.partial)
    with second.locked():  # released: the next run goes on
        pass


def test_the_lock_file_is_never_followed_through_a_symbolic_link(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not the vault's")
    directory = tmp_path / "vault" / "CEN" / "CENSRV01"
    directory.mkdir(parents=True)
    (directory / ".lock").symlink_to(elsewhere)
    with pytest.raises(VaultError, match="cannot use the vault directory"):
        with vault(tmp_path / "vault").locked():
            pass  # pragma: no cover - never reached
    assert elsewhere.read_text() == "not the vault's"


def test_what_a_dead_run_left_in_partial_is_removed_and_this_runs_transfers_too(tmp_path):
    leftover = tmp_path / "CEN" / "CENSRV01" / ".partial" / "dead-run"
    leftover.mkdir(parents=True)
    (leftover / "half").write_bytes(b"half a transfer")
    store = vault(tmp_path)
    with store.locked():
        assert not leftover.exists() and os.path.isdir(store.partial)
        mine = store.partial
    assert not os.path.exists(mine) and store.partial is None


def test_nothing_is_written_without_the_lock(tmp_path):
    store = vault(tmp_path)
    with pytest.raises(StoreError, match="written only while its lock is held"):
        store.store_bytes(decision(store, "A.COL", b"a"), b"a")
    assert not (tmp_path / "CEN").exists()


# ------------------------------------------------------------------ never replacing a stored file
def test_a_stored_file_is_never_replaced_and_the_same_content_is_fine(tmp_path):
    store = vault(tmp_path)
    planned = decision(store, "A.COL", b"preserved")
    final = tmp_path / "CEN" / "CENSRV01" / planned.stored
    with store.locked():
        final.parent.mkdir(parents=True)
        final.write_bytes(b"placed by another run")
        with pytest.raises(StoreError, match="exists with other content; it is kept and nothing is overwritten") as raised:
            store.store_bytes(planned, b"preserved")
        assert raised.value.cause == "vault" and final.read_bytes() == b"placed by another run"
        final.write_bytes(b"preserved")
        store.store_bytes(planned, b"preserved")  # already there with this content: nothing to do
        assert store.holds(planned) and os.listdir(store.partial) == []


def test_without_hard_links_the_file_is_created_exclusively_and_never_replaced(tmp_path, monkeypatch):
    def no_links(_source, _final):
        raise OSError(errno.EXDEV, "Invalid cross-device link")
    monkeypatch.setattr(os, "link", no_links)
    store = vault(tmp_path)
    fresh, taken = decision(store, "A.COL", b"fresh"), decision(store, "B.COL", b"mine")
    with store.locked():
        store.store_bytes(fresh, b"fresh")
        assert store.read(fresh) == b"fresh" and os.stat(store.path(fresh.stored)).st_mode & 0o777 == 0o600
        other = tmp_path / "CEN" / "CENSRV01" / taken.stored
        other.write_bytes(b"placed by another run")
        with pytest.raises(StoreError, match="exists with other content"):
            store.store_bytes(taken, b"mine")
        assert other.read_bytes() == b"placed by another run"


def test_a_copy_that_does_not_read_back_is_removed_not_left_half_written(tmp_path, monkeypatch):
    def no_links(_source, _final):
        raise OSError(errno.EPERM, "Operation not permitted")
    monkeypatch.setattr(os, "link", no_links)
    real_fsync = os.fsync

    def corrupting_fsync(fd):
        real_fsync(fd)
        os.pwrite(fd, b"X", 0)  # the disk gives back other bytes
    monkeypatch.setattr(os, "fsync", corrupting_fsync)
    store = vault(tmp_path)
    planned = decision(store, "A.COL", b"abc")
    with store.locked():
        with pytest.raises(StoreError, match="does not read back"):
            store.store_bytes(planned, b"abc")
        assert not os.path.exists(store.path(planned.stored))


# ------------------------------------------------------------------ fetching a host copy
def test_fetch_checks_size_and_sha256_and_names_the_cause(tmp_path):
    store = vault(tmp_path)
    planned = decision(store, "A.COL", b"the host copy")
    with store.locked():
        with pytest.raises(StoreError, match=r"the fetched copy of \\\\H\\A has 5 bytes, SHA-256 .*; expected 13 bytes") as bad:
            store.fetch_into(planned, fetcher(b"other"), "\\\\H\\A")
        assert bad.value.cause == "transfer"

        def lost(_remote, local):
            with open(local, "wb") as handle:
                handle.write(b"half")
            raise OSError("connection reset")
        with pytest.raises(StoreError, match="could not be fetched into the vault: connection reset") as failed:
            store.fetch_into(planned, lost, "\\\\H\\A")
        assert failed.value.cause == "transfer"

        def full(_remote, _local):
            raise OSError(errno.ENOSPC, "No space left on device")
        with pytest.raises(StoreError) as no_space:
            store.fetch_into(planned, full, "\\\\H\\A")
        assert no_space.value.cause == "disk_full"
        assert os.listdir(store.partial) == [] and not store.holds(planned)
        store.fetch_into(planned, fetcher(b"the host copy"), "\\\\H\\A")
        assert store.holds(planned) and store.read(planned) == b"the host copy"


# ------------------------------------------------------------------ the manifest: checkpoints, a stopped run
class Stop(BaseException):
    """The controller stops in the middle of the run."""


def test_checkpoints_save_the_manifest_every_n_files(tmp_path, monkeypatch):
    monkeypatch.setattr(store_module, "CHECKPOINT_FILES", 2)
    store = vault(tmp_path)
    files = [(decision(store, "%d.COL" % n, b"file %d" % n), b"file %d" % n) for n in range(3)]
    with store.locked():
        for planned, content in files:
            store.store_bytes(planned, content)
            store.record(planned, [])
            if planned.item.relative == "0.COL":
                assert not os.path.exists(store.manifest_path)
        assert [e["path"] for e in saved(tmp_path)["entries"]] == ["0.COL", "1.COL"]  # the third waits for the next


def test_a_stopped_run_keeps_what_verified_and_its_problems(tmp_path):
    store = vault(tmp_path)
    problem = {"category": "collected_files", "source": "B.COL", "cause": "locked", "message": "busy"}
    with pytest.raises(Stop):
        with store.locked():
            try:
                planned = decision(store, "A.COL", b"verified")
                store.store_bytes(planned, b"verified")
                store.record(planned, [problem])
                raise Stop()
            except BaseException:
                store.keep_recorded([problem])
                raise
    manifest = saved(tmp_path)
    assert [e["path"] for e in manifest["entries"]] == ["A.COL"] and manifest["open_problems"] == [problem]
    assert (tmp_path / "CEN" / "CENSRV01" / manifest["entries"][0]["versions"][0]["stored"]).read_bytes() == b"verified"
    again = vault(tmp_path)
    with again.locked():
        again.keep_recorded([])  # nothing recorded since: the manifest is left as it is
    assert saved(tmp_path) == manifest


def test_the_end_of_a_run_keeps_earlier_problems_only_outside_the_categories_it_covered(tmp_path):
    earlier = [{"category": "collected_files", "source": "A", "cause": "locked", "message": "busy"},
               {"category": "database_documents", "source": "query x", "cause": "other", "message": "SQL error"}]
    store = vault(tmp_path)
    with store.locked():
        store.save(earlier)
    new = {"category": "mif_files", "source": "M", "cause": "changed", "message": "changed while copying"}
    store = vault(tmp_path)
    with store.locked():
        assert store.open_problems([new]) == earlier + [new]  # a checkpoint keeps every earlier one
        store.save([new], covered={"collected_files", "mif_files"})
    assert saved(tmp_path)["open_problems"] == [earlier[1], new]


def test_a_host_without_a_manifest_has_nothing_preserved(tmp_path):
    with pytest.raises(NothingPreserved, match=r"nothing preserved for CENSRV01: no vault manifest .*manifest.json \(run the "
                                               r"preserve playbook first\)"):
        VaultStore.preserved(str(tmp_path), "CEN", "CENSRV01", NOW)
    store = vault(tmp_path)
    with store.locked():
        store.save([])
    assert VaultStore.preserved(str(tmp_path), "cen", "CENSRV01", NOW).manifest["host"] == "CENSRV01"
