"""The site upgrade's rollback point, made by the preserve machinery: a copy of the whole SMS tree and of the SMS
registry keys on the host, outside the tree, verified by SHA-256, fetched into a vault of its own and recorded in its
manifest (``<vault>/<rollback-point>/<SITE>/<host>/manifest.json``; restore with ``sms.upgrade.restore``).

**The seam**: :func:`take` is the only place that calls the preserve room. It runs one ``HostPreserve`` (the preserve
room's run of one host; its vault directory is a ``vault/store.py`` ``VaultStore``) whose data has a single file
category (``rollback_tree``: every file under ``%SMS_ROOT%``) and whose registry export lists the SMS key and the six
1.2 service keys (``data/site_upgrade.yml``).
"""
import copy
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.preserve import HostPreserve, PreserveError, Settings
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import VaultError
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.selection import preserve_data

SMS_ROOT_TOKEN = "%SMS_ROOT%"


def rollback_data(spec):
    """The preserve data of a rollback point: one category, the whole tree; the registry keys of ``spec``."""
    data = copy.deepcopy(preserve_data())
    data["host_root"] = spec["host_root"]
    data["categories"] = {spec["category"]: {"base": SMS_ROOT_TOKEN, "checklist": ["PRE-29", "UPG-06"],
                                             "source": "seed 'Site Data' 1; KB Q171338"}}
    data["documents"]["registry"]["keys"] = list(spec["registry_keys"])
    data["sql_exports"] = []
    return data


def vault_root(vault_dir, spec):
    """The rollback points' vault: a directory of the preserve vault (not a site code: the readiness rules skip it)."""
    return os.path.join(vault_dir, spec["vault_subdir"])


def take(hands, settings, spec, now, check_mode):
    """Make (or, in check mode, plan) the rollback point of one site server.

    ``settings``: host, site, computer, vault_dir, sms_root, share_map, host_root (optional), exclude (patterns).
    Returns ``{verified, problems, copied, manifest, host_root, files, bytes, plan}``; a host-level failure (vault or
    host root unusable, host unreachable) is a problem too, never an exception.
    """
    category = spec["category"]
    preserve = Settings(
        host=settings["host"], site=settings["site"].upper(), vault_root=vault_root(settings["vault_dir"], spec),
        computer=settings.get("computer"), check_mode=check_mode, host_root=settings.get("host_root") or spec["host_root"],
        share_map=settings.get("share_map") or {}, sms_root=settings.get("sms_root"),
        exclude={category: list(settings.get("exclude") or [])},
        extra_sources=[{"category": category, "path": SMS_ROOT_TOKEN, "include": ["*"], "recurse": True}],
        sql_queries={}, machine_names=(settings["host"],))
    try:
        outcome = HostPreserve(preserve, hands, iso_stamp(now), data=rollback_data(spec)).run(["site_server"])
    except (PreserveError, VaultError, ValueError, OSError) as exc:
        return {"verified": False, "problems": [str(exc)], "copied": {}, "manifest": None, "host_root": None,
                "files": 0, "bytes": 0, "plan": []}
    problems = ["%s (%s): %s" % (p["source"], p["cause"], p["message"]) for p in outcome["problems"]]
    categories = outcome.get("categories") or {}
    tree = categories.get(category) or {}
    if not check_mode:
        problems += ["%s: %s" % (name, "; ".join(entry["problems"][:3]))
                     for name, entry in sorted(categories.items()) if not entry["verified"]]
    return {"verified": not check_mode and not problems and bool(tree.get("files")),
            "problems": problems, "copied": outcome.get("copied") or outcome.get("would_copy") or {},
            "manifest": outcome.get("manifest"), "host_root": outcome.get("host_root"),
            "files": tree.get("files", 0), "bytes": tree.get("bytes", 0), "plan": outcome.get("plan") or []}
