"""Inventory host names that become file and directory names on the controller: one check for every such path.

Snapshots (``<snapshot_dir>/<host>.json`` and ``history/``), the vault (``<vault>/<SITE>/<host>``), the journal
(``<journal>/<host>/``), the gather and the report folder of an inventory all build paths from a name that comes
from the inventory or from a file. :func:`host_name_problem` says why a name cannot be one path segment (a separator,
``..``, a Windows device name, a character Windows refuses, a trailing dot or space, a leading dot), and
:func:`case_twins` finds the names that differ only in case (one file on a case-insensitive file system, two hosts
in the inventory). :func:`host_path` joins a checked name to its folder and makes sure the result stays inside it.
"""
import os

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.winpaths import fold, segment_problem


class UnsafeHostName(ValueError):
    """A host name that cannot name a file or directory of its own."""


def host_name_problem(name):
    """Why ``name`` cannot be used as a file or directory name of its own; None when it can."""
    problem = segment_problem(name)
    if problem:
        return problem
    if name.startswith("."):
        return "starts with a dot (a hidden name, or one the collection uses itself)"
    if name != name.strip():
        return "starts or ends with white space"
    return None


def check_host_name(name, what="host name"):
    """Return ``name`` when it is safe as a path segment; raise UnsafeHostName naming it and the cause."""
    problem = host_name_problem(name)
    if problem:
        raise UnsafeHostName("%s %r %s" % (what, name, problem))
    return name


def host_path(directory, name, suffix="", what="host name"):
    """``<directory>/<name><suffix>`` for a checked name; never a path outside ``directory``."""
    check_host_name(name, what)
    path = os.path.join(directory, name + suffix)
    base = os.path.abspath(directory)
    if os.path.dirname(os.path.abspath(path)) != base:
        raise UnsafeHostName("%s %r would leave %s" % (what, name, directory))
    return path


def case_twins(names):
    """``{name: [other names that differ from it only in case]}`` for every name that has such twins."""
    groups = {}
    for name in names:
        if isinstance(name, str):
            groups.setdefault(fold(name), []).append(name)
    return {name: [other for other in group if other != name]
            for group in groups.values() if len(set(group)) > 1 for name in group}
