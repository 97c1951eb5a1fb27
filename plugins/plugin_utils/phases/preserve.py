"""The preserve phase (PRE-08, PRE-09, PRE-18 to PRE-25, PRE-28, PRE-29, PRE-31): its room.

Keeps two verified copies of what SMS 2.0 Setup deletes or does not convert: on the host outside the SMS tree, and in
the vault on the controller (``vault/store.py``). The remote side (module ``sms.upgrade.preserve_files``, or
``sms.upgrade.sql_facts`` for the database export) only lists, hashes, copies and writes what it is told; every
decision is made here:

1. **list** (one module call): the SMS tree file sets (as the gather lists them, plus extra sources), the registry
   keys to export, and every file already under the host's copy directory, each with size and SHA-256; a SQL host
   gets the same listing without file sets (its host copy and its SMS root, if any).
2. **plan**: which files to keep (``vault/selection.py``), their stored path and version (``vault/manifest.py``),
   which host copies and vault copies are missing, whether they fit on the host's disk, which documents to render.
3. **copy** (one module call, only when something is missing): copy each source to its versioned path under the host
   copy if its content is still the one listed (compare-and-set), write the generated documents.
4. **store** each new host copy in the vault (fetched through the connection, size and SHA-256 checked, never
   replacing a stored file) and record it in the manifest once both copies verified.
5. **finish**: documents that need a fetched file (site properties from SITECTRL.CT0), then, once everything is
   verified and recorded, the manifest copy on the host (one more call, only when it differs).

A host in a site-server group and in ``sms_sql`` gets both parts in one run (``kinds``), under one copy directory
and one manifest. The vault directory of a host is locked for the whole run. A second run with nothing changed makes
the listing call only (and the export on a SQL host). Check mode stops after step 2 and returns the exact list of
what would be copied, with sizes. Each file's problem is recorded with its cause; the run goes on with the others
and the task fails at the end. ``hands.module`` and ``hands.fetch`` are the only ways to the machine.
"""
import base64
import hashlib
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import cause_of_message, problem_cause
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import SITE_SERVER_GROUPS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import (
    HOST_PARTIAL_SUFFIX, UnsafePath, check_host_root, fold, host_copy_root, join_windows, vault_relpath)
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import isql
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.build import build_sms_tree, gather_data
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, problem_list, require_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault import documents
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import HOST_MANIFEST, VaultError
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import (
    Item, extra_file_sets, preserve_data, problem, select_files)
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.store import StoreError, VaultStore

PRESERVE_MODULE = "sms.upgrade.preserve_files"
SQL_MODULE = "sms.upgrade.sql_facts"
KINDS = ("site_server", "site_database")
FREE_MARGIN = 32 * 1024 * 1024
HASH_ALL_MB = 1024 * 1024
REGISTRY_FILE = "SMS-registry.reg"
SITE_FILE = "site-properties.md"
SUMMARY_FILE = "database-summary.md"
OK_COPY = ("copied", "present")
OK_WRITE = ("written", "present", "replaced")


class PreserveError(RuntimeError):
    """The host cannot be preserved at all (unreachable, unusable vault or host root); the message says why."""


# What one run of one host is asked to do (the phase builds it from the task; tests build it directly).
Settings = namedtuple("Settings", [
    "host", "site", "vault_root", "computer", "check_mode", "host_root", "share_map", "sms_root", "exclude",
    "extra_sources", "sql_queries", "database", "sql_client", "login_user", "login_password", "machine_names"])
Settings.__new__.__defaults__ = (None, False, None, None, None, None, None, None, None, "isql.exe", None, None, ())


# ------------------------------------------------------------------ what to keep
def preserve_kinds(kind, groups, snapshot=None):
    """What to preserve on a host: ``site_server`` for the site-server groups, ``site_database`` for ``sms_sql``, both
    for a machine in both (SMS and its SQL Server on one machine, the usual SMS 1.2 layout)."""
    if kind != "auto":
        return [kind]
    kinds = (["site_server"] if set(groups) & set(SITE_SERVER_GROUPS) else []) + (["site_database"] if "sms_sql" in groups else [])
    return kinds or ["site_database" if (snapshot or {}).get("kind") == "site_database" else "site_server"]


def covered_categories(kinds, data):
    """Problem categories a run of ``kinds`` re-evaluates (open problems of the others are kept)."""
    covered = {"host_root"}
    if "site_server" in kinds:
        covered |= set(data["categories"]) | {"registry", "site_documents"}
    if "site_database" in kinds:
        covered.add("database_documents")
    return covered


def document_item(category, name, source, content):
    """A generated document as an item to keep, with its size and SHA-256."""
    return Item(category, name, source, len(content), hashlib.sha256(content).hexdigest(), None)


def new_problem(category, source, cause, message):
    """A per-file problem; module and gather causes are mapped to problem causes."""
    return problem(category, source, problem_cause(cause), message)


