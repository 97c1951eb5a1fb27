"""The controller vault: layout, manifest, versioning decisions and verification.

Layout (one directory per site and host)::

    <vault>/<SITE>/<host>/manifest.json
    <vault>/<SITE>/<host>/v1/<category>/<path>       first content of a file
    <vault>/<SITE>/<host>/v2/<category>/<path>       the next different content (never overwritten)
    <vault>/<SITE>/<host>/.partial/                  transfers in progress (removed at the next run)

The host copy uses the same relative layout under its root, plus ``MANIFEST.json``. A version is never
rewritten: a file whose content differs from every recorded version gets the next free version number; a
content seen before becomes current again without a new copy. The manifest records, per file, its category,
vault path, source and every version (stored path, size, SHA-256, source time, when it was preserved and when
the host copy was last verified). It is replaced atomically, so an interrupted run leaves either the old or the
new manifest; copies made before the interruption are found again (same stored path, same hash) and not
transferred twice.
"""
import hashlib
import json
import os
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import (
    UnsafePath, check_sha256, controller_join, fold, source_key, stored_path, vault_relpath)
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import host_name_problem

SCHEMA = "sms.upgrade.vault-manifest"
SCHEMA_VERSION = "1.0"
MANIFEST = "manifest.json"
HOST_MANIFEST = "MANIFEST.json"
PARTIAL = ".partial"
_SITE = re.compile(r"^[A-Za-z0-9]{3}$")
_CHUNK = 1024 * 1024

Decision = namedtuple("Decision", ["item", "kind", "version", "stored", "size", "sha256", "need_host_copy",
                                   "need_vault_copy", "note", "adopt"])
Decision.__new__.__defaults__ = ((),)
Slot = namedtuple("Slot", ["version", "stored", "size", "sha256"])


class VaultError(RuntimeError):
    """The vault cannot be used: bad site or host name, unreadable or malformed manifest, unwritable directory."""


