"""Rules corrected against the upgrade paper (the seed) and the KB articles they rest on (issue 10).

Each test quotes the sentence it is built from; /work/research/kb-audit.md holds the audit these corrections follow.
"""
import datetime

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import parse_answers
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.engine import HostInput, assess_fleet
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.params import merge_params
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.fleet import sms_release
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import parse_plan

from ..snapshots import site_server, write_fleet

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
RULES = load_catalog(CHECKS)
BY_ID = {r.id: r for r in RULES}


def assess(tmp_path, snapshots, answers=(), plan=None, params=None):
    hosts = write_fleet(str(tmp_path), snapshots)
    inputs = [HostInput(h, str(tmp_path / ("%s.json" % h)), None, None) for h in hosts]
    findings, _records = assess_fleet(inputs, RULES, parse_answers({"schema_version": 1, "answers": list(answers)}, BY_ID),
                                      merge_params(params), NOW, plan=plan)
    return {(f["host"], f["rule"]): f for f in findings}


def server(code, role="primary", parent=None, children=(), **sms):
    """The site server SRV<code>; ``children`` are the site codes its site control file addresses."""
    snap = site_server(host="SRV" + code, site=code, role=role, parent=parent)
    snap["sms"].update(sms)
    snap["site_control"]["child_sites"] = [{"site_code": c} for c in children]
    return snap


def answer(rule, host, **extra):
    return dict({"rule": rule, "hosts": [host], "by": "Ann", "at": "2026-11-20T10:00:00Z", "reason": "checked"}, **extra)


# ------------------------------------------------------------------ citations and remediations
def test_duplicates_remediation_follows_q192859():
    # Q192859: "SMSIDDUP <sql_server_name> <sql_login> <sql_password> <sms_database>" generates "a report, called
    # Smsiddup.log"; "You should delete these machines from the SMS database, and also delete their Sms.ini files."
    for rule in ("hierarchy.duplicate_smsids", "sql.duplicate_smsids"):
        remediation = BY_ID[rule].remediation
        assert remediation["command"] == "SMSIDDUP <sql_server_name> <sql_login> <sql_password> <sms_database>", rule
        assert "only writes a report" in remediation["hint"] and "SMS Administrator" in remediation["hint"]
        assert "SMS.INI" in remediation["hint"] and "DBClean" in remediation["hint"]


def test_citations_name_only_what_the_articles_say():
    # Seed "Database Size": "Allow 100 KB per computer"; Q135850 says 35 KB, so it cannot back the rule.
    assert BY_ID["sql.site_db_size"].references == {"seed": "Database Size", "kb": []}
    # Q210364 is an SMS 2.0 article; Q199364 sizes tempdb from "your largest" database, not "all databases combined".
    assert "Q210364" not in BY_ID["sql.log_truncate_or_size"].references["kb"]
    assert "Q199364" not in BY_ID["sql.tempdb_all_databases"].references["kb"]
    # The seed's FAQ, not Q192859 (which speaks of single-user mode only for DATDUPCL).
    assert BY_ID["sql.open_connections"].references == {"seed": "FREQUENTLY ASKED QUESTIONS", "kb": []}
    # Q199238 lists hardware inventory as converted and says nothing of disks; Q133253 shows the Disk_SPEC join.
    assert BY_ID["manual.physical_disk_report"].references["kb"] == ["Q133253"]
    # Q263335 is about a 1.2 secondary the wizard does not offer; the 24 hours are Q199250's (and the seed's).
    assert BY_ID["manual.secondary_site_control"].references["kb"] == ["Q199250"]
    assert "sendcode" not in BY_ID["manual.secondary_site_control"].message["fail"]
    assert BY_ID["manual.secondary_offered"].references["kb"] == ["Q263335"]


def test_both_platforms_copy_belongs_to_the_second_secondary_option():
    # Q199250: "If you plan to initiate the upgrade from the parent site but complete the installation at the secondary
    # site, make sure the source files are at the secondary site. ... you can copy all of the files (both i386 and Alpha
    # ...) to a network drive at the secondary site".
    text = " ".join(BY_ID["manual.secondary_upgrade_method"].message["fail"].split())
    second = text.index("start from the parent")
    third = text.index("from the CD at the secondary")
    assert second < text.index("both i386 and Alpha") < third


