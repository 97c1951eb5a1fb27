"""Build realistic SMS 1.2 snapshots (schema 1) for the embedded lab and for generated fleets.

Paths, services, shares and version strings follow ../shared/reference/sms-facts.md.
"""
import hashlib

COLLECTED = "2026-11-20T06:00:00Z"
SMS_SERVICES = ("SMS_EXECUTIVE", "SMS_HIERARCHY_MANAGER", "SMS_SITE_CONFIG_MANAGER", "SMS_INVENTORY_AGENT_NT",
                "SMS_PACKAGE_COMMAND_MANAGER_NT", "SMS_CLIENT_CONFIG_MANAGER")
OS_NAMES = {"windows_nt": "Windows NT Workstation", "windows_9x": "Windows 95", "windows_3x": "Windows 3.1",
            "wfw": "Windows for Workgroups 3.11", "ms_dos": "MS-DOS 6.22", "os2": "OS/2 Warp 4",
            "macintosh": "Mac OS 8.1"}
OS_CODES = {"ms_dos": "1", "windows_3x": "2", "wfw": "2", "os2": "3", "windows_nt": "4", "windows_9x": "5", "macintosh": "0"}


def sha(text):
    """A stable SHA-256 for a file's (imagined) content."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sms_file(path, size, content=None, **extra):
    """A file entry of the SMS tree inventory."""
    entry = {"path": path, "size": size, "sha256": sha(content or path), "modified": "2026-06-01T09:00:00Z"}
    entry.update(extra)
    return entry


def envelope(kind, host):
    return {"schema": "sms.upgrade.snapshot", "schema_version": "1.0", "kind": kind, "host": host, "computer": host,
            "collected_at": COLLECTED, "collector": {"name": "sms.upgrade lab", "version": "1", "mode": "lab"}}


def nt_os(csd="Service Pack 6", version="4.0", product_type="server", name="Windows NT Server"):
    build = 1381 if version == "4.0" else 1057
    return {"family": "windows_nt", "name": name, "version": version, "build": build, "csd_version": csd,
            "product_type": product_type}


def services(names=SMS_SERVICES, state="running", start_mode="auto"):
    return [{"name": n, "display_name": n, "state": state, "start_mode": start_mode} for n in names]


def server_shares(roles, drive="C"):
    shares = [{"name": "SMS_SHR%s" % drive, "path": "%s:\\SMS" % drive, "remark": "SMS Shared Directory"},
              {"name": "SMS_SHR", "path": "%s:\\SMS\\LOGON.SRV" % drive, "remark": "SMS Logon Directory"}]
    if "site" in roles:
        shares.append({"name": "SMS_SITE", "path": "%s:\\SMS\\SITE.SRV\\DESPOOLR.BOX\\RECEIVE" % drive, "remark": None})
    if "distribution" in roles:
        shares.append({"name": "SMS_PKG%s" % drive, "path": "%s:\\SMSPKG%s" % (drive, drive), "remark": None})
    return shares


def empty_tree(root):
    return {"root": root, "pending_mifs": [], "xnf_files": [], "package_definition_files": [], "mif_files": [],
            "query_files": [], "mstest_files": [], "collected_files": [], "site_control_files": [], "logon_scripts": []}


def site_tree(root="C:\\SMS", custom=True, smsls_netlogon="default", primary=True):
    """The SMS tree of a primary site server; ``smsls_netlogon`` is the content tag of the NETLOGON copy."""
    tree = empty_tree(root)
    client_src = root + "\\SITE.SRV\\MAINCFG.BOX\\CLIENT.SRC\\X86.BIN\\00000409"
    tree["xnf_files"] = [sms_file(client_src + "\\UINFO.XNF", 2311)]
    tree["package_definition_files"] = [sms_file(root + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\%s" % n, s)
                                        for n, s in (("MSAPPS32.PDF", 5120), ("SMS12SP4.PDF", 2048))] if primary else []
    tree["site_control_files"] = [sms_file(root + "\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", 48210),
                                  sms_file(root + "\\SYSTEM.MAP", 8350)]
    tree["logon_scripts"] = [
        sms_file(root + "\\SITE.SRV\\MAINCFG.BOX\\SMSLS.BAT", 1893, "smsls default", location="maincfg"),
        sms_file("C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT", 1893 if smsls_netlogon == "default" else 2240,
                 "smsls " + smsls_netlogon, location="netlogon"),
        sms_file("C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.INI", 640, location="netlogon")]
    if custom:
        tree["xnf_files"] += [sms_file(client_src + "\\ASSETTAG.XNF", 1804), sms_file(client_src + "\\LOCATION.XNF", 1530)]
        tree["package_definition_files"].append(sms_file("D:\\PDF\\OFFICE97.PDF", 3410))
        tree["mif_files"] = [sms_file(root + "\\CUSTOM\\MIF\\ASSETS.MIF", 912)]
        tree["pending_mifs"] = [sms_file(root + "\\SITE.SRV\\DATALOAD.BOX\\DELTAMIF.COL\\PROCESS\\0001A2B3.MIF", 2048),
                                sms_file(root + "\\SITE.SRV\\INVENTRY.BOX\\0001A2C0.RAW", 6144)]
        tree["mstest_files"] = [sms_file(root + "\\SITE.SRV\\MAINCFG.BOX\\MSTEST\\X86.BIN\\00000409\\OFFSETUP.PCD", 20480)]
        tree["collected_files"] = [sms_file(root + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\%08d.COL" % i, 4096 + i) for i in range(1, 5)]
    return tree


def site_server(host, site, role, parent=None, roles=("site", "logon"), os_info=None, ie="4.72.3110.8",
                setup_version="786", csdver="Service Pack 4", tree=None, senders=None, helpers=(), children=(),
                memory_mb=192, free_mb=2600, filesystem="NTFS", extra=None, client_installation=0x37B, sna_links=(),
                wuser=None):
    """A site, helper or logon server snapshot. ``sna_links``: site codes this site addresses by the SNA sender (the
    others by the LAN sender); ``wuser``: (start_mode, state) of the site server's remote control agent."""
    roles = list(roles)
    snap = envelope("site_server", host)
    snap.update({
        "os": os_info or nt_os(product_type="domain_controller"),
        "roles": roles,
        "ie": {"version": ie},
        "hardware": {"memory_mb": memory_mb, "processors": 2,
                     "disks": [{"drive": "C:", "filesystem": filesystem, "total_mb": 4096, "free_mb": free_mb}]},
        "sms": {"setup_version": setup_version, "full_version": None, "csdver": csdver, "install_dir": "C:\\SMS",
                "site_code": site, "site_name": "%s site" % site, "site_role": role if "site" in roles else None,
                "parent_site_code": parent, "domain": "CORP"},
        "services": services() if "site" in roles else services(("SMS_EXECUTIVE", "SMS_INVENTORY_AGENT_NT",
                                                                 "SMS_PACKAGE_COMMAND_MANAGER_NT")),
        "shares": server_shares(roles),
        "sms_tree": tree or (site_tree() if "site" in roles else empty_tree("C:\\SMS")),
        "registry": {"sms_subkeys": ["Components", "Compression", "Identification", "Setup", "Sites", "SQL Server", "Tracing"]},
    })
    if "site" in roles:
        snap["site_control"] = {
            "header": "SITE CONTROL FILE [%s][1.08]" % setup_version, "build": int(setup_version),
            "senders": senders if senders is not None else [{"type": "lan", "server": host, "name": "LAN Sender"}],
            "helper_servers": [{"name": name, "components": list(components)} for name, components in helpers],
            "logon_servers": [{"name": host, "domain": "CORP"}],
            "child_sites": [{"site_code": code, "site_role": r} for code, r in children],
            "addresses": [{"site_code": code, "sender": "SNA Sender" if code in sna_links else "LAN Sender",
                           "format": "MS_SNA_BATCH" if code in sna_links else "MS_LAN"}
                          for code in ([parent] if parent else []) + [c for c, _r in children]],
            "automatic_logon_scripts": True, "client_installation": client_installation}
    if wuser:
        snap["services"].append({"name": "Wuser32", "display_name": "SMS Remote Control Agent", "state": wuser[1],
                                 "start_mode": wuser[0]})
    snap.update(extra or {})
    return snap


