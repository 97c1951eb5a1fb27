"""One host's vault directory while a run reads or writes it: the lock, the transfers, the stored files, the manifest.

Layout (``manifest.py`` describes the stored files and the manifest)::

    <vault>/<SITE>/<host>/.lock              held by the run that writes (flock); names it: "pid N since TIME"
    <vault>/<SITE>/<host>/.partial/<run>/    that run's transfers in progress; the next run that holds the lock
                                              removes whatever a dead run left there

A stored file is never replaced: a verified temporary file is hard-linked to its stored path or, where the file
system has no hard links, copied into a file created exclusively and read back. A stored path that already exists
is kept; it is fine only when it holds the content being stored. The manifest is saved atomically every
``CHECKPOINT_FILES`` recorded files or ``CHECKPOINT_SECONDS`` seconds and at the end, so a run that stops keeps what
verified. Pure Python: the run that uses a store reaches the host through its own hands.
"""
import contextlib
import errno
import fcntl
import os
import shutil
import time
import uuid

from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import (
    MANIFEST, PARTIAL, VaultError, VaultFiles, decide, entries_by_key, host_dir, host_manifest_text, load_manifest,
    make_private_dirs, manifest_lines, record, record_slot, save_manifest, sha256_file, verify)

LOCK = ".lock"
CHECKPOINT_FILES = 200
CHECKPOINT_SECONDS = 30
_BUSY = (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES)
# Errno values of file systems without hard links (some CIFS/NFS mounts, exFAT): the vault then copies instead.
NO_LINK = frozenset(getattr(errno, name) for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "EXDEV", "EMLINK", "ENOSYS")
                    if hasattr(errno, name))


class VaultBusy(VaultError):
    """Another run holds the host's vault directory; the message names the holder."""


class StoreError(VaultError):
    """One file could not be stored; ``cause`` is its problem cause (``transfer``, ``vault`` or ``disk_full``)."""

    def __init__(self, cause, message):
        super().__init__(message)
        self.cause = cause


def _cause(exc, otherwise):
    return "disk_full" if getattr(exc, "errno", None) == errno.ENOSPC else otherwise


class NothingPreserved(VaultError):
    """The host has no vault manifest (the preserve phase never recorded anything for it)."""