def test_wizard_offers_a_1_2_secondary_only_after_its_site_control_file_reached_the_2_0_parent(tmp_path):
    # Q263335: after the 1.2 primary is upgraded, "The Secondary Site Upgrade Wizard does not indicate that the
    # secondary site is available for upgrade"; "sendcode sms_site_config_manager 193" sends a site control file now.
    parent = server("PAR", full_version="2.00.1239.0000")
    secondary = server("SEC", role="secondary", parent="PAR", site_role="secondary")
    findings = assess(tmp_path, [parent, secondary])
    finding = findings[("SRVSEC", "manual.secondary_offered")]
    assert finding["status"] == "fail" and finding["blocks"]
    assert finding["remediation"]["command"] == "sendcode sms_site_config_manager 193"
    confirmed = assess(tmp_path, [parent, secondary], [answer("manual.secondary_offered", "SRVSEC")])
    assert confirmed[("SRVSEC", "manual.secondary_offered")]["status"] == "pass"
    still_1_2 = assess(tmp_path, [server("PAR"), secondary])
    assert still_1_2[("SRVSEC", "manual.secondary_offered")]["status"] == "not_applicable"


# ------------------------------------------------------------------ children before parents (PRE-03, PRE-04, PRE-33)
def test_release_is_labelled_from_the_build():
    # Q132710: "build number 631 or below" is SMS 1.0; Q133253: "Systems Management Server 1.1, Build 682";
    # RG-1.2 S3D59: "SITE CONTROL FILE [786][1.08]".
    assert [sms_release({"setup_version": b}) for b in ("631", "682", "692", "786")] == ["1.0", "1.1", "1.1", "1.2"]
    assert sms_release({"setup_version": "786", "full_version": "2.00.1239.0000"}) == "2.0"
    assert sms_release({"setup_version": "bogus"}) == "unknown build bogus"


def test_mixed_versions_names_a_1_1_child_as_1_1(tmp_path):
    findings = assess(tmp_path, [server("CEN", role="central"), server("P01", parent="CEN", setup_version="682")])
    assert "P01 (1.1) under CEN (1.2)" in findings[("(hierarchy)", "hierarchy.mixed_versions")]["message"]


def test_parent_is_blocked_by_children_missing_below_1_2_or_without_sp4(tmp_path):
    # Seed "Version of Systems Management Server": "Systems Management Server 1.2 sites that will be reporting
    # (inter-operating) to the upgraded site must be running Systems Management Server 1.2, Service Pack 4 or later
    # before the parent site is upgraded". S09 is in the parent's site control file only.
    parent = server("CEN", role="central", children=["P01", "S01", "S09"])
    old = server("P01", parent="CEN", setup_version="682", csdver=None)
    sp3 = server("S01", role="secondary", parent="CEN", site_role="secondary", csdver="Service Pack 3")
    findings = assess(tmp_path, [parent, old, sp3])
    finding = findings[("SRVCEN", "site.children_ready")]
    assert finding["status"] == "fail" and finding["blocks"]
    message = finding["message"]
    assert "P01 runs SMS 1.1 (build 682), older than SMS 1.2" in message
    assert "S01 runs SMS 1.2 Service Pack 3" in message
    assert "S09 (named in the site control file) is not in this inventory" in message


def test_children_ready_passes_for_sp4_children_and_leaves_a_plan_to_plan_children_sp4(tmp_path):
    parent = server("CEN", role="central", children=["P01"])
    child = server("P01", parent="CEN")
    findings = assess(tmp_path, [parent, child])
    assert findings[("SRVCEN", "site.children_ready")]["status"] == "pass"
    assert findings[("SRVP01", "site.children_ready")]["status"] == "not_applicable"
    window = {"start": "2026-12-05T18:00:00Z", "end": "2026-12-06T06:00:00Z"}
    plan = parse_plan({"schema_version": 1, "waves": [{"name": "one", "sites": [{"site": "CEN"}], "window": window}],
                       "stay_on_1_2": [{"site": "P01", "reason": "later"}]}, "plan.yml")
    planned = assess(tmp_path, [parent, server("P01", parent="CEN", csdver="Service Pack 3")], plan=plan)
    assert planned[("SRVCEN", "site.children_ready")]["status"] == "not_applicable"
    assert planned[("(hierarchy)", "plan.children_sp4")]["status"] == "fail", "one fact, one owner: the plan rule"