def sha256_file(path):
    """SHA-256 and size of a controller file."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def host_dir(vault_root, site, host):
    """``<vault>/<SITE>/<host>``; the site code and host name are checked so that neither escapes the vault."""
    if not isinstance(site, str) or not _SITE.match(site):
        raise VaultError("site code %r is not three letters or digits" % (site,))
    why = host_name_problem(host) if isinstance(host, str) else "is not a string"
    if why:
        raise VaultError("host name %r cannot be a vault directory: it %s" % (host, why))
    return os.path.join(vault_root, site.upper(), host)


def hosted_sites(vault_root, host):
    """Site codes under which ``host`` has a manifest in the vault (sorted)."""
    if not vault_root or not os.path.isdir(vault_root):
        return []
    return sorted(site for site in os.listdir(vault_root)
                  if _SITE.match(site) and os.path.isfile(os.path.join(vault_root, site, host, MANIFEST)))


def new_manifest(site, host, computer, host_root):
    return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "site": site.upper(), "host": host,
            "computer": computer, "host_root": host_root, "updated_at": None, "entries": [], "open_problems": []}


def _entry_problems(entry, index):
    where = "entry #%d" % (index + 1)
    problems = []
    try:
        vault_relpath(entry["category"], "category")
        vault_relpath(entry["path"])
        versions = entry["versions"]
        if not isinstance(versions, list) or not versions:
            raise ValueError("has no versions")
        numbers = [v["version"] for v in versions]
        if numbers != sorted(set(numbers)) or not all(isinstance(n, int) and n > 0 for n in numbers):
            raise ValueError("versions %r are not distinct ascending numbers" % numbers)
        for version in versions:
            vault_relpath(version["stored"], "stored path")
            check_sha256(version["sha256"], "%s v%s" % (entry["path"], version["version"]))
            if not isinstance(version["size"], int) or version["size"] < 0:
                raise ValueError("v%s size %r is not a byte count" % (version["version"], version["size"]))
        if entry.get("current") not in numbers:
            raise ValueError("current version %r is not one of %r" % (entry.get("current"), numbers))
    except (KeyError, TypeError) as exc:
        problems.append("%s: missing or malformed field %s" % (where, exc))
    except (UnsafePath, ValueError) as exc:
        problems.append("%s (%s): %s" % (where, entry.get("path") if isinstance(entry, dict) else entry, exc))
    return problems


def _extra_problems(manifest):
    """Problems of the manifest's lists besides its entries (the last run's open problems, its exclusions)."""
    problems = []
    opened = manifest.get("open_problems", [])
    if not isinstance(opened, list) or not all(
            isinstance(item, dict) and all(isinstance(item.get(k), str) for k in ("category", "source", "message", "cause"))
            for item in opened):
        problems.append("'open_problems' is not a list of problems (category, source, message, cause)")
    exclude = manifest.get("exclude") or {}
    if not isinstance(exclude, dict) or not all(isinstance(k, str) and isinstance(v, list) for k, v in exclude.items()):
        problems.append("'exclude' is not a mapping of category to patterns")
    return problems


def load_manifest(path, site, host, computer=None, host_root=None):
    """Read a host's manifest, or start a new one when there is none.

    A manifest that cannot be read or does not match the expected structure, site or host raises VaultError
    naming the file and the cause; it is never replaced silently.
    """
    if not os.path.exists(path):
        return new_manifest(site, host, computer, host_root)
    try:
        with open(path, encoding="utf-8") as handle:
            manifest = json.load(handle)
    except (OSError, ValueError) as exc:
        raise VaultError("vault manifest %s is unreadable (%s); move it aside and run the preserve phase again: it "
                         "records each source's current content again, and an earlier version only where the same file "
                         "is found on the host and in the vault in the slot the new content needs; other copies stay in "
                         "the vault directory, unrecorded" % (path, exc))
    if not isinstance(manifest, dict) or manifest.get("schema") != SCHEMA or \
            str(manifest.get("schema_version", "")).split(".", maxsplit=1)[0] != "1":
        raise VaultError("%s is not a vault manifest of schema %s 1.x" % (path, SCHEMA))
    if manifest.get("site") != site.upper() or manifest.get("host") != host:
        raise VaultError("%s belongs to %s/%s, not %s/%s" % (
            path, manifest.get("site"), manifest.get("host"), site.upper(), host))
    if not isinstance(manifest.get("entries"), list):
        raise VaultError("%s: 'entries' is not a list" % path)
    problems = [p for index, entry in enumerate(manifest["entries"]) for p in _entry_problems(entry, index)]
    problems += _extra_problems(manifest)
    if problems:
        raise VaultError("vault manifest %s is malformed: %s" % (path, "; ".join(problems[:5])))
    manifest.setdefault("open_problems", [])
    if computer:
        manifest["computer"] = computer
    if host_root:
        manifest["host_root"] = host_root
    return manifest


def dump_manifest(document):
    """Stable JSON with one entry per line: readable and diffable, and fast for tens of thousands of files."""
    head = dict(document)
    entries = head.pop("entries")
    text = json.dumps(head, indent=1, sort_keys=True)
    body = ",\n".join("  " + json.dumps(entry, sort_keys=True) for entry in entries)
    return text[:-2] + ',\n "entries": [\n%s\n ]\n}\n' % body if entries else text[:-2] + ',\n "entries": []\n}\n'


def save_manifest(path, manifest):
    """Replace the manifest atomically (sorted, stable JSON)."""
    manifest["entries"].sort(key=lambda e: (e["category"], e["path"].upper()))
    replace_atomically(path, dump_manifest(manifest))


def manifest_lines(manifest):
    """One line per version, ``*`` marking the current one: what ``--diff`` shows of a manifest."""
    lines = []
    for entry in sorted(manifest["entries"], key=lambda e: (e["category"], e["path"].upper())):
        for version in entry["versions"]:
            lines.append("%s%s/%s v%d %d bytes sha256 %s" % (
                "*" if version["version"] == entry["current"] else " ", entry["category"], entry["path"],
                version["version"], version["size"], version["sha256"]))
    return lines


def entry_key(category, relative):
    return (category, fold(relative))


def entries_by_key(manifest):
    return {entry_key(e["category"], e["path"]): e for e in manifest["entries"]}


def current_version(entry):
    return next(v for v in entry["versions"] if v["version"] == entry["current"])


def make_private_dirs(path):
    """Create ``path`` and its missing parents readable by the owner only (0700): the vault holds site control files,
    the SMS registry and collected files."""
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        os.chmod(directory, 0o700)


class VaultFiles:
    """Hashes of the files of one host's vault directory, computed once per run."""

    def __init__(self, directory):
        self.directory = directory
        self._cache = {}
        self._dirs = {}
        self._real = os.path.realpath(directory)

    def path(self, stored):
        return controller_join(self.directory, stored)

    def _inside(self, path):
        """The file (not a link) and its directory resolve inside the vault directory (directories cached)."""
        parent = os.path.dirname(path)
        if parent not in self._dirs:
            real = os.path.realpath(parent)
            self._dirs[parent] = os.path.commonpath([real, self._real]) == self._real
        return self._dirs[parent] and not os.path.islink(path)

    def digest(self, stored):
        """``(sha256, size)`` of a stored file, or None when it is absent."""
        if stored not in self._cache:
            path = self.path(stored)
            if not self._inside(path):
                raise VaultError("%s resolves outside the vault directory %s" % (path, self.directory))
            self._cache[stored] = sha256_file(path) if os.path.isfile(path) else None
        return self._cache[stored]

    def forget(self, stored):
        self._cache.pop(stored, None)

    def matches(self, stored, sha256, size):
        found = self.digest(stored)
        return found is not None and found == (sha256, size)


