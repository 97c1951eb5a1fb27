"""Restore from the vault: which files, which version, where they go, and what happens to what is there.

The controller decides everything; the remote side hashes the targets, then writes each file only when the target
still is what it hashed (compare-and-set). A target that exists with other content is replaced only with
``overwrite``, and then kept next to it as ``<name>.before-restore-<time>`` (never deleted).
"""
import fnmatch
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import (
    UnsafePath, check_segments, fold, split_source, vault_relpath, windows_key)
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.causes import cause_of_message
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.base import Phase
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.hostinfo import host_snapshot, problem_list, require_site
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import VaultFiles
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.store import VaultStore

Restore = namedtuple("Restore", ["category", "path", "version", "stored", "size", "sha256", "target"])
LAYOUTS = ("tree", "flat")


class RestoreError(ValueError):
    """The selection cannot be restored as asked (the message says which file and why)."""


def select(manifest, patterns, version=None):
    """``[(entry, version record)]`` for every entry whose ``category/path`` matches one of ``patterns``.

    Patterns are shell patterns, case-insensitive (``package_definition_files/*``, ``logon_scripts/netlogon/SMSLS.BAT``).
    A pattern that matches nothing, or a ``version`` that a selected file does not have, is an error.
    """
    if not patterns:
        raise RestoreError("select names no file: give patterns such as package_definition_files/* or logon_scripts/*")
    chosen, unmatched = [], []
    for pattern in patterns:
        hits = [e for e in manifest["entries"]
                if fnmatch.fnmatchcase(fold("%s/%s" % (e["category"], e["path"])), fold(pattern))]
        if not hits:
            unmatched.append(pattern)
        chosen += [e for e in hits if e not in chosen]
    if unmatched:
        categories = sorted({e["category"] for e in manifest["entries"]})
        raise RestoreError("no preserved file matches %s (categories in the vault of %s: %s)" % (
            ", ".join(repr(p) for p in unmatched), manifest["host"], ", ".join(categories) or "none"))
    selected = []
    for entry in chosen:
        wanted = entry["current"] if version is None else version
        record = next((v for v in entry["versions"] if v["version"] == wanted), None)
        if record is None:
            raise RestoreError("%s/%s has no version %s (versions: %s)" % (
                entry["category"], entry["path"], wanted, ", ".join(str(v["version"]) for v in entry["versions"])))
        selected.append((entry, record))
    return selected


def target_for(entry, dest=None, layout="tree"):
    """Where a file goes: its original source path, or ``dest`` + its vault path (``tree``) or its name (``flat``)."""
    relative = vault_relpath(entry["path"])
    if dest is None:
        try:
            split_source(entry["source"])
        except UnsafePath:
            raise RestoreError("%s/%s was generated (%s) and has no original location: give dest" % (
                entry["category"], entry["path"], entry["source"]))
        return entry["source"]
    if layout not in LAYOUTS:
        raise RestoreError("layout %r is not one of %s" % (layout, ", ".join(LAYOUTS)))
    anchor, segments = split_source(dest)
    check_segments(segments or ["x"], "dest %r" % dest)
    base = dest.rstrip("\\/").replace("/", "\\")
    tail = relative.replace("/", "\\") if layout == "tree" else relative.rsplit("/", 1)[-1]
    return base + "\\" + tail


# Categories that configure a running SMS 1.2 site: put back where they came from only when asked explicitly.
LIVE_CONFIGURATION = ("site_control_files",)