class VaultStore:
    """The vault directory of one host (``<vault>/<SITE>/<host>``) and its manifest, read when the store is made.

    Reading (a plan, a restore) needs nothing more; writing happens inside :meth:`locked`.
    """

    def __init__(self, vault_root, site, host, now, computer=None, host_root=None):
        self.site, self.host, self.now = site.upper(), host, now
        self.computer, self.host_root = computer, host_root
        self.directory = host_dir(vault_root, site, host)
        self.manifest_path = os.path.join(self.directory, MANIFEST)
        self.files = VaultFiles(self.directory)
        self.partial = None
        self.previous_open = []
        self._unsaved = 0
        self._saved_at = time.monotonic()
        self._load()

    @classmethod
    def preserved(cls, vault_root, site, host, now):
        """The store of a host the preserve phase recorded; NothingPreserved when it has no manifest."""
        path = os.path.join(host_dir(vault_root, site, host), MANIFEST)
        if not os.path.exists(path):
            raise NothingPreserved("nothing preserved for %s: no vault manifest %s (run the preserve playbook first)" % (
                host, path))
        return cls(vault_root, site, host, now)

    def _load(self):
        """Read the manifest (a new one when there is none); ``before`` keeps its lines for the diff."""
        self.manifest = load_manifest(self.manifest_path, self.site, self.host, self.computer, self.host_root)
        self.index = entries_by_key(self.manifest)
        self.before = manifest_lines(self.manifest)

    # -------------------------------------------------------------- the lock and the transfers in progress
    @contextlib.contextmanager
    def locked(self):
        """Hold ``.lock`` for the whole run, then read the manifest again: two runs of one host (two operators, two
        inventories) never interleave their copies or manifests. The lock file is never followed through a link."""
        try:
            make_private_dirs(self.directory)
            flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
            handle = os.fdopen(os.open(os.path.join(self.directory, LOCK), flags, 0o600), "r+", encoding="utf-8")
        except OSError as exc:
            raise VaultError("cannot use the vault directory %s: %s" % (self.directory, exc))
        try:
            self._take(handle)
            self._load()
            self.previous_open = list(self.manifest.get("open_problems") or [])
            self._start_partial()
            try:
                yield self
            finally:
                shutil.rmtree(self.partial, ignore_errors=True)
                self.partial = None
        finally:
            handle.close()

    def _take(self, handle):
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in _BUSY:
                raise VaultError("cannot lock the vault directory %s of %s: %s" % (self.directory, self.host, exc))
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise VaultBusy("another preserve run of %s holds its vault directory %s (%s); runs of one host never "
                            "overlap: wait for it to finish, then run again" % (self.host, self.directory, holder))
        handle.seek(0)
        handle.truncate()
        handle.write("pid %d since %s\n" % (os.getpid(), self.now))
        handle.flush()

    def _start_partial(self):
        """Transfers go to ``.partial/<run>``; what an earlier (dead) run left there is removed. Only the run holding
        the lock does this, so no other run's transfer is ever touched."""
        root = os.path.join(self.directory, PARTIAL)
        try:
            shutil.rmtree(root, ignore_errors=True)
            self.partial = os.path.join(root, uuid.uuid4().hex)
            make_private_dirs(self.partial)
        except OSError as exc:
            raise VaultError("cannot use the vault directory %s: %s" % (self.directory, exc))

    def _temporary(self):
        if self.partial is None:
            raise VaultError("the vault directory %s is written only while its lock is held" % self.directory)
        return os.path.join(self.partial, uuid.uuid4().hex)

    # -------------------------------------------------------------- stored files
    def decide(self, item, host_root, host_files):
        """The decision for one selected item against this manifest and these stored files (manifest.decide)."""
        return decide(self.manifest, item, host_root, host_files, self.files, self.index)

    def holds(self, decision):
        """True when the decision's stored file is in the vault with its size and SHA-256."""
        return self.files.matches(decision.stored, decision.sha256, decision.size)

    def read(self, decision):
        """The bytes of a decision's stored file."""
        with open(self.files.path(decision.stored), "rb") as handle:
            return handle.read()

    def path(self, stored):
        """The controller path of a stored path (checked to stay in the directory)."""
        return self.files.path(stored)

    def store_bytes(self, decision, content):
        """Store generated content (a document) at the decision's stored path; StoreError when it cannot be."""
        try:
            temp = self._temporary()
            with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
                handle.write(content)
            self.place(temp, decision)
        except (OSError, VaultError) as exc:
            raise StoreError(_cause(exc, "vault"), str(exc))

    def fetch_into(self, decision, fetch, remote):
        """Transfer ``remote`` (a verified host copy) with ``fetch(remote, local)``, check its size and SHA-256 and
        store it; StoreError names what went wrong (``transfer``: the fetch or its content; ``vault``: storing)."""
        temp = self._temporary()
        try:
            fetch(remote, temp)
            os.chmod(temp, 0o600)
            found = sha256_file(temp)
        except Exception as exc:  # a transfer failure of one file must not stop the others
            if os.path.exists(temp):
                os.unlink(temp)
            raise StoreError(_cause(exc, "transfer"), "host copy %s could not be fetched into the vault: %s" % (remote, exc))
        if found != (decision.sha256, decision.size):
            os.unlink(temp)
            raise StoreError("transfer", "the fetched copy of %s has %d bytes, SHA-256 %s; expected %d bytes, %s" % (
                remote, found[1], found[0], decision.size, decision.sha256))
        try:
            self.place(temp, decision)
        except (OSError, VaultError) as exc:
            raise StoreError(_cause(exc, "vault"), str(exc))

    def place(self, temp, decision):
        """Move a verified temporary file to the decision's stored path; an existing file is never replaced."""
        final = self.files.path(decision.stored)
        try:
            make_private_dirs(os.path.dirname(final))
            try:
                os.link(temp, final)
            except FileExistsError:
                self._same_content(final, decision)
            except OSError as exc:
                if exc.errno not in NO_LINK:
                    raise
                self._copy_exclusive(temp, final, decision)
        finally:
            if os.path.exists(temp):
                os.unlink(temp)
            self.files.forget(decision.stored)

    @staticmethod
    def _same_content(final, decision):
        """An existing stored file is kept; it is fine when it holds the content being stored."""
        if sha256_file(final) != (decision.sha256, decision.size):
            raise VaultError("%s exists with other content; it is kept and nothing is overwritten" % final)

    def _copy_exclusive(self, temp, final, decision):
        """Where hard links are not available: create the stored file exclusively, copy, check, never replace."""
        try:
            fd = os.open(final, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            self._same_content(final, decision)
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

    # -------------------------------------------------------------- the manifest
    def record(self, decision, problems):
        """Record a decision whose host copy and vault copy both verified; at a checkpoint, save the manifest with
        ``problems`` (this run's so far) open."""
        record(self.manifest, decision, self.now, index=self.index)
        self._unsaved += 1
        if self._unsaved >= CHECKPOINT_FILES or time.monotonic() - self._saved_at >= CHECKPOINT_SECONDS:
            self.save(problems)

    def adopt(self, decisions):
        """Record the verified copies an interrupted run left unrecorded (each decision's ``adopt``)."""
        for decision in decisions:
            for slot in decision.adopt:
                record_slot(self.manifest, decision.item, slot, self.now, index=self.index)
                self._unsaved += 1

    def record_exclusions(self, exclude):
        """Keep the patterns left out on purpose (per category) in the manifest."""
        self.manifest["exclude"] = {name: list(patterns) for name, patterns in sorted((exclude or {}).items()) if patterns}

    def open_problems(self, problems, covered=()):
        """What the manifest keeps open: ``problems``, and the earlier ones in categories not ``covered`` (all of
        them at a checkpoint, since the run is not finished)."""
        kept = [p for p in self.previous_open if p.get("category") not in set(covered)]
        return kept + [p for p in problems if p not in kept]

    def save(self, problems, covered=()):
        """Save the manifest atomically with its open problems (see open_problems)."""
        self.manifest["open_problems"] = self.open_problems(problems, covered)
        self.manifest["updated_at"] = self.now
        try:
            save_manifest(self.manifest_path, self.manifest)
        except OSError as exc:
            raise VaultError("cannot write the vault manifest %s: %s" % (self.manifest_path, exc))
        self._unsaved, self._saved_at = 0, time.monotonic()

    def keep_recorded(self, problems):
        """The run stops (a host-level error, an interruption): save what verified so far, as at a checkpoint."""
        if not self._unsaved:
            return
        try:
            self.save(problems)
        except VaultError:
            pass  # the error that stopped the run is the one to report

    def host_manifest(self):
        """The manifest copy kept on the host (bytes; stable fields only)."""
        return host_manifest_text(self.manifest)

    def lines(self):
        """The manifest as diff lines (see manifest.manifest_lines)."""
        return manifest_lines(self.manifest)

    def verify(self):
        """Every version of every file checked against the manifest, by category (manifest.verify)."""
        return verify(self.directory, self.manifest, self.now, self.files)