def listing_problems(errors, host, sections=None):
    """``(problems, warnings)`` of the listing's section errors; errors of a category outside ``sections`` (when
    given) are only warnings."""
    problems, warnings = [], []
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
            warnings.append("%s: %s could not be read (%s): %s" % (host, section, error.get("cause"), error.get("message")))
            continue
        problems.append(new_problem(category, section, error.get("cause"), "%s could not be read: %s" % (
            section, error.get("message"))))
    return problems, warnings


def skipped_file_sets(skipped, who):
    """``(skipped, problems)``: file sets the module did not list because a path token has no value on the host. A
    share that does not exist holds nothing to keep; any other unknown token leaves files unlisted: a problem."""
    entries, problems = [], []
    for item in skipped or []:
        tokens = re.findall(r"%([^%]+)%", item.get("path") or "")
        unknown = [t for t in tokens if not t.upper().startswith("SHARE:")]
        category = (item.get("name") or "other").split(".", 1)[0]
        entries.append({"category": category, "path": item.get("path"), "reason": item.get("reason")})
        if unknown:
            problems.append(new_problem(category, item.get("path"), "not_found", "not listed: %s has no value on %s (%s)" % (
                ", ".join("%%%s%%" % t for t in unknown), who, item.get("reason") or "unresolved")))
    return entries, problems


def listed_tree(file_sets):
    """``(sms_tree, problems)``: the listing's file sets grouped as the gather groups them; a file that could not be
    hashed (locked, access denied, vanished) or a directory that could not be listed is a problem instead. A file is
    reported once, for the first set that met it (it belongs to that category, as a listed file does); a directory once
    per category (none of them can tell what it holds)."""
    clean, problems, reported = [], [], set()
    for file_set in file_sets or []:
        category = file_set["name"].split(".", 1)[0]
        files = []
        for entry in file_set.get("files") or []:
            if entry.get("error") or not entry.get("sha256"):
                key = (category if entry.get("directory") else None, str(entry.get("path")).upper())
                if key in reported:
                    continue
                reported.add(key)
                error = entry.get("error") or {"cause": "other", "message": "no SHA-256 returned"}
                what = "directory not listed, its files are not preserved" if entry.get("directory") else "not readable"
                problems.append(new_problem(category, entry.get("path"), error.get("cause"), "%s: %s" % (what, error.get("message"))))
            else:
                files.append(entry)
        clean.append(dict(file_set, files=files))
    return build_sms_tree({"file_sets": clean}), problems