# ------------------------------------------------------------------ helper servers of secondaries (PRE-11)
def test_secondary_with_components_and_senders_on_a_helper_that_is_not_in_the_inventory(tmp_path):
    # Seed, SECONDARY SITE UPGRADES: "A secondary site upgrade removes the Systems Management Server 1.2 components from
    # the site server and helper servers"; "You must move Systems Management Server 1.2 senders that are hosted on helper
    # servers to the site server before the upgrade."
    secondary = server("SEC", role="secondary", parent="PAR", site_role="secondary")
    secondary["site_control"].update(helper_servers=[{"name": "SECHLP01", "components": ["SMS_DESPOOLER"]}],
                                     senders=[{"type": "lan", "server": "SECHLP01"}])
    findings = assess(tmp_path, [server("PAR", children=["SEC"]), secondary])
    for rule, text in (("site.helper_components", "SECHLP01: SMS_DESPOOLER"), ("site.helper_senders", "lan on SECHLP01")):
        finding = findings[("SRVSEC", rule)]
        assert finding["status"] == "fail" and finding["blocks"] and text in finding["message"], rule


# ------------------------------------------------------------------ SNA links to an upgrading parent (PRE-10)
def test_sna_link_from_a_1_2_child_blocks_its_parents_upgrade(tmp_path):
    # Seed conversion table, SNA Senders: "A Systems Management Server 1.2 site cannot use SNA sender to communicate with
    # a Systems Management Server 2.0 site."
    parent = server("PAR", children=["SEC"])
    parent["site_control"]["addresses"] = [{"site_code": "SEC", "sender": "LAN Sender", "format": "MS_LAN"}]
    child = server("SEC", role="secondary", parent="PAR", site_role="secondary")
    child["site_control"]["addresses"] = [{"site_code": "PAR", "sender": "SNA Sender", "format": "MS_SNA_BATCH"}]
    findings = assess(tmp_path, [parent, child])
    finding = findings[("SRVPAR", "site.children_sna")]
    assert finding["status"] == "fail" and finding["blocks"] and not BY_ID["site.children_sna"].answerable
    assert "SEC -> PAR by SNA Sender" in finding["message"]
    assert findings[("SRVPAR", "site.sna_sender")]["status"] == "pass", "the parent's own senders are another rule's"
    child["site_control"]["addresses"][0].update(sender="LAN Sender", format="MS_LAN")
    assert assess(tmp_path, [parent, child])[("SRVPAR", "site.children_sna")]["status"] == "pass"
    upgraded = server("SEC", role="secondary", parent="PAR", site_role="secondary", full_version="2.00.1239.0000")
    upgraded["site_control"]["addresses"] = [{"site_code": "PAR", "sender": "SNA Sender"}]
    assert assess(tmp_path, [parent, upgraded])[("SRVPAR", "site.children_sna")]["status"] == "pass"


def test_sna_link_known_only_from_the_parents_site_control_file(tmp_path):
    parent = server("PAR", children=["S09"])
    parent["site_control"]["addresses"] = [{"site_code": "S09", "sender": "SNA Sender", "format": "MS_SNA_INTER"}]
    finding = assess(tmp_path, [parent])[("SRVPAR", "site.children_sna")]
    assert finding["status"] == "fail" and "PAR -> S09 by SNA Sender" in finding["message"]


# ------------------------------------------------------------------ servers that run SMS 2.0 components (PRE-05, PRE-07)
def _os(csd, product="server", version="4.0"):
    return {"family": "windows_nt", "name": "Windows NT", "version": version, "csd_version": csd, "product_type": product}