def _slot_taken(stored, sha256, host_files, vault_files):
    """A stored path already holding a different content (left by an interrupted run) is not reused."""
    held = (host_files or {}).get(fold(stored))
    if held and held.get("sha256") != sha256:
        return True
    found = vault_files.digest(stored)
    return found is not None and found[0] != sha256


def _verified_slot(number, stored, host_files, vault_files):
    """The content a slot holds when its host copy and its vault copy are the same file (an interrupted run copied
    and fetched it but never recorded it): a ``Slot`` to record as a version, else None."""
    held = (host_files or {}).get(fold(stored))
    found = vault_files.digest(stored)
    if held and found and held.get("sha256") == found[0] and held.get("size") == found[1]:
        return Slot(number, stored, found[1], found[0])
    return None


def decide(manifest, item, host_root, host_files, vault_files, index=None):
    """The decision for one selected item (``Item`` of selection.py, with a sha256 and size).

    ``host_files`` maps stored paths (``paths.fold``) under the host root to ``{size, sha256}`` (None when the host
    copy is unknown, e.g. a plan from a snapshot). Kinds: ``new`` (first version), ``changed`` (a new version),
    ``reverted`` (an earlier version is current again), ``unchanged``, ``unknown`` (no hash to compare).
    ``index`` is ``entries_by_key(manifest)``, built once by callers that decide many items.
    """
    entry = (index if index is not None else entries_by_key(manifest)).get(entry_key(item.category, item.relative))
    if item.sha256 is None:
        version = entry["current"] if entry else 1
        stored = current_version(entry)["stored"] if entry else stored_path(1, item.category, item.relative, host_root)
        return Decision(item, "unknown", version, stored, item.size, None, host_files is None, True,
                        "no SHA-256 in the snapshot")
    sha = check_sha256(item.sha256, item.source)
    note = None
    if entry:
        same = [v for v in entry["versions"] if v["sha256"] == sha and v["size"] == item.size]
        if same:
            version = same[-1]
            kind = "unchanged" if version["version"] == entry["current"] else "reverted"
            number, stored = version["version"], version["stored"]
        else:
            kind, number = "changed", max(v["version"] for v in entry["versions"]) + 1
            stored = None
    else:
        kind, number, stored = "new", 1, None
    adopt = []
    if stored is None:
        stored = stored_path(number, item.category, item.relative, host_root)
        while _slot_taken(stored, sha, host_files, vault_files):
            slot = _verified_slot(number, stored, host_files, vault_files)
            if slot:
                adopt.append(slot)
                note = "v%d holds a verified copy an interrupted run did not record; it is recorded as v%d, this " \
                    "content becomes v%d" % (number, number, number + 1)
            else:
                note = "v%d holds an unrecorded copy from an interrupted run; kept, this content becomes v%d" % (
                    number, number + 1)
            number += 1
            stored = stored_path(number, item.category, item.relative, host_root)
        if kind == "new" and adopt:
            kind = "changed"
    if host_files is None:
        need_host = True
    else:
        held = host_files.get(fold(stored))
        need_host = not (held and held.get("sha256") == sha and held.get("size") == item.size)
    need_vault = not vault_files.matches(stored, sha, item.size)
    return Decision(item, kind, number, stored, item.size, sha, need_host, need_vault, note, tuple(adopt))


