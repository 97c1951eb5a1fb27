"""Copy the collection into ``<tmp>/…/ansible_collections/sms/upgrade`` for ansible-test and print that path.

ansible-test resolves symlinks and insists on a real ``ansible_collections/<ns>/<name>`` directory, so
the symlink tree of collection_tree.py will not do. The copy holds the files git knows of (tracked, or
untracked and not ignored) and is made afresh each time; the bundled dependency collections are
linked beside it for the import test. It lives outside the checkout (ansible-test would otherwise find the
checkout's git repository around it), like ansible-test's own ~/.ansible/test.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import collection_tree  # noqa: E402

REPO = collection_tree.REPO


def tracked_files():
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, capture_output=True, check=True).stdout.decode("utf-8").split("\0")
    return [name for name in listed if name and os.path.isfile(os.path.join(REPO, name))]


def build():
    root = os.path.join(tempfile.gettempdir(), "sms_upgrade_%s_sanity" % hashlib.sha1(REPO.encode("utf-8")).hexdigest()[:10])
    target = os.path.join(root, "ansible_collections", "sms", "upgrade")
    shutil.rmtree(target, ignore_errors=True)
    for name in tracked_files():
        os.makedirs(os.path.dirname(os.path.join(target, name)), exist_ok=True)
        shutil.copy2(os.path.join(REPO, name), os.path.join(target, name))
    collection_tree.link_dependencies(os.path.join(root, "ansible_collections"))
    return target


if __name__ == "__main__":
    print(build())
