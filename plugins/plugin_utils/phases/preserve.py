"""Preserve one host: plan from a live listing or a snapshot, copy on the host, fetch into the vault, verify.

The remote side (module ``sms.upgrade.preserve_files``, or ``sms.upgrade.sql_facts`` for the database export)
only lists, hashes, copies and writes what it is told; every decision is made here:

1. **inventory** (one module call): the SMS tree file sets (as the gather lists them, plus extra sources), the
   registry keys to export, and every file already under the host's copy root, each with size and SHA-256; a SQL
   host gets the same listing without file sets (its host copy and its SMS root, if any).
2. **decide**: which files to keep (selection.py), their vault path and version (vault.py), which host copies
   and vault copies are missing, whether they fit on the host's disk.
3. **apply** (one module call, only when something is missing): copy each source to its versioned path under the
   host root if its content is still the one listed (compare-and-set), write the generated documents.
4. **fetch** each new host copy into the vault through the connection, check size and SHA-256, move it into
   place without overwriting anything; record it in the manifest, which is saved atomically every
   ``CHECKPOINT_FILES`` files or ``CHECKPOINT_SECONDS`` seconds.
5. **finalize**: documents that need a fetched file (site properties from SITECTRL.CT0), then, once everything is
   verified and recorded, the manifest copy on the host (one more call, only when it differs).

A host in a site-server group and in ``sms_sql`` gets both in one run (``kinds``), under one host root and one
manifest. Runs of one host never overlap: the vault directory of the host is locked for the whole run. A second
run with nothing changed makes the inventory call only (and the export on a SQL host). Check mode stops after step
2 and returns the exact list of what would be copied, with sizes. Each file's problem is recorded with its cause;
the run goes on with the others and the caller fails the task at the end.
"""
import base64
import contextlib
import errno
import fcntl
import hashlib
import os
import re
import shutil
import time
import uuid

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import cause_of_message, problem_cause
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import SITE_SERVER_GROUPS
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import build_sms_tree, gather_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, resolve_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault import documents
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import (
    HOST_PARTIAL_SUFFIX, UnsafePath, check_host_root, fold, host_copy_root, join_windows, vault_relpath)
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import (
    Item, extra_file_sets, preserve_data, problem, select_files)
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import (
    HOST_MANIFEST, MANIFEST, PARTIAL, VaultError, VaultFiles, decide, entries_by_key, host_dir, host_manifest_text,
    load_manifest, make_private_dirs, record, record_slot, save_manifest, sha256_file, verify)

PRESERVE_MODULE = "sms.upgrade.preserve_files"
SQL_MODULE = "sms.upgrade.sql_facts"
KINDS = ("site_server", "site_database")
FREE_MARGIN = 32 * 1024 * 1024
HASH_ALL_MB = 1024 * 1024
REGISTRY_FILE = "SMS-registry.reg"
SITE_FILE = "site-properties.md"
SUMMARY_FILE = "database-summary.md"
LOCK = ".lock"
CHECKPOINT_FILES = 200
CHECKPOINT_SECONDS = 30
OK_COPY = ("copied", "present")
OK_WRITE = ("written", "present", "replaced")
# Errno values of file systems without hard links (some CIFS/NFS mounts, exFAT): the vault then copies instead.
NO_LINK = frozenset(getattr(errno, name) for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK", "ENOSYS")
                    if hasattr(errno, name))


class PreserveError(RuntimeError):
    """The host cannot be preserved at all (unreachable, unusable vault or host root); the message says why."""


def _doc_item(category, name, source, content):
    return Item(category, name, source, len(content), hashlib.sha256(content).hexdigest(), None)


def covered_categories(kinds, data):
    """Problem categories a run of ``kinds`` re-evaluates (open problems of the others are kept)."""
    covered = {"host_root"}
    if "site_server" in kinds:
        covered |= set(data["categories"]) | {"registry", "site_documents"}
    if "site_database" in kinds:
        covered.add("database_documents")
    return covered


