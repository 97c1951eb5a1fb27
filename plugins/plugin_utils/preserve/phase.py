"""Preserve one host: plan from a live listing or a snapshot, copy on the host, fetch into the vault, verify.

The remote side (module ``sms.upgrade.preserve_files``, or ``sms.upgrade.sql_facts`` for the database export)
only lists, hashes, copies and writes what it is told; every decision is made here:

1. **inventory** (one module call): the SMS tree file sets (as the gather lists them, plus extra sources), the
   registry keys to export, and every file already under the host root, each with size and SHA-256.
2. **decide**: which files to keep (selection.py), their vault path and version (vault.py), which host copies
   and vault copies are missing, whether they fit on the host's disk.
3. **apply** (one module call, only when something is missing): copy each source to its versioned path under the
   host root if its content is still the one listed (compare-and-set), write the generated documents.
4. **fetch** each new host copy into the vault through the connection, check size and SHA-256, move it into
   place without overwriting anything; record it in the manifest.
5. **finalize** (one more module call, only when something changed): documents that need a fetched file (site
   properties from SITECTRL.CT0) and the manifest copy on the host.

A second run with nothing changed makes the inventory call only. Check mode stops after step 2 and returns the
exact list of what would be copied, with sizes. Each file's problem is recorded with its cause; the run goes on
with the others and the caller fails the task at the end.
"""
import base64
import copy
import hashlib
import os
import shutil
import uuid

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import build_sms_tree, gather_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.preserve import documents
from ansible_collections.sms.upgrade.plugins.plugin_utils.preserve.paths import (
    UnsafePath, check_host_root, join_windows)
from ansible_collections.sms.upgrade.plugins.plugin_utils.preserve.selection import (
    Item, extra_file_sets, preserve_data, problem, select_files)
from ansible_collections.sms.upgrade.plugins.plugin_utils.preserve.vault import (
    HOST_MANIFEST, MANIFEST, PARTIAL, VaultError, VaultFiles, decide, entries_by_key, host_dir, host_manifest_text,
    load_manifest, record, save_manifest, sha256_file, verify)

PRESERVE_MODULE = "sms.upgrade.preserve_files"
SQL_MODULE = "sms.upgrade.sql_facts"
FREE_MARGIN = 32 * 1024 * 1024
HASH_ALL_MB = 1024 * 1024
REGISTRY_FILE = "SMS-registry.reg"
SITE_FILE = "site-properties.md"
SUMMARY_FILE = "database-summary.md"
OK_COPY = ("copied", "present")
OK_WRITE = ("written", "present", "replaced")


class PreserveError(RuntimeError):
    """The host cannot be preserved at all (unreachable, unusable vault or host root); the message says why."""


def _doc_item(category, name, source, content):
    return Item(category, name, source, len(content), hashlib.sha256(content).hexdigest(), None)


def _cause(value):
    return {"hive_in_use": "locked", "remote_registry_stopped": "unreachable", "parse_error": "other",
            "sql_error": "other"}.get(value, value or "other")


