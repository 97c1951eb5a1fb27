"""A malformed vault manifest or journal record fails its own host by name, never the fleet; records of another host
are refused; host names are checked by the one helper the snapshots use too."""
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.client_agents import PHASE
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.fleet_plan import plan_hosts
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import JournalError, host_dir, latest_record, write_record
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import (
    MANIFEST, VaultError, host_dir as vault_dir, load_manifest, new_manifest, preservation, save_manifest)

CHANGE = {"kind": "service", "id": "service:Wuser32", "name": "Wuser32",
          "start_mode": {"from": "auto", "to": "disabled"}}


def _manifest(root, site, host, change=None):
    directory = vault_dir(str(root), site, host)
    os.makedirs(directory)
    manifest = new_manifest(site, host, host, "C:\\P")
    if change:
        change(manifest)
    path = os.path.join(directory, MANIFEST)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    return path


@pytest.mark.parametrize("change, words", [
    (lambda m: m.update(open_problems="oops"), "'open_problems' is not a list"),
    (lambda m: m.update(open_problems=[{"category": 1}]), "'open_problems' is not a list"),
    (lambda m: m.update(exclude=["*.TMP"]), "'exclude' is not a mapping"),
    (lambda m: m.update(entries=[{"category": "x"}]), "missing or malformed field"),
])
def test_a_malformed_manifest_fails_its_host_by_name_and_the_others_are_verified(tmp_path, change, words):
    _manifest(tmp_path, "CEN", "CENSRV01")
    path = _manifest(tmp_path, "P01", "P01SRV01", change)
    with pytest.raises(VaultError, match=words):
        load_manifest(path, "P01", "P01SRV01")
    result = preservation(str(tmp_path), "now")
    assert result["P01SRV01"]["vault"]["verified"] is False and words.strip("'") in result["P01SRV01"]["vault"]["problems"][0]
    assert "vault" not in result.get("CENSRV01", {})


def test_any_error_verifying_one_manifest_fails_only_that_host(tmp_path, monkeypatch):
    _manifest(tmp_path, "CEN", "CENSRV01")
    _manifest(tmp_path, "P01", "P01SRV01")
    from ansible_collections.sms.upgrade.plugins.plugin_utils.vault import manifest as module
    real = module.verify

    def verify(directory, manifest, now, vault_files=None):
        if manifest["host"] == "P01SRV01":
            raise TypeError("'<' not supported between instances of 'int' and 'str'")
        return real(directory, manifest, now, vault_files)
    monkeypatch.setattr(module, "verify", verify)
    result = preservation(str(tmp_path), "now")
    assert "malformed (TypeError" in result["P01SRV01"]["vault"]["problems"][0]
    assert "P01SRV01" in result["P01SRV01"]["vault"]["problems"][0] and "vault" not in result.get("CENSRV01", {})


@pytest.mark.parametrize("host", ["CON", "lpt1", ".lock", " CEN", "a:b", "x" * 300])
def test_the_vault_refuses_the_names_the_snapshots_refuse(tmp_path, host):
    with pytest.raises(VaultError, match="cannot be a vault directory"):
        vault_dir(str(tmp_path), "CEN", host)
    with pytest.raises(JournalError, match="cannot name a journal directory"):
        host_dir(str(tmp_path), host)


def test_a_journal_record_of_another_host_is_refused(tmp_path):
    path = write_record(str(tmp_path), "CENNT013", "client_agents", "20261125T080000Z",
                        {"changes": [{"change": CHANGE, "status": "changed"}]})
    os.makedirs(tmp_path / "CENNT001")
    os.replace(path, tmp_path / "CENNT001" / os.path.basename(path))
    with pytest.raises(JournalError, match="is the journal record of host 'CENNT013', not CENNT001"):
        latest_record(str(tmp_path), "CENNT001", "client_agents")


def test_rollback_plans_every_host_and_names_the_one_with_a_broken_record(tmp_path):
    write_record(str(tmp_path), "CENNT013", "client_agents", "20261125T080000Z",
                 {"changes": [{"change": CHANGE, "status": "changed"}]})
    write_record(str(tmp_path), "CENNT014", "client_agents", "20261125T080000Z", {"changes": ["not a change"]})
    write_record(str(tmp_path), "CENNT015", "client_agents", "20261125T080000Z",
                 {"changes": [{"change": {"kind": "user_value"}, "status": "changed"}]})
    (tmp_path / "CENNT016").mkdir()
    (tmp_path / "CENNT016" / "client_agents-20261125T080000Z.json").write_text("[" * 100000, encoding="utf-8")
    plans = plan_hosts(PHASE, ["CENNT013", "CENNT014", "CENNT015", "CENNT016"], journal_dir=str(tmp_path), rollback=True)
    assert plans["CENNT013"]["changes"] and not plans["CENNT013"]["problems"]
    assert "change #1 is malformed" in plans["CENNT014"]["problems"][0]
    assert "cannot be undone" in plans["CENNT015"]["problems"][0]
    assert "is unreadable" in plans["CENNT016"]["problems"][0]


def test_the_round_trip_still_loads(tmp_path):
    path = _manifest(tmp_path, "CEN", "CENSRV01", lambda m: m.update(exclude={"mif_files": ["*.TMP"]}))
    manifest = load_manifest(path, "CEN", "CENSRV01")
    save_manifest(path, manifest)
    assert load_manifest(path, "CEN", "CENSRV01")["exclude"] == {"mif_files": ["*.TMP"]}


def test_a_dangling_lock_link_creates_nothing_where_it_points(tmp_path):
    from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.store import VaultStore
    directory = tmp_path / "vault" / "CEN" / "CENSRV01"
    directory.mkdir(parents=True)
    target = tmp_path / "outside" / "created-by-the-lock"
    target.parent.mkdir()
    (directory / ".lock").symlink_to(target)
    store = VaultStore(str(tmp_path / "vault"), "CEN", "CENSRV01", "2026-11-25T12:00:00Z")
    with pytest.raises(VaultError, match="cannot use the vault directory"):
        with store.locked():
            pass  # pragma: no cover - never reached
    assert not target.exists()


def test_a_lock_link_to_an_existing_file_is_not_followed_and_the_file_is_untouched(tmp_path):
    from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.store import VaultStore
    directory = tmp_path / "vault" / "CEN" / "CENSRV01"
    directory.mkdir(parents=True)
    target = tmp_path / "outside" / "precious.txt"
    target.parent.mkdir()
    target.write_text("keep me\n", encoding="utf-8")
    (directory / ".lock").symlink_to(target)
    store = VaultStore(str(tmp_path / "vault"), "CEN", "CENSRV01", "2026-11-25T12:00:00Z")
    with pytest.raises(VaultError, match="cannot use the vault directory"):
        with store.locked():
            pass  # pragma: no cover - never reached
    assert target.read_text(encoding="utf-8") == "keep me\n"
