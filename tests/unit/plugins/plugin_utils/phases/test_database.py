"""The database phase's room against a model of SQL Server 6.5 (fake_sql65): plan, dumps, compare-and-set, read-back,
journal, rollback, DBCC findings, connections, the rehearsal on a lab server, and the faults of a real server."""
import copy
import datetime
import json
import os

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.targets import Target
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import database as room
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.action import validate_options
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import RunContext
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.journal import read_record, record_paths

from .fake_sql65 import FakeSql65, server_from_snapshot

LAB = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab", "snapshots")
START = datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.timezone.utc)
DUPLICATES = {"duplicate_smsids": "select SMSID, Name from {database}..MachineIdentity"}


def lab(host):
    with open(os.path.join(LAB, host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


class Hands:
    """The phase action's hands over the model: ``computer`` added from the target; ``hook`` runs before each call."""

    def __init__(self, model, target, runner="CENSQL01", hook=None):
        self.model, self.target, self.runner, self.hook, self.calls = model, target, runner, hook, []

    def module(self, name, args):
        args = dict(args)
        if self.target.computer:
            args.setdefault("computer", self.target.computer)
        self.calls.append(args)
        if self.hook:
            self.hook(len(self.calls), args)
        return self.model.execute_module(name, args, {"inventory_hostname": self.runner})


class Env:
    """One lab SQL host (CENSQL01 by default) as a model, with a vault and a journal, run at successive minutes."""

    def __init__(self, tmp_path, host="CENSQL01", **faults):
        self.host, self.tmp = host, tmp_path
        self.model = FakeSql65.lab(lab(host), **faults)
        self.minute = 0

    def args(self, **extra):
        given = {"vault_dir": str(self.tmp / "vault"), "journal_dir": str(self.tmp / "journal"), "snapshot_dir": LAB,
                 "sql_queries": dict(DUPLICATES), "login_user": "sa", "login_password": "s3cret!"}
        given.update(extra)
        return validate_options(room.PHASE.option_spec(), given)

    def run(self, check=False, target=None, runner=None, hook=None, groups=("sms_sql", "sms_site_CEN"), host=None, **extra):
        self.minute += 1
        target = target or Target(host or self.host, None, None)
        ctx = RunContext(host or self.host, self.args(**extra), check, list(groups), target,
                         START + datetime.timedelta(minutes=self.minute))
        self.hands = Hands(self.model, target, runner or self.host, hook)
        return room.PHASE.run(ctx, self.hands)

    @property
    def server(self):
        return self.model.server(self.host)

    def record(self):
        path = self.tmp / "vault" / self.host[:3] / self.host / room.RECORD
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def durable(server):
    """A server's state without its session counter (a read-only session still takes a spid)."""
    return {k: v for k, v in server.items() if k != "next_spid"}


def steps(result):
    return {step["name"]: step for step in result["steps"]}


def sql_sent(hands):
    return [c["script"] for c in hands.calls if c.get("mode") == "sql"]


# ------------------------------------------------------------------ check mode
def test_check_mode_from_the_snapshot_shows_each_step_with_its_statements_and_why(tmp_path):
    env = Env(tmp_path)
    result = env.run(check=True, from_snapshot=True, hook=lambda n, a: pytest.fail("the host was contacted"))
    by = steps(result)
    assert result["changed"] is True and result["mode"] == "snapshot" and not result.get("failed")
    assert by["site_db_size"]["sql"] == [
        "DISK INIT NAME = 'SMS_CEN_DATA2', PHYSNAME = 'D:\\MSSQL\\DATA\\SMS_CEN_DATA2.DAT', VDEVNO = 1, SIZE = 25600",
        "ALTER DATABASE SMS_CEN ON SMS_CEN_DATA2 = 50",
        "DISK INIT NAME = 'SMS_CEN_LOG2', PHYSNAME = 'E:\\MSSQL\\DATA\\SMS_CEN_LOG2.DAT', VDEVNO = 2, SIZE = 5120",
        "ALTER DATABASE SMS_CEN ON SMS_CEN_LOG2 = 10",
        "EXEC master..sp_logdevice 'SMS_CEN', 'SMS_CEN_LOG2'"]
    assert "for 3000 computers; needs data >= 300 MB, log >= 30 MB" in by["site_db_size"]["message"]
    assert "EXEC master..sp_dboption 'tempdb', 'select into/bulkcopy', 'true'" in by["tempdb"]["sql"]
    assert by["transaction_log"]["sql"] == ["EXEC master..sp_dboption 'SMS_CEN', 'trunc. log on chkpt.', 'true'"]
    assert by["consistency"]["sql"] == ["DBCC CHECKDB (SMS_CEN)", "DBCC NEWALLOC (SMS_CEN)", "DBCC CHECKCATALOG (SMS_CEN)"]
    assert by["safety_dump"]["sql"][0] == \
        "DUMP DATABASE SMS_CEN TO DISK = 'C:\\MSSQL\\BACKUP\\SMS_CEN-safety-20261125T080100Z.DAT' WITH INIT"
    assert by["history"]["status"] == "manual" and "Delete Special" in by["history"]["manual"][0]
    assert by["connections"]["status"] == "open" and "spid 14: MS SMS Administrator on ADMINPC7" in by["connections"]["message"]
    assert list(by) == ["safety_dump", "site_db_size", "tempdb", "transaction_log", "history", "duplicates",
                        "consistency", "baseline_dump", "connections"]
    prepared = [d["prepared"] for d in result["diff"] if "prepared" in d]
    assert any(p.startswith("-- CENSQL01 SMS_CEN: step tempdb (PRE-15, PRE-29)\n-- why: \"Increase the Size of Tempdb\"")
               and "ALTER DATABASE tempdb ON TEMPDB_DATA" in p for p in prepared)
    assert env.record() is None, "check mode writes no record"


def test_check_mode_live_reads_once_read_only_and_changes_nothing(tmp_path):
    env = Env(tmp_path)
    before = durable(copy.deepcopy(env.server))
    result = env.run(check=True)
    modes = [c["mode"] for c in env.hands.calls]
    assert modes == ["sql", "files"] and env.hands.calls[0]["read_only"] is True
    assert durable(env.server) == before, "nothing changed on the server"
    assert steps(result)["site_db_size"]["status"] == "planned"
    assert result["problems"] == [] and env.record() is None
    assert "s3cret!" not in json.dumps(result)


def test_the_lab_p01_server_needs_only_dbcc_and_a_baseline(tmp_path):
    env = Env(tmp_path, host="P01SQL01")
    by = steps(env.run(check=True, from_snapshot=True, site_code="P01"))
    assert {name: s["status"] for name, s in by.items()} == {
        "site_db_size": "ok", "tempdb": "ok", "transaction_log": "ok", "history": "manual", "duplicates": "ok",
        "consistency": "planned", "baseline_dump": "planned", "connections": "ok"}
    assert "safety_dump" not in by, "nothing changes, so no safety dump"


# ------------------------------------------------------------------ a real run, and a second one
def test_a_real_run_ends_verified_and_a_second_run_changes_nothing(tmp_path):
    env = Env(tmp_path)
    first = env.run(approve=["site_db_size", "tempdb"])
    by = steps(first)
    assert not first.get("failed"), first["msg"]
    for name in ("safety_dump", "site_db_size", "tempdb", "transaction_log", "consistency", "baseline_dump"):
        assert by[name]["status"] == "verified", (name, by[name]["message"])
    assert by["history"]["status"] == "manual" and by["duplicates"]["status"] == "manual"
    server = env.server
    assert {"SMS_CEN_DATA2", "SMS_CEN_LOG2", "TEMPDB_DATA", "TEMPDB_LOG"} <= set(server["devices"])
    assert server["databases"]["tempdb"]["status"] & 4 and server["databases"]["SMS_CEN"]["status"] & 8
    record = env.record()
    safety = [d for d in record["dumps"] if d["kind"] == "safety"]
    assert {d["database"] for d in safety} == {"SMS_CEN", "master"}
    assert all(d["verified"] and len(d["sha256"]) == 64 and d["size"] > 0 and d["header"]["database"] for d in safety)
    assert record["consistency"]["clean"] is True and record["state"]["site_database"] == "SMS_CEN"
    journal = read_record(first["journal_path"])
    assert journal["safety_dump"] and journal["safety_dump"][0]["path"].endswith("SMS_CEN-safety-20261125T080100Z.DAT")
    kinds = {c["change"]["kind"]: c["undo"] for c in journal["changes"]}
    assert kinds["dboption"] == "possible" and "cannot be taken back" in kinds["alter_database"]
    second = env.run(approve=["site_db_size", "tempdb"])
    assert second["changed"] is False and not second.get("failed") and second["module_calls"] == 1
    assert {s["status"] for s in second["steps"]} <= {"ok", "manual", "open"}
    assert len(record_paths(str(tmp_path / "journal"), "CENSQL01", "database")) == 1


def test_without_approval_only_the_option_changes_and_the_baseline_waits(tmp_path):
    env = Env(tmp_path)
    result = env.run()
    by = steps(result)
    assert by["site_db_size"]["status"] == by["tempdb"]["status"] == "needs_approval"
    assert "database_approve: [tempdb]" in by["tempdb"]["message"]
    assert by["transaction_log"]["status"] == "verified" and by["safety_dump"]["status"] == "verified"
    assert by["baseline_dump"]["status"] == "blocked" and "site_db_size" in by["baseline_dump"]["message"]
    assert "SMS_CEN_DATA2" not in env.server["devices"]
    assert not result.get("failed") and any("needs approval" in w for w in result["warnings"])


# ------------------------------------------------------------------ the safety dump comes first
def test_no_change_is_made_when_the_safety_dump_does_not_fit(tmp_path):
    env = Env(tmp_path)
    env.model.machine("CENSQL01")["volumes"]["C:"] = 100 * 1024 * 1024
    result = env.run(approve=["site_db_size", "tempdb"])
    by = steps(result)
    assert result["failed"] is True and by["safety_dump"]["status"] == "failed"
    assert "disk_full: C:\\MSSQL\\BACKUP on CENSQL01 has 100 MB free" in by["safety_dump"]["message"]
    assert by["transaction_log"]["status"] == "blocked" and "no verified safety dump" in by["transaction_log"]["message"]
    assert env.server["databases"]["SMS_CEN"]["status"] & 8 == 0 and "SMS_CEN_DATA2" not in env.server["devices"]
    assert not any("DUMP" in script for script in sql_sent(env.hands)), "the dump was not even started"


def test_a_disk_that_fills_up_during_the_dump_stops_the_run_before_any_change(tmp_path):
    env = Env(tmp_path, before={"DUMP": {"volumes": {"C:": 1024 * 1024}}})
    result = env.run(approve=["site_db_size", "tempdb"])
    safety = steps(result)["safety_dump"]
    assert result["failed"] is True and safety["status"] == "failed"
    assert "Msg 3202: Write on dump device" in safety["message"] and "not enough space" in safety["message"]
    assert not any("ALTER DATABASE" in script for script in sql_sent(env.hands))
    assert all(not d["verified"] for d in env.record()["dumps"]), "the partial dump is recorded as not verified"


def test_a_dump_that_times_out_is_not_verified(tmp_path):
    env = Env(tmp_path, hang=["DUMP"])
    result = env.run(approve=["site_db_size", "tempdb"])
    assert result["failed"] is True and "the session timed out" in steps(result)["safety_dump"]["message"]
    assert any("did not finish" in w for w in result["warnings"])


# ------------------------------------------------------------------ compare-and-set
def test_a_server_changed_since_the_survey_is_a_conflict_planned_again(tmp_path):
    env = Env(tmp_path)

    def grow_meanwhile(n, args):
        if args.get("mode") == "sql" and "ALTER DATABASE SMS_CEN" in args.get("script", "") and n < 6:
            db = env.server["databases"]["SMS_CEN"]   # a DBA added 10 MB of data meanwhile
            device = env.server["devices"]["SMS_CEN_DATA"]
            device["high"] += 10 * 512
            db["fragments"].append({"device": "SMS_CEN_DATA", "segmap": 3, "size": 5120, "vstart": device["high"] - 5119})
    result = env.run(approve=["site_db_size", "tempdb"], hook=grow_meanwhile)
    by = steps(result)
    assert not result.get("failed"), result["msg"]
    assert by["site_db_size"]["status"] == "verified" and by["site_db_size"].get("replanned") is True
    fragments = [f for f in env.server["databases"]["SMS_CEN"]["fragments"] if f["segmap"] != 4]
    assert sum(f["size"] for f in fragments) == 300 * 512, "grown to exactly 300 MB, not 310"
    assert [(f["device"], f["size"]) for f in fragments][-1] == ("SMS_CEN_DATA2", 40 * 512), \
        "the device the first attempt made is used, not another one"
    statuses = [(o["id"].split(":")[1], o["status"]) for o in by["site_db_size"]["outcomes"]]
    assert ("sms_cen.data.sms_cen_data2", "conflict") in statuses and ("sms_cen.data.sms_cen_data2", "applied") in statuses


def test_a_session_cut_short_after_disk_init_is_journaled_and_the_device_can_be_dropped(tmp_path):
    env = Env(tmp_path, hang=["ALTER DATABASE"])
    with pytest.raises(room.DatabaseError, match="the server could not be read back.*DISK INIT device SMS_CEN_DATA2"):
        env.run(approve=["site_db_size", "tempdb"])
    assert "SMS_CEN_DATA2" in env.server["devices"]
    journal = read_record(record_paths(str(tmp_path / "journal"), "CENSQL01", "database")[-1])
    init = next(c for c in journal["changes"] if c["change"]["kind"] == "disk_init")
    assert init["status"] == "applied" and init["undo"] == "possible"
    env.server["hang"] = []
    plan = env.run(check=True, rollback=True)
    assert plan["steps"][0]["sql"] == ["EXEC master..sp_dropdevice 'SMS_CEN_DATA2'"]
    done = env.run(rollback=True)
    assert not done.get("failed"), done["msg"]
    assert "SMS_CEN_DATA2" not in env.server["devices"] and steps(done)["safety_dump"]["status"] == "verified"
    again = env.run(rollback=True)
    assert again["changed"] is False and "0 change(s) to undo" in again["msg"]


def test_rollback_puts_the_options_back_and_names_what_cannot_be_undone(tmp_path):
    env = Env(tmp_path)
    env.run(approve=["site_db_size", "tempdb"])
    result = env.run(rollback=True)
    assert not result.get("failed"), result["msg"]
    assert env.server["databases"]["SMS_CEN"]["status"] & 8 == 0 and env.server["databases"]["tempdb"]["status"] & 4 == 0
    cannot = " ".join(result["cannot_undo"])
    assert "ALTER DATABASE SMS_CEN ON SMS_CEN_DATA2" in cannot and "cannot be taken back" in cannot
    assert "KILL" not in cannot and "DISK INIT device TEMPDB_DATA" in cannot
    assert os.path.basename(result["journal_path"]).startswith("database_rollback-")


# ------------------------------------------------------------------ DBCC
def test_every_dbcc_msg_line_is_a_finding_and_an_error_blocks(tmp_path):
    damage = {"CHECKDB": [[2540, 16, "Table Corrupt: Object ID 1977058079 (object 'MachineDataTable')"]],
              "NEWALLOC": [[2579, 10, "The total number of extents is 2201."]]}
    env = Env(tmp_path, damage=damage)
    result = env.run(steps=["consistency", "baseline_dump"])
    by = steps(result)
    assert result["failed"] is True and by["consistency"]["status"] == "findings"
    findings = by["consistency"]["findings"]
    assert {(f["command"], f["number"], f["level"]) for f in findings} == {("CHECKDB", 2540, 16), ("NEWALLOC", 2579, 10)}
    assert "Msg 2540: Table Corrupt" in by["consistency"]["message"] and "2579" not in by["consistency"]["message"]
    assert by["baseline_dump"]["status"] == "blocked"
    assert env.record()["consistency"]["clean"] is False


def test_dbcc_that_does_not_complete_is_a_finding(tmp_path):
    env = Env(tmp_path, hang=["DBCC"])
    result = env.run(steps=["consistency"])
    findings = steps(result)["consistency"]["findings"]
    assert result["failed"] is True and any("produced no output" in f["text"] for f in findings)


# ------------------------------------------------------------------ connections
def test_kill_only_what_the_operator_lists_and_never_an_sms_service(tmp_path):
    env = Env(tmp_path)
    result = env.run(steps=["connections"], kill=[14, 10])
    by = steps(result)
    assert not result.get("failed"), result["msg"]
    assert by["connections"]["status"] == "verified" and by["safety_dump"]["status"] == "verified"
    spids = {p["spid"] for p in env.server["processes"]}
    assert 14 not in spids and 10 in spids, "the SMS_EXECUTIVE connection is kept"
    assert any("spid 10 is not an open connection to SMS_CEN other than the SMS services' own" in w
               for w in result["warnings"])
    assert "KILL 14" in by["connections"]["sql"]
    again = env.run(steps=["connections"], kill=[14])
    assert again["changed"] is False and steps(again)["connections"]["status"] == "ok"


def test_kill_of_a_connection_that_changed_hands_is_refused(tmp_path):
    env = Env(tmp_path)

    def reuse_spid(n, args):
        if "KILL 14" in args.get("script", ""):
            proc = next(p for p in env.server["processes"] if p["spid"] == 14)
            proc.update(program="SQL Enterprise Manager", hostname="DBA01")
    result = env.run(steps=["connections"], kill=[14], hook=reuse_spid)
    assert 14 in {p["spid"] for p in env.server["processes"]}
    connections = steps(result)["connections"]
    assert connections["status"] == "conflict" and result["failed"] is True
    assert [o["status"] for o in connections["outcomes"]] == ["conflict"], "a KILL is never aimed again"
    assert "not killed, the spid names another connection now" in connections["message"]


def test_without_sa_kill_fails_with_msg_6102(tmp_path):
    env = Env(tmp_path, login="dbo_user")
    result = env.run(steps=["connections"], kill=[14], login_user="dbo_user")
    assert result["failed"] is True
    assert "Msg 6102: Only the System Administrator may use the KILL command" in steps(result)["connections"]["message"]


# ------------------------------------------------------------------ the rehearsal on a lab server
def lab_server(env, version="6.50.281", **faults):
    snapshot = copy.deepcopy(lab("CENSQL01"))
    snapshot.update(computer="LABSQL01", connections=[])
    snapshot["sql"]["version"] = version
    for db in snapshot["databases"]:
        if db["name"] == "SMS_CEN":
            db["devices"][0]["size_mb"] = db["data_mb"] = 400
    env.model.add_server("LABSQL01", server_from_snapshot(snapshot, **faults))
    return Target("LABSQL01", "MGMT01", "LABSQL01")


def rehearse(env, target, **extra):
    """The rehearsal task: for the lab host LABSQL01 (through its relay MGMT01), of CENSQL01's baseline."""
    return env.run(steps=["rehearsal"], host="LABSQL01", target=target, runner="MGMT01", groups=("sms_lab_sql",),
                   source_host="CENSQL01", **extra)


def test_the_rehearsal_loads_the_baseline_on_the_lab_server_and_reads_conv20_log(tmp_path):
    env = Env(tmp_path)
    target = lab_server(env)
    env.run(approve=["site_db_size", "tempdb"])
    before = durable(copy.deepcopy(env.server))
    result = rehearse(env, target, conv20_path="E:\\SMSSETUP\\BIN\\X86.BIN\\CONV20.EXE")
    rehearsal = steps(result)["rehearsal"]
    assert result["msg"].startswith("LABSQL01: rehearsal of SMS_CEN (CENSQL01) on LABSQL01: 1 verified")
    assert not result.get("failed"), result["msg"]
    assert rehearsal["status"] == "verified" and "converted by CONV20.EXE: clean" in rehearsal["message"]
    assert rehearsal["sql"][0].startswith("LOAD DATABASE SMS_CEN FROM DISK = '\\\\CENSQL01\\C$\\MSSQL\\BACKUP\\SMS_CEN-baseline-")
    assert rehearsal["sql"][1].endswith("/U sa /P ********")
    assert env.model.server("LABSQL01")["databases"]["SMS_CEN"]["converted"] is True
    assert durable(env.server) == before, "production is never touched by the rehearsal"
    assert all(c.get("computer") == "LABSQL01" for c in env.hands.calls)
    assert env.record()["rehearsal"]["clean"] is True
    again = rehearse(env, target, conv20_path="E:\\CONV20.EXE")
    assert again["changed"] is False and steps(again)["rehearsal"]["status"] == "ok" and env.hands.calls == []


def test_conv20_log_lines_become_findings(tmp_path):
    env = Env(tmp_path)
    target = lab_server(env, conv20_log=["SQL Msg #170> Line 1: Incorrect syntax near 'utilisateurs'."])
    env.run(approve=["site_db_size", "tempdb"])
    env.model.server("LABSQL01")["processes"].append({"spid": 30, "status": "sleeping", "login": "sa", "hostname": "LAB",
                                                      "program": "ISQL-32", "dbname": "master", "cmd": "AWAITING COMMAND"})
    result = rehearse(env, target, conv20_path="E:\\CONV20.EXE")
    rehearsal = steps(result)["rehearsal"]
    assert result["failed"] is True and rehearsal["status"] == "findings"
    assert [f["number"] for f in rehearsal["findings"]] == [170]


def test_the_rehearsal_refuses_production_an_old_lab_server_and_a_missing_baseline(tmp_path):
    env = Env(tmp_path)
    with pytest.raises(room.DatabaseError, match="the lab server CENSQL01 is the production SQL Server of CENSQL01"):
        rehearse(env, Target("LABSQL01", "MGMT01", "CENSQL01"), conv20_path="E:\\CONV20.EXE")
    with pytest.raises(ValueError, match="the rehearsal needs source_host"):
        env.run(steps=["rehearsal"], host="LABSQL01", conv20_path="E:\\CONV20.EXE")
    target = lab_server(env, version="6.50.258")
    blocked = steps(rehearse(env, target, conv20_path="E:\\CONV20.EXE"))
    assert blocked["rehearsal"]["status"] == "blocked" and "no verified baseline dump" in blocked["rehearsal"]["message"]
    env.run(approve=["site_db_size", "tempdb"])
    old = rehearse(env, target, conv20_path="E:\\CONV20.EXE")
    assert old["failed"] is True and "runs SQL Server 6.50.258; the rehearsal needs 6.5 SP4" in old["msg"]
    assert env.model.server("LABSQL01")["databases"]["SMS_CEN"]["loaded_from"] is None


# ------------------------------------------------------------------ bad input and unusable servers
def test_sql_server_7_is_refused_before_anything(tmp_path):
    env = Env(tmp_path)
    env.server["version"] = "7.00.623"
    with pytest.raises(room.DatabaseError, match="runs SQL Server 7.00.623; this phase speaks SQL Server 6.5 only"):
        env.run()


def test_a_missing_sql_client_names_the_cause(tmp_path):
    env = Env(tmp_path)
    env.model.state["missing_client"] = True
    with pytest.raises(room.DatabaseError, match="the survey could not be run on CENSQL01: SQL client 'isql.exe' not found"):
        env.run(check=True)


@pytest.mark.parametrize("extra, message", [
    ({"steps": ["tempdb", "rehearsal"]}, "the rehearsal runs in its own task"),
    ({"steps": ["cleanup"]}, "steps names unknown steps cleanup"),
    ({"approve": ["consistency"]}, "approve names consistency"),
    ({"database": "SMS;DROP"}, "is not a plain SQL Server 6.5 identifier"),
    ({"queries": {"nonsense": "select 1"}}, "names unknown queries: nonsense"),
    ({"dump_dir": "C:\\it's"}, "is not a plain Windows path"),
])
def test_bad_options_are_refused_with_the_cause(tmp_path, extra, message):
    env = Env(tmp_path)
    with pytest.raises((ValueError, room.DatabaseError), match=message):
        env.run(check=True, **extra)


def test_a_real_run_of_a_snapshot_only_host_is_refused(tmp_path):
    env = Env(tmp_path)
    with pytest.raises(room.DatabaseError, match="is in sms_snapshots_only"):
        env.run(from_snapshot=True)


def test_an_unreadable_record_is_named_and_kept(tmp_path):
    env = Env(tmp_path)
    path = tmp_path / "vault" / "CEN" / "CENSQL01" / room.RECORD
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(room.DatabaseError, match="database-record.json is unreadable"):
        env.run(check=True)
    assert path.read_text(encoding="utf-8") == "{not json"


# ------------------------------------------------------------------ the channel's script pieces
def test_guarded_batches_print_one_status_and_quote_what_they_embed():
    body = isql.guarded(["(select status & 8 from master..sysdatabases where name = 'SMS') = 0"],
                        "master..sp_dboption 'SMS', 'trunc. log on chkpt.', 'true'", procedure=True)
    assert "exec @rc = master..sp_dboption" in body and body.count("SMSUPG!") == 3
    assert isql.quote("O'Brien") == "'O''Brien'"
    for bad in ("a\nb", "x SMSUPG>>y", "SMSUPG!applied"):
        with pytest.raises(isql.SqlScriptError):
            isql.quote(bad)
    with pytest.raises(isql.SqlScriptError):
        isql.check_statement("select 1\ngo\nshutdown")
    assert isql.block_status(["Extending database by 25600 pages", "SMSUPG!applied"]) == "applied"
    assert isql.messages(["Msg 2540, Level 16, State 1", "Table Corrupt", "DBCC execution completed."]) == [
        {"number": 2540, "level": 16, "state": 1, "text": "Table Corrupt"}]


def test_conv20_findings_from_the_seed_faq():
    log = ("Putting database in single-user mode. - [11/10/98 12:43:29]\r\n"
           "SQL Msg #6102> Only the System Administrator may use the KILL command.\r\n"
           "Could not kill a process\r\nUnable to put database in single-user mode.  Exiting.\r\n")
    clean, findings = room.conv20_findings(log, 1)
    assert clean is False
    assert [f["number"] for f in findings] == [6102, None, None]
    assert findings[1]["text"] == "Unable to put database in single-user mode.  Exiting."
    assert room.conv20_findings("Database conversion complete.\r\n", 0) == (True, [])
