"""Create the ``ansible_collections/sms/upgrade`` tree that Ansible tools need, and print its root.

The repository root is the collection root, but ansible-doc, ansible-playbook with ``sms.upgrade.*`` and imports of
``ansible_collections.sms.upgrade`` need it under ``<root>/ansible_collections/sms/upgrade``. The tree lives in the
checkout, in ``.cache/collections`` (ignored by git, by the collection build and by ansible-lint, and hidden from
recursive globs), so that nothing is written outside the repository; it links the dependency collections of the
running Python (the ``ansible`` package bundles them) beside it, when there are any.
"""
import os
import sys

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPENDENCIES = ("ansible/windows", "community/windows", "ansible/utils")


def tree_root(repo=REPO):
    """Return the directory that holds ``ansible_collections`` for this checkout."""
    return os.path.join(repo, ".cache", "collections")


def _link(target, link):
    if os.path.islink(link) and os.readlink(link) == target:
        return
    if os.path.islink(link):
        os.unlink(link)
    os.makedirs(os.path.dirname(link), exist_ok=True)
    os.symlink(target, link)


def bundled_collections_dir():
    """Return the ``ansible_collections`` directory of the running Python, or None."""
    for entry in sys.path:
        candidate = os.path.join(entry, "ansible_collections")
        if os.path.isdir(os.path.join(candidate, "ansible", "windows")):
            return candidate
    return None


def link_dependencies(base):
    """Link the dependency collections the running Python bundles (if any) into ``base`` (an ``ansible_collections``)."""
    bundled = bundled_collections_dir()
    if bundled:
        for dep in DEPENDENCIES:
            if os.path.isdir(os.path.join(bundled, dep)):
                _link(os.path.join(bundled, dep), os.path.join(base, dep))


def link_all(source, target, skip=()):
    """Link every entry of ``source`` (but ``skip`` and hidden ones) into ``target``: an overlay of a directory."""
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(source):
        if name not in skip and not name.startswith("."):
            os.symlink(os.path.join(source, name), os.path.join(target, name))


def ensure_tree(repo=REPO):
    """Create (or refresh) the symlink tree and return its root directory."""
    root = tree_root(repo)
    base = os.path.join(root, "ansible_collections")
    _link(repo, os.path.join(base, "sms", "upgrade"))
    link_dependencies(base)
    return root


if __name__ == "__main__":
    print(ensure_tree())
