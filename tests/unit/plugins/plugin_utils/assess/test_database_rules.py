"""The site database rules pass from the database phase's verified results while they are fresh, and from nothing else."""
import copy

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.database_evidence import load_records

from ..snapshots import database_record, site_database
from .test_assess import assess, status

RECENT = "2026-11-24T00:00:00Z"       # a day before NOW
OLD = "2026-11-01T00:00:00Z"          # 24 days before NOW (the default limit is 7)
PHASE_RULES = ("manual.routine_maintenance", "manual.site_data_prepared", "manual.conversion_tested")


def problem_snapshot():
    """A database that needs every step: small devices, tempdb on master, no options, old history, SMS Administrator."""
    snap = site_database(computer_count=3000, collected_at="2026-11-20T06:00:00Z",
                         connections=[{"spid": 10, "dbname": "SMS", "program": "SMS_EXECUTIVE", "hostname": "SRV01"},
                                      {"spid": 14, "dbname": "SMS", "program": "MS SMS Administrator", "hostname": "ADM1"}],
                         machine_history={"oldest": "2026-05-01T00:00:00Z"})
    dbs = snap["databases"]
    dbs[0].update(data_mb=250, log_mb=20, options=[], used_mb=200)
    dbs[1].update(data_mb=2, log_mb=0, options=[], log_shares_data_device=True,
                  devices=[{"device": "master", "segment": "data_and_log", "size_mb": 2}])
    return snap


def read_back(at):
    """The phase's read-back of the same server after its steps (a site_database snapshot of ``at``)."""
    state = copy.deepcopy(problem_snapshot())
    state["collected_at"] = at
    dbs = state["databases"]
    dbs[0].update(data_mb=300, log_mb=30, options=["trunc. log on chkpt."])
    dbs[1].update(data_mb=61, log_mb=12, options=["select into/bulkcopy"], log_shares_data_device=True, devices=[
        {"device": "master", "segment": "data_and_log", "size_mb": 2}, {"device": "TEMPDB_DATA", "segment": "data", "size_mb": 59},
        {"device": "TEMPDB_LOG", "segment": "log", "size_mb": 12}])
    state["machine_history"] = {"oldest": "2026-10-01T00:00:00Z"}
    state["connections"] = [c for c in state["connections"] if c["spid"] != 14]
    return state


SNAPSHOT_RULES = ("sql.site_db_size", "sql.tempdb_size", "sql.tempdb_off_master", "sql.tempdb_select_into",
                  "sql.tempdb_all_databases", "sql.log_truncate_or_size", "sql.machine_history", "sql.open_connections")


def test_the_phase_read_back_newer_than_the_snapshot_makes_the_sql_rules_pass(tmp_path):
    before, _records = assess(tmp_path, [problem_snapshot()])
    assert {rule: status(before, "SQL01", rule) for rule in SNAPSHOT_RULES} == dict.fromkeys(SNAPSHOT_RULES, "fail")
    record = database_record("SMS", RECENT, state=read_back(RECENT))
    after, _records = assess(tmp_path / "after", [problem_snapshot()], database={"SQL01": record})
    assert {rule: status(after, "SQL01", rule) for rule in SNAPSHOT_RULES} == dict.fromkeys(SNAPSHOT_RULES, "pass")
    assert "(read back by the database phase at 2026-11-24T00:00:00Z)" in after[("SQL01", "sql.site_db_size")]["message"]


def test_a_snapshot_newer_than_the_read_back_wins_and_a_stale_read_back_counts_for_nothing(tmp_path):
    newer = problem_snapshot()
    newer["collected_at"] = "2026-11-25T06:00:00Z"
    findings, _records = assess(tmp_path, [newer], database={"SQL01": database_record("SMS", RECENT, state=read_back(RECENT))})
    assert status(findings, "SQL01", "sql.tempdb_size") == "fail"
    stale, _records = assess(tmp_path / "stale", [problem_snapshot()],
                             database={"SQL01": database_record("SMS", OLD, state=read_back(OLD))})
    assert status(stale, "SQL01", "sql.site_db_size") == "fail"


def test_the_sms_services_connection_does_not_fail_the_rule(tmp_path):
    snap = problem_snapshot()
    snap["connections"] = snap["connections"][:1]
    findings, _records = assess(tmp_path, [snap])
    assert status(findings, "SQL01", "sql.open_connections") == "pass"
    snap["connections"] = problem_snapshot()["connections"]
    findings, _records = assess(tmp_path / "two", [snap])
    assert findings[("SQL01", "sql.open_connections")]["message"].startswith("Open connections to the site database: spid 14 MS SMS Administrator@ADM1.")