def plan(manifest, patterns, vault_dir, version=None, dest=None, layout="tree", allow_site_control=False):
    """``(restores, problems)``: each selected file with its target, after checking its vault copy.

    A vault copy that does not match the manifest is not restored (a problem names it); two files that would land on
    the same target are refused. SITECTRL.CT0 and System.map go back to their original location (over the
    configuration of a site that may still be running) only with ``allow_site_control``; under ``dest`` they are
    restored like any file.
    """
    vault = VaultFiles(vault_dir)
    restores, problems, targets = [], [], {}
    for entry, record in select(manifest, patterns, version):
        name = "%s/%s v%d" % (entry["category"], entry["path"], record["version"])
        target = target_for(entry, dest, layout)
        if dest is None and entry["category"] in LIVE_CONFIGURATION and not allow_site_control:
            problems.append({"file": name, "target": target, "cause": "refused", "message": (
                "not restored: %s would replace the site configuration at %s, which a running SMS site uses; restore it "
                "under dest, or set allow_site_control (restore_allow_site_control=true) to put it back there" % (
                    name, target))})
            continue
        key = windows_key(target)
        if key in targets:
            raise RestoreError("%s and %s would both be restored to %s: use layout tree or restore them apart" % (
                targets[key], name, target))
        targets[key] = name
        if not vault.matches(record["stored"], record["sha256"], record["size"]):
            problems.append({"file": name, "target": target, "cause": "vault",
                             "message": "the vault copy %s does not match the manifest; it is not restored" % record["stored"]})
            continue
        restores.append(Restore(entry["category"], entry["path"], record["version"], record["stored"], record["size"],
                                record["sha256"], target))
    return restores, problems


def backup_name(target, stamp):
    """``<target>.before-restore-<stamp>`` with a filesystem-safe stamp."""
    return "%s.before-restore-%s" % (target, re.sub(r"[^0-9A-Za-z]", "", stamp))


def decide(restores, states, overwrite, stamp):
    """Per file: ``create``, ``unchanged`` or ``replace`` (only with overwrite), from the targets' states.

    ``states`` maps target keys to ``{exists, size, sha256}`` as the remote side hashed them. Returns
    ``(actions, problems)``; an action is ``(restore, kind, expected sha256 of the target or None, backup or None)``.
    """
    actions, problems = [], []
    for item in restores:
        state = states.get(windows_key(item.target)) or {}
        if state.get("error"):
            problems.append({"file": "%s/%s" % (item.category, item.path), "target": item.target,
                             "cause": state["error"].get("cause", "other"), "message": state["error"].get("message")})
        elif not state.get("exists"):
            actions.append((item, "create", None, None))
        elif state.get("sha256") == item.sha256:
            actions.append((item, "unchanged", item.sha256, None))
        elif overwrite:
            actions.append((item, "replace", state.get("sha256"), backup_name(item.target, stamp)))
        else:
            problems.append({"file": "%s/%s" % (item.category, item.path), "target": item.target, "cause": "conflict",
                             "message": "%s exists with other content (SHA-256 %s); set overwrite to replace it (it is kept "
                                        "as %s)" % (item.target, state.get("sha256"), backup_name(item.target, stamp))})
    return actions, problems


def diff(actions, states):
    """Before/after text of the targets (what --diff shows)."""
    before, after = [], []
    for item, kind, _expected, backup in actions:
        if kind == "unchanged":
            continue
        state = states.get(windows_key(item.target)) or {}
        before.append("%s: %s" % (item.target, "absent" if not state.get("exists") else "%s bytes, SHA-256 %s" % (
            state.get("size"), state.get("sha256"))))
        after.append("%s: %s bytes, SHA-256 %s (vault %s/%s v%d)%s" % (
            item.target, item.size, item.sha256, item.category, item.path, item.version,
            "; previous file kept as %s" % backup if backup else ""))
    return {"before": "\n".join(before) + ("\n" if before else ""), "after": "\n".join(after) + ("\n" if after else "")}