class HostRun:
    """One host of the preserve phase. ``run_module(name, args)`` and ``fetch(remote, local)`` reach the host."""

    def __init__(self, options, run_module, fetch, now, data=None):
        self.o = dict(options)
        self.run_module = run_module
        self.fetch = fetch
        self.now = now
        self.data = data or preserve_data()
        self.problems = []
        self.plan = []
        self.changed = False
        self.copied = {"host_files": 0, "host_bytes": 0, "vault_files": 0, "vault_bytes": 0}
        self.calls = 0
        self.directory = host_dir(self.o["vault_root"], self.o["site"], self.o["host"])
        self.manifest_path = os.path.join(self.directory, MANIFEST)
        self.host_root = check_host_root(self.o.get("host_root") or self.data["host_root"])
        self.manifest = load_manifest(self.manifest_path, self.o["site"], self.o["host"], self.o.get("computer"),
                                      self.host_root)
        self.index = entries_by_key(self.manifest)
        self.before = self._manifest_lines()
        self.vault = VaultFiles(self.directory)
        self.host_root_io = None
        self.host_manifest_sha = None
        self.verified = []

    # -------------------------------------------------------------- helpers
    def _module(self, name, args):
        self.calls += 1
        result = self.run_module(name, args)
        return result if isinstance(result, dict) else {"failed": True, "msg": "no result"}

    def _manifest_lines(self):
        lines = []
        for entry in sorted(self.manifest["entries"], key=lambda e: (e["category"], e["path"].upper())):
            for version in entry["versions"]:
                lines.append("%s%s/%s v%d %d bytes sha256 %s" % (
                    "*" if version["version"] == entry["current"] else " ", entry["category"], entry["path"],
                    version["version"], version["size"], version["sha256"]))
        return lines

    def _plan_row(self, decision, action=None):
        row = {"category": decision.item.category, "path": decision.item.relative, "source": decision.item.source,
               "action": action or decision.kind, "version": decision.version, "stored": decision.stored,
               "size": decision.size, "to_host": decision.need_host_copy, "to_vault": decision.need_vault_copy}
        if decision.note:
            row["note"] = decision.note
        self.plan.append(row)

    def _problem(self, category, source, cause, message):
        self.problems.append(problem(category, source, _cause(cause), message))

    def _prepare_vault(self):
        try:
            os.makedirs(self.directory, exist_ok=True)
            shutil.rmtree(os.path.join(self.directory, PARTIAL), ignore_errors=True)
            os.makedirs(os.path.join(self.directory, PARTIAL), exist_ok=True)
        except OSError as exc:
            raise PreserveError("cannot use the vault directory %s: %s" % (self.directory, exc))

    def _place(self, temp, decision):
        """Move a verified temporary file to its stored path; never replace a different file."""
        final = self.vault.path(decision.stored)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        if os.path.exists(final):
            if sha256_file(final) != (decision.sha256, decision.size):
                os.unlink(temp)
                raise VaultError("%s exists with other content; it is kept and nothing is overwritten" % final)
            os.unlink(temp)
        else:
            try:
                os.link(temp, final)
                os.unlink(temp)
            except OSError:
                os.replace(temp, final)
        self.vault.forget(decision.stored)

    def _temp(self):
        return os.path.join(self.directory, PARTIAL, uuid.uuid4().hex)

    def _store_bytes(self, decision, content):
        temp = self._temp()
        with open(temp, "wb") as handle:
            handle.write(content)
        self._place(temp, decision)

    def _fetch_into_vault(self, decision):
        """Transfer a verified host copy into the vault; True when the vault copy verifies."""
        temp = self._temp()
        remote = join_windows(self.host_root_io, decision.stored)
        item = decision.item
        try:
            self.fetch(remote, temp)
            found = sha256_file(temp)
        except Exception as exc:  # a transfer failure of one file must not stop the others
            if os.path.exists(temp):
                os.unlink(temp)
            cause = "disk_full" if getattr(exc, "errno", None) == 28 else "transfer"
            self._problem(item.category, item.source, cause, "host copy %s could not be fetched into the vault: %s"
                          % (remote, exc))
            return False
        if found != (decision.sha256, decision.size):
            os.unlink(temp)
            self._problem(item.category, item.source, "transfer", "the fetched copy of %s has %d bytes, SHA-256 %s; "
                          "expected %d bytes, %s" % (remote, found[1], found[0], decision.size, decision.sha256))
            return False
        try:
            self._place(temp, decision)
        except (OSError, VaultError) as exc:
            self._problem(item.category, item.source, "vault", str(exc))
            return False
        self.copied["vault_files"] += 1
        self.copied["vault_bytes"] += decision.size
        self.changed = True
        return True

    # -------------------------------------------------------------- planning
    def _listing_problems(self, errors):
        for error in errors or []:
            section = error.get("section", "")
            if section.startswith("files."):
                category = section.split(".")[1]
            elif section.startswith("registry"):
                category = "registry"
            elif section in ("host_root", "shares"):
                category = "host_root" if section == "host_root" else "logon_scripts"
            else:
                continue
            self._problem(category, section, error.get("cause"), "%s could not be read: %s" % (
                section, error.get("message")))

    def _tree(self, file_sets):
        """The listing's file sets as an sms_tree (same grouping as the gather); a file that could not be hashed
        (locked, access denied, vanished) becomes a problem instead."""
        clean = []
        for file_set in file_sets or []:
            category = file_set["name"].split(".", 1)[0]
            files = []
            for entry in file_set.get("files") or []:
                if entry.get("error") or not entry.get("sha256"):
                    error = entry.get("error") or {"cause": "other", "message": "no SHA-256 returned"}
                    self._problem(category, entry.get("path"), error.get("cause"), "not readable: %s" % error.get("message"))
                else:
                    files.append(entry)
            clean.append(dict(file_set, files=files))
        return build_sms_tree({"file_sets": clean})

    def _decide(self, items, host_files):
        decisions = []
        for item in items:
            try:
                decisions.append(decide(self.manifest, item, self.host_root, host_files, self.vault, self.index))
            except (UnsafePath, VaultError, OSError) as exc:
                self._problem(item.category, item.source, "unsafe_name" if isinstance(exc, UnsafePath) else "vault",
                              "refused: %s" % exc)
        return decisions

    def _fit(self, decisions, free_bytes):
        """Host copies that fit on the host root's volume (in order); the others become disk_full problems."""
        if free_bytes is None:
            return decisions
        budget, fitting = free_bytes - FREE_MARGIN, []
        for decision in decisions:
            if decision.size is not None and decision.size > budget:
                self._problem(decision.item.category, decision.item.source, "disk_full",
                              "not copied: %d bytes needed, %d bytes left on the host root's volume (keeping %d MB free)"
                              % (decision.size, max(budget, 0), FREE_MARGIN // (1024 * 1024)))
                continue
            budget -= decision.size or 0
            fitting.append(decision)
        return fitting

    def _site_control_content(self, decisions):
        """The SITECTRL.CT0 text from the vault when its current version is there; else None."""
        for decision in decisions:
            if decision.item.category == "site_control_files" and \
                    decision.item.relative.upper().endswith("SITECTRL.CT0") and \
                    self.vault.matches(decision.stored, decision.sha256, decision.size):
                with open(self.vault.path(decision.stored), "rb") as handle:
                    return decision, handle.read().decode("latin-1")
        return None, None

    def _site_document(self, decisions):
        decision, text = self._site_control_content(decisions)
        if text is None:
            return None
        try:
            content = documents.site_properties(text, decision.item.source, decision.sha256)
        except documents.DocumentError as exc:
            self._problem("site_documents", decision.item.source, "other", str(exc))
            return None
        return _doc_item("site_documents", SITE_FILE, "(from %s)" % decision.item.source, content), content

    # -------------------------------------------------------------- results
    def _result(self, mode, check_mode):
        to_copy = [row for row in self.plan if row["to_host"] or row["to_vault"]]
        result = {
            "host": self.o["host"], "site": self.o["site"].upper(), "computer": self.o.get("computer") or self.o["host"],
            "mode": mode, "host_root": self.host_root, "vault_dir": self.directory, "manifest": self.manifest_path,
            "plan": self.plan, "problems": self.problems, "module_calls": self.calls,
            "would_copy" if check_mode else "copied": {
                "files": len(to_copy), "bytes": sum(row["size"] or 0 for row in to_copy),
                "unknown_sizes": sum(1 for row in to_copy if row["size"] is None)} if check_mode else dict(self.copied),
            "changed": self.changed,
        }
        after = self.before if check_mode else self._manifest_lines()
        if check_mode:
            after = sorted(set(self.before) | {"+%s/%s v%s %s bytes (%s)" % (
                r["category"], r["path"], r["version"], "?" if r["size"] is None else r["size"], r["action"])
                for r in to_copy})
            result["changed"] = bool(to_copy)
        result["diff"] = {"before_header": "%s (vault manifest)" % self.manifest_path, "after_header": self.manifest_path,
                          "before": "\n".join(self.before) + ("\n" if self.before else ""),
                          "after": "\n".join(after) + ("\n" if after else "")}
        if not check_mode:
            result["categories"] = verify(self.directory, self.manifest, self.now, self.vault)
        return result

    def _finish(self, decisions_docs):
        """Record what verified on both sides, then write the manifest (controller) and its host copy."""
        for decision, host_ok, vault_ok in decisions_docs:
            if host_ok and vault_ok:
                record(self.manifest, decision, self.now, index=self.index)
        self.manifest["open_problems"] = self.problems
        self.manifest["updated_at"] = self.now
        try:
            save_manifest(self.manifest_path, self.manifest)
        except OSError as exc:
            raise PreserveError("cannot write the vault manifest %s: %s" % (self.manifest_path, exc))

    # -------------------------------------------------------------- site, logon and helper servers
    def inventory_args(self):
        gather = gather_data()
        file_sets = list(gather["site_server_file_sets"]) + extra_file_sets(self.o.get("extra_sources"), self.data)
        args = {"mode": "inventory", "host_root": self.host_root, "registry_values": [gather["registry"]["sms_install_dir"]],
                "registry_keys": [], "sms_root_value": gather["registry"]["sms_install_dir"], "service_patterns": [],
                "file_sets": file_sets, "text_files": [], "hash_files": True, "hash_max_mb": HASH_ALL_MB,
                "read_disks": False, "read_profiles": False,
                "registry_export": list(self.data["documents"]["registry"]["keys"]),
                "share_map": self.o.get("share_map") or {}}
        if self.o.get("computer"):
            args["computer"] = self.o["computer"]
        if self.o.get("sms_root"):
            args["sms_root"] = self.o["sms_root"]
        return args

    def site_server(self, snapshot=None):
        """Preserve a site, logon or helper server; from ``snapshot`` only in check mode (host not contacted)."""
        check_mode = bool(self.o.get("check_mode"))
        if snapshot is not None:
            if not check_mode:
                raise PreserveError("%s is in sms_snapshots_only: nothing can be copied from a saved snapshot; run with "
                                    "--check to see the plan" % self.o["host"])
            tree = snapshot.get("sms_tree") or {}
            sms_root = self.o.get("sms_root") or tree.get("root") or (snapshot.get("sms") or {}).get("install_dir")
            self._check_root(sms_root)
            items, problems = select_files(tree, sms_root, self.o.get("exclude"), self.data)
            self.problems.extend(problems)
            decisions = self._decide(items, None)
            for decision in decisions:
                self._plan_row(decision)
            keys = ", ".join("HKLM\\%s" % k for k in self.data["documents"]["registry"]["keys"])
            self.plan.append({"category": "registry", "path": REGISTRY_FILE, "source": keys, "action": "export",
                              "version": None, "stored": None, "size": None, "to_host": True, "to_vault": True})
            if any(d.item.relative.upper().endswith("SITECTRL.CT0") for d in decisions):
                self.plan.append({"category": "site_documents", "path": SITE_FILE, "source": "SITECTRL.CT0",
                                  "action": "export", "version": None, "stored": None, "size": None, "to_host": True,
                                  "to_vault": True})
            return self._result("snapshot", True)

        inventory = self._module(PRESERVE_MODULE, self.inventory_args())
        if inventory.get("failed"):
            raise PreserveError("cannot list %s: %s" % (self.o.get("computer") or self.o["host"], inventory.get("msg")))
        self.host_root_io = inventory.get("host_root_io") or self.host_root
        sms_root = inventory.get("sms_root") or self.o.get("sms_root")
        self._check_root(sms_root)
        self._listing_problems(inventory.get("errors"))
        items, problems = select_files(self._tree(inventory.get("file_sets")), sms_root, self.o.get("exclude"), self.data)
        self.problems.extend(problems)
        host_files = {f["path"].replace("\\", "/").upper(): f for f in inventory.get("host_files") or []}
        decisions = self._decide(items, host_files)
        docs = []
        tree = inventory.get("registry_tree")
        if tree:
            try:
                content = documents.registry_export(tree)
                docs.append((_doc_item("registry", REGISTRY_FILE, ", ".join(
                    "HKLM\\%s" % k for k in self.data["documents"]["registry"]["keys"]), content), content))
            except documents.DocumentError as exc:
                self._problem("registry", "HKLM", "other", "registry export: %s" % exc)
        site_doc = self._site_document(decisions)
        if site_doc:
            docs.append(site_doc)
        doc_decisions = self._decide([item for item, _content in docs], host_files)
        contents = {id(d): content for d, (_item, content) in zip(doc_decisions, docs)}
        for decision in decisions + doc_decisions:
            self._plan_row(decision)
        if self.o.get("check_mode"):
            return self._result("relay" if self.o.get("computer") else "direct", True)

        self._prepare_vault()
        outcome = self._apply(decisions, doc_decisions, contents, inventory.get("host_free_bytes"))
        late = []
        if not site_doc and any(d.item.relative.upper().endswith("SITECTRL.CT0") for d in decisions):
            site_doc = self._site_document(decisions)
            if site_doc:
                late = self._decide([site_doc[0]], host_files)
                for decision in late:
                    self._plan_row(decision)
                    contents[id(decision)] = site_doc[1]
        outcome += self._apply([], late, contents, None)
        self.manifest["exclude"] = {name: list(patterns) for name, patterns in sorted((self.o.get("exclude") or {}).items())
                                    if patterns}
        self._finish(outcome)
        self._sync_host_manifest(host_files)
        return self._result("relay" if self.o.get("computer") else "direct", False)

    def _check_root(self, sms_root):
        try:
            check_host_root(self.host_root, sms_root)
        except UnsafePath as exc:
            raise PreserveError(str(exc))

    def _apply(self, decisions, doc_decisions, contents, free_bytes):
        """Copy and write what is missing on the host, fetch and store what is missing in the vault.

        Returns ``[(decision, host_ok, vault_ok)]``.
        """
        copies = self._fit([d for d in decisions if d.need_host_copy], free_bytes)
        refused = {id(d) for d in decisions if d.need_host_copy} - {id(d) for d in copies}
        writes = [d for d in doc_decisions if d.need_host_copy]
        statuses = {}
        if copies or writes:
            manifest_text = self._predicted_host_manifest(self.verified + decisions + doc_decisions)
            args = {"mode": "apply", "host_root": self.host_root, "share_map": self.o.get("share_map") or {},
                    "copies": [{"id": "c%d" % i, "source": d.item.source, "dest": d.stored.replace("/", "\\"),
                                "sha256": d.sha256, "size": d.size} for i, d in enumerate(copies)],
                    "documents": [{"id": "d%d" % i, "dest": d.stored.replace("/", "\\"), "sha256": d.sha256,
                                   "content": base64.b64encode(contents[id(d)]).decode("ascii")}
                                  for i, d in enumerate(writes)]}
            args["documents"].append({"id": "m0", "dest": HOST_MANIFEST, "replace": True,
                                      "sha256": hashlib.sha256(manifest_text).hexdigest(),
                                      "content": base64.b64encode(manifest_text).decode("ascii")})
            if self.o.get("computer"):
                args["computer"] = self.o["computer"]
            applied = self._module(PRESERVE_MODULE, args)
            if applied.get("failed") and not applied.get("copies") and not applied.get("documents"):
                for decision in copies + writes:
                    self._problem(decision.item.category, decision.item.source, "other", "not copied to the host: %s"
                                  % applied.get("msg", "the preserve module failed"))
            self.host_root_io = applied.get("host_root_io") or self.host_root_io or self.host_root
            statuses = {r.get("id"): r for r in (applied.get("copies") or []) + (applied.get("documents") or [])}
            written = statuses.get("m0") or {}
            if written.get("status") in OK_WRITE:
                self.host_manifest_sha = args["documents"][-1]["sha256"]
        outcome = []
        for index, decision in enumerate(copies):
            status = statuses.get("c%d" % index) or {}
            outcome.append(self._after_copy(decision, status))
        for decision in decisions:
            if not decision.need_host_copy:
                vault_ok = (not decision.need_vault_copy) or self._fetch_into_vault(decision)
                outcome.append((decision, True, vault_ok))
            elif id(decision) in refused:
                outcome.append((decision, False, False))
        for index, decision in enumerate(writes):
            status = statuses.get("d%d" % index) or {}
            outcome.append(self._after_write(decision, status, contents[id(decision)]))
        for decision in doc_decisions:
            if not decision.need_host_copy:
                outcome.append((decision, True, self._vault_document(decision, contents[id(decision)])))
        self.verified += [decision for decision, host_ok, vault_ok in outcome if host_ok and vault_ok]
        return outcome

    def _after_copy(self, decision, status):
        item = decision.item
        if status.get("status") not in OK_COPY:
            self._problem(item.category, item.source, status.get("cause") or "other", status.get("message") or
                          "the preserve module returned no result for this file")
            return decision, False, False
        if status["status"] == "copied":
            self.changed = True
            self.copied["host_files"] += 1
            self.copied["host_bytes"] += decision.size or 0
        vault_ok = (not decision.need_vault_copy) or self._fetch_into_vault(decision)
        return decision, True, vault_ok

    def _vault_document(self, decision, content):
        if not decision.need_vault_copy:
            return True
        try:
            self._store_bytes(decision, content)
        except (OSError, VaultError) as exc:
            self._problem(decision.item.category, decision.item.source, "vault", str(exc))
            return False
        self.changed = True
        return True

    def _after_write(self, decision, status, content):
        if status.get("status") not in OK_WRITE:
            self._problem(decision.item.category, decision.item.relative, status.get("cause") or "other",
                          status.get("message") or "the preserve module returned no result for this document")
            return decision, False, False
        if status["status"] != "present":
            self.changed = True
        return decision, True, self._vault_document(decision, content)

    def _predicted_host_manifest(self, decisions):
        """The host's MANIFEST.json as it will be when every decision verifies (sent with the apply call)."""
        manifest = copy.deepcopy(self.manifest)
        index = entries_by_key(manifest)
        for decision in decisions:
            record(manifest, decision, self.now, index=index)
        return host_manifest_text(manifest)

    def _sync_host_manifest(self, host_files):
        """Write MANIFEST.json on the host when it differs from the vault's (stable fields only)."""
        content = host_manifest_text(self.manifest)
        sha = hashlib.sha256(content).hexdigest()
        held = (host_files or {}).get(HOST_MANIFEST.upper())
        if (held and held.get("sha256") == sha) or self.host_manifest_sha == sha:
            return
        args = {"mode": "apply", "host_root": self.host_root, "share_map": self.o.get("share_map") or {},
                "copies": [], "documents": [{"id": "m0", "dest": HOST_MANIFEST, "sha256": sha, "replace": True,
                                             "content": base64.b64encode(content).decode("ascii")}]}
        if self.o.get("computer"):
            args["computer"] = self.o["computer"]
        result = self._module(PRESERVE_MODULE, args)
        status = (result.get("documents") or [{}])[0]
        if status.get("status") not in OK_WRITE:
            self._problem("host_root", HOST_MANIFEST, status.get("cause") or "other", "the manifest copy on the host "
                          "could not be written: %s" % (status.get("message") or result.get("msg")))
        elif status["status"] != "present":
            self.changed = True

    # -------------------------------------------------------------- site database
    def exports(self):
        """The configured export queries: ``[(name, title, sql or None, status)]``."""
        overrides = self.o.get("sql_queries") or {}
        known = {e["name"] for e in self.data["sql_exports"]}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise PreserveError("sms_upgrade_preserve_sql_queries names unknown exports: %s (known: %s)" % (
                ", ".join(unknown), ", ".join(sorted(known))))
        return [(e["name"], e["title"], overrides.get(e["name"], e["sql"]), e["status"]) for e in self.data["sql_exports"]]

    def site_database(self, snapshot=None, from_snapshot=False):
        """Export what the conversion drops from the site database, as documents on the host and in the vault."""
        check_mode = bool(self.o.get("check_mode"))
        exports = self.exports()
        enabled = [(name, sql) for name, _title, sql, _status in exports if sql]
        if from_snapshot and not check_mode:
            raise PreserveError("%s is in sms_snapshots_only: the site database cannot be exported from a saved "
                                "snapshot; run with --check to see the plan" % self.o["host"])
        database = self.o.get("database") or (snapshot or {}).get("site_database")
        try:
            script = isql.build_script(enabled, database or "") if enabled else ""
        except isql.SqlScriptError as exc:
            raise PreserveError("%s: %s" % (self.o["host"], exc))
        summary = {name: {"title": title, "status": status, "file": None, "rows": None,
                          "error": None if sql else "not configured (set sms_upgrade_preserve_sql_queries.%s)" % name}
                   for name, title, sql, status in exports}
        docs = []
        if from_snapshot:
            for name, _sql in enabled:
                summary[name]["file"] = "%s.csv" % name
                self.plan.append({"category": "database_documents", "path": "%s.csv" % name, "source": "site database "
                                  "%s (query %s)" % (database, name), "action": "export", "version": None,
                                  "stored": None, "size": None, "to_host": True, "to_vault": True})
            self.plan.append({"category": "database_documents", "path": SUMMARY_FILE, "source": "snapshot and exports",
                              "action": "export", "version": None, "stored": None, "size": None, "to_host": True,
                              "to_vault": True})
            return self._result("snapshot", True)
        if enabled:
            args = {"script": script, "client": self.o.get("sql_client") or "isql.exe"}
            for key in ("computer", "login_user", "login_password"):
                if self.o.get(key):
                    args[key] = self.o[key]
            raw = self._module(SQL_MODULE, args)
            blocks = isql.split_output(raw.get("output") or "") if not raw.get("failed") else {}
            for name, _sql in enabled:
                error = isql.block_error(blocks.get(name, [])) if name in blocks else None
                sets = isql.result_sets(blocks[name]) if name in blocks and not error else []
                if raw.get("failed"):
                    message = raw.get("msg") or "the SQL client failed"
                elif name not in blocks:
                    message = "no output for this query"
                elif error:
                    message = "SQL error %d: %s" % error
                elif not sets:
                    message = "the query returned no result set"
                else:
                    content = documents.csv_document(sets[0])
                    summary[name].update(file="%s.csv" % name, rows=len(sets[0]["rows"]))
                    docs.append((_doc_item("database_documents", "%s.csv" % name, "site database %s (query %s)" % (
                        database, name), content), content))
                    continue
                summary[name]["error"] = message
                self._problem("database_documents", "query %s" % name, "other", "export %s of %s failed: %s" % (
                    name, database, message))
        content = documents.database_summary(snapshot or {"site_database": database, "site_code": self.o["site"]},
                                             summary)
        docs.append((_doc_item("database_documents", SUMMARY_FILE, "snapshot and exports", content), content))
        doc_decisions = self._decide([item for item, _content in docs], None)
        contents = {id(d): c for d, (_item, c) in zip(doc_decisions, docs)}
        for decision in doc_decisions:
            self._plan_row(decision)
        if check_mode:
            return self._result("relay" if self.o.get("computer") else "direct", True)
        self._prepare_vault()
        self.host_root_io = self.host_root
        outcome = self._apply([], doc_decisions, contents, None)
        self._finish(outcome)
        self._sync_host_manifest(None)
        return self._result("relay" if self.o.get("computer") else "direct", False)
