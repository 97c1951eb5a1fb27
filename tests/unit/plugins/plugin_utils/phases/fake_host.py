"""A Windows host in memory that answers like sms.upgrade.preserve_files and sql_facts (the contract the
PowerShell implements), with faults to inject: locked, denied, vanishing files, a full disk, a failing transfer.
``FakeHands`` reach it as the phase action's hands do, and ``preserve_run`` runs the preserve room against it."""
import fnmatch
import hashlib

from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.preserve import HostPreserve, Settings

SMS_ROOT = "C:\\SMS"
NOW = "2026-11-25T10:00:00Z"


def sha(data):
    return hashlib.sha256(data).hexdigest()


class FakeHost:
    def __init__(self, files=None, shares=None, registry=None, free_bytes=10 ** 9, computer="CENSRV01"):
        self.files = {}
        for path, data in (files or {}).items():
            self.put(path, data)
        self.shares = shares or {"NETLOGON": "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS"}
        self.registry = registry if registry is not None else [
            {"path": "SOFTWARE\\Microsoft\\SMS", "values": []},
            {"path": "SOFTWARE\\Microsoft\\SMS\\Identification", "values": [
                {"name": "Installation Directory", "type": "String", "value": SMS_ROOT}]}]
        self.free_bytes = free_bytes
        self.computer = computer
        self.sms_root = SMS_ROOT  # None: the Installation Directory value cannot be read (the module returns sms_root null)
        self.locked, self.denied, self.vanish_on_copy, self.change_on_copy, self.fail_fetch = set(), set(), set(), {}, set()
        self.unlistable = {}  # directory (upper case) -> cause: listed as one error item, its files are not returned
        self.calls = []
        self.sql_output = None

    # ------------------------------------------------------------ file system
    def put(self, path, data):
        self.files[path.upper()] = (path, data)

    def get(self, path):
        return self.files.get(path.upper(), (None, None))[1]

    def exists(self, path):
        return path.upper() in self.files

    def under(self, directory):
        prefix = directory.rstrip("\\").upper() + "\\"
        return [(path, data) for key, (path, data) in sorted(self.files.items()) if key.startswith(prefix)]

    # ------------------------------------------------------------ module calls
    def run_module(self, name, args):
        self.calls.append((name, dict(args)))
        if name == "sms.upgrade.sql_facts":
            if self.sql_output is None:
                return {"failed": True, "msg": "SQL client 'isql.exe' not found"}
            return {"output": self.sql_output, "rc": 0, "computer": self.computer}
        if name == "sms.upgrade.restore_files":
            return self.restore(args)
        if args.get("mode") == "apply":
            return self.apply(args)
        return self.inventory(args)

    def restore(self, args):
        if args.get("mode") == "inventory":
            return {"targets": [dict({"id": f["id"], "target": f["target"], "exists": self.exists(f["target"])},
                                     **({"size": len(self.get(f["target"])), "sha256": sha(self.get(f["target"]))}
                                        if self.exists(f["target"]) else {})) for f in args["files"]]}
        restored = []
        for item in args["files"]:
            target, held = item["target"], self.get(item["target"])
            outcome = {"id": item["id"], "dest": target}
            if held is not None and sha(held) == item["sha256"]:
                restored.append(dict(outcome, status="present"))
                continue
            if (held is None and item.get("expect_sha256")) or (held is not None and sha(held) != item.get("expect_sha256")):
                restored.append(dict(outcome, status="failed", cause="conflict", message="%s changed" % target))
                continue
            data = self.get(item["staged"])
            if held is not None:
                self.put(item["backup"], held)
            self.put(target, data)
            restored.append(dict(outcome, status="copied"))
        return {"restored": restored, "changed": any(r["status"] == "copied" for r in restored)}

    def _resolve(self, path, sms_root):
        if sms_root:
            path = path.replace("%SMS_ROOT%", sms_root)
        for name, local in self.shares.items():
            path = path.replace("%%SHARE:%s%%" % name, local)
        return None if "%" in path else path

    def inventory(self, args):
        file_sets, skipped = [], []
        sms_root = args.get("sms_root") or self.sms_root
        for file_set in args["file_sets"]:
            path = self._resolve(file_set["path"], sms_root)
            if path is None:
                skipped.append({"name": file_set["name"], "path": file_set["path"], "reason": "unresolved_token"})
                continue
            files, reported = [], set()
            for full, data in self.under(path):
                rest = full[len(path.rstrip("\\")) + 1:]
                if not file_set.get("recurse") and "\\" in rest:
                    continue
                blocked = [d for d in self.unlistable if full.upper().startswith(d + "\\")]
                if blocked:  # like SmsPreserve.psm1: one item for the directory, the rest of the set is still listed
                    if blocked[0] not in reported:
                        reported.add(blocked[0])
                        files.append({"path": blocked[0], "directory": True, "error": {
                            "cause": self.unlistable[blocked[0]], "message": "Access to the path '%s' is denied." % blocked[0]}})
                    continue
                name = rest.rsplit("\\", 1)[-1]
                if not any(fnmatch.fnmatchcase(name.upper(), p.upper()) for p in file_set.get("include", ["*"])):
                    continue
                if full.upper() in self.locked:
                    busy = "The process cannot access the file because it is being used by another process"
                    files.append({"path": full, "error": {"cause": "locked", "message": busy}})
                    continue
                if full.upper() in self.denied:
                    files.append({"path": full, "error": {"cause": "access_denied", "message": "Access is denied"}})
                    continue
                files.append({"path": full, "size": len(data), "sha256": sha(data), "modified": "2026-06-01T09:00:00Z"})
            file_sets.append({"name": file_set["name"], "path": path, "files": files})
        root = args["host_root"]
        host_files = [{"path": full[len(root) + 1:], "size": len(data), "sha256": sha(data)}
                      for full, data in self.under(root) if not full.upper().endswith(".SMSUPG-PARTIAL")]
        partials = [full[len(root) + 1:] for full, _data in self.under(root) if full.upper().endswith(".SMSUPG-PARTIAL")]
        return {"changed": False, "computer": self.computer, "sms_root": sms_root, "errors": [],
                "shares": [{"name": n, "path": p} for n, p in self.shares.items()], "file_sets": file_sets,
                "skipped_file_sets": skipped,
                "registry_tree": self.registry_tree(args.get("registry_export")),
                "host_root_io": self.io_root(root), "host_files": host_files, "host_partials": partials,
                "host_free_bytes": self.free_bytes}

    def registry_tree(self, patterns):
        """Like Resolve-SmsRegistryPattern + Get-SmsRegistryTree: each key a pattern names (a wildcard only in its last
        part) with its subkeys, in the order of ``self.registry``; None when nothing was asked."""
        if not patterns:
            return None

        def named(path, pattern):
            parts, wanted = path.upper().split("\\"), pattern.upper().split("\\")
            return len(parts) >= len(wanted) and parts[:len(wanted) - 1] == wanted[:-1] and \
                fnmatch.fnmatchcase(parts[len(wanted) - 1], wanted[-1])
        return [key for key in self.registry if any(named(key["path"], p) for p in patterns)]

    def io_root(self, root):
        return root

    def apply(self, args):
        root = args["host_root"]
        copies, docs, removed = [], [], []
        for relative in args.get("remove_partials") or []:  # exactly these, and only copies in progress
            if relative.upper().endswith(".SMSUPG-PARTIAL") and self.exists(root + "\\" + relative):
                self.files.pop((root + "\\" + relative).upper())
                removed.append(relative)
        for copy in args.get("copies") or []:
            copies.append(dict(self._copy(root, copy), id=copy["id"], dest=copy["dest"]))
        for doc in args.get("documents") or []:
            docs.append(dict(self._write(root, doc), id=doc["id"], dest=doc["dest"]))
        return {"changed": any(r["status"] in ("copied", "written", "replaced") for r in copies + docs),
                "host_root_io": self.io_root(root), "copies": copies, "documents": docs, "removed_partials": removed}

    def _copy(self, root, copy):
        """In the order of Copy-SmsPreserveFile: the destination first (present or conflict), then the source."""
        source, dest = copy["source"], root + "\\" + copy["dest"]
        if self.exists(dest):
            if sha(self.get(dest)) == copy["sha256"]:
                return {"status": "present", "sha256": copy["sha256"], "size": len(self.get(dest))}
            return {"status": "failed", "cause": "conflict", "message": "%s exists with other content" % dest}
        if source.upper() in self.locked:
            return {"status": "failed", "cause": "locked", "message": "%s is locked" % source}
        if source.upper() in self.denied:
            return {"status": "failed", "cause": "access_denied", "message": "access to %s is denied" % source}
        if source.upper() in self.vanish_on_copy or not self.exists(source):
            self.files.pop(source.upper(), None)
            return {"status": "failed", "cause": "not_found", "message": "%s does not exist" % source}
        if source.upper() in self.change_on_copy:
            self.put(source, self.change_on_copy.pop(source.upper()))
        data = self.get(source)
        if sha(data) != copy["sha256"]:
            return {"status": "failed", "cause": "changed", "message": "%s changed since it was listed" % source}
        if len(data) > self.free_bytes:
            return {"status": "failed", "cause": "disk_full", "message": "There is not enough space on the disk"}
        self.put(dest, data)
        self.free_bytes -= len(data)
        return {"status": "copied", "sha256": copy["sha256"], "size": len(data)}

    def _write(self, root, doc):
        import base64
        dest, data = root + "\\" + doc["dest"], base64.b64decode(doc["content"])
        if self.exists(dest):
            if sha(self.get(dest)) == doc["sha256"]:
                return {"status": "present"}
            if not doc.get("replace"):
                return {"status": "failed", "cause": "conflict", "message": "%s exists with other content" % dest}
            self.put(dest, data)
            return {"status": "replaced"}
        self.put(dest, data)
        return {"status": "written"}

    # ------------------------------------------------------------ connection
    def fetch(self, remote, local):
        if remote.upper() in self.fail_fetch or not self.exists(remote):
            raise OSError("failed to transfer file to %s: %s does not exist" % (local, remote))
        with open(local, "wb") as handle:
            handle.write(self.get(remote))


