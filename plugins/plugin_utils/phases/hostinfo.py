"""What the preserve and restore phases share about a host: its saved snapshot, its site code, how its problems read.

Both resolve them the same way, so a restore always finds the vault directory the preserve phase wrote.
"""
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import site_code_from_groups
from ansible_collections.sms.upgrade.plugins.plugin_utils.vault.manifest import hosted_sites
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import load_snapshot, snapshot_path


def host_snapshot(snapshot_dir, host, required=False):
    """The host's snapshot (data), or None when there is none or it is unusable; ``required`` makes both an error."""
    if not snapshot_dir:
        if required:
            raise ValueError("from_snapshot needs snapshot_dir")
        return None
    path = snapshot_path(snapshot_dir, host)
    if not os.path.exists(path):
        if required:
            raise ValueError("no snapshot %s: run the readiness playbook first" % path)
        return None
    snapshot = load_snapshot(host, path)
    if snapshot.problems:
        if required:
            raise ValueError("snapshot %s is not usable: %s" % (path, "; ".join(
                "%s: %s" % (p.path, p.message) for p in snapshot.problems[:3])))
        return None
    return snapshot.data


def resolve_site(explicit, snapshot, groups, vault_root=None, host=None):
    """The site code of a host's vault directory: the explicit option, else the snapshot's site code, else the one site
    under which the vault holds this host, else the ``sms_site_XXX`` group; upper case, or None when nothing tells."""
    snapshot = snapshot or {}
    site = explicit or snapshot.get("site_code") or (snapshot.get("sms") or {}).get("site_code")
    if not site and host:
        found = hosted_sites(vault_root, host)
        site = found[0] if len(found) == 1 else None
    return (site or site_code_from_groups(groups) or "").upper() or None


def require_site(explicit, snapshot, groups, vault_root=None, host=None):
    """The site code as :func:`resolve_site` finds it; a ValueError says how to give it when nothing tells."""
    site = resolve_site(explicit, snapshot, groups, vault_root, host)
    if not site:
        raise ValueError("site code unknown: set site_code, put the host in an sms_site_XXX group or gather its snapshot")
    return site


def problem_list(problems, where, most=5):
    """The first ``most`` problems as ``<where> (<cause>): <message>``, and how many more there are."""
    listed = "; ".join("%s (%s): %s" % (p[where], p["cause"], p["message"]) for p in problems[:most])
    more = len(problems) - most
    return listed + ("; and %d more" % more if more > 0 else "")