def test_nt_server_sp4_on_site_servers_sql_and_logon_point_dcs_not_on_helpers(tmp_path):
    # Seed "Version of Windows NT Server": "Your site servers and other Microsoft Windows NT Server operating system based
    # servers running Systems Management Server 2.0 server components must run Microsoft Windows NT Server 4.0, Service
    # Pack 4 or later." Q214869: "SMS or software metering database | Windows NT 4.0 with Service Pack 4 and higher".
    from ..snapshots import site_database
    secondary = server("SEC", role="secondary", parent="AAA", site_role="secondary")
    secondary["os"] = _os("Service Pack 6a", product="workstation")
    helper = site_server(host="HLP01", site="AAA", roles=["helper"], os=_os("Service Pack 3"))
    logon_dc = site_server(host="LOG01", site="AAA", roles=["logon"], os=_os("Service Pack 3", "domain_controller"))
    logon_member = site_server(host="LOG02", site="AAA", roles=["logon"], os=_os("Service Pack 3", "server"))
    sql = site_database(os=_os("Service Pack 3"))
    findings = assess(tmp_path, [server("AAA", children=["SEC"]), secondary, helper, logon_dc, logon_member, sql])
    assert findings[("SRVSEC", "site.nt_version")]["status"] == "fail"
    assert "Windows NT Workstation, not Server" in findings[("SRVSEC", "site.nt_version")]["message"]
    assert ("HLP01", "site.nt_version") not in findings, "the upgrade removes the helper's 1.2 components"
    assert findings[("SQL01", "sql.nt_version")]["status"] == "fail"
    assert "Service Pack 3, not Service Pack 4 or later" in findings[("SQL01", "sql.nt_version")]["message"]
    assert findings[("LOG01", "logon.nt_version")]["status"] == "fail" and findings[("LOG01", "logon.nt_version")]["blocks"]
    assert findings[("LOG02", "logon.nt_version")]["status"] == "not_applicable", "only domain controllers become logon points"
    assert findings[("SRVAAA", "logon.nt_version")]["status"] == "not_applicable", "site.nt_version judges the site server"
    # Q214869 accepts SP3 for a logon point: the parameter follows it when an administrator chooses so.
    relaxed = assess(tmp_path, [logon_dc], params={"logon_point_min_service_pack": "Service Pack 3"})
    assert relaxed[("LOG01", "logon.nt_version")]["status"] == "pass"


def test_sql_server_os_not_gathered_is_a_failure_a_person_can_answer(tmp_path):
    from ..snapshots import site_database
    sql = site_database()
    del sql["os"]
    findings = assess(tmp_path, [server("AAA"), sql])
    finding = findings[("SQL01", "sql.nt_version")]
    assert finding["status"] == "fail" and "was not gathered" in finding["message"] and finding["blocks"]
    answered = assess(tmp_path, [server("AAA"), sql], [answer("sql.nt_version", "SQL01")])
    assert not answered[("SQL01", "sql.nt_version")]["blocks"]
    same_machine = site_database(host="SQLAAA", computer="SRVAAA")
    del same_machine["os"]
    both = assess(tmp_path, [server("AAA"), same_machine])
    assert both[("SQLAAA", "sql.nt_version")]["status"] == "not_applicable", "site.nt_version judges that machine"
    alone = assess(tmp_path, [same_machine])
    assert alone[("SQLAAA", "sql.nt_version")]["status"] == "fail", "no site server in the inventory to judge it"


def test_ie_401_sp1_on_secondaries_blocks_but_can_be_answered(tmp_path):
    # Seed "Version of Internet Explorer": "Before you upgrade your site, you must have Microsoft Internet Explorer
    # version 4.01, Service Pack 1 installed on the site server." No exception is named for secondaries.
    secondary = server("SEC", role="secondary", parent="AAA", site_role="secondary")
    secondary["ie"] = {"version": "4.72.2106.8"}
    findings = assess(tmp_path, [secondary])
    finding = findings[("SRVSEC", "secondary.ie_version")]
    assert finding["status"] == "fail" and finding["blocks"] and "UNCONFIRMED" in finding["message"]
    assert ("SRVSEC", "site.ie_version") not in findings
    answered = assess(tmp_path, [secondary], [answer("secondary.ie_version", "SRVSEC")])
    assert not answered[("SRVSEC", "secondary.ie_version")]["blocks"]


# ------------------------------------------------------------------ machine history (PRE-29)
def test_machine_history_older_than_60_days_blocks(tmp_path):
    # Seed "Site Data": "Prepare your site database for upgrade by performing the following procedure: ... 4. ...
    # configure Systems Management Server to delete Machine History Records older than 60 days."
    from ..snapshots import site_database
    findings = assess(tmp_path, [site_database(machine_history={"oldest": "2026-09-20T00:00:00Z"})])
    finding = findings[("SQL01", "sql.machine_history")]
    assert finding["status"] == "fail" and finding["blocks"]
    assert "KB Q263095" in finding["remediation"]["hint"]
    recent = assess(tmp_path, [site_database(machine_history={"oldest": "2026-09-30T00:00:00Z"})])
    assert recent[("SQL01", "sql.machine_history")]["status"] == "pass"


