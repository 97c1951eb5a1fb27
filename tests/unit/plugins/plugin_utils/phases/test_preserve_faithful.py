"""What SMS 2.0 Setup deletes, kept by the preserve phase (issue 10): queues, custom files anywhere under the SMS root,
every logon script, the SMS service keys, the outbox schedules."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import build_sms_tree
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault import documents

from .fake_host import SMS_ROOT, preserve_run, site_server

ROOT = "C:\\PRESERVED-SMS12\\CEN\\CENSRV01"
SCRIPTS = "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS"


def run(host, vault, **options):
    opts = dict({"host": "CENSRV01", "site": "CEN", "vault_root": str(vault)}, **options)
    return preserve_run(host, ["site_server"], **opts)


def kept(host, category):
    """Stored paths (relative to the category) of the host copy's first version."""
    prefix = (ROOT + "\\v1\\%s\\" % category).upper()
    return sorted(path[len(prefix):] for path in host.files if path.startswith(prefix))


def test_queues_custom_files_anywhere_and_every_logon_script_are_kept(tmp_path):
    # Seed: "MIF files on the site server waiting to be processed are deleted"; Setup "deletes the entire Systems
    # Management Server 1.2 directory tree"; "Make a backup copy of your logon scripts". KB Q121388: SMS keeps the
    # original of a script it edited "with a sequentially numbered extension like "000"".
    host = site_server(**{
        SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\DELTAMIF.COL\\PROCESS\\0001A2B3.MIF": b"pending mif",
        SMS_ROOT + "\\SITE.SRV\\INVENTRY.BOX\\0001A2B4.RAW": b"raw inventory",
        SMS_ROOT + "\\LOGON.SRV\\ISVMIF.BOX\\MAC00001.MIF": b"mac inventory",
        SMS_ROOT + "\\SITE.SRV\\MAINCFG.BOX\\CUSTOM\\TOOLS.PDF": b"[PDF] tools",
        SMS_ROOT + "\\QUERIES\\ALLNT.QDF": b"query definition",
        SCRIPTS + "\\SALES\\LOGON.BAT": b"net use s: \\\\fs\\sales\r\n",
        SCRIPTS + "\\SALES\\LOGON.000": b"net use s: \\\\fs\\sales (before SMS)\r\n",
    })
    host.shares.update({"SMS_SHR": SMS_ROOT + "\\LOGON.SRV"})
    result = run(host, tmp_path)
    assert result["problems"] == []
    assert kept(host, "pending_mifs") == ["LOGON.SRV\\ISVMIF.BOX\\MAC00001.MIF", "SITE.SRV\\DATALOAD.BOX\\DELTAMIF.COL\\PROCESS\\0001A2B3.MIF",
                                          "SITE.SRV\\INVENTRY.BOX\\0001A2B4.RAW"]
    assert kept(host, "mif_files") == ["ASSETS.MIF"], "a queued MIF is kept once, as a pending one"
    assert "C\\SMS\\SITE.SRV\\MAINCFG.BOX\\CUSTOM\\TOOLS.PDF" in kept(host, "package_definition_files")
    assert kept(host, "query_files") == ["C\\SMS\\QUERIES\\ALLNT.QDF"]
    assert {"NETLOGON\\LOGON.BAT", "NETLOGON\\LOGON.000"} <= set(kept(host, "logon_scripts"))
    assert all(result["categories"][c]["verified"] for c in ("pending_mifs", "query_files", "logon_scripts"))


def test_the_registry_export_holds_the_sms_service_keys(tmp_path):
    # KB Q139627 (removing SMS from a site server) lists \SYSTEM\CurrentControlSet\Services\SMS_EXECUTIVE ... and
    # \SYSTEM\CurrentControlSet\Services\WUSER32 with \SOFTWARE\Microsoft\SMS.
    host = site_server()
    host.registry += [
        {"path": "SYSTEM\\CurrentControlSet\\Services\\SMS_EXECUTIVE", "values": [
            {"name": "ImagePath", "type": "ExpandString", "value": "C:\\SMS\\SITE.SRV\\X86.BIN\\SMSEXEC.EXE"}]},
        {"path": "SYSTEM\\CurrentControlSet\\Services\\SMS_EXECUTIVE\\Security", "values": []},
        {"path": "SYSTEM\\CurrentControlSet\\Services\\Wuser32", "values": [{"name": "Start", "type": "DWord", "value": 4}]},
        {"path": "SYSTEM\\CurrentControlSet\\Services\\Browser", "values": [{"name": "Start", "type": "DWord", "value": 2}]}]
    run(host, tmp_path)
    export = host.get(ROOT + "\\v1\\registry\\SMS-registry.reg").decode("cp1252")
    for key in ("SOFTWARE\\Microsoft\\SMS]", "Services\\SMS_EXECUTIVE]", "Services\\SMS_EXECUTIVE\\Security]",
                "Services\\Wuser32]"):
        assert "[HKEY_LOCAL_MACHINE\\" in export and key in export, key
    assert "Browser" not in export
    listing = host.calls[0][1]
    assert "SYSTEM\\CurrentControlSet\\Services\\SMS_*" in listing["registry_export"]