def site_server(**extra):
    """A site server with custom files of every category."""
    files = {
        SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\MSAPPS32.PDF": b"[PDF] Msapps32\r\n" * 40,
        SMS_ROOT + "\\PRIMSITE.SRV\\IMPORT.SRC\\ENU\\SMS12SP4.PDF": b"[PDF] sp4\r\n" * 20,
        SMS_ROOT + "\\SITE.SRV\\MAINCFG.BOX\\CLIENT.SRC\\X86.BIN\\00000409\\UINFO.XNF": b"uinfo",
        SMS_ROOT + "\\SITE.SRV\\MAINCFG.BOX\\CLIENT.SRC\\X86.BIN\\00000409\\ASSETTAG.XNF": b"asset tag form",
        SMS_ROOT + "\\ASSETS.MIF": b"START COMPONENT",
        SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\00000001.COL": b"collected 1",
        SMS_ROOT + "\\SITE.SRV\\DATALOAD.BOX\\FILES.COL\\00000002.COL": b"collected 2",
        SMS_ROOT + "\\SITE.SRV\\MAINCFG.BOX\\MSTEST\\X86.BIN\\00000409\\OFFSETUP.PCD": b"ms test script",
        SMS_ROOT + "\\SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0": (
            b"SITE CONTROL FILE [786][1.08]\r\nBEGIN_SITE_ACCOUNT\r\n<6>\r\n<CEN>\r\n<>\r\n<CENSRV01>\r\n<CORP>\r\n"
            b"<Central site>\r\n<C:\\SMS>\r\nEND_SITE_ACCOUNT\r\nBEGIN_SENDER\r\n<x>\r\n<MS_LAN_SENDER>\r\n<>\r\n<>\r\n"
            b"<CENSRV01>\r\n<LAN Sender>\r\nEND_SENDER\r\nPROPERTY <Logon Scripts><><><1>\r\n"
            b"PROPERTY <Service Account><CORP\\smssvc><><0>\r\n"),
        SMS_ROOT + "\\SYSTEM.MAP": b"system map",
        SMS_ROOT + "\\SITE.SRV\\MAINCFG.BOX\\SMSLS.BAT": b"@echo off\r\nrem SMS default\r\n",
        "C:\\WINNT\\SYSTEM32\\REPL\\IMPORT\\SCRIPTS\\SMSLS.BAT": b"@echo off\r\nrem modified by corp IT\r\n",
    }
    files.update(extra)
    return FakeHost(files)


class FakeHands:
    """The hands of phases/action.py on a FakeHost: the target's machine is added to every module call as
    ``computer``; the host's ``run_module`` and ``fetch`` are looked up at each call, so a test can replace them."""

    def __init__(self, host, computer=None):
        self.host = host
        self.computer = computer

    def module(self, name, args):
        args = dict(args)
        if self.computer:
            args.setdefault("computer", self.computer)
        return self.host.run_module(name, args)

    def fetch(self, remote, local):
        return self.host.fetch(remote, local)


def preserve_run(machine, kinds=("site_server",), snapshot=None, from_snapshot=False, now=NOW, **settings):
    """One preserve run on ``machine`` (a FakeHost) with ``settings`` (``phases.preserve.Settings`` fields)."""
    hands = FakeHands(machine, settings.get("computer"))
    return HostPreserve(Settings(**settings), hands, now).run(list(kinds), snapshot, from_snapshot)