class HostRun:
    """One host of the preserve phase. ``run_module(name, args)`` and ``fetch(remote, local)`` reach the host."""

    def __init__(self, options, run_module, fetch, now, data=None):
        self.o = dict(options)
        self.run_module = run_module
        self.fetch = fetch
        self.now = now
        self.data = data or preserve_data()
        self.problems = []
        self.warnings = []
        self.skipped = []
        self.plan = []
        self.changed = False
        self.copied = {"host_files": 0, "host_bytes": 0, "vault_files": 0, "vault_bytes": 0}
        self.calls = 0
        self.directory = host_dir(self.o["vault_root"], self.o["site"], self.o["host"])
        self.manifest_path = os.path.join(self.directory, MANIFEST)
        self.root = check_host_root(self.o.get("host_root") or self.data["host_root"])
        self.host_root = host_copy_root(self.root, self.o["site"], self.o["host"])
        self.manifest = None
        self._load()
        self.vault = VaultFiles(self.directory)
        self.partial = None
        self.host_root_io = None
        self.host_files = None
        self.partials = []
        self._previous_open = []
        self.kinds = []
        self._unsaved = 0
        self._saved_at = time.monotonic()

    # -------------------------------------------------------------- helpers
    def _load(self):
        self.manifest = load_manifest(self.manifest_path, self.o["site"], self.o["host"], self.o.get("computer"),
                                      self.host_root)
        self.index = entries_by_key(self.manifest)
        self.before = self._manifest_lines()

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

    def _export_row(self, category, path, source):
        self.plan.append({"category": category, "path": path, "source": source, "action": "export", "version": None,
                          "stored": None, "size": None, "to_host": True, "to_vault": True})

    def _problem(self, category, source, cause, message):
        self.problems.append(problem(category, source, problem_cause(cause), message))

    def _who(self):
        return self.o.get("computer") or self.o["host"]

    @contextlib.contextmanager
    def _exclusive(self):
        """Lock the host's vault directory for the whole run (``<vault>/<SITE>/<host>/.lock``), then read the manifest
        again: two runs of one host (two operators, two inventories) never interleave their copies or manifests."""
        try:
            make_private_dirs(self.directory)
            handle = os.fdopen(os.open(os.path.join(self.directory, LOCK), os.O_RDWR | os.O_CREAT, 0o600), "r+", encoding="utf-8")
        except OSError as exc:
            raise PreserveError("cannot use the vault directory %s: %s" % (self.directory, exc))
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise PreserveError("cannot lock the vault directory %s of %s: %s" % (self.directory, self.o["host"], exc))
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise PreserveError("another preserve run of %s holds its vault directory %s (%s); runs of one host never "
                                    "overlap: wait for it to finish, then run again" % (self.o["host"], self.directory, holder))
            handle.seek(0)
            handle.truncate()
            handle.write("pid %d since %s\n" % (os.getpid(), self.now))
            handle.flush()
            self._load()
            self._previous_open = list(self.manifest.get("open_problems") or [])
            self._prepare_partial()
            try:
                yield
            finally:
                shutil.rmtree(self.partial, ignore_errors=True)
        finally:
            handle.close()

    def _prepare_partial(self):
        """Transfers in progress go to ``.partial/<run>``; what an earlier (dead) run left there is removed. Only the
        run holding the lock does this, so no other run's transfer is ever touched."""
        root = os.path.join(self.directory, PARTIAL)
        try:
            shutil.rmtree(root, ignore_errors=True)
            self.partial = os.path.join(root, uuid.uuid4().hex)
            make_private_dirs(self.partial)
        except OSError as exc:
            raise PreserveError("cannot use the vault directory %s: %s" % (self.directory, exc))

    def _same_content(self, temp, final, decision):
        """An existing stored file is kept; it is fine when it holds the content being stored."""
        os.unlink(temp)
        if sha256_file(final) != (decision.sha256, decision.size):
            raise VaultError("%s exists with other content; it is kept and nothing is overwritten" % final)

    def _copy_exclusive(self, temp, final, decision):
        """Where hard links are not available: create the stored file exclusively, copy, check, never replace."""
        try:
            fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            self._same_content(temp, final, decision)
            return
        try:
            with os.fdopen(fd, "wb") as out, open(temp, "rb") as source:
                shutil.copyfileobj(source, out, 1024 * 1024)
                out.flush()
                os.fsync(out.fileno())
            if sha256_file(final) != (decision.sha256, decision.size):
                raise VaultError("%s does not read back with the fetched content" % final)
        except BaseException:
            os.unlink(final)  # made by this call (O_EXCL): never half-written
            raise
        os.unlink(temp)

    def _place(self, temp, decision):
        """Move a verified temporary file to its stored path; never replace an existing file."""
        final = self.vault.path(decision.stored)
        try:
            make_private_dirs(os.path.dirname(final))
            try:
                os.link(temp, final)
            except FileExistsError:
                self._same_content(temp, final, decision)
            except OSError as exc:
                if exc.errno not in NO_LINK:
                    raise
                self._copy_exclusive(temp, final, decision)
            else:
                os.unlink(temp)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
            self.vault.forget(decision.stored)

    def _temp(self):
        return os.path.join(self.partial, uuid.uuid4().hex)

    def _store_bytes(self, decision, content):
        temp = self._temp()
        with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(content)
        self._place(temp, decision)

    def _fetch_into_vault(self, decision):
        """Transfer a verified host copy into the vault; True when the vault copy verifies."""
        temp = self._temp()
        remote = join_windows(self.host_root_io, decision.stored)
        item = decision.item
        try:
            self.fetch(remote, temp)
            os.chmod(temp, 0o600)
            found = sha256_file(temp)
        except Exception as exc:  # a transfer failure of one file must not stop the others
            if os.path.exists(temp):
                os.unlink(temp)
            cause = "disk_full" if getattr(exc, "errno", None) == errno.ENOSPC else "transfer"
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
            cause = "disk_full" if getattr(exc, "errno", None) == errno.ENOSPC else "vault"
            self._problem(item.category, item.source, cause, str(exc))
            return False
        self.copied["vault_files"] += 1
        self.copied["vault_bytes"] += decision.size
        self.changed = True
        return True

    # -------------------------------------------------------------- manifest
    def _verified(self, decision):
        """Record a decision whose host copy and vault copy both verified; save the manifest now and then."""
        record(self.manifest, decision, self.now, index=self.index)
        self._unsaved += 1
        if self._unsaved >= CHECKPOINT_FILES or time.monotonic() - self._saved_at >= CHECKPOINT_SECONDS:
            self._save(checkpoint=True)

    def _open_problems(self, kinds, final):
        """The problems the manifest keeps open: this run's, and the earlier ones this run did not look at (all earlier
        ones at a checkpoint, as the run is not finished)."""
        covered = covered_categories(kinds, self.data) if final else set()
        kept = [p for p in self._previous_open if p.get("category") not in covered]
        return kept + [p for p in self.problems if p not in kept]

    def _save(self, checkpoint=False, kinds=()):
        self.manifest["open_problems"] = self._open_problems(kinds, not checkpoint)
        self.manifest["updated_at"] = self.now
        try:
            save_manifest(self.manifest_path, self.manifest)
        except OSError as exc:
            raise PreserveError("cannot write the vault manifest %s: %s" % (self.manifest_path, exc))
        self._unsaved, self._saved_at = 0, time.monotonic()

    def _keep_recorded(self):
        """The run stops (a host-level error, an interruption): save what verified so far, as at a checkpoint. The
        host's MANIFEST.json is left as the last complete run wrote it."""
        if not self._unsaved:
            return
        try:
            self._save(checkpoint=True)
        except PreserveError:
            pass  # the error that stopped the run is the one to report

    def _adopt(self, decisions):
        """Record the verified copies an interrupted run left unrecorded (decide's ``adopt``)."""
        for decision in decisions:
            for slot in decision.adopt:
                record_slot(self.manifest, decision.item, slot, self.now, index=self.index)
                self._unsaved += 1

    # -------------------------------------------------------------- planning
    def _listing_problems(self, errors, sections=None):
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
            if sections is not None and category not in sections:
                self.warnings.append("%s: %s could not be read (%s): %s" % (self.o["host"], section, error.get("cause"),
                                                                            error.get("message")))
                continue
            self._problem(category, section, error.get("cause"), "%s could not be read: %s" % (
                section, error.get("message")))

    def _skipped_sets(self, skipped):
        """File sets the module did not list because a path token has no value on the host. A share that does not
        exist holds nothing to keep (noted in the result); any other unknown token leaves files unlisted: a problem."""
        for item in skipped or []:
            tokens = re.findall(r"%([^%]+)%", item.get("path") or "")
            unknown = [t for t in tokens if not t.upper().startswith("SHARE:")]
            category = (item.get("name") or "other").split(".", 1)[0]
            entry = {"category": category, "path": item.get("path"), "reason": item.get("reason")}
            self.skipped.append(entry)
            if unknown:
                self._problem(category, item.get("path"), "not_found", "not listed: %s has no value on %s (%s)" % (
                    ", ".join("%%%s%%" % t for t in unknown), self._who(), item.get("reason") or "unresolved"))

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
                    what = "directory not listed, its files are not preserved" if entry.get("directory") else "not readable"
                    self._problem(category, entry.get("path"), error.get("cause"), "%s: %s" % (what, error.get("message")))
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

    def _render(self, category, source, render):
        """Run a document renderer; any failure is a problem of that document, never a traceback."""
        try:
            return render()
        except documents.DocumentError as exc:
            self._problem(category, source, "other", str(exc))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # bad input must not stop the others
            self._problem(category, source, "other", "the document could not be made (%s: %s)" % (type(exc).__name__, exc))
        return None

    def _site_document(self, decisions):
        decision, text = self._site_control_content(decisions)
        if text is None:
            return None
        content = self._render("site_documents", decision.item.source,
                               lambda: documents.site_properties(text, decision.item.source, decision.sha256))
        if content is None:
            return None
        return _doc_item("site_documents", SITE_FILE, "(from %s)" % decision.item.source, content), content

    def _check_root(self, sms_root):
        """The host root (as configured and this host's directory in it) must lie outside the SMS tree, also when it is
        written as an administrative share of the machine itself."""
        names = [self.o.get("computer"), self.o["host"]] + list(self.o.get("machine_names") or [])
        try:
            check_host_root(self.root, sms_root, names, self.o.get("share_map"))
            check_host_root(self.host_root, sms_root, names, self.o.get("share_map"))
        except UnsafePath as exc:
            raise PreserveError("%s: %s" % (self.o["host"], exc))

    def _unknown_root(self, how):
        raise PreserveError("%s: the SMS root of %s is unknown (%s), so none of its SMS tree could be listed or checked "
                            "against the host root: set sms_upgrade_sms_root (for example C:\\SMS) for this host"
                            % (self.o["host"], self._who(), how))

    # -------------------------------------------------------------- results
    def _result(self, mode, check_mode):
        to_copy = [row for row in self.plan if row["to_host"] or row["to_vault"]]
        result = {
            "host": self.o["host"], "site": self.o["site"].upper(), "computer": self._who(),
            "mode": mode, "host_root": self.host_root, "vault_dir": self.directory, "manifest": self.manifest_path,
            "plan": self.plan, "problems": self.problems, "module_calls": self.calls, "skipped": self.skipped,
            "would_copy" if check_mode else "copied": {
                "files": len(to_copy), "bytes": sum(row["size"] or 0 for row in to_copy),
                "unknown_sizes": sum(1 for row in to_copy if row["size"] is None)} if check_mode else dict(self.copied),
            "changed": self.changed,
        }
        if self.warnings:
            result["warnings"] = list(self.warnings)
        after = self.before if check_mode else self._manifest_lines()
        if check_mode:
            after = sorted(set(self.before) | {" %s/%s v%s %s bytes (planned: %s)" % (
                r["category"], r["path"], "?" if r["version"] is None else r["version"],
                "?" if r["size"] is None else r["size"], r["action"]) for r in to_copy})
            result["changed"] = bool(to_copy)
        result["diff"] = {"before_header": "%s (vault manifest)" % self.manifest_path, "after_header": self.manifest_path,
                          "before": "\n".join(self.before) + ("\n" if self.before else ""),
                          "after": "\n".join(after) + ("\n" if after else "")}
        if not check_mode:
            result["categories"] = verify(self.directory, self.manifest, self.now, self.vault)
        return result

    # -------------------------------------------------------------- the run
    def run(self, kinds, snapshot=None, from_snapshot=False):
        """Preserve what ``kinds`` (``site_server``, ``site_database`` or both, for a co-located SQL Server) keep.

        ``snapshot`` is the host's saved snapshot (site code, database facts); with ``from_snapshot`` the plan is made
        from it without contacting the host, in check mode only.
        """
        kinds = self.kinds = [k for k in KINDS if k in kinds]
        if not kinds:
            raise PreserveError("%s: nothing to preserve: kinds must name site_server and/or site_database" % self.o["host"])
        check_mode = bool(self.o.get("check_mode"))
        if "site_database" in kinds:
            self._database(snapshot)  # bad export options or database name fail the host before anything is done
        if from_snapshot and not check_mode:
            if "site_server" in kinds:
                raise PreserveError("%s is in sms_snapshots_only: nothing can be copied from a saved snapshot; run with "
                                    "--check to see the plan" % self.o["host"])
            raise PreserveError("%s is in sms_snapshots_only: the site database cannot be exported from a saved "
                                "snapshot; run with --check to see the plan" % self.o["host"])
        mode = "snapshot" if from_snapshot else ("relay" if self.o.get("computer") else "direct")
        if check_mode:
            for kind in kinds:
                self._part(kind, snapshot, from_snapshot)
            return self._result(mode, True)
        with self._exclusive():
            try:
                for kind in kinds:
                    self._part(kind, snapshot, from_snapshot)
            except BaseException:
                self._keep_recorded()
                raise
            if "site_server" in kinds:
                self.manifest["exclude"] = {name: list(patterns) for name, patterns in sorted(
                    (self.o.get("exclude") or {}).items()) if patterns}
            self._save(kinds=kinds)
            self._sync_host_manifest()
        return self._result(mode, False)

    def _part(self, kind, snapshot, from_snapshot):
        if kind == "site_server":
            if from_snapshot:
                self._site_server_plan(snapshot)
            else:
                self._site_server()
        elif from_snapshot:
            self._site_database_plan(snapshot)
        else:
            self._site_database(snapshot)

    def site_server(self, snapshot=None):
        """Preserve a site, logon or helper server; from ``snapshot`` only in check mode (host not contacted)."""
        return self.run(["site_server"], snapshot, from_snapshot=snapshot is not None)

    def site_database(self, snapshot=None, from_snapshot=False):
        """Export what the conversion drops from the site database, as documents on the host and in the vault."""
        return self.run(["site_database"], snapshot, from_snapshot)

    # -------------------------------------------------------------- site, logon and helper servers
    def inventory_args(self, file_sets=True):
        """The listing call: the SMS tree's file sets and the registry export (``file_sets``), the host copy, the SMS root."""
        gather = gather_data()
        sets = list(gather["site_server_file_sets"]) + extra_file_sets(self.o.get("extra_sources"), self.data) if file_sets else []
        args = {"mode": "inventory", "host_root": self.host_root, "registry_values": [gather["registry"]["sms_install_dir"]],
                "registry_keys": [], "sms_root_value": gather["registry"]["sms_install_dir"], "service_patterns": [],
                "file_sets": sets, "text_files": [], "hash_files": True, "hash_max_mb": HASH_ALL_MB,
                "read_disks": False, "read_profiles": False,
                "registry_export": list(self.data["documents"]["registry"]["keys"]) if file_sets else [],
                "share_map": self.o.get("share_map") or {}}
        if self.o.get("computer"):
            args["computer"] = self.o["computer"]
        if self.o.get("sms_root"):
            args["sms_root"] = self.o["sms_root"]
        return args

    def _listing(self, inventory):
        self.host_root_io = inventory.get("host_root_io") or self.host_root
        self.host_files = {fold(f["path"].replace("\\", "/")): f for f in inventory.get("host_files") or []}
        self.partials = []
        for path in inventory.get("host_partials") or []:
            try:
                relative = vault_relpath(path, "copy in progress")
            except UnsafePath as exc:
                self.warnings.append("%s: left alone: %s" % (self.o["host"], exc))
                continue
            if relative.upper().endswith(HOST_PARTIAL_SUFFIX.upper()):
                self.partials.append(relative.replace("/", "\\"))

    def _site_server_plan(self, snapshot):
        """The check-mode plan of a host known only from its snapshot."""
        tree = (snapshot or {}).get("sms_tree")
        if tree is None:
            raise PreserveError("%s: its snapshot (kind %s) has no sms_tree to plan the site server part from; gather it "
                                "as a site server" % (self.o["host"], (snapshot or {}).get("kind")))
        sms_root = self.o.get("sms_root") or tree.get("root") or (snapshot.get("sms") or {}).get("install_dir")
        if not sms_root:
            self._unknown_root("the snapshot names none")
        self._check_root(sms_root)
        items, problems = select_files(tree, sms_root, self.o.get("exclude"), self.data)
        self.problems.extend(problems)
        decisions = self._decide(items, None)
        for decision in decisions:
            self._plan_row(decision)
        self._export_row("registry", REGISTRY_FILE, ", ".join("HKLM\\%s" % k for k in self.data["documents"]["registry"]["keys"]))
        if any(d.item.relative.upper().endswith("SITECTRL.CT0") for d in decisions):
            self._export_row("site_documents", SITE_FILE, "SITECTRL.CT0")

    def _site_server(self):
        inventory = self._module(PRESERVE_MODULE, self.inventory_args())
        if inventory.get("failed"):
            raise PreserveError("cannot list %s: %s" % (self._who(), inventory.get("msg")))
        self._listing(inventory)
        sms_root = inventory.get("sms_root") or self.o.get("sms_root")
        if not sms_root:
            errors = [e for e in inventory.get("errors") or [] if e.get("section") == "registry"]
            self._unknown_root("the registry could not be read: %s" % errors[0].get("message") if errors else
                               "its registry has no value %s" % gather_data()["registry"]["sms_install_dir"])
        self._check_root(sms_root)
        self._listing_problems(inventory.get("errors"))
        self._skipped_sets(inventory.get("skipped_file_sets"))
        items, problems = select_files(self._tree(inventory.get("file_sets")), sms_root, self.o.get("exclude"), self.data)
        self.problems.extend(problems)
        decisions = self._decide(items, self.host_files)
        docs = []
        tree = inventory.get("registry_tree")
        if tree:
            keys = ", ".join("HKLM\\%s" % k for k in self.data["documents"]["registry"]["keys"])
            content = self._render("registry", keys, lambda: documents.registry_export(tree))
            if content is not None:
                docs.append((_doc_item("registry", REGISTRY_FILE, keys, content), content))
        site_doc = self._site_document(decisions)
        if site_doc:
            docs.append(site_doc)
        doc_decisions = self._decide([item for item, _content in docs], self.host_files)
        contents = {id(d): content for d, (_item, content) in zip(doc_decisions, docs)}
        for decision in decisions + doc_decisions:
            self._plan_row(decision)
        if self.o.get("check_mode"):
            return
        self._adopt(decisions + doc_decisions)
        self._apply(decisions, doc_decisions, contents, inventory.get("host_free_bytes"))
        if not site_doc and any(d.item.relative.upper().endswith("SITECTRL.CT0") for d in decisions):
            site_doc = self._site_document(decisions)
            if site_doc:
                late = self._decide([site_doc[0]], self.host_files)
                for decision in late:
                    self._plan_row(decision)
                    contents[id(decision)] = site_doc[1]
                self._adopt(late)
                self._apply([], late, contents, None)

    def _apply(self, decisions, doc_decisions, contents, free_bytes):
        """Copy and write what is missing on the host, fetch and store what is missing in the vault; record each file
        once both of its copies verified."""
        copies = self._fit([d for d in decisions if d.need_host_copy], free_bytes)
        writes = [d for d in doc_decisions if d.need_host_copy]
        statuses, failed = {}, None
        if copies or writes:
            args = {"mode": "apply", "host_root": self.host_root, "share_map": self.o.get("share_map") or {},
                    "copies": [{"id": "c%d" % i, "source": d.item.source, "dest": d.stored.replace("/", "\\"),
                                "sha256": d.sha256, "size": d.size} for i, d in enumerate(copies)],
                    "documents": [{"id": "d%d" % i, "dest": d.stored.replace("/", "\\"), "sha256": d.sha256,
                                   "content": base64.b64encode(contents[id(d)]).decode("ascii")}
                                  for i, d in enumerate(writes)],
                    "remove_partials": list(self.partials)}
            if self.o.get("computer"):
                args["computer"] = self.o["computer"]
            applied = self._module(PRESERVE_MODULE, args)
            self.partials = [p for p in self.partials if p not in (applied.get("removed_partials") or [])]
            if applied.get("failed") and not applied.get("copies") and not applied.get("documents"):
                failed = applied.get("msg") or "the preserve module failed"
                cause = cause_of_message(failed)
                for decision in copies + writes:
                    self._problem(decision.item.category, decision.item.source, cause, "not copied to the host %s: %s"
                                  % (self._who(), failed))
            self.host_root_io = applied.get("host_root_io") or self.host_root_io or self.host_root
            statuses = {r.get("id"): r for r in (applied.get("copies") or []) + (applied.get("documents") or [])}
        if failed is None:
            for index, decision in enumerate(copies):
                self._after_copy(decision, statuses.get("c%d" % index) or {})
        for decision in decisions:
            if not decision.need_host_copy and ((not decision.need_vault_copy) or self._fetch_into_vault(decision)):
                self._verified(decision)
        if failed is None:
            for index, decision in enumerate(writes):
                self._after_write(decision, statuses.get("d%d" % index) or {}, contents[id(decision)])
        for decision in doc_decisions:
            if not decision.need_host_copy and self._vault_document(decision, contents[id(decision)]):
                self._verified(decision)

    def _after_copy(self, decision, status):
        item = decision.item
        if status.get("status") not in OK_COPY:
            self._problem(item.category, item.source, status.get("cause") or "other", status.get("message") or
                          "the preserve module returned no result for this file")
            return
        if status["status"] == "copied":
            self.changed = True
            self.copied["host_files"] += 1
            self.copied["host_bytes"] += decision.size or 0
        if (not decision.need_vault_copy) or self._fetch_into_vault(decision):
            self._verified(decision)

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
            return
        if status["status"] != "present":
            self.changed = True
        if self._vault_document(decision, content):
            self._verified(decision)

    def _sync_host_manifest(self):
        """Write MANIFEST.json on the host when it differs from the vault's (stable fields only): only now, after every
        file it lists verified on both sides and was recorded, so it never lists a copy that is not there."""
        if self.host_files is None:
            return
        content = host_manifest_text(self.manifest)
        sha = hashlib.sha256(content).hexdigest()
        held = self.host_files.get(fold(HOST_MANIFEST))
        if held and held.get("sha256") == sha:
            return
        args = {"mode": "apply", "host_root": self.host_root, "share_map": self.o.get("share_map") or {},
                "copies": [], "documents": [{"id": "m0", "dest": HOST_MANIFEST, "sha256": sha, "replace": True,
                                             "content": base64.b64encode(content).decode("ascii")}]}
        if self.o.get("computer"):
            args["computer"] = self.o["computer"]
        result = self._module(PRESERVE_MODULE, args)
        status = (result.get("documents") or [{}])[0]
        if status.get("status") not in OK_WRITE:
            message = status.get("message") or result.get("msg")
            self._problem("host_root", HOST_MANIFEST, status.get("cause") or cause_of_message(message), "the manifest copy on "
                          "the host %s could not be written: %s" % (self._who(), message))
            self._save(kinds=self.kinds)
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

    def _database(self, snapshot):
        database = self.o.get("database") or (snapshot or {}).get("site_database")
        enabled = [(name, sql) for name, _title, sql, _status in self.exports() if sql]
        try:
            script = isql.build_script(enabled, database or "") if enabled else ""
        except isql.SqlScriptError as exc:
            raise PreserveError("%s: %s" % (self.o["host"], exc))
        return database, enabled, script

    def _site_database_plan(self, snapshot):
        database, enabled, _script = self._database(snapshot)
        for name, _sql in enabled:
            self._export_row("database_documents", "%s.csv" % name, "site database %s (query %s)" % (database, name))
        self._export_row("database_documents", SUMMARY_FILE, "snapshot and exports")

    def _sql_listing(self):
        """The host copy and the SMS root of a SQL host (one read-only call), unless the site server part listed them.

        The SMS root matters when SMS runs on the same machine: the host root must then lie outside its tree. A registry
        that cannot be read leaves that check undone, which the result says as a warning.
        """
        if self.host_files is not None:
            return
        inventory = self._module(PRESERVE_MODULE, self.inventory_args(file_sets=False))
        if inventory.get("failed"):
            raise PreserveError("cannot list the host copy on %s: %s" % (self._who(), inventory.get("msg")))
        self._listing(inventory)
        self._listing_problems(inventory.get("errors"), sections={"host_root"})
        sms_root = inventory.get("sms_root") or self.o.get("sms_root")
        if sms_root:
            self._check_root(sms_root)
        elif any(e.get("section") == "registry" for e in inventory.get("errors") or []):
            self.warnings.append("%s: whether the host root %s lies in an SMS tree is not checked: the registry of %s could "
                                 "not be read; set sms_upgrade_sms_root if SMS is installed there" % (
                                     self.o["host"], self.host_root, self._who()))

    def _site_database(self, snapshot):
        database, enabled, script = self._database(snapshot)
        summary = {name: {"title": title, "status": status, "file": None, "rows": None,
                          "error": None if sql else "not configured (set sms_upgrade_preserve_sql_queries.%s)" % name}
                   for name, title, sql, status in self.exports()}
        self._sql_listing()
        docs = []
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
                    content = self._render("database_documents", "query %s" % name, lambda: documents.csv_document(sets[0]))
                    if content is not None:
                        summary[name].update(file="%s.csv" % name, rows=len(sets[0]["rows"]))
                        docs.append((_doc_item("database_documents", "%s.csv" % name, "site database %s (query %s)" % (
                            database, name), content), content))
                        continue
                    message = "the CSV document could not be made"
                summary[name]["error"] = message
                self._problem("database_documents", "query %s" % name, "other", "export %s of %s failed: %s" % (
                    name, database, message))
        facts = {"site_database": database, "site_code": self.o["site"]}
        if snapshot and snapshot.get("kind", "site_database") == "site_database":
            facts = snapshot  # machine groups and jobs as the gather read them (a site server's snapshot has none)
        content = self._render("database_documents", SUMMARY_FILE, lambda: documents.database_summary(facts, summary))
        if content is not None:
            docs.append((_doc_item("database_documents", SUMMARY_FILE, "snapshot and exports", content), content))
        doc_decisions = self._decide([item for item, _content in docs], self.host_files)
        contents = {id(d): c for d, (_item, c) in zip(doc_decisions, docs)}
        for decision in doc_decisions:
            self._plan_row(decision)
        if self.o.get("check_mode"):
            return
        self._adopt(doc_decisions)
        self._apply([], doc_decisions, contents, None)


