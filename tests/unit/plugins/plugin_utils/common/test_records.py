"""One reader and one writer of the controller's versioned JSON records (site upgrade, post-upgrade, clients)."""
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.records import RecordError, read_record, write_record

SCHEMA = "sms.upgrade.test"


def test_a_record_round_trips_and_none_is_there_before(tmp_path):
    path = str(tmp_path / "deep" / "r.json")
    assert read_record(path, SCHEMA) is None
    assert write_record(path, {"schema": SCHEMA, "schema_version": "1.2", "x": 1}) == path
    assert read_record(path, SCHEMA) == {"schema": SCHEMA, "schema_version": "1.2", "x": 1}


@pytest.mark.parametrize("content,wanted", [
    ("{not json", "the site record .* is unreadable: .*; move it away"),
    (json.dumps({"schema": "other", "schema_version": "1.0"}), "is not a site record of schema sms.upgrade.test 1.x"),
    (json.dumps({"schema": SCHEMA, "schema_version": "2.0"}), "is not a site record of schema sms.upgrade.test 1.x"),
    (json.dumps([1, 2]), "is not a site record"),
])
def test_a_file_that_is_no_record_of_the_schema_is_an_error_naming_it(tmp_path, content, wanted):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(RecordError, match=wanted):
        read_record(str(path), SCHEMA, "site record")
    assert path.read_text() == content, "never replaced"


def test_a_record_that_cannot_be_written_names_the_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(RecordError, match="cannot write the wave record %s" % os.path.join(str(blocker), "r.json")):
        write_record(os.path.join(str(blocker), "r.json"), {"schema": SCHEMA}, "wave record")