def database(name, data_mb, log_mb, used_mb=None, options=(), devices=(), shares_device=False):
    entry = {"name": name, "data_mb": data_mb, "log_mb": log_mb, "used_mb": used_mb, "options": list(options),
             "devices": [{"device": d, "segment": s, "size_mb": m} for d, s, m in devices]}
    if shares_device:
        entry["log_shares_data_device"] = True
    return entry


def site_database(host, site, version="6.50.281", computers=1000, data_mb=150, log_mb=20, used_mb=90,
                  tempdb=(60, 12), tempdb_on_master=False, tempdb_options=("select into/bulkcopy",),
                  site_options=("trunc. log on chkpt.",), groups=("All Windows Clients", "Accounting"),
                  jobs=None, duplicates=(), connections=(), history_oldest="2026-10-15T00:00:00Z"):
    """A site database snapshot (SQL Server 6.5)."""
    snap = envelope("site_database", host)
    db_name = "SMS_%s" % site
    if tempdb_on_master:
        temp = database("tempdb", 2, 0, options=tempdb_options, devices=[("master", "data_and_log", 2)], shares_device=True)
        devices = [{"name": "master", "physical_name": "C:\\MSSQL\\DATA\\MASTER.DAT", "size_mb": 25, "vdevno": 0}]
    else:
        temp = database("tempdb", tempdb[0], tempdb[1], options=tempdb_options,
                        devices=[("master", "data_and_log", 2), ("TEMPDB_DATA", "data", tempdb[0] - 2),
                                 ("TEMPDB_LOG", "log", tempdb[1])])
        devices = [{"name": "master", "physical_name": "C:\\MSSQL\\DATA\\MASTER.DAT", "size_mb": 25, "vdevno": 0},
                   {"name": "TEMPDB_DATA", "physical_name": "D:\\MSSQL\\DATA\\TEMPDB.DAT", "size_mb": tempdb[0] - 2, "vdevno": 5},
                   {"name": "TEMPDB_LOG", "physical_name": "D:\\MSSQL\\DATA\\TEMPLOG.DAT", "size_mb": tempdb[1], "vdevno": 6}]
    devices += [{"name": "%s_DATA" % db_name, "physical_name": "D:\\MSSQL\\DATA\\%s.DAT" % db_name, "size_mb": data_mb, "vdevno": 3},
                {"name": "%s_LOG" % db_name, "physical_name": "E:\\MSSQL\\DATA\\%s_LOG.DAT" % db_name, "size_mb": log_mb, "vdevno": 4}]
    snap.update({
        "os": nt_os(),
        "site_code": site,
        "sql": {"version": version, "version_banner": "Microsoft SQL Server  6.50 - %s (Intel X86)" % version},
        "site_database": db_name,
        "metering_database": None,
        "devices": devices,
        "databases": [
            database(db_name, data_mb, log_mb, used_mb, site_options,
                     [("%s_DATA" % db_name, "data", data_mb), ("%s_LOG" % db_name, "log", log_mb)]),
            temp,
            database("master", 25, 0, 18, (), [("master", "data_and_log", 25)], shares_device=True),
            database("msdb", 8, 2, 3, ("trunc. log on chkpt.",), [("MSDBDATA", "data", 8), ("MSDBLOG", "log", 2)])],
        "computer_count": computers,
        "machine_groups": [{"name": g, "id": "%s%05d" % (site, i)} for i, g in enumerate(groups, start=1)],
        "jobs": jobs if jobs is not None else [{"id": "%s00001" % site, "name": "Site maintenance", "system": True,
                                               "active": True, "status": "Active", "target_sites": [site]}],
        "duplicate_smsids": [{"smsid": smsid, "machines": list(machines)} for smsid, machines in duplicates],
        "connections": [dict({"status": "sleeping", "login": "sa", "cmd": "AWAITING COMMAND"}, **c) for c in connections],
        "machine_history": {"oldest": history_oldest},
    })
    return snap


