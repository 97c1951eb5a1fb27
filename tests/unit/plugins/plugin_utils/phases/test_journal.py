"""The controller journal: one file per run, newest found, never half-written, unsafe names refused."""
import json

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import (
    JournalError, host_dir, latest_record, read_record, write_record)


def test_records_are_ordered_by_time_and_same_second_runs_get_a_suffix(tmp_path):
    first = write_record(str(tmp_path), "CENNT013", "client_agents", "20261125T080000Z", {"changes": [{"n": 1}]})
    second = write_record(str(tmp_path), "CENNT013", "client_agents", "20261125T080000Z", {"changes": [{"n": 2}]})
    third = write_record(str(tmp_path), "CENNT013", "client_agents", "20261125T090000Z", {"changes": [{"n": 3}]})
    write_record(str(tmp_path), "CENNT013", "client_agents_rollback", "20261125T100000Z", {"changes": []})
    assert second.endswith("client_agents-20261125T080000Z-2.json") and first != second
    path, record = latest_record(str(tmp_path), "CENNT013", "client_agents")
    assert path == third and record["changes"] == [{"n": 3}] and record["host"] == "CENNT013"
    assert [p.name for p in (tmp_path / "CENNT013").iterdir() if p.name.startswith(".")] == []
    assert latest_record(str(tmp_path), "CENNT001", "client_agents") == (None, None)


@pytest.mark.parametrize("host", ["..", "../etc", "a/b", "", "C:\\x", ".hidden"])
def test_host_names_that_leave_the_journal_are_refused(tmp_path, host):
    with pytest.raises(JournalError, match="cannot name a journal directory"):
        host_dir(str(tmp_path), host)


def test_foreign_or_broken_files_are_named(tmp_path):
    path = tmp_path / "x.json"
    path.write_text(json.dumps({"schema": "other", "changes": []}), encoding="utf-8")
    with pytest.raises(JournalError, match="x.json is not an sms.upgrade journal record"):
        read_record(str(path))
    path.write_text("{", encoding="utf-8")
    with pytest.raises(JournalError, match="x.json is unreadable"):
        read_record(str(path))


def test_unwritable_journal_is_a_clear_error(tmp_path):
    blocker = tmp_path / "journal"
    blocker.write_text("a file where the directory should be", encoding="utf-8")
    with pytest.raises(JournalError, match="cannot write the journal of CENNT013"):
        write_record(str(blocker), "CENNT013", "client_agents", "20261125T080000Z", {"changes": []})