def record(manifest, decision, now, host_verified=True, index=None):
    """Record a decision whose host copy and vault copy are both verified (``index`` as for decide, kept current)."""
    item = decision.item
    entries = index if index is not None else entries_by_key(manifest)
    entry = entries.get(entry_key(item.category, item.relative))
    if entry is None:
        entry = {"category": item.category, "path": item.relative, "source": item.source, "versions": [],
                 "current": decision.version}
        manifest["entries"].append(entry)
        entries[entry_key(item.category, item.relative)] = entry
    entry["source"] = item.source
    version = next((v for v in entry["versions"] if v["version"] == decision.version), None)
    if version is None:
        version = {"version": decision.version, "stored": decision.stored, "size": decision.size,
                   "sha256": decision.sha256, "source": item.source, "source_modified": item.modified, "preserved_at": now}
        entry["versions"].append(version)
        entry["versions"].sort(key=lambda v: v["version"])
    if host_verified:
        version["host_verified_at"] = now
    entry["current"] = decision.version
    return entry


def record_slot(manifest, item, slot, now, index=None):
    """Record a verified slot found on both sides (``Slot`` of decide's ``adopt``) as a version of ``item``'s file.

    It becomes the current version only when the file had none; the decision that found it records its own content
    as the next version.
    """
    entries = index if index is not None else entries_by_key(manifest)
    key = entry_key(item.category, item.relative)
    entry = entries.get(key)
    if entry is None:
        entry = {"category": item.category, "path": item.relative, "source": item.source, "versions": [],
                 "current": slot.version}
        manifest["entries"].append(entry)
        entries[key] = entry
    if any(v["version"] == slot.version for v in entry["versions"]):
        return entry
    entry["versions"].append({"version": slot.version, "stored": slot.stored, "size": slot.size, "sha256": slot.sha256,
                              "source": item.source, "source_modified": None, "preserved_at": now,
                              "host_verified_at": now, "note": "found on the host and in the vault after an interrupted run"})
    entry["versions"].sort(key=lambda v: v["version"])
    return entry


def host_manifest_text(manifest):
    """The manifest copy kept on the host: stable fields only, so an unchanged vault gives the same bytes."""
    entries = []
    for entry in sorted(manifest["entries"], key=lambda e: (e["category"], e["path"].upper())):
        entries.append({"category": entry["category"], "path": entry["path"], "source": entry["source"],
                        "current": entry["current"],
                        "versions": [{k: v[k] for k in ("version", "stored", "size", "sha256", "preserved_at")}
                                     for v in entry["versions"]]})
    document = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "site": manifest["site"], "host": manifest["host"],
                "computer": manifest.get("computer"), "entries": entries}
    return dump_manifest(document).replace("\n", "\r\n").encode("utf-8")


def _category(result, name, now, exclude):
    if name not in result:
        result[name] = {"verified": True, "files": 0, "bytes": 0, "verified_at": now, "host_verified_at": None,
                        "problems": [], "sources": {}, "exclude": list(exclude.get(name) or []), "names": []}
    return result[name]


