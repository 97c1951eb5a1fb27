"""Snapshot loading and schema validation: every problem named with host and field path."""
import json

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import field_path, load_snapshot, validate_snapshot

from ..snapshots import client, site_database, site_server


@pytest.mark.parametrize("factory", [site_server, site_database, client])
def test_factory_snapshots_are_valid(factory):
    snap = factory()
    assert validate_snapshot(snap["host"], snap) == []


def test_type_error_names_the_field_path():
    snap = site_server(services=[{"name": "SMS_EXECUTIVE", "state": "running", "start_mode": "sometimes"}])
    problems = validate_snapshot("SRV01", snap)
    assert [(p.host, p.path) for p in problems] == [("SRV01", "services[0].start_mode")]
    assert "sometimes" in problems[0].message


def test_missing_required_section_is_reported_at_the_root():
    snap = site_database()
    del snap["databases"]
    problems = validate_snapshot("SQL01", snap)
    assert any(p.path == "$" and "databases" in p.message for p in problems)


def test_every_problem_is_reported_not_just_the_first():
    snap = client(os={"family": "beos"}, remote_control={"present": "yes"})
    paths = {p.path for p in validate_snapshot("WKS01", snap)}
    assert {"os.family", "remote_control.present"} <= paths


def test_unknown_kind_and_future_major_version():
    snap = client(kind="printer", schema_version="2.0")
    messages = " ".join(p.message for p in validate_snapshot("WKS01", snap))
    assert "kind 'printer' is unknown" in messages and "'2.0' is not supported" in messages


def test_snapshot_of_another_host_and_inventory_kind_mismatch():
    snap = client(host="OTHER")
    problems = validate_snapshot("WKS01", snap, expected_kind="site_database")
    messages = [p.message for p in problems]
    assert any("belongs to host 'OTHER'" in m for m in messages)
    assert any("inventory places this host in a site_database group" in m for m in messages)


def test_non_object_snapshot():
    assert validate_snapshot("X", [1, 2])[0].message == "snapshot is a JSON list, expected an object"


def test_load_missing_file(tmp_path):
    loaded = load_snapshot("WKS01", str(tmp_path / "WKS01.json"))
    assert not loaded.valid and "no snapshot file at" in loaded.problems[0].message


def test_load_malformed_json_names_line_and_column(tmp_path):
    path = tmp_path / "WKS01.json"
    path.write_text('{"kind": "client",\n  "host": }', encoding="utf-8")
    loaded = load_snapshot("WKS01", str(path))
    assert loaded.data is None
    assert "line 2 column" in loaded.problems[0].message


def test_load_valid_file(tmp_path):
    path = tmp_path / "WKS01.json"
    path.write_text(json.dumps(client()), encoding="utf-8")
    loaded = load_snapshot("WKS01", str(path), expected_kind="client")
    assert loaded.valid and loaded.data["host"] == "WKS01"


def test_field_path_rendering():
    assert field_path([]) == "$"
    assert field_path(["databases", 2, "options", 0]) == "databases[2].options[0]"