# ------------------------------------------------------------------ the phase
MAX_LISTED = 5


def preserve_kinds(kind, groups, snapshot=None):
    """What to preserve on a host: ``site_server`` for the site-server groups, ``site_database`` for ``sms_sql``, both
    for a machine in both (SMS and its SQL Server on one machine, the usual SMS 1.2 layout)."""
    if kind != "auto":
        return [kind]
    kinds = (["site_server"] if set(groups) & set(SITE_SERVER_GROUPS) else []) + (["site_database"] if "sms_sql" in groups else [])
    return kinds or ["site_database" if (snapshot or {}).get("kind") == "site_database" else "site_server"]


class PreservePhase(Phase):
    """Keep two verified copies of what SMS 2.0 Setup deletes or does not convert (one host per run)."""

    NAME = "preserve"
    DESCRIPTION = ("Keep verified copies of what SMS 2.0 Setup deletes or does not convert (PRE-08, PRE-09, PRE-18 to "
                   "PRE-25, PRE-28, PRE-29, PRE-31)")
    MODULE = PRESERVE_MODULE
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*",)
    CHECKLIST = {
        "PRE-08": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): SMSLS.BAT and the other logon scripts "
                  "(MAINCFG.BOX, NETLOGON, REPL$, SMS_SHR) kept on the host and in the vault, verified by SHA-256.",
        "PRE-09": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): package definition files (IMPORT.SRC and extra "
                  "sources) and MIF Entry .xnf forms kept outside the SMS tree, versioned.",
        "PRE-18": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): the security export runs only where "
                  "sms_upgrade_preserve_sql_queries.security names the table (UNCONFIRMED); otherwise a manual item.",
        "PRE-19": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): physical-disk export from the site database "
                  "(select * from Disk_SPEC, UNCONFIRMED default, overridable) kept as CSV.",
        "PRE-20": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): DATALOAD.BOX\\FILES.COL kept on the host outside "
                  "the SMS tree and in the vault.",
        "PRE-21": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): query definitions exported where "
                  "sms_upgrade_preserve_sql_queries.queries names the table (UNCONFIRMED), or WRITEQDF .QDF files kept as "
                  "an extra source (category query_files); neither is the default, so the item rests on "
                  "manual.queries_documented.",
        "PRE-22": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): package definition files kept for re-import; "
                  "restore puts them into an import folder.",
        "PRE-23": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): custom MIFs (ISVMIF.BOX) and .xnf files kept "
                  "outside the SMS tree.",
        "PRE-24": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): SITE.SRV\\MAINCFG.BOX\\MSTEST kept; wrapper "
                  "programs stay a manual item.",
        "PRE-25": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): jobs (from the snapshot, active non-system jobs "
                  "first) and the JobDetails export (UNCONFIRMED columns) kept as documents.",
        "PRE-28": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): logon scripts kept with their location "
                  "(netlogon, repl, maincfg, sms_shr).",
        "PRE-29": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): SITECTRL.CT0, System.map and a REGEDIT4 export "
                  "of HKLM\\SOFTWARE\\Microsoft\\SMS kept; the database backup, history cleanup and restore test stay "
                  "manual.",
        "PRE-31": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): site properties, senders, helper and logon "
                  "servers described from SITECTRL.CT0 (site-properties.md), with the site control file itself.",
    }
    OPTIONS = {
        "vault_dir": {"type": "path", "required": True},
        "snapshot_dir": {"type": "path"},
        "from_snapshot": {"type": "bool", "default": False},
        "kind": {"type": "str", "default": "auto", "choices": ["auto", "site_server", "site_database"]},
        "site_code": {"type": "str"},
        "exclude": {"type": "dict", "default": {}},
        "extra_sources": {"type": "list", "elements": "dict", "default": [], "options": {
            "category": {"type": "str", "required": True}, "path": {"type": "str", "required": True},
            "include": {"type": "list", "elements": "str", "default": ["*"]},
            "recurse": {"type": "bool", "default": True}}},
        "database": {"type": "str"},
        "sql_queries": {"type": "dict", "default": {}},
        "sql_client": {"type": "str", "default": "isql.exe"},
        "login_user": {"type": "str"},
        "login_password": {"type": "str", "no_log": True},
        "fail_on_problems": {"type": "bool", "default": True},
        "host_root": {"type": "str"},
        "share_map": {"type": "dict", "default": {}},
        "sms_root": {"type": "str"},
    }
    MODULE_OPTIONS = ("host_root", "share_map", "sms_root")
    SET_BY_ACTION = ("mode", "copies", "documents", "registry_export", "file_sets", "text_files", "registry_values",
                     "registry_keys", "system_root_values", "sms_root_value", "remove_partials")

    def run(self, ctx, hands):
        args = ctx.args
        snapshot = host_snapshot(args["snapshot_dir"], ctx.host, args["from_snapshot"])
        kinds = preserve_kinds(args["kind"], ctx.groups, snapshot)
        site = resolve_site(args["site_code"], snapshot, ctx.groups, args["vault_dir"], ctx.host)
        if not site:
            raise ValueError("site code unknown: set site_code, put the host in an sms_site_XXX group or gather its snapshot")
        options = {"host": ctx.host, "site": site.upper(), "computer": ctx.target.computer, "vault_root": args["vault_dir"],
                   "check_mode": ctx.check_mode, "host_root": args["host_root"], "share_map": args["share_map"],
                   "sms_root": args["sms_root"], "exclude": args["exclude"], "extra_sources": args["extra_sources"],
                   "sql_queries": args["sql_queries"], "database": args["database"], "sql_client": args["sql_client"],
                   "login_user": args["login_user"], "login_password": args["login_password"],
                   "machine_names": list(ctx.machine_names)}
        outcome = HostRun(options, hands.module, hands.fetch, iso_stamp(ctx.now)).run(
            kinds, snapshot=snapshot, from_snapshot=args["from_snapshot"])
        outcome["kinds"] = kinds
        if not ctx.check_mode:
            outcome["preservation"] = {ctx.host: outcome.get("categories", {})}
        if outcome["problems"] and args["fail_on_problems"] and not ctx.check_mode:
            listed = "; ".join("%s (%s): %s" % (p["source"], p["cause"], p["message"]) for p in outcome["problems"][:MAX_LISTED])
            more = len(outcome["problems"]) - MAX_LISTED
            message = "%s: %d file(s) or document(s) not preserved, everything else was preserved and verified: %s%s" % (
                ctx.host, len(outcome["problems"]), listed, "; and %d more" % more if more > 0 else "")
            outcome.update(failed=True, msg=message)
        return outcome


PHASE = PreservePhase()