def verify(directory, manifest, now, vault_files=None):
    """Check every version of every file in the vault against the manifest.

    Returns ``{category: {verified, files, bytes, verified_at, host_verified_at, problems, sources, exclude}}``:

    - ``files``/``bytes`` count the current versions that verify; ``host_verified_at`` is the oldest time a
      preserve run verified one of their host copies;
    - ``sources`` maps each source (``windows_key``) to the SHA-256 of every version that verifies in the vault and
      whose host copy was verified: the per-file evidence the readiness rules match the snapshot against;
    - ``exclude`` the patterns the last preserve run left out on purpose (``sms_upgrade_preserve_exclude``);
    - ``names`` the vault paths of the current versions that verify (what the documents' rule names).

    A category is verified when every version of every file is in the vault with the recorded size and SHA-256,
    the current versions' host copies were verified, and the last run left no open problem in that category.
    """
    vault_files = vault_files or VaultFiles(directory)
    exclude = manifest.get("exclude") or {}
    result = {}
    for name in exclude:
        _category(result, name, now, exclude)
    for entry in manifest["entries"]:
        category = _category(result, entry["category"], now, exclude)
        for version in entry["versions"]:
            current = version["version"] == entry["current"]
            try:
                ok = vault_files.matches(version["stored"], version["sha256"], version["size"])
            except (OSError, VaultError, UnsafePath) as exc:
                ok, why = False, str(exc)
            else:
                why = "missing or different in the vault (expected %d bytes, SHA-256 %s)" % (version["size"], version["sha256"])
            if not ok:
                label = "" if current else " (an earlier version)"
                category["problems"].append("%s v%d%s: %s" % (entry["path"], version["version"], label, why))
                continue
            if not version.get("host_verified_at"):
                if current:
                    category["problems"].append("%s v%d: the host copy was never verified" % (entry["path"], version["version"]))
                continue
            held = category["sources"].setdefault(source_key(version.get("source") or entry["source"]), [])
            if version["sha256"] not in held:
                held.append(version["sha256"])
            if current:
                category["files"] += 1
                category["bytes"] += version["size"]
                category["names"].append(entry["path"])
                if category["host_verified_at"] is None or version["host_verified_at"] < category["host_verified_at"]:
                    category["host_verified_at"] = version["host_verified_at"]
    for item in manifest.get("open_problems") or []:
        category = _category(result, item["category"], now, exclude)
        category["problems"].append("%s: %s (%s)" % (item["source"], item["message"], item["cause"]))
    for category in result.values():
        category["verified"] = not category["problems"]
    return result


def preservation(vault_root, now, hosts=None):
    """``{host: {category: {verified, files, bytes, verified_at, problems}}}`` for every manifest in the vault.

    This is what readiness_report's ``preservation`` option takes. ``hosts`` limits the result. A manifest that
    cannot be read gives its host a ``vault`` pseudo-category that is not verified, naming the cause.
    """
    result = {}
    if not vault_root or not os.path.isdir(vault_root):
        return result
    for site in sorted(os.listdir(vault_root)):
        site_dir = os.path.join(vault_root, site)
        if not _SITE.match(site) or not os.path.isdir(site_dir):
            continue
        for host in sorted(os.listdir(site_dir)):
            directory = os.path.join(site_dir, host)
            path = os.path.join(directory, MANIFEST)
            if (hosts is not None and host not in hosts) or not os.path.isfile(path):
                continue
            try:
                manifest = load_manifest(path, site, host)
                result.setdefault(host, {}).update(verify(directory, manifest, now))
            except (VaultError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
                # one host's odd manifest fails that host by name, never the fleet's report
                why = str(exc) if isinstance(exc, VaultError) else "vault manifest %s is malformed (%s: %s)" % (
                    path, type(exc).__name__, exc)
                result.setdefault(host, {})["vault"] = {"verified": False, "files": 0, "bytes": 0, "verified_at": now,
                                                        "host_verified_at": None, "problems": [why], "sources": {},
                                                        "exclude": [], "names": []}
    return result