def test_the_site_document_lists_outbox_schedules_and_addresses():
    # KB Q263356: "all time restrictions and priorities set for outboxes are removed"; RG-1.2 S3D59: "OUTBOX
    # <Outboxname><Drive><Address string format><Schedule string> <CreateFlag><Server name>".
    text = ("SITE CONTROL FILE [786][1.08]\r\nBEGIN_SITE_ACCOUNT\r\n<6>\r\n<CEN>\r\n<>\r\n<CENSRV01>\r\n<CORP>\r\n"
            "<Central site>\r\n<C:\\SMS>\r\nEND_SITE_ACCOUNT\r\n"
            "ADDRESS <CEN><P01><SNA Sender><MS_SNA_BATCH><0011AABBCC>\r\n"
            "OUTBOX <MS_SNA_BATCH><D:><MS_SNA_BATCH><2222222222222222HHHHHHHH> <1><CENSRV01>\r\n")
    page = documents.site_properties(text, "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "0" * 64).decode("utf-8")
    assert "## Outboxes: schedules and priorities" in page and "KB Q263356" in page
    assert "| MS_SNA_BATCH | D: | MS_SNA_BATCH | 2222222222222222HHHHHHHH | 1 | CENSRV01 |" in page
    assert "| P01 | SNA Sender | MS_SNA_BATCH |" in page and "0011AABBCC" not in page


def test_the_gather_lists_a_queued_file_once():
    raw = {"sms_root": "C:\\SMS", "file_sets": [
        {"name": "pending_mifs", "files": [{"path": "C:\\SMS\\SITE.SRV\\ISVMIF.BOX\\A.MIF", "size": 1, "sha256": "a" * 64}]},
        {"name": "mif_files", "files": [{"path": "C:\\sms\\site.srv\\isvmif.box\\a.mif", "size": 1, "sha256": "a" * 64},
                                        {"path": "C:\\SMS\\B.MIF", "size": 1, "sha256": "b" * 64}]}]}
    tree = build_sms_tree(raw)
    assert [f["path"] for f in tree["pending_mifs"]] == ["C:\\SMS\\SITE.SRV\\ISVMIF.BOX\\A.MIF"]
    assert [f["path"] for f in tree["mif_files"]] == ["C:\\SMS\\B.MIF"]


def test_gather_data_names_the_queues_before_the_root_scans():
    from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import gather_data
    names = [s["name"] for s in gather_data()["site_server_file_sets"]]
    assert names.index("mif_files") > max(i for i, n in enumerate(names) if n == "pending_mifs")
    sets = {(s["name"], s["path"]) for s in gather_data()["site_server_file_sets"]}
    for name, path in (("pending_mifs", "%SMS_ROOT%\\SITE.SRV\\DATALOAD.BOX\\DELTAMIF.COL"),
                       ("pending_mifs", "%SMS_ROOT%\\SITE.SRV\\INVENTRY.BOX"), ("pending_mifs", "%SHARE:SMS_SHR%\\INVENTRY.BOX"),
                       ("pending_mifs", "%SHARE:SMS_SHR%\\ISVMIF.BOX"), ("xnf_files", "%SMS_ROOT%"),
                       ("package_definition_files", "%SMS_ROOT%"), ("query_files", "%SMS_ROOT%")):
        assert (name, path) in sets, (name, path)


def test_a_rollback_point_lists_only_its_own_tree_so_no_scan_of_the_sms_root_takes_its_files():
    # A file is listed once, by the first set that meets it; the rollback point (the site upgrade's copy of the whole
    # tree) keeps one category, so the gather's scans of the SMS root must not take SITECTRL.CT0 or a MIF from it.
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import preserve, rollback_point, site_upgrade
    spec = site_upgrade.data()["rollback_point"]
    data = rollback_point.rollback_data(spec)
    settings = preserve.Settings(
        host="CENSRV01", site="CEN", vault_root="/vault", computer=None, check_mode=True, host_root=spec["host_root"],
        share_map={}, sms_root="C:\\SMS", exclude={}, sql_queries={}, machine_names=("CENSRV01",),
        extra_sources=[{"category": "rollback_tree", "path": "%SMS_ROOT%", "include": ["*"], "recurse": True}])
    sets = preserve.inventory_args(settings, spec["host_root"], data)["file_sets"]
    assert [s["name"] for s in sets] == ["rollback_tree"]
    everything = preserve.inventory_args(settings._replace(extra_sources=[]), "C:\\PRESERVED-SMS12", preserve.preserve_data())
    assert {s["name"].split(".")[0] for s in everything["file_sets"]} >= {"pending_mifs", "mif_files", "logon_scripts"}
