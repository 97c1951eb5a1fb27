"""Raw gather-module results as the PowerShell modules return them (see docs/gather.md)."""
import base64
import os
import struct

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import gather_data

SAMPLES = os.path.join(os.path.dirname(__file__), "samples")
H = "ab" * 32


def sample(name):
    """A sample file with the CRLF line endings of the real files (stored with LF in the repository)."""
    with open(os.path.join(SAMPLES, name), encoding="latin-1", newline="") as handle:
        return handle.read().replace("\n", "\r\n")


def resource_list(*lengths, flags=0):
    """A CM_RESOURCE_LIST with one full descriptor holding memory ranges of the given lengths."""
    data = struct.pack("<I", 1) + struct.pack("<II", 0, 0) + struct.pack("<HHI", 1, 1, len(lengths))
    start = 0
    for length in lengths:
        data += struct.pack("<BBHQI", 3, 1, flags, start, length)
        start += length
    return data


def values(**named):
    """Registry values keyed by their HKLM path, from gather.yml names."""
    paths = gather_data()["registry"]
    return {paths[name]: (None if value is None else {"type": "REG_SZ", "value": value}) for name, value in named.items()}


def site_raw(**overrides):
    raw = {
        "computer": "CENSRV01",
        "errors": [],
        "registry": {
            "values": values(os_nt_version="4.0", os_nt_build="1381", os_nt_csd="Service Pack 6",
                             os_product_type="LanmanNT", ie_version="4.72.3110.8", sms_setup_version="786",
                             sms_install_dir="C:\\SMS",
                             physical_memory=base64.b64encode(resource_list(0x9F000, 0x7F60000)).decode()),
            "subkeys": {gather_data()["registry_keys"]["sms"]: ["Components", "Identification", "Setup", "SQL Server"]},
        },
        "services": [{"name": "SMS_EXECUTIVE", "display_name": "SMS Executive", "state": "running", "start_mode": "auto"}],
        "shares": [{"name": "SMS_SHR", "path": "C:\\SMS\\LOGON.SRV", "remark": "SMS share", "type": 0},
                   {"name": "SMS_PKGC", "path": "C:\\SMS_PKGC", "remark": None, "type": 0},
                   {"name": "C$", "path": "C:\\", "remark": "Default share", "type": 2147483648}],
        "disks": [{"drive": "C:", "filesystem": "NTFS", "total_mb": 4000, "free_mb": 1500}],
        "sms_root": "C:\\SMS",
        "file_sets": [
            {"name": "package_definition_files", "path": "C:\\SMS\\PRIMSITE.SRV\\IMPORT.SRC",
             "files": [{"path": "C:\\SMS\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\MSAPPS32.PDF", "size": 2048, "sha256": H}]},
            {"name": "logon_scripts.netlogon", "path": "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS",
             "files": [{"path": "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT", "size": 900, "sha256": H}]},
        ],
        "text_files": {"site_control": {"path": "C:\\SMS\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0", "present": True,
                                        "content": sample("SITECTRL.CT0")},
                       "csdver": {"path": "C:\\MS\\SMS\\BIN\\CSDVER.SMS", "present": True, "content": "Service Pack 4\r\n"}},
    }
    raw.update(overrides)
    return raw


def client_raw(**overrides):
    raw = {
        "computer": "CENNT017",
        "errors": [],
        "registry": {"values": values(os_nt_version="4.0", os_nt_build="1381", os_nt_csd="Service Pack 5",
                                      os_product_type="WinNT", wuser32_start=None), "subkeys": {}},
        "services": [{"name": "Wuser32", "state": "running", "start_mode": "auto"},
                     {"name": "SMS_PACKAGE_COMMAND_MANAGER_NT", "state": "running", "start_mode": "auto"}],
        "shares": [],
        "text_files": {"sms_ini": {"path": "C:\\SMS.INI", "present": True, "content": sample("SMS.INI")},
                       "csdver": {"path": "C:\\MS\\SMS\\BIN\\CSDVER.SMS", "present": False, "content": None},
                       "win_ini": {"path": "C:\\WINNT\\WIN.INI", "present": True,
                                   "content": "[windows]\r\nload=\r\nrun=\r\n[Desktop]\r\nWallpaper=(None)\r\n"}},
        "user_entries": [{"user": "CORP\\anna", "sid": "S-1-5-21-1-2-3-1001", "profile_path": "C:\\WINNT\\Profiles\\anna",
                          "source": "loaded_hive", "load": "C:\\MS\\SMS\\BIN\\SMSRUN32.EXE", "run": None},
                         {"user": "Default User", "sid": None, "profile_path": "C:\\WINNT\\Profiles\\Default User",
                          "source": "default_user", "load": "", "run": None}],
    }
    raw.update(overrides)
    return raw
