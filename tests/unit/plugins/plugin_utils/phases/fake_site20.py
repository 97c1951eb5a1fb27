"""A MODEL of an upgraded SMS 2.0 site server as the post_upgrade phase's module sees it through the SMS Provider.

The provider is modelled as classes of instances (dicts) in the namespace root\\SMS\\site_<code>, with the class and
property names of data/post_upgrade.yml (RG-2.0 appendix B; SDK-2003 for the site control items). What the model
holds is its own invention, shaped like a converted SMS 1.2 site: the machine groups of the site database snapshot as
static collections (direct rules), three converted packages (one compressed with a program disabled for its unattended
command line, one whose program runs MS Test, one without source), the clients of the site as discovered systems, an
empty site assignment item, and site control components whose names start with MODEL_ (no source names the SMS 2.0
items: tests name them through sms_upgrade_provider_overrides, as a person would). The logon scripts as the 2.0 logon
point left them are files of the server. ``dump``/``load`` keep it in a JSON file for the playbook tests.
"""
import copy
import hashlib
import json
import re

FULL_VERSION = "SOFTWARE\\Microsoft\\SMS\\Setup\\Full Version"
_WHERE = re.compile(r"^\s*(\w+)\s*=\s*'((?:[^']|'')*)'\s*$")
OS_NAMES = {"windows_nt": "Microsoft Windows NT Workstation 4.0", "windows_9x": "Microsoft Windows 4.0",
            "windows_3x": "Microsoft Windows 3.1", "wfw": "Microsoft Windows for Workgroups 3.11"}
COMPONENTS = {"windows_networking_logon_discovery": "MODEL_NT_LOGON_DISCOVERY",
              "windows_networking_logon_client_installation": "MODEL_NT_LOGON_INSTALLATION",
              "network_discovery": "MODEL_NETWORK_DISCOVERY",
              "windows_nt_remote_client_installation": "MODEL_NT_REMOTE_INSTALLATION"}


def model_overrides(names=None):
    """sms_upgrade_provider_overrides naming the model's site control items (what a person finds on a real site)."""
    settings = {}
    for method, component in (names or COMPONENTS).items():
        kind = "discovery_methods" if method.endswith("discovery") else "client_installation_methods"
        settings.setdefault(kind, {})[method] = {"item_name": "%s|SMS Site Server" % component, "prop_name": "MODEL Enabled",
                                                 "enabled_value": 1}
    return {"site_settings": settings}


