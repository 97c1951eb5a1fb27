"""Write the embedded lab (inventories/lab): hosts.yml and one snapshot per host.

The lab is a central primary site CEN with a separate SQL server, a helper and a logon server; a
child primary P01; secondaries S01 (under CEN), S02 and S03 (under P01); and clients of every OS
family. Planted problems are listed in inventories/lab/README.md. Run again after changing this file;
the unit tests check that the committed lab matches it.
"""
import json
import os
import sys

import lab_factory as f

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(REPO, "inventories", "lab")
MISSING = ["CENNT099"]  # in the inventory, never gathered: shows how a missing snapshot is reported
LAB_SQL = ["LABSQL01"]  # the lab SQL Server of the database phase's rehearsal (sms_lab_sql), outside the hierarchy


def servers():
    hlp_sender = {"type": "lan", "server": "CENHLP01", "name": "LAN Sender (helper)"}
    return [
        ("sms_central", f.site_server(
            "CENSRV01", "CEN", "central", roles=("site", "logon", "distribution"),
            tree=f.site_tree(smsls_netlogon="modified by corp IT"),
            senders=[{"type": "lan", "server": "CENSRV01", "name": "LAN Sender"}, hlp_sender],
            helpers=[("CENHLP01", ["SMS_SCHEDULER", "SMS_DESPOOLER"])],
            children=[("P01", "primary"), ("S01", "secondary")], memory_mb=256, free_mb=3800)),
        ("sms_sql", f.site_database(
            "CENSQL01", "CEN", computers=3000, data_mb=250, log_mb=20, used_mb=210, site_options=(),
            tempdb_on_master=True, tempdb_options=(), history_oldest="2026-05-04T00:00:00Z",
            groups=("All Systems", "Accounting", "All Windows NT Systems", "Engineering Workstations"),
            jobs=[{"id": "CEN00001", "name": "Site maintenance", "system": True, "active": True, "status": "Active", "target_sites": ["CEN"]},
                  {"id": "CEN00117", "name": "Office 97 SR-2 to P01", "system": False, "active": True, "status": "Pending", "target_sites": ["P01"]},
                  {"id": "CEN00090", "name": "Virus scanner update", "system": False, "active": False, "status": "Complete", "target_sites": ["CEN"]}],
            duplicates=[("CEN00042", ["CENNT011", "CENNT012"])],
            connections=[{"spid": 10, "dbname": "SMS_CEN", "program": "SMS_EXECUTIVE", "hostname": "CENSRV01", "login": "sms_svc"},
                         {"spid": 14, "dbname": "SMS_CEN", "program": "MS SMS Administrator", "hostname": "ADMINPC7", "login": "sms_admin"},
                         {"spid": 15, "dbname": "master", "program": "ISQL-32", "hostname": "DBA01", "login": "sa"}])),
        ("sms_helper", f.site_server("CENHLP01", "CEN", None, roles=("helper",), os_info=f.nt_os("Service Pack 4"),
                                     tree=f.empty_tree("C:\\SMS"))),
        ("sms_logon", f.site_server("CENLOG01", "CEN", None, roles=("logon",), os_info=f.nt_os("Service Pack 5"),
                                    tree=dict(f.empty_tree("C:\\SMS"), logon_scripts=[
                                        f.sms_file("C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT", 1893, "smsls default", location="netlogon")]))),
        ("sms_primary", f.site_server(
            "P01SRV01", "P01", "primary", parent="CEN", os_info=f.nt_os("Service Pack 3", product_type="domain_controller"),
            ie="4.72.2106.8", senders=[{"type": "lan", "server": "P01SRV01", "name": "LAN Sender"},
                                       {"type": "sna_batch", "server": "P01SRV01", "name": "SNA Batch Sender"}],
            children=[("S02", "secondary"), ("S03", "secondary")])),
        ("sms_sql", f.site_database("P01SQL01", "P01", version="6.50.258", computers=900, data_mb=120, log_mb=15,
                                    used_mb=70, tempdb=(40, 8), history_oldest="2026-10-30T00:00:00Z")),
        ("sms_secondary", f.site_server("S01SRV01", "S01", "secondary", parent="CEN",
                                        os_info=f.nt_os("Service Pack 6a", product_type="domain_controller"),
                                        tree=f.site_tree(custom=False, primary=False), client_installation=0x109)),
        ("sms_secondary", f.site_server("S02SRV01", "S02", "secondary", parent="P01", csdver="Service Pack 3",
                                        os_info=f.nt_os("Service Pack 5", version="3.51"), free_mb=300,
                                        tree=f.site_tree(custom=False, primary=False))),
        ("sms_secondary", f.site_server("S03SRV01", "S03", "secondary", parent="P01", setup_version="682", csdver=None,
                                        tree=f.site_tree(custom=False, primary=False))),
    ]


