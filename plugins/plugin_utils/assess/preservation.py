"""Per-file evidence for the readiness rules: does the vault hold, verified, the content the snapshot lists?

The preserve phase selects files with :func:`selection.select_files` and the exclusions the run recorded in the
vault manifest. The readiness rules make the same selection over the snapshot's ``sms_tree`` and, for every
selected file, look for a vault version of that source whose SHA-256 is the snapshot's and which verified (in the
vault, hashed again by ``vault_verify``, and on the host, when the preserve run copied it). A count is never enough:
a file that arrived or changed after the preserve run has no such version.
"""
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import source_key
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import is_excluded, preserve_data, select_files

Evidence = namedtuple("Evidence", ["verified", "missing", "changed", "unhashed", "excluded", "refused", "problems"])


def match_files(category, files, record, sms_root=None, data=None):
    """Sort the snapshot's ``files`` of one category by what the vault proves about each.

    ``record`` is the host's preservation record of the category (``vault.verify``): ``sources`` maps a source key
    to the SHA-256 values of its verified versions, ``exclude`` the patterns the last preserve run left out on
    purpose, ``problems`` what does not verify. Returns an :class:`Evidence` whose lists hold the snapshot records
    (``refused`` holds selection problems: names the phase refuses to copy).
    """
    data = data or preserve_data()
    record = record or {}
    patterns = list(record.get("exclude") or [])
    excluded = [f for f in files if is_excluded(f, patterns)]
    kept = [f for f in files if not is_excluded(f, patterns)]
    if category in data["categories"]:
        items, refused = select_files({category: kept}, sms_root, None, data)
        selected, unique = {source_key(item.source) for item in items}, []
        for entry in kept:
            key = source_key(entry.get("path"))
            if key in selected:
                selected.discard(key)
                unique.append(entry)
        kept = unique
    else:
        refused = []
    sources = record.get("sources") or {}
    verified, missing, changed, unhashed = [], [], [], []
    for entry in kept:
        held = sources.get(source_key(entry.get("path")))
        if not entry.get("sha256"):
            unhashed.append(entry)
        elif held and entry["sha256"].lower() in held:
            verified.append(entry)
        elif held:
            changed.append(entry)
        else:
            missing.append(entry)
    return Evidence(verified, missing, changed, unhashed, excluded, refused, list(record.get("problems") or []))


def complete(evidence):
    """True when every selected file has a verified copy of the snapshot's content and nothing else is open."""
    return not (evidence.missing or evidence.changed or evidence.unhashed or evidence.refused or evidence.problems)


def _names(records, limit=5):
    paths = [r.get("path") if isinstance(r, dict) and "path" in r else r.get("source") for r in records]
    shown = ", ".join(str(p) for p in paths[:limit])
    return shown + (" and %d more" % (len(paths) - limit) if len(paths) > limit else "")


def describe(evidence):
    """The parts of a readiness message: what is missing, changed, unprovable, refused, open, left out."""
    parts = []
    if evidence.missing:
        parts.append("%d with no copy in the vault (%s)" % (len(evidence.missing), _names(evidence.missing)))
    if evidence.changed:
        parts.append("%d changed since they were preserved: the vault has no version with the snapshot's SHA-256 (%s)"
                     % (len(evidence.changed), _names(evidence.changed)))
    if evidence.unhashed:
        parts.append("%d without a SHA-256 in the snapshot, so no copy can be matched (%s; gather again with hashing)"
                     % (len(evidence.unhashed), _names(evidence.unhashed)))
    if evidence.refused:
        parts.append("%d refused by the preserve phase (%s); copy them by hand and confirm in the answers file" % (
            len(evidence.refused), "; ".join("%s: %s" % (p["source"], p["message"]) for p in evidence.refused[:3])))
    if evidence.problems:
        parts.append("open in the vault: %s" % "; ".join(evidence.problems[:3])[:500])
    return parts


def excluded_note(evidence):
    """`` N left out on purpose (sms_upgrade_preserve_exclude): a, b`` or an empty string."""
    if not evidence.excluded:
        return ""
    return "; %d left out on purpose by sms_upgrade_preserve_exclude (%s)" % (len(evidence.excluded), _names(evidence.excluded))