def fit_free_space(decisions, free_bytes):
    """``(fitting, problems)``: the host copies that fit on the host root's volume, in order (keeping FREE_MARGIN
    free); the others are disk_full problems. An unknown free space lets all of them through."""
    if free_bytes is None:
        return list(decisions), []
    budget, fitting, problems = free_bytes - FREE_MARGIN, [], []
    for decision in decisions:
        if decision.size is not None and decision.size > budget:
            problems.append(new_problem(decision.item.category, decision.item.source, "disk_full",
                                        "not copied: %d bytes needed, %d bytes left on the host root's volume (keeping %d MB "
                                        "free)" % (decision.size, max(budget, 0), FREE_MARGIN // (1024 * 1024))))
            continue
        budget -= decision.size or 0
        fitting.append(decision)
    return fitting, problems


def is_site_control(decision):
    """True for the decision of SITECTRL.CT0 (the site document is made from it)."""
    return decision.item.category == "site_control_files" and decision.item.relative.upper().endswith("SITECTRL.CT0")


def export_queries(data, overrides):
    """The configured export queries: ``[(name, title, sql or None, status)]``; unknown names are refused."""
    overrides = overrides or {}
    known = {e["name"] for e in data["sql_exports"]}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise PreserveError("sms_upgrade_preserve_sql_queries names unknown exports: %s (known: %s)" % (
            ", ".join(unknown), ", ".join(sorted(known))))
    return [(e["name"], e["title"], overrides.get(e["name"], e["sql"]), e["status"]) for e in data["sql_exports"]]


def export_results(raw, enabled):
    """Per enabled query of a ``sql_facts`` result: ``(name, result set, None)`` or ``(name, None, why not)``."""
    blocks = isql.split_output(raw.get("output") or "") if not raw.get("failed") else {}
    for name, _sql in enabled:
        error = isql.block_error(blocks[name]) if name in blocks else None
        sets = isql.result_sets(blocks[name]) if name in blocks and not error else []
        if raw.get("failed"):
            yield name, None, raw.get("msg") or "the SQL client failed"
        elif name not in blocks:
            yield name, None, "no output for this query"
        elif error:
            yield name, None, "SQL error %d: %s" % error
        elif not sets:
            yield name, None, "the query returned no result set"
        else:
            yield name, sets[0], None


# ------------------------------------------------------------------ the wire format of the module
def inventory_args(settings, host_copy, data, file_sets=True):
    """The listing call: the SMS tree's file sets and the registry export (``file_sets``), the host copy, the SMS root.

    Only the gather's sets of the categories this run keeps are listed: a file is listed once, by the first set that
    meets it, so a set of another category (a scan of the whole SMS root) would take files from this run's categories.
    """
    gather = gather_data()
    kept = [s for s in gather["site_server_file_sets"] if s["name"].split(".", 1)[0] in data["categories"]]
    sets = kept + extra_file_sets(settings.extra_sources, data) if file_sets else []
    args = {"mode": "inventory", "host_root": host_copy, "registry_values": [gather["registry"]["sms_install_dir"]],
            "registry_keys": [], "sms_root_value": gather["registry"]["sms_install_dir"], "service_patterns": [],
            "file_sets": sets, "text_files": [], "hash_files": True, "hash_max_mb": HASH_ALL_MB,
            "read_disks": False, "read_profiles": False,
            "registry_export": list(data["documents"]["registry"]["keys"]) if file_sets else [],
            "share_map": settings.share_map or {}}
    if settings.sms_root:
        args["sms_root"] = settings.sms_root
    return args


def apply_args(settings, host_copy, copies=(), writes=(), partials=(), replace=False):
    """The copy call: ``copies`` (decisions to copy from their source if unchanged), ``writes`` (documents as
    ``(stored path, sha256, content)``; an existing one is replaced only with ``replace``), and the leftovers of
    interrupted copies to remove."""
    return {"mode": "apply", "host_root": host_copy, "share_map": settings.share_map or {},
            "copies": [{"id": "c%d" % i, "source": d.item.source, "dest": d.stored.replace("/", "\\"),
                        "sha256": d.sha256, "size": d.size} for i, d in enumerate(copies)],
            "documents": [{"id": "d%d" % i, "dest": stored.replace("/", "\\"), "sha256": sha256, "replace": replace,
                           "content": base64.b64encode(content).decode("ascii")}
                          for i, (stored, sha256, content) in enumerate(writes)],
            "remove_partials": list(partials)}


def export_args(settings, script):
    """The ``sql_facts`` call that runs the export script."""
    args = {"script": script, "client": settings.sql_client or "isql.exe"}
    for key in ("login_user", "login_password"):
        if getattr(settings, key):
            args[key] = getattr(settings, key)
    return args


# ------------------------------------------------------------------ one run
class RunLog:
    """What a run reports: its problems, warnings, skipped file sets, plan rows, and what it changed."""

    def __init__(self, host):
        self.host = host
        self.problems, self.warnings, self.skipped, self.plan = [], [], [], []
        self.changed = False
        self.copied = {"host_files": 0, "host_bytes": 0, "vault_files": 0, "vault_bytes": 0}

    def problem(self, category, source, cause, message):
        self.problems.append(new_problem(category, source, cause, message))

    def warn(self, message):
        self.warnings.append("%s: %s" % (self.host, message))

    def planned(self, decision):
        row = {"category": decision.item.category, "path": decision.item.relative, "source": decision.item.source,
               "action": decision.kind, "version": decision.version, "stored": decision.stored,
               "size": decision.size, "to_host": decision.need_host_copy, "to_vault": decision.need_vault_copy}
        if decision.note:
            row["note"] = decision.note
        self.plan.append(row)

    def export_planned(self, category, path, source):
        """A document that a run with the host would make (its size is not known yet)."""
        self.plan.append({"category": category, "path": path, "source": source, "action": "export", "version": None,
                          "stored": None, "size": None, "to_host": True, "to_vault": True})

    def to_copy(self):
        """The plan rows that copy something."""
        return [row for row in self.plan if row["to_host"] or row["to_vault"]]

    def render(self, category, source, render):
        """Run a document renderer; any failure is a problem of that document, never a traceback."""
        try:
            return render()
        except documents.DocumentError as exc:
            self.problem(category, source, "other", str(exc))
        except Exception as exc:  # pylint: disable=broad-exception-caught  # bad input must not stop the others
            self.problem(category, source, "other", "the document could not be made (%s: %s)" % (type(exc).__name__, exc))
        return None


class HostCopy:
    """The host's copy directory ``<host root>\\<SITE>\\<host>`` and what the listing found in it."""

    def __init__(self, settings, data):
        self.root = check_host_root(settings.host_root or data["host_root"])
        self.path = host_copy_root(self.root, settings.site, settings.host)
        self.io_path = self.path
        self.files = None  # folded stored path -> {size, sha256}; None until listed (a plan from a snapshot)
        self.partials = []

    def absorb(self, inventory, log):
        """Take the listing's host copy: its files, its path as the module reaches it, its copies in progress."""
        self.io_path = inventory.get("host_root_io") or self.path
        self.files = {fold(f["path"].replace("\\", "/")): f for f in inventory.get("host_files") or []}
        self.partials = []
        for path in inventory.get("host_partials") or []:
            try:
                relative = vault_relpath(path, "copy in progress")
            except UnsafePath as exc:
                log.warn("left alone: %s" % exc)
                continue
            if relative.upper().endswith(HOST_PARTIAL_SUFFIX.upper()):
                self.partials.append(relative.replace("/", "\\"))

    def remote(self, stored):
        """Where a stored path is on the host, as the connection reaches it."""
        return join_windows(self.io_path, stored)

    def holds(self, stored, sha256):
        """True when the listing found ``stored`` with ``sha256``."""
        held = (self.files or {}).get(fold(stored))
        return bool(held) and held.get("sha256") == sha256


class Delivery:
    """Copies on the host and stores in the vault what the plan finds missing; records each file once both of its
    copies verified, and at the end writes the manifest copy on the host."""

    def __init__(self, run):
        self.run, self.host, self.vault, self.log = run, run.host, run.vault, run.log

    def __call__(self, decisions, docs, free_bytes=None):
        """Deliver ``decisions`` (files) and ``docs`` (``[(decision, content)]``) within ``free_bytes`` on the host."""
        copies, full = fit_free_space([d for d in decisions if d.need_host_copy], free_bytes)
        self.log.problems += full
        writes = [(d, content) for d, content in docs if d.need_host_copy]
        statuses = self._copy_on_host(copies, writes)
        for index, decision in enumerate(copies if statuses is not None else ()):
            self._after_copy(decision, statuses.get("c%d" % index) or {})
        for decision in decisions:
            if not decision.need_host_copy and self._in_vault(decision):
                self._verified(decision)
        for index, (decision, content) in enumerate(writes if statuses is not None else ()):
            self._after_write(decision, statuses.get("d%d" % index) or {}, content)
        for decision, content in docs:
            if not decision.need_host_copy and self._document_in_vault(decision, content):
                self._verified(decision)

    def _copy_on_host(self, copies, writes):
        """The copy call: statuses by id ({} when nothing is to copy), or None when the call failed as a whole."""
        if not copies and not writes:
            return {}
        applied = self.run.call(PRESERVE_MODULE, apply_args(self.run.s, self.host.path, copies, [
            (d.stored, d.sha256, content) for d, content in writes], self.host.partials))
        self.host.partials = [p for p in self.host.partials if p not in (applied.get("removed_partials") or [])]
        self.host.io_path = applied.get("host_root_io") or self.host.io_path
        if applied.get("failed") and not applied.get("copies") and not applied.get("documents"):
            failed = applied.get("msg") or "the preserve module failed"
            for decision in copies + [d for d, _content in writes]:
                self.log.problem(decision.item.category, decision.item.source, cause_of_message(failed),
                                 "not copied to the host %s: %s" % (self.run.who(), failed))
            return None
        return {r.get("id"): r for r in (applied.get("copies") or []) + (applied.get("documents") or [])}

    def _after_copy(self, decision, status):
        if status.get("status") not in OK_COPY:
            self.log.problem(decision.item.category, decision.item.source, status.get("cause") or "other",
                             status.get("message") or "the preserve module returned no result for this file")
            return
        if status["status"] == "copied":
            self.log.changed = True
            self.log.copied["host_files"] += 1
            self.log.copied["host_bytes"] += decision.size or 0
        if self._in_vault(decision):
            self._verified(decision)

    def _after_write(self, decision, status, content):
        if status.get("status") not in OK_WRITE:
            self.log.problem(decision.item.category, decision.item.relative, status.get("cause") or "other",
                             status.get("message") or "the preserve module returned no result for this document")
            return
        if status["status"] != "present":
            self.log.changed = True
        if self._document_in_vault(decision, content):
            self._verified(decision)

    def _in_vault(self, decision):
        """True when the vault holds the decision's copy, fetching the verified host copy when it does not."""
        if not decision.need_vault_copy:
            return True
        try:
            self.vault.fetch_into(decision, self.run.hands.fetch, self.host.remote(decision.stored))
        except StoreError as exc:
            self.log.problem(decision.item.category, decision.item.source, exc.cause, str(exc))
            return False
        self.log.changed = True
        self.log.copied["vault_files"] += 1
        self.log.copied["vault_bytes"] += decision.size
        return True

    def _document_in_vault(self, decision, content):
        if not decision.need_vault_copy:
            return True
        try:
            self.vault.store_bytes(decision, content)
        except StoreError as exc:
            self.log.problem(decision.item.category, decision.item.source, exc.cause, str(exc))
            return False
        self.log.changed = True
        return True

    def _verified(self, decision):
        self.vault.record(decision, self.log.problems)

    def host_manifest(self):
        """Write MANIFEST.json on the host when it differs from the vault's (stable fields only): only at the end,
        after every file it lists verified on both sides and was recorded, so it never lists a copy that is not
        there. False when it could not be written (a problem says why)."""
        if self.host.files is None:
            return True
        content = self.vault.host_manifest()
        sha256 = hashlib.sha256(content).hexdigest()
        if self.host.holds(HOST_MANIFEST, sha256):
            return True
        result = self.run.call(PRESERVE_MODULE, apply_args(self.run.s, self.host.path, writes=[
            (HOST_MANIFEST, sha256, content)], replace=True))
        status = (result.get("documents") or [{}])[0]
        if status.get("status") not in OK_WRITE:
            message = status.get("message") or result.get("msg")
            self.log.problem("host_root", HOST_MANIFEST, status.get("cause") or cause_of_message(message), "the manifest "
                             "copy on the host %s could not be written: %s" % (self.run.who(), message))
            return False
        if status["status"] != "present":
            self.log.changed = True
        return True


class HostPreserve:
    """One preserve run of one host: list, plan, deliver, record. ``hands`` reach the machine."""

    def __init__(self, settings, hands, now, data=None):
        self.s = settings
        self.hands = hands
        self.data = data or preserve_data()
        self.log = RunLog(settings.host)
        self.calls = 0
        self.kinds = []
        self.host = HostCopy(settings, self.data)
        self.vault = VaultStore(settings.vault_root, settings.site, settings.host, now, settings.computer, self.host.path)
        self.deliver = Delivery(self)

    # -------------------------------------------------------------- the run
    def run(self, kinds, snapshot=None, from_snapshot=False):
        """Preserve what ``kinds`` (``site_server``, ``site_database`` or both) keep; the task result.

        ``snapshot`` is the host's saved snapshot (site code, database facts); with ``from_snapshot`` the plan is made
        from it without contacting the host, in check mode only.
        """
        self.kinds = [k for k in KINDS if k in kinds]
        if not self.kinds:
            raise PreserveError("%s: nothing to preserve: kinds must name site_server and/or site_database" % self.s.host)
        if "site_database" in self.kinds:
            self._export_script(snapshot)  # bad export options or database name fail the host before anything is done
        if from_snapshot and not self.s.check_mode:
            raise PreserveError("%s is in sms_snapshots_only: %s from a saved snapshot; run with --check to see the plan" % (
                self.s.host, "nothing can be copied" if "site_server" in self.kinds else "the site database cannot be exported"))
        mode = "snapshot" if from_snapshot else ("relay" if self.s.computer else "direct")
        if self.s.check_mode:
            self._parts(snapshot, from_snapshot)
            return self._result(mode)
        with self.vault.locked():
            try:
                self._parts(snapshot, from_snapshot)
            except BaseException:
                self.vault.keep_recorded(self.log.problems)
                raise
            if "site_server" in self.kinds:
                self.vault.record_exclusions(self.s.exclude)
            self._save()
            if not self.deliver.host_manifest():
                self._save()
        return self._result(mode)

    def _parts(self, snapshot, from_snapshot):
        for kind in self.kinds:
            if kind == "site_server":
                self._site_server_from_snapshot(snapshot) if from_snapshot else self._site_server()
            else:
                self._site_database_from_snapshot(snapshot) if from_snapshot else self._site_database(snapshot)

    def _save(self):
        self.vault.save(self.log.problems, covered_categories(self.kinds, self.data))

    # -------------------------------------------------------------- reaching the host
    def call(self, name, args):
        """Run a module on the host (``hands`` add the machine); a result that is not a dict is a failure."""
        self.calls += 1
        result = self.hands.module(name, args)
        return result if isinstance(result, dict) else {"failed": True, "msg": "no result"}

    def who(self):
        """The machine as messages name it."""
        return self.s.computer or self.s.host

    def _list(self, file_sets=True):
        """The listing call; its host copy is absorbed. A listing that fails fails the host."""
        inventory = self.call(PRESERVE_MODULE, inventory_args(self.s, self.host.path, self.data, file_sets))
        if inventory.get("failed"):
            what = "" if file_sets else "the host copy on "
            raise PreserveError("cannot list %s%s: %s" % (what, self.who(), inventory.get("msg")))
        self.host.absorb(inventory, self.log)
        return inventory

    def _check_root(self, sms_root):
        """The host root (as configured and this host's directory in it) must lie outside the SMS tree, also when it
        is written as an administrative share of the machine itself."""
        names = [self.s.computer, self.s.host] + list(self.s.machine_names or ())
        try:
            check_host_root(self.host.root, sms_root, names, self.s.share_map)
            check_host_root(self.host.path, sms_root, names, self.s.share_map)
        except UnsafePath as exc:
            raise PreserveError("%s: %s" % (self.s.host, exc))

    def _unknown_root(self, how):
        raise PreserveError("%s: the SMS root of %s is unknown (%s), so none of its SMS tree could be listed or checked "
                            "against the host root: set sms_upgrade_sms_root (for example C:\\SMS) for this host"
                            % (self.s.host, self.who(), how))

    # -------------------------------------------------------------- planning
    def _decide(self, items):
        decisions = []
        for item in items:
            try:
                decisions.append(self.vault.decide(item, self.host.path, self.host.files))
            except (UnsafePath, VaultError, OSError) as exc:
                self.log.problem(item.category, item.source, "unsafe_name" if isinstance(exc, UnsafePath) else "vault",
                                 "refused: %s" % exc)
        return decisions

    def _plan_documents(self, docs):
        """Decide and plan rendered documents ``[(item, content)]``: ``[(decision, content)]``."""
        contents = {id(item): content for item, content in docs}
        decided = [(decision, contents[id(decision.item)]) for decision in self._decide([item for item, _content in docs])]
        for decision, _content in decided:
            self.log.planned(decision)
        return decided

    def _registry_document(self, tree):
        keys = ", ".join("HKLM\\%s" % k for k in self.data["documents"]["registry"]["keys"])
        content = self.log.render("registry", keys, lambda: documents.registry_export(tree)) if tree else None
        return [] if content is None else [(document_item("registry", REGISTRY_FILE, keys, content), content)]

    def _site_document(self, decisions):
        """The site properties rendered from SITECTRL.CT0 once its current version is in the vault: [] or one doc."""
        found = next((d for d in decisions if is_site_control(d) and self.vault.holds(d)), None)
        if found is None:
            return []
        text = self.vault.read(found).decode("latin-1")
        content = self.log.render("site_documents", found.item.source,
                                  lambda: documents.site_properties(text, found.item.source, found.sha256))
        if content is None:
            return []
        return [(document_item("site_documents", SITE_FILE, "(from %s)" % found.item.source, content), content)]

    # -------------------------------------------------------------- site, logon and helper servers
    def _site_server_from_snapshot(self, snapshot):
        """The check-mode plan of a host known only from its snapshot."""
        tree = (snapshot or {}).get("sms_tree")
        if tree is None:
            raise PreserveError("%s: its snapshot (kind %s) has no sms_tree to plan the site server part from; gather it "
                                "as a site server" % (self.s.host, (snapshot or {}).get("kind")))
        sms_root = self.s.sms_root or tree.get("root") or (snapshot.get("sms") or {}).get("install_dir")
        if not sms_root:
            self._unknown_root("the snapshot names none")
        self._check_root(sms_root)
        items, problems = select_files(tree, sms_root, self.s.exclude, self.data)
        self.log.problems += problems
        decisions = self._decide(items)
        for decision in decisions:
            self.log.planned(decision)
        self.log.export_planned("registry", REGISTRY_FILE, ", ".join(
            "HKLM\\%s" % k for k in self.data["documents"]["registry"]["keys"]))
        if any(is_site_control(d) for d in decisions):
            self.log.export_planned("site_documents", SITE_FILE, "SITECTRL.CT0")

    def _site_server(self):
        inventory = self._list()
        sms_root = inventory.get("sms_root") or self.s.sms_root
        if not sms_root:
            errors = [e for e in inventory.get("errors") or [] if e.get("section") == "registry"]
            self._unknown_root("the registry could not be read: %s" % errors[0].get("message") if errors else
                               "its registry has no value %s" % gather_data()["registry"]["sms_install_dir"])
        self._check_root(sms_root)
        problems, _warnings = listing_problems(inventory.get("errors"), self.s.host)
        self.log.skipped, skipped = skipped_file_sets(inventory.get("skipped_file_sets"), self.who())
        tree, unreadable = listed_tree(inventory.get("file_sets"))
        items, refused = select_files(tree, sms_root, self.s.exclude, self.data)
        self.log.problems += problems + skipped + unreadable + refused
        decisions = self._decide(items)
        for decision in decisions:
            self.log.planned(decision)
        registry = self._registry_document(inventory.get("registry_tree"))
        site_doc = self._site_document(decisions)
        docs = self._plan_documents(registry + site_doc)
        if self.s.check_mode:
            return
        self.vault.adopt(decisions + [d for d, _content in docs])
        self.deliver(decisions, docs, inventory.get("host_free_bytes"))
        if not site_doc and any(is_site_control(d) for d in decisions):
            late = self._plan_documents(self._site_document(decisions))  # it needed the fetched SITECTRL.CT0
            self.vault.adopt([d for d, _content in late])
            self.deliver([], late)

    # -------------------------------------------------------------- the site database
    def _export_script(self, snapshot):
        """``(database, enabled queries, script)``; a query or database name that is not safe fails the host."""
        database = self.s.database or (snapshot or {}).get("site_database")
        enabled = [(name, sql) for name, _title, sql, _status in export_queries(self.data, self.s.sql_queries) if sql]
        try:
            script = isql.build_script(enabled, database or "") if enabled else ""
        except isql.SqlScriptError as exc:
            raise PreserveError("%s: %s" % (self.s.host, exc))
        return database, enabled, script

    def _site_database_from_snapshot(self, snapshot):
        database, enabled, _script = self._export_script(snapshot)
        for name, _sql in enabled:
            self.log.export_planned("database_documents", "%s.csv" % name, "site database %s (query %s)" % (database, name))
        self.log.export_planned("database_documents", SUMMARY_FILE, "snapshot and exports")

    def _sql_listing(self):
        """The host copy and the SMS root of a SQL host (one read-only call), unless the site server part listed them.

        The SMS root matters when SMS runs on the same machine: the host root must then lie outside its tree. A registry
        that cannot be read leaves that check undone, which the result says as a warning.
        """
        if self.host.files is not None:
            return
        inventory = self._list(file_sets=False)
        problems, warnings = listing_problems(inventory.get("errors"), self.s.host, sections={"host_root"})
        self.log.problems += problems
        self.log.warnings += warnings
        sms_root = inventory.get("sms_root") or self.s.sms_root
        if sms_root:
            self._check_root(sms_root)
        elif any(e.get("section") == "registry" for e in inventory.get("errors") or []):
            self.log.warn("whether the host root %s lies in an SMS tree is not checked: the registry of %s could not be "
                          "read; set sms_upgrade_sms_root if SMS is installed there" % (self.host.path, self.who()))

    def _site_database(self, snapshot):
        database, enabled, script = self._export_script(snapshot)
        summary = {name: {"title": title, "status": status, "file": None, "rows": None,
                          "error": None if sql else "not configured (set sms_upgrade_preserve_sql_queries.%s)" % name}
                   for name, title, sql, status in export_queries(self.data, self.s.sql_queries)}
        self._sql_listing()
        docs = []
        exported = export_results(self.call(SQL_MODULE, export_args(self.s, script)), enabled) if enabled else ()
        for name, result_set, error in exported:
            content = None if error else self.log.render("database_documents", "query %s" % name,
                                                         lambda rows=result_set: documents.csv_document(rows))
            if content is not None:
                summary[name].update(file="%s.csv" % name, rows=len(result_set["rows"]))
                docs.append((document_item("database_documents", "%s.csv" % name, "site database %s (query %s)" % (
                    database, name), content), content))
                continue
            summary[name]["error"] = error or "the CSV document could not be made"
            self.log.problem("database_documents", "query %s" % name, "other", "export %s of %s failed: %s" % (
                name, database, summary[name]["error"]))
        facts = {"site_database": database, "site_code": self.s.site}
        if snapshot and snapshot.get("kind", "site_database") == "site_database":
            facts = snapshot  # machine groups and jobs as the gather read them (a site server's snapshot has none)
        content = self.log.render("database_documents", SUMMARY_FILE, lambda: documents.database_summary(facts, summary))
        if content is not None:
            docs.append((document_item("database_documents", SUMMARY_FILE, "snapshot and exports", content), content))
        decided = self._plan_documents(docs)
        if self.s.check_mode:
            return
        self.vault.adopt([d for d, _content in decided])
        self.deliver([], decided)

    # -------------------------------------------------------------- the result
    def _result(self, mode):
        check_mode = bool(self.s.check_mode)
        to_copy = self.log.to_copy()
        result = {
            "host": self.s.host, "site": self.s.site.upper(), "computer": self.who(),
            "mode": mode, "host_root": self.host.path, "vault_dir": self.vault.directory,
            "manifest": self.vault.manifest_path, "plan": self.log.plan, "problems": self.log.problems,
            "module_calls": self.calls, "skipped": self.log.skipped, "changed": bool(to_copy) if check_mode else self.log.changed,
        }
        if check_mode:
            result["would_copy"] = {"files": len(to_copy), "bytes": sum(row["size"] or 0 for row in to_copy),
                                    "unknown_sizes": sum(1 for row in to_copy if row["size"] is None)}
        else:
            result["copied"] = dict(self.log.copied)
            result["categories"] = self.vault.verify()
        if self.log.warnings:
            result["warnings"] = list(self.log.warnings)
        result["diff"] = self._diff(to_copy)
        return result

    def _diff(self, to_copy):
        """The vault manifest before and after (in check mode: the planned lines added to it)."""
        before = self.vault.before
        if self.s.check_mode:
            after = sorted(set(before) | {" %s/%s v%s %s bytes (planned: %s)" % (
                r["category"], r["path"], "?" if r["version"] is None else r["version"],
                "?" if r["size"] is None else r["size"], r["action"]) for r in to_copy})
        else:
            after = self.vault.lines()
        path = self.vault.manifest_path
        return {"before_header": "%s (vault manifest)" % path, "after_header": path,
                "before": "\n".join(before) + ("\n" if before else ""), "after": "\n".join(after) + ("\n" if after else "")}


def outcome_message(result):
    """One line for the play: what would be copied (check mode) or what was copied and verified."""
    if "would_copy" in result:
        would, to_copy = result["would_copy"], [r for r in result["plan"] if r["to_host"] or r["to_vault"]]
        return "%s: %d file(s) or document(s) would be copied, %d bytes%s, to %s and %s%s" % (
            result["host"], would["files"], would["bytes"],
            " (+%d of unknown size)" % would["unknown_sizes"] if would["unknown_sizes"] else "",
            result["host_root"], result["vault_dir"],
            ": " + ", ".join("%s/%s" % (r["category"], r["path"]) for r in to_copy) if to_copy else "")
    verified = [name for name, category in sorted(result["categories"].items()) if category["verified"]]
    return "%s: copied %d file(s) to the host and %d into the vault; verified %s" % (
        result["host"], result["copied"]["host_files"], result["copied"]["vault_files"], ", ".join(verified) or "nothing")


# ------------------------------------------------------------------ the phase
class PreservePhase(Phase):
    """Keep two verified copies of what SMS 2.0 Setup deletes or does not convert (one host per run)."""

    NAME = "preserve"
    DESCRIPTION = ("Keep verified copies of what SMS 2.0 Setup deletes or does not convert (PRE-08, PRE-09, PRE-18 to "
                   "PRE-25, PRE-28, PRE-29, PRE-31)")
    MODULE = PRESERVE_MODULE
    GATE_SCOPE = "host"
    GATE_REQUIRES = ("snapshot.*",)
    CHECKLIST = {
        "PRE-08": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): every copy of SMSLS.BAT (MAINCFG.BOX, NETLOGON, "
                  "REPL$, SMS_SHR) kept on the host and in the vault, verified by SHA-256 (site.smsls_bat).",
        "PRE-09": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): package definition files and MIF Entry .xnf forms "
                  "found anywhere under the SMS root (and extra sources) kept outside the SMS tree, versioned; package sources "
                  "inside the tree are manual.package_sources.",
        "PRE-18": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): the security export runs only where "
                  "sms_upgrade_preserve_sql_queries.security names the table (UNCONFIRMED); otherwise a manual item.",
        "PRE-19": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): physical disks per computer exported as CSV: "
                  "Disk_COMM and Disk_SPEC joined to the computer's name, SMSID and domain through MachineDataTable, group "
                  "keys looked up in GroupMap (KB Q133253, Q199731; UNCONFIRMED default, overridable).",
        "PRE-20": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): DATALOAD.BOX\\FILES.COL kept on the host outside "
                  "the SMS tree and in the vault.",
        "PRE-21": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): WRITEQDF .QDF files found under the SMS root or "
                  "added as an extra source kept (category query_files); query definitions exported where "
                  "sms_upgrade_preserve_sql_queries.queries names the table (UNCONFIRMED); the item rests on "
                  "manual.queries_documented.",
        "PRE-22": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): package definition files kept for re-import; "
                  "restore puts them into an import folder.",
        "PRE-23": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): custom MIF and .xnf files anywhere under the SMS "
                  "root kept outside the tree; the files waiting in the inventory and MIF queues (DELTAMIF.COL, INVENTRY.BOX, "
                  "ISVMIF.BOX, SITEREP.BOX, logon servers' LOGON.SRV queues) kept as pending_mifs (preserve.pending_mifs).",
        "PRE-24": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): SITE.SRV\\MAINCFG.BOX\\MSTEST kept; moving the "
                  "files into package sources and re-sending (KB Q200399) is manual.mstest_packages_resent; wrapper "
                  "programs stay a manual item.",
        "PRE-25": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): the Jobs table (KB Q183236) and, as supporting "
                  "detail, JobDetails exported (UNCONFIRMED columns), with the snapshot's jobs (active non-system first) in "
                  "database-summary.md.",
        "PRE-28": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): every file of NETLOGON and REPL$\\SCRIPTS with "
                  "its subfolders (the .000 originals SMS kept, KB Q121388) and SMS's own logon files kept with their "
                  "location; which account runs which script is manual.user_logon_scripts.",
        "PRE-29": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): the SMS registry keys (HKLM\\SOFTWARE\\Microsoft"
                  "\\SMS and the SMS services' keys, KB Q171338, Q139627) exported, SITECTRL.CT0 and System.map kept; the "
                  "database dumps, tempdb, log, history and restore test are the database phase's, the SMS directory tree "
                  "backup the site upgrade's.",
        "PRE-31": "Phase preserve (sms.upgrade.preserve; docs/preserve.md): site properties, senders, addresses, the outboxes' "
                  "schedule strings (their schedules and priorities are removed, KB Q263356), helper and logon servers "
                  "described from SITECTRL.CT0 (site-properties.md), with the site control file itself.",
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

    @staticmethod
    def settings(ctx, site):
        """The run's settings from the validated task options."""
        args = ctx.args
        return Settings(
            host=ctx.host, site=site, vault_root=args["vault_dir"], computer=ctx.target.computer, check_mode=ctx.check_mode,
            host_root=args["host_root"], share_map=args["share_map"], sms_root=args["sms_root"], exclude=args["exclude"],
            extra_sources=args["extra_sources"], sql_queries=args["sql_queries"], database=args["database"],
            sql_client=args["sql_client"], login_user=args["login_user"], login_password=args["login_password"],
            machine_names=tuple(ctx.machine_names))

    def run(self, ctx, hands):
        args = ctx.args
        snapshot = host_snapshot(args["snapshot_dir"], ctx.host, args["from_snapshot"])
        kinds = preserve_kinds(args["kind"], ctx.groups, snapshot)
        site = require_site(args["site_code"], snapshot, ctx.groups, args["vault_dir"], ctx.host)
        result = HostPreserve(self.settings(ctx, site), hands, iso_stamp(ctx.now)).run(
            kinds, snapshot=snapshot, from_snapshot=args["from_snapshot"])
        result.update(kinds=kinds, msg=outcome_message(result))
        if not ctx.check_mode:
            result["preservation"] = {ctx.host: result["categories"]}
        if result["problems"] and args["fail_on_problems"] and not ctx.check_mode:
            result.update(failed=True, msg="%s: %d file(s) or document(s) not preserved, everything else was preserved "
                          "and verified: %s" % (ctx.host, len(result["problems"]), problem_list(result["problems"], "source")))
        return result


PHASE = PreservePhase()