# ------------------------------------------------------------------ active jobs (PRE-25, CLI-04)
def test_active_jobs_is_a_condition_and_only_their_documentation_is_answered(tmp_path):
    # Seed "Jobs": "When you upgrade, your only active jobs must be system jobs. If you do have active jobs, document those
    # that you want to reproduce ... In particular, document the jobs that send programs to child primary sites that you
    # do not intend to upgrade."
    from ..snapshots import site_database
    jobs = [{"id": "AAA00001", "system": True, "active": True, "status": "Pending"},
            {"id": "AAA00007", "name": "Office 97", "system": False, "active": True, "status": "Active", "target_sites": ["BBB"]}]
    snapshots = [site_database(jobs=jobs), server("AAA", children=["BBB"]), server("BBB", parent="AAA")]
    everything = [answer("sql.active_jobs", "SQL01"), answer("manual.jobs_documented", "SQL01")]
    findings = assess(tmp_path, snapshots, [answer("manual.jobs_documented", "SQL01")])
    active = findings[("SQL01", "sql.active_jobs")]
    assert active["status"] == "fail" and active["blocks"] and not BY_ID["sql.active_jobs"].answerable
    assert "AAA00007 Active -> BBB" in active["message"]
    assert findings[("SQL01", "manual.jobs_documented")]["status"] == "pass"
    open_doc = assess(tmp_path, snapshots)[("SQL01", "manual.jobs_documented")]
    assert open_doc["status"] == "fail" and "in particular AAA00007" in open_doc["message"]
    assert parse_answers_rejects(everything[0])
    quiet = assess(tmp_path, [site_database(jobs=jobs[:1])])
    assert quiet[("SQL01", "sql.active_jobs")]["status"] == "pass"
    assert quiet[("SQL01", "manual.jobs_documented")]["status"] == "not_applicable"


def parse_answers_rejects(entry):
    """True when the answers file refuses an answer to a rule that cannot be answered."""
    from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import AnswersError
    try:
        parse_answers({"schema_version": 1, "answers": [entry]}, BY_ID)
    except AnswersError:
        return True
    return False


# ------------------------------------------------------------------ the site server's remote control agent (PRE-26)
def test_site_servers_remote_control_agent_must_be_off(tmp_path):
    # Seed "Disable Client Remote Control Agent": "turn off the Systems Management Server 1.2 site server remote control
    # agent"; Q139627 lists "\SYSTEM\CurrentControlSet\Services\WUSER32" among a site server's SMS keys.
    running = server("AAA")
    running["services"].append({"name": "Wuser32", "state": "running", "start_mode": "auto"})
    finding = assess(tmp_path, [running])[("SRVAAA", "site.remote_control_agent")]
    assert finding["status"] == "fail" and finding["blocks"] and "Wuser32 auto running" in finding["message"]
    running["services"][-1].update(state="stopped", start_mode="disabled")
    assert assess(tmp_path, [running])[("SRVAAA", "site.remote_control_agent")]["status"] == "pass"
    assert assess(tmp_path, [server("BBB")])[("SRVBBB", "site.remote_control_agent")]["message"] == "no Wuser32 service."
    from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import gather_data
    assert "Wuser32" in gather_data()["site_server_service_patterns"], "site_facts must list the agent's service"


# ------------------------------------------------------------------ SMSLS.BAT (PRE-08)
def test_identical_smsls_copies_do_not_prove_the_file_unmodified(tmp_path):
    # Seed: "If you modified the smsls.bat file, either document the changes or back up the file." KB Q138348: SMSLS.BAT
    # goes to NETLOGON from \Site.srv\Maincfg.box, so a modified master gives identical modified copies.
    scripts = [{"path": "C:\\SMS\\SITE.SRV\\MAINCFG.BOX\\SMSLS.BAT", "size": 9, "sha256": "b" * 64, "location": "maincfg"},
               {"path": "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT", "size": 9, "sha256": "b" * 64,
                "location": "netlogon"}]
    snap = server("AAA")
    snap["sms_tree"]["logon_scripts"] = scripts
    finding = assess(tmp_path, [snap])[("SRVAAA", "site.smsls_bat")]
    assert finding["status"] == "fail" and finding["blocks"]
    assert "identical copies do not show it is unmodified" in finding["message"]
    unmodified = assess(tmp_path, [snap], [answer("site.smsls_bat", "SRVAAA", reason="compared with the SP4 original")])
    assert not unmodified[("SRVAAA", "site.smsls_bat")]["blocks"], "a person may say it is unmodified"


# ------------------------------------------------------------------ what Setup deletes (PRE-08, PRE-09, PRE-20..24, PRE-28)
def _tree_with(**lists):
    snap = server("AAA")
    snap["sms_tree"].update(lists)
    return snap


