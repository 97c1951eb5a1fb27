"""The vault holds site control files, the SMS registry and collected files: owner-only on the controller, never
committed with an inventory kept in the repository, never packaged into the collection."""
import os
import shutil
import stat
import subprocess

import pytest
import yaml

import collection_tree
from ..phases.fake_host import preserve_run, site_server

REPO = collection_tree.REPO


def test_vault_directories_are_0700_and_files_0600_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        host = site_server()
        vault = tmp_path / "inventory" / "vault"
        result = preserve_run(host, host="CENSRV01", site="CEN", vault_root=str(vault))
    finally:
        os.umask(old)
    assert result["problems"] == []
    modes = {}
    for directory, dirs, files in os.walk(vault):
        for name in dirs:
            modes[os.path.join(directory, name)] = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
        for name in files:
            modes[os.path.join(directory, name)] = stat.S_IMODE(os.stat(os.path.join(directory, name)).st_mode)
    modes[str(vault)] = stat.S_IMODE(os.stat(vault).st_mode)
    assert len(modes) > 20
    wrong = {path: oct(mode) for path, mode in modes.items() if mode != (0o700 if os.path.isdir(path) else 0o600)}
    assert wrong == {}


@pytest.mark.skipif(not shutil.which("git") or not os.path.isdir(os.path.join(REPO, ".git")), reason="needs the git checkout")
def test_git_ignores_a_vault_under_any_inventory_of_the_repository():
    for path in ("inventories/example/vault/CEN/CENSRV01/manifest.json", "inventories/lab/vault/CEN/CENSRV01/v1/registry/SMS-registry.reg",
                 "inventories/mysite/vault/.lock"):
        assert subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO, check=False).returncode == 0, path
    assert subprocess.run(["git", "check-ignore", "--no-index", "-q", "inventories/lab/hosts.yml"], cwd=REPO,
                          check=False).returncode == 1


def test_the_collection_build_leaves_out_a_vault_under_any_inventory(tmp_path):
    walk = pytest.importorskip("ansible.galaxy.collection")._build_files_manifest_walk  # pylint: disable=protected-access
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        ignore = yaml.safe_load(handle)["build_ignore"]
    for path in ("inventories/lab/hosts.yml", "inventories/lab/vault/CEN/CENSRV01/manifest.json",
                 "inventories/example/vault/CEN/CENSRV01/v1/site_control_files/SITECTRL.CT0"):
        os.makedirs(os.path.dirname(str(tmp_path / path)), exist_ok=True)
        (tmp_path / path).write_text("x")
    files = {entry["name"] for entry in walk(str(tmp_path).encode(), "sms", "upgrade", ignore)["files"]}
    assert "inventories/lab/hosts.yml" in files
    assert not [name for name in files if "/vault" in name]