class FakeSite20:
    def __init__(self, site_snapshot, sql_snapshot=None, client_snapshots=(), files=None, full_version="2.00.1493.2000"):
        self.site = site_snapshot["sms"]["site_code"]
        self.computer = site_snapshot["computer"]
        self.namespace = "root\\SMS\\site_%s" % self.site
        self.registry = {FULL_VERSION: full_version}
        self.files = {k: v.decode("latin-1") if isinstance(v, bytes) else v for k, v in (files or {}).items()}
        self.unreachable = False
        self.access_denied = False
        self.calls = []
        systems = []
        for number, client in enumerate(sorted(client_snapshots, key=lambda c: c["host"]), start=1):
            if client["os"]["family"] in OS_NAMES:
                systems.append({"ResourceID": number, "Name": client["host"], "ResourceDomainORWorkgroup": "CORP",
                                "OperatingSystemNameandVersion": OS_NAMES[client["os"]["family"]], "IPSubnets": ["10.1.0.0"]})
        self.classes = {
            "SMS_R_System": systems,
            "SMS_Collection": self._collections((sql_snapshot or {}).get("machine_groups") or [], systems),
            "SMS_Package": [
                {"PackageID": "%s00005" % self.site, "Name": "Office 97 SR-2", "PkgSourceFlag": 3, "Priority": 2,
                 "PkgSourcePath": "\\\\%s\\SRC\\OFFICE97" % self.computer, "ShareName": "", "StoredPkgPath": "C:\\SMSPKGC\\OFF97",
                 "PkgFlags": 0},
                {"PackageID": "%s00006" % self.site, "Name": "Virus scanner", "PkgSourceFlag": 2, "Priority": 2,
                 "PkgSourcePath": "C:\\SMS\\SITE.SRV\\MAINCFG.BOX\\PKGSRC\\NAV", "ShareName": "", "StoredPkgPath": "",
                 "PkgFlags": 0},
                {"PackageID": "%s00007" % self.site, "Name": "Fonts", "PkgSourceFlag": 1, "Priority": 2, "PkgSourcePath": "",
                 "ShareName": "", "StoredPkgPath": "", "PkgFlags": 0}],
            "SMS_Program": [
                {"PackageID": "%s00005" % self.site, "ProgramName": "Typical", "CommandLine": "setup.exe /b1 /q",
                 "ProgramFlags": (1 << 12) | (1 << 13)},
                {"PackageID": "%s00006" % self.site, "ProgramName": "Update", "CommandLine": "MSTEST.EXE NAVUPD.PCD",
                 "ProgramFlags": 1 << 13}],
            "SMS_DistributionPoint": [{"PackageID": "%s00005" % self.site, "SiteCode": self.site,
                                       "ServerNALPath": 'MSWNET:["SMS_SITE=%s"]\\\\%s\\SMS_PKGC' % (self.site, self.computer)}],
            "SMS_SCI_SiteAssignment": [{"SiteCode": self.site, "ItemName": "MODEL Site Assignment", "ItemType": "MODEL Site Assignment",
                                        "FileType": 1, "AssignDetails": [], "AssignTypes": []}],
            "SMS_SCI_Component": [{"SiteCode": self.site, "ComponentName": name, "ItemName": "%s|SMS Site Server" % name,
                                   "ItemType": "Component", "FileType": 1,
                                   "Props": [{"PropertyName": "MODEL Enabled", "Value": 0, "Value1": "", "Value2": ""}]}
                                  for name in sorted(COMPONENTS.values())],
        }

    def _collections(self, groups, systems):
        by_name = {s["Name"]: s["ResourceID"] for s in systems}
        members = {"Accounting": ["CENNT001", "CENNT002", "CENNT003"],
                   "Engineering Workstations": ["CEN95001", "CEN95002", "CEN95003"]}
        collections = []
        for group in groups:
            if group["name"] in ("All Systems", "All Windows NT Systems"):
                continue
            rules = [{"__CLASS": "SMS_CollectionRuleDirect", "RuleName": name, "ResourceClassName": "SMS_R_System",
                      "ResourceID": by_name[name]} for name in members.get(group["name"], []) if name in by_name]
            collections.append({"CollectionID": group["id"], "Name": group["name"], "Comment": "converted machine group",
                                "CollectionRules": rules})
        collections.append({"CollectionID": "SMS00001", "Name": "All Systems", "Comment": "default", "CollectionRules": [
            {"__CLASS": "SMS_CollectionRuleQuery", "RuleName": "All Systems", "QueryExpression": "select * from SMS_R_System"}]})
        return collections

    # ------------------------------------------------------------------ the module
    def execute(self, name, args, check_mode=False):
        assert name == "sms.upgrade.post_upgrade", name
        self.calls.append(copy.deepcopy(args))
        if self.unreachable:
            return {"failed": True, "msg": "The RPC server is unavailable (%s)" % self.computer}
        if args.get("op") == "read":
            return self.read(args)
        return self.apply(args, check_mode)

    def _provider(self, args):
        # What Get-SmsErrorCause gives a ManagementException: 'other'; the WMI code says what happened.
        if self.access_denied:
            return {"namespace": args["namespace"], "connected": False, "code": "AccessDenied", "cause": "other",
                    "message": "Access denied"}
        if args["namespace"].lower() != self.namespace.lower():
            return {"namespace": args["namespace"], "connected": False, "code": "InvalidNamespace", "cause": "other",
                    "message": "Invalid namespace"}
        return {"namespace": args["namespace"], "connected": True, "code": None, "cause": None, "message": None}

    @staticmethod
    def _matches(instance, where):
        for part in [p for p in re.split(r"\s+AND\s+", where or "", flags=re.I) if p.strip()]:
            match = _WHERE.match(part)
            assert match, "the model understands only Prop = 'value' AND ...: %r" % where
            if str(instance.get(match.group(1))) != match.group(2).replace("''", "'"):
                return False
        return True

    def read(self, args):
        provider = self._provider(args)
        result = {"changed": False, "computer": self.computer, "provider": provider, "objects": {}, "files": {},
                  "registry": {path: self.registry.get(path) for path in args.get("registry_values") or []}}
        if provider["connected"]:
            for spec in args.get("reads") or []:
                if spec["class"] not in self.classes:
                    result["objects"][spec["name"]] = {"error": {"code": "InvalidClass", "cause": "other",
                                                                 "message": "Invalid class"}}
                    continue
                found = [{p: copy.deepcopy(i.get(p)) for p in spec["properties"]} for i in self.classes[spec["class"]]
                         if self._matches(i, spec.get("where"))]
                result["objects"][spec["name"]] = {"instances": found}
        for spec in args.get("files") or []:
            text = self.files.get(spec["path"])
            result["files"][spec["name"]] = {"present": text is not None, "size": None if text is None else len(text),
                                             "sha256": None if text is None else hashlib.sha256(text.encode("latin-1")).hexdigest()}
        return result

    def _instance(self, change):
        for instance in self.classes.get(change["class"], []):
            if all(instance.get(k) == v for k, v in change["keys"].items()):
                return instance
        return None

    def apply(self, args, check_mode):
        provider = self._provider(args)
        if not provider["connected"]:
            return {"failed": True, "msg": provider["message"]}
        results = [self._apply(change, check_mode) for change in args.get("changes") or []]
        return {"changed": any(r["status"] in ("changed", "would_change") for r in results), "changes": results}

    def _apply(self, change, check_mode):
        instance = self._instance(change)
        if instance is None:
            return {"id": change["id"], "status": "conflict", "message": "no %s %s" % (change["class"], change["keys"]), "current": {}}
        if change["kind"] == "wmi_embedded":
            entry = next((e for e in instance.get(change["array"]) or [] if e.get(change["name_field"]) == change["name"]), None)
            if entry is None:
                return {"id": change["id"], "status": "conflict", "message": "no embedded property %s" % change["name"], "current": {}}
            now = entry.get(change["value_field"])
            if now == change["to"]:
                return {"id": change["id"], "status": "unchanged", "current": {"value": now}}
            if now != change["from"]:
                return {"id": change["id"], "status": "conflict", "message": "changed since read", "current": {"value": now}}
            if not check_mode:
                entry[change["value_field"]] = change["to"]
            return {"id": change["id"], "status": "would_change" if check_mode else "changed"}
        now = {k: instance.get(k) for k in change["set"]}
        if all(now[k] == v["to"] for k, v in change["set"].items()):
            return {"id": change["id"], "status": "unchanged", "current": now}
        if any(now[k] != v["from"] and now[k] != v["to"] for k, v in change["set"].items()):
            return {"id": change["id"], "status": "conflict", "message": "changed since read", "current": now}
        if not check_mode:
            for key, value in change["set"].items():
                instance[key] = copy.deepcopy(value["to"])
        return {"id": change["id"], "status": "would_change" if check_mode else "changed"}

    # ------------------------------------------------------------------ persistence (playbook tests)
    def dump(self):
        return json.loads(json.dumps(self.__dict__))

    @classmethod
    def load(cls, state):
        site = cls.__new__(cls)
        site.__dict__.update(state)
        return site