def test_pending_mifs_block_until_the_queues_are_empty_or_kept(tmp_path):
    # Seed conversion table, Pending MIF files: "MIF files on the site server waiting to be processed are deleted."
    empty = assess(tmp_path, [_tree_with(pending_mifs=[])])[("SRVAAA", "preserve.pending_mifs")]
    assert empty["status"] == "pass" and "No MIF or inventory file waits" in empty["message"]
    waiting = [{"path": "C:\\SMS\\SITE.SRV\\DATALOAD.BOX\\DELTAMIF.COL\\PROCESS\\0001A2B3.MIF", "size": 10, "sha256": "c" * 64}]
    queued = assess(tmp_path, [_tree_with(pending_mifs=waiting)])[("SRVAAA", "preserve.pending_mifs")]
    assert queued["status"] == "fail" and queued["blocks"] and "DELTAMIF.COL" in queued["message"]
    logon = site_server(host="LOG01", site="AAA", roles=["logon"])
    logon["sms_tree"]["pending_mifs"] = [{"path": "C:\\SMS\\LOGON.SRV\\INVENTRY.BOX\\X.RAW", "size": 1, "sha256": "d" * 64}]
    assert assess(tmp_path, [logon])[("LOG01", "preserve.pending_mifs")]["status"] == "fail"
    assert BY_ID["preserve.pending_mifs"].references["seed"] == "Data Conversion \u2013 What is Converted?", "the table's section"


def test_query_files_under_the_sms_root_need_a_copy(tmp_path):
    qdf = [{"path": "C:\\SMS\\QUERIES\\ALLNT.QDF", "size": 10, "sha256": "e" * 64}]
    finding = assess(tmp_path, [_tree_with(query_files=qdf)])[("SRVAAA", "preserve.query_files")]
    assert finding["status"] == "fail" and finding["blocks"]


def test_ms_test_packages_must_be_moved_and_resent(tmp_path):
    # KB Q200399: "move the files in the MSTEST directory (that the SMS package depends on) to the package source
    # directory" and "send a job for the package ... with the Even if Previously Sent option selected".
    mstest = [{"path": "C:\\SMS\\SITE.SRV\\MAINCFG.BOX\\MSTEST\\X86.BIN\\00000409\\OFFSETUP.PCD", "size": 1, "sha256": "f" * 64}]
    findings = assess(tmp_path, [_tree_with(mstest_files=mstest)])
    assert findings[("SRVAAA", "manual.mstest_packages_resent")]["status"] == "fail"
    assert findings[("SRVAAA", "manual.mstest_packages_resent")]["blocks"]
    done = assess(tmp_path, [_tree_with(mstest_files=mstest)],
                  [answer("manual.mstest_packages_resent", "SRVAAA", decision="moved_and_resent")])
    assert done[("SRVAAA", "manual.mstest_packages_resent")]["status"] == "pass"
    assert assess(tmp_path, [server("AAA")])[("SRVAAA", "manual.mstest_packages_resent")]["status"] == "not_applicable"


def test_user_logon_scripts_are_recorded_when_sms_configured_them(tmp_path):
    # Seed "Login Scripts Deconfigured": "any login scripts that the site had automatically configured will be
    # deconfigured, and user profiles will be updated." KB Q192660: "If there is no logon script specified in the
    # account properties, Systems Management Server specifies Smsls.bat to be the user's login script".
    automatic = server("AAA")
    automatic["site_control"]["automatic_logon_scripts"] = True
    assert assess(tmp_path, [automatic])[("SRVAAA", "manual.user_logon_scripts")]["status"] == "fail"
    automatic["site_control"]["automatic_logon_scripts"] = False
    assert assess(tmp_path, [automatic])[("SRVAAA", "manual.user_logon_scripts")]["status"] == "not_applicable"


def test_package_sources_inside_the_sms_tree_are_a_question(tmp_path):
    # Seed "Package Definition Files": "Systems Management Server Setup deletes the entire Systems Management Server 1.2
    # directory tree".
    finding = assess(tmp_path, [server("AAA")])[("SRVAAA", "manual.package_sources")]
    assert finding["status"] == "fail" and finding["blocks"] and BY_ID["manual.package_sources"].decisions


def test_a_snapshot_that_never_listed_the_queues_cannot_say_they_are_empty(tmp_path):
    old = server("AAA")
    del old["sms_tree"]["pending_mifs"]
    finding = assess(tmp_path, [old])[("SRVAAA", "preserve.pending_mifs")]
    assert finding["status"] == "error" and "gather the host again" in finding["message"]