def clients():
    smsrun = "C:\\MS\\SMS\\BIN\\SMSRUN32.EXE"
    result = [f.client("CENNT%03d" % n, "CEN", "windows_nt", n) for n in range(1, 11)]
    result += [f.client("CENNT011", "CEN", "windows_nt", 11, smsid="CEN00042"),
               f.client("CENNT012", "CEN", "windows_nt", 12, smsid="CEN00042"),
               f.client("CENNT013", "CEN", "windows_nt", 13, wuser=("auto", "running"), users=[
                   ("CORP\\jsmith", "loaded_hive", smsrun + " C:\\TOOLS\\CLOCK.EXE", None),
                   ("CORP\\akumar", "ntuser_dat", "", "SMSRUN32.EXE"),
                   (".DEFAULT", "default_user", smsrun, None)]),
               f.client("CENNT014", "CEN", "windows_nt", 14, errors=[{
                   "section": "user_entries", "cause": "remote_registry_stopped",
                   "message": "The Remote Registry service on CENNT014 is stopped; profiles could not be read."}]),
               f.client("CEN95001", "CEN", "windows_9x", 101, load=""),
               f.client("CEN95002", "CEN", "windows_9x", 102, load="C:\\WINDOWS\\SYSTEM\\SYSTRAY.EXE"),
               f.client("CEN95003", "CEN", "windows_9x", 103, load="C:\\MS\\SMS\\BIN\\SMSRUN16.EXE NAV.EXE",
                        win_ini_run="SMSRUN16.EXE"),
               f.client("CEN31001", "CEN", "windows_3x", 201, load="C:\\MS\\SMS\\BIN\\SMSRUN16.EXE"),
               f.client("CENWFW01", "CEN", "wfw", 202, load="NETWATCH.EXE"),
               f.client("CENDOS01", "CEN", "ms_dos", 301),
               f.client("CENOS201", "CEN", "os2", 302),
               f.client("CENMAC01", "CEN", "macintosh", 303)]
    result += [f.client("P01NT%03d" % n, "P01", "windows_nt", n) for n in range(1, 6)]
    result += [f.client("P01NT006", "P01", "windows_nt", 6, wuser=("auto", "running")),
               f.client("P0195001", "P01", "windows_9x", 101, load=""),
               f.client("P01DOS01", "P01", "ms_dos", 301)]
    result += [f.client("S01NT%03d" % n, "S01", "windows_nt", n) for n in range(1, 4)]
    result += [f.client("S0195001", "S01", "windows_9x", 101, load="")]
    result += [f.client("S02NT001", "S02", "windows_nt", 1), f.client("S02OS201", "S02", "os2", 301),
               f.client("S03NT001", "S03", "windows_nt", 1)]
    return result


def inventory(server_entries, client_snapshots, missing=()):
    """Return the hosts.yml structure."""
    tiers = {}
    for group, snap in server_entries:
        tiers.setdefault(group, []).append(snap["host"])
    client_hosts = [c["host"] for c in client_snapshots] + list(missing)
    sites = {}
    for _group, snap in server_entries:
        sites.setdefault(snap.get("sms", {}).get("site_code") or snap.get("site_code"), []).append(snap["host"])
    for snap in client_snapshots:
        sites.setdefault(snap["site_code"], []).append(snap["host"])
    sites["CEN"] += list(missing)

    def hosts(names):
        return {name: None for name in names}

    children = {
        "sms_site_servers": {"children": {g: {"hosts": hosts(tiers[g])} for g in ("sms_central", "sms_primary", "sms_secondary")}},
        "sms_sql": {"hosts": hosts(tiers["sms_sql"])},
        "sms_helper": {"hosts": hosts(tiers["sms_helper"])},
        "sms_logon": {"hosts": hosts(tiers["sms_logon"])},
        "sms_clients": {"hosts": hosts(client_hosts)},
    }
    all_hosts = [s["host"] for _g, s in server_entries] + client_hosts
    return {"all": {"children": {
        "sms_upgrade": {"children": children},
        # A lab SQL Server for the database phase's conversion rehearsal (not part of the hierarchy, no snapshot).
        "sms_lab_sql": {"hosts": hosts(LAB_SQL)},
        "sms_snapshots_only": {"hosts": hosts(all_hosts + LAB_SQL)},
        **{"sms_site_%s" % code: {"hosts": hosts(names)} for code, names in sorted(sites.items())}}}}


def write(directory, server_entries, client_snapshots, header, missing=()):
    """Write hosts.yml and the snapshots of an inventory directory."""
    import yaml
    os.makedirs(os.path.join(directory, "snapshots"), exist_ok=True)
    with open(os.path.join(directory, "hosts.yml"), "w", encoding="utf-8") as handle:
        handle.write(header)
        yaml.safe_dump(inventory(server_entries, client_snapshots, missing), handle, sort_keys=False, default_flow_style=False)
    for snap in [s for _g, s in server_entries] + client_snapshots:
        with open(os.path.join(directory, "snapshots", "%s.json" % snap["host"]), "w", encoding="utf-8") as handle:
            json.dump(snap, handle, indent=1)
            handle.write("\n")


HEADER = ("---\n# The embedded lab hierarchy (generated by tests/tools/build_lab.py; see README.md).\n"
          "# Every host is in sms_snapshots_only: it is never contacted, its snapshot is assessed as it is.\n")

if __name__ == "__main__":
    write(sys.argv[1] if len(sys.argv) > 1 else LAB, servers(), clients(), HEADER, MISSING)