# ------------------------------------------------------------------ the phase
class RestorePhase(Phase):
    """Put chosen files back from the preserve vault (after the upgrade; never deletes anything)."""

    NAME = "restore"
    DESCRIPTION = "Put chosen files back from the preserve vault (after the upgrade)"
    MODULE = "sms.upgrade.restore_files"
    GATE_SCOPE = "host"
    GATE_REQUIRES = ()
    CHECKLIST = {}
    OPTIONS = {
        "vault_dir": {"type": "path", "required": True},
        "select": {"type": "list", "elements": "str", "required": True},
        "site_code": {"type": "str"},
        "version": {"type": "int"},
        "dest": {"type": "str"},
        "layout": {"type": "str", "default": "tree", "choices": list(LAYOUTS)},
        "overwrite": {"type": "bool", "default": False},
        "share_map": {"type": "dict", "default": {}},
        "snapshot_dir": {"type": "path"},
        "allow_site_control": {"type": "bool", "default": False},
    }
    MODULE_OPTIONS = ("share_map",)
    SET_BY_ACTION = ("mode", "files")

    def run(self, ctx, hands):
        args = ctx.args
        site = require_site(args["site_code"], host_snapshot(args["snapshot_dir"], ctx.host), ctx.groups, args["vault_dir"],
                            ctx.host)
        vault = VaultStore.preserved(args["vault_dir"], site, ctx.host, iso_stamp(ctx.now))
        restores, problems = plan(vault.manifest, args["select"], vault.directory, args["version"], args["dest"],
                                  args["layout"], args["allow_site_control"])
        states = self._target_states(ctx, hands, restores)
        actions, refused = decide(restores, states, args["overwrite"], vault.now)
        problems += refused
        to_write = [a for a in actions if a[1] != "unchanged"]
        result = {"changed": bool(to_write), "diff": diff(actions, states), "problems": problems, "restored": [],
                  "files": [{"category": r.category, "path": r.path, "version": r.version, "target": r.target,
                             "size": r.size, "action": kind, "backup": backup} for r, kind, _expected, backup in actions]}
        if to_write and not ctx.check_mode:
            result["restored"], write_problems = self._write(ctx, hands, to_write, vault)
            problems += write_problems
            result["changed"] = any(item["status"] == "copied" for item in result["restored"])
        if problems:
            result.update(failed=True, msg="%s: %d file(s) not restored: %s" % (ctx.host, len(problems),
                                                                                problem_list(problems, "target")))
        return result

    def _target_states(self, ctx, hands, restores):
        """What each target holds now (one read-only module call), by folded target path."""
        if not restores:
            return {}
        seen = hands.module(self.MODULE, self.module_args(ctx, mode="inventory", files=[
            {"id": "t%d" % i, "target": r.target} for i, r in enumerate(restores)]))
        if seen.get("failed"):
            raise ValueError("cannot check the targets on %s: %s" % (ctx.target.computer or ctx.host, seen.get("msg")))
        return {windows_key(s["target"]): s for s in seen.get("targets") or []}

    def _write(self, ctx, hands, actions, vault):
        """Stage the vault copies on the module's machine, then let the module put them in place."""
        files = []
        try:
            for index, (item, _kind, expected, backup) in enumerate(actions):
                staged = hands.stage(vault.path(item.stored), "restore-%d" % index)
                files.append({"id": "r%d" % index, "target": item.target, "staged": staged, "sha256": item.sha256,
                              "expect_sha256": expected, "backup": backup})
            result = hands.module(self.MODULE, self.module_args(ctx, mode="apply", files=files))
        finally:
            hands.cleanup()
        restored = result.get("restored") or []
        names = {"r%d" % index: "%s/%s v%d" % (item.category, item.path, item.version)
                 for index, (item, _kind, _expected, _backup) in enumerate(actions)}
        problems = [{"file": names.get(item.get("id"), item.get("id")), "target": item.get("dest"),
                     "cause": item.get("cause") or "other", "message": item.get("message")}
                    for item in restored if item.get("status") not in ("copied", "present")]
        if result.get("failed") and not restored:
            cause = cause_of_message(result.get("msg"))
            problems += [{"file": names["r%d" % index], "target": item.target, "cause": cause, "message": result.get("msg")}
                         for index, (item, _kind, _expected, _backup) in enumerate(actions)]
        return restored, problems


PHASE = RestorePhase()