def win_ini_text(load, run):
    """A WIN.INI as Windows 3.1/95 setup writes it (CRLF, comment, several sections), with the given load=/run=."""
    return ("; WIN.INI for Windows\r\n[windows]\r\nload=%s\r\nrun=%s\r\nBeep=yes\r\nNullPort=None\r\n"
            "device=HP LaserJet 4,HPPCL5MS,LPT1:\r\n\r\n[Desktop]\r\nWallpaper=(None)\r\nTileWallpaper=0\r\n\r\n"
            "[intl]\r\nsCountry=United States\r\niCountry=1\r\n" % (load, run))


def win_ini(path, load, run):
    """The snapshot's win_ini section (the shape sms.upgrade's build_win_ini gives; the lab test compares)."""
    text = win_ini_text(load, run)
    return {"present": True, "path": path, "has_windows_section": True, "load": load, "run": run, "truncated": False,
            "content": text, "sha256": hashlib.sha256(text.encode("latin-1")).hexdigest()}


def client(host, site, family, number, smsid=None, load=None, run=None, users=None, wuser=None, errors=None,
           win_ini_run=None):
    """A client snapshot. ``users``: [(user, source, load, run)]; ``wuser``: (start_mode, state) on NT."""
    snap = envelope("client", host)
    smsid = smsid or "%s%05d" % (site, number)
    snap.update({
        "os": {"family": family, "name": OS_NAMES[family],
               "version": {"windows_nt": "4.0", "windows_9x": "4.00", "windows_3x": "3.10", "wfw": "3.11"}.get(family, "")},
        "site_code": site,
        "sms_ini": {"present": True, "path": "C:\\SMS.INI", "sections": {
            "SMS": {"SMS Unique ID": smsid, "SiteCode": site, "BuildNo": "786", "SPNumber": "0",
                    "OS": OS_CODES[family], "SMSPath": "C:\\MS\\SMS"},
            "Local": {"SetupPhase": "INSTALLED", "MachineName": host, "LanguageCode": "00000409"}}},
    })
    if family in ("windows_nt", "windows_9x", "windows_3x", "wfw"):
        snap["csdver"] = "Service Pack 4"
        snap["win_ini"] = win_ini("C:\\WINDOWS\\WIN.INI" if family != "windows_nt" else "C:\\WINNT\\WIN.INI",
                                  load if family != "windows_nt" else "", win_ini_run if win_ini_run is not None else "")
    if family == "windows_nt":
        snap["os"]["csd_version"] = "Service Pack 5"
        snap["os"]["product_type"] = "workstation"
        snap["user_entries"] = [{"user": u, "sid": "S-1-5-21-1004336348-1177238915-682003330-%d" % (1000 + i),
                                 "profile_path": "C:\\WINNT\\Profiles\\%s" % u.split("\\")[-1], "source": s,
                                 "load": lo, "run": ru} for i, (u, s, lo, ru) in enumerate(users or [
                                     ("CORP\\user%03d" % number, "loaded_hive", "", None),
                                     (".DEFAULT", "default_user", "", None)])]
        start_mode, state = wuser or ("disabled", "stopped")
        snap["remote_control"] = {"present": True, "service": "Wuser32", "state": state, "start_mode": start_mode}
        snap["services"] = [{"name": "Wuser32", "display_name": "SMS Remote Control Agent", "state": state, "start_mode": start_mode}]
    if errors:
        snap["errors"] = errors
        for error in errors:
            snap.pop(error["section"], None)
    return snap
