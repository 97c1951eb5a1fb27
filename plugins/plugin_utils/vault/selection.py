"""What the preserve phase keeps: files of the SMS tree by category, with their path inside the vault.

The input is an ``sms_tree`` as in a site_server snapshot (``{category: [{path, size, sha256, modified,
location?}]}``), from the saved snapshot (check-mode plan) or from the live listing the preserve module
returns (same builder as the gather). Categories, base directories and exclusions come from
``data/preserve.yml`` and the task's overrides.
"""
import fnmatch
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import (
    UnsafePath, check_segments, fold, qualified_segments, relative_to, split_source, windows_key)

Item = namedtuple("Item", ["category", "relative", "source", "size", "sha256", "modified"])

PROBLEM_CAUSES = ("unsafe_name", "duplicate", "not_found", "access_denied", "locked", "disk_full", "path_too_long",
                  "changed", "conflict", "transfer", "vault", "unreachable", "timeout", "other")


def preserve_data():
    """The parsed ``data/preserve.yml``."""
    return read_yaml("preserve.yml")


def problem(category, source, cause, message):
    """One per-file problem: what, where, why."""
    return {"category": category, "source": source, "cause": cause if cause in PROBLEM_CAUSES else "other",
            "message": message}


def _name(path):
    return path.replace("/", "\\").rstrip("\\").rsplit("\\", 1)[-1]


def is_excluded(record, patterns):
    """True when a file record matches one of ``patterns`` (file name or full path, case-insensitive)."""
    if not isinstance(record.get("path"), str):
        return False
    name, path = fold(_name(record["path"])), fold(record["path"])
    return any(fnmatch.fnmatchcase(name, fold(p)) or fnmatch.fnmatchcase(path, fold(p)) for p in patterns)


def _base(spec, sms_root):
    base = spec.get("base")
    if not base:
        return None
    if "%SMS_ROOT%" in base.upper():
        if not sms_root:
            return None
        base = base.replace("%SMS_ROOT%", sms_root.rstrip("\\"))
    return base


def _preferred(record, spec, base):
    if spec.get("by_location"):
        return [record.get("location") or "other", _name(record["path"])]
    if base:
        below = relative_to(record["path"], base)
        if below:
            return below
    return qualified_segments(record["path"])


def select_files(tree, sms_root=None, exclude=None, data=None):
    """Return ``(items, problems)`` for every file of every category of ``tree``.

    ``exclude`` maps a category to file name or path patterns (case-insensitive) left out on purpose. A source
    listed twice (same path, any case) is kept once. When two sources would land on the same vault path
    (Windows compares names without case), the later one keeps its drive-qualified path instead. A name that
    cannot be held safely (device name, ``..``, characters Windows refuses) is refused with a problem.
    """
    data = data or preserve_data()
    exclude = exclude or {}
    unknown = sorted(set(exclude) - set(data["categories"]))
    if unknown:
        raise ValueError("exclude names unknown categories: %s (known: %s)" % (
            ", ".join(unknown), ", ".join(sorted(data["categories"]))))
    items, problems, seen_sources, taken = [], [], set(), {}
    for category, spec in data["categories"].items():
        base = _base(spec, sms_root)
        for record in tree.get(category) or []:
            source = record.get("path")
            if is_excluded(record, exclude.get(category, [])):
                continue
            try:
                key = windows_key(source)
                split_source(source)
            except UnsafePath as exc:
                problems.append(problem(category, source, "unsafe_name", str(exc)))
                continue
            if key in seen_sources:
                continue
            seen_sources.add(key)
            try:
                candidates = [_preferred(record, spec, base), qualified_segments(source)]
                if spec.get("by_location"):
                    candidates[1] = [record.get("location") or "other"] + candidates[1]
                relative = None
                for segments in candidates:
                    text = "/".join(check_segments(segments, "vault path of %s" % source))
                    if (category, fold(text)) not in taken:
                        relative = text
                        break
            except UnsafePath as exc:
                problems.append(problem(category, source, "unsafe_name", "refused: %s" % exc))
                continue
            if relative is None:
                problems.append(problem(category, source, "duplicate", "refused: %s has the same vault path as %s" % (
                    source, taken[(category, fold(text))])))
                continue
            taken[(category, fold(relative))] = source
            items.append(Item(category, relative, source, record.get("size"), record.get("sha256"),
                              record.get("modified")))
    return items, problems


def extra_file_sets(extra_sources, data=None):
    """Validate ``sms_upgrade_preserve_extra_sources`` and return them as file sets for the listing.

    Each entry: ``{category, path, include (default ['*']), recurse (default true)}``; ``category`` must be a
    file category of preserve.yml (custom package definition file folders go to package_definition_files).
    """
    data = data or preserve_data()
    sets = []
    for index, entry in enumerate(extra_sources or []):
        where = "extra source #%d" % (index + 1)
        if not isinstance(entry, dict) or not entry.get("path") or not entry.get("category"):
            raise ValueError("%s: needs 'category' and 'path' (got %r)" % (where, entry))
        if entry["category"] not in data["categories"] or data["categories"][entry["category"]].get("by_location"):
            raise ValueError("%s: category %r is not one of %s" % (where, entry["category"], ", ".join(
                c for c, s in data["categories"].items() if not s.get("by_location"))))
        if "%" not in entry["path"]:
            split_source(entry["path"])
        include = entry.get("include", ["*"])
        if isinstance(include, str):
            include = [include]
        sets.append({"name": entry["category"], "path": entry["path"], "include": list(include),
                     "recurse": bool(entry.get("recurse", True))})
    return sets