def test_fresh_phase_results_pass_the_former_manual_items(tmp_path):
    findings, _records = assess(tmp_path, [site_database()], database={"SQL01": database_record("SMS", RECENT)})
    for rule in PHASE_RULES:
        assert status(findings, "SQL01", rule) == "pass", findings[("SQL01", rule)]["message"]
    assert findings[("SQL01", "manual.conversion_tested")]["message"] == (
        "Verified by the database phase: CONV20.EXE converted the baseline C:\\MSSQL\\BACKUP\\SMS-baseline.DAT cleanly on "
        "LABSQL01 at 2026-11-24T00:00:00Z.")


@pytest.mark.parametrize("change, rule, words", [
    ({"consistency": {"at": RECENT, "clean": False, "findings": [
        {"command": "CHECKDB", "number": 2540, "level": 16, "text": "Table Corrupt"}]}},
     "manual.routine_maintenance", "DBCC found 1 error(s): CHECKDB Msg 2540: Table Corrupt"),
    ({"dumps": []}, "manual.routine_maintenance", "no verified baseline dump of SMS and master"),
    ({"rehearsal": {"at": RECENT, "clean": False, "lab_server": "LABSQL01", "findings": [
        {"number": 6102, "text": "Only the System Administrator may use the KILL command."}]}},
     "manual.conversion_tested", "the rehearsal on LABSQL01 found: Only the System Administrator"),
    ({"steps": {"history": {"status": "manual", "at": RECENT, "message": "machine history from 2026-05-01"}}},
     "manual.site_data_prepared", "step history: manual (machine history from 2026-05-01)"),
])
def test_what_the_phase_did_not_verify_is_named_and_blocks(tmp_path, change, rule, words):
    record = database_record("SMS", RECENT)
    record.update(change)
    findings, _records = assess(tmp_path, [site_database()], database={"SQL01": record})
    finding = findings[("SQL01", rule)]
    assert finding["status"] == "fail" and finding["blocks"] is True
    assert words in finding["message"], finding["message"]


def test_old_results_do_not_count_and_an_answer_still_accepts(tmp_path):
    findings, _records = assess(tmp_path, [site_database()], database={"SQL01": database_record("SMS", OLD)})
    assert status(findings, "SQL01", "manual.routine_maintenance") == "fail"
    assert "more than 7 days ago" in findings[("SQL01", "manual.routine_maintenance")]["message"]
    answer = {"rule": "manual.routine_maintenance", "hosts": ["SQL01"], "by": "DBA", "at": "2026-11-24T09:00:00Z",
              "reason": "DBCC and dumps by hand"}
    answers = {"schema_version": 1, "answers": [answer]}
    accepted, _records = assess(tmp_path / "answered", [site_database()], answers=answers,
                                database={"SQL01": database_record("SMS", OLD)})
    finding = accepted[("SQL01", "manual.routine_maintenance")]
    assert finding["blocks"] is False and "Accepted by DBA" in finding["message"]
    longer, _records = assess(tmp_path / "longer", [site_database()], params={"database_results_max_age_days": 30},
                              database={"SQL01": database_record("SMS", OLD)})
    assert status(longer, "SQL01", "manual.routine_maintenance") == "pass"


def test_records_are_read_from_the_vault_and_an_unreadable_one_is_named(tmp_path):
    (tmp_path / "CEN" / "CENSQL01").mkdir(parents=True)
    (tmp_path / "CEN" / "CENSQL01" / "database-record.json").write_text('{"schema": "sms.upgrade.database_record"}')
    (tmp_path / "P01" / "P01SQL01").mkdir(parents=True)
    (tmp_path / "P01" / "P01SQL01" / "database-record.json").write_text("{broken")
    records = load_records(str(tmp_path))
    assert records["CENSQL01"] == {"schema": "sms.upgrade.database_record"}
    assert "P01SQL01" in records and "unreadable" in records["P01SQL01"]
    assert load_records(str(tmp_path), hosts=["CENSQL01"]).keys() == {"CENSQL01"}
    findings, _records = assess(tmp_path / "fleet", [site_database()], database={"SQL01": records["P01SQL01"]})
    assert "database-record.json" in findings[("SQL01", "manual.conversion_tested")]["message"]
