"""Playbooks against models of the machines: an overlay collection whose Windows modules are stand-ins.

PowerShell cannot run here. For a real run of a playbook, ``build_collections`` mounts a collections tree in which
``sms.upgrade`` is the repository (symlinks) except the modules named: each is replaced by a small Python module that
hands its arguments to ``model_runner.py`` in a separate process, which loads the model of the target machine (the
``computer`` argument) from ``$SMS_UPGRADE_MODELS/<computer>.json``, answers as the PowerShell module would and saves
the model again. The action plugins, the rooms, the roles and the playbooks are the real ones; the stand-in refuses
options the module's documentation does not list. The same idea as roles/windows_sim.py and the database tests.
"""
import json
import os
import subprocess
import sys

import yaml

import collection_tree

REPO = collection_tree.REPO
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
HERE = os.path.dirname(os.path.abspath(__file__))
MODELS_ENV = "SMS_UPGRADE_MODELS"
PATH_ENV = "SMS_UPGRADE_MODEL_PATH"

STAND_IN = '''#!/usr/bin/python
# A stand-in of %(name)s for the playbook tests: the model of the target machine answers (tests/unit/playbooks).
import json
import os
import subprocess
import sys

from ansible.module_utils.basic import AnsibleModule

OPTIONS = %(options)r


def main():
    module = AnsibleModule(argument_spec=dict((name, {"type": "raw"}) for name in OPTIONS), supports_check_mode=True)
    payload = {"module": "%(name)s", "check_mode": module.check_mode,
               "args": dict((k, v) for k, v in module.params.items() if v is not None)}
    env = dict(os.environ, PYTHONPATH=os.environ["%(path_env)s"])
    done = subprocess.run([sys.executable, "-m", "model_runner"], input=json.dumps(payload), capture_output=True,
                          universal_newlines=True, env=env)
    if done.returncode:
        module.fail_json(msg="the model runner failed: %%s" %% done.stderr[-3000:])
    result = json.loads(done.stdout)
    if result.pop("failed", False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
'''


def module_options(name):
    """The options the module documents (its sidecar and the collection's doc fragments it extends)."""
    with open(os.path.join(REPO, "plugins", "modules", "%s.yml" % name), encoding="utf-8") as handle:
        doc = yaml.safe_load(handle)["DOCUMENTATION"]
    options = set(doc.get("options") or {})
    for fragment in doc.get("extends_documentation_fragment", []):
        if not fragment.startswith("sms.upgrade."):
            continue
        module, _dot, variable = fragment[len("sms.upgrade."):].partition(".")
        path = os.path.join(REPO, "plugins", "doc_fragments", "%s.py" % module)
        namespace = {}
        with open(path, encoding="utf-8") as handle:
            exec(compile(handle.read(), path, "exec"), namespace)  # pylint: disable=exec-used
        text = getattr(namespace["ModuleDocFragment"], (variable or "documentation").upper())
        options |= set((yaml.safe_load(text) or {}).get("options") or {})
    return sorted(options)


def build_collections(root, modules):
    """``<root>/ansible_collections`` with sms.upgrade as an overlay of the repository and ``modules`` as stand-ins."""
    base = os.path.join(root, "ansible_collections")
    collection = os.path.join(base, "sms", "upgrade")
    collection_tree.link_all(REPO, collection, skip=("plugins",))
    collection_tree.link_all(os.path.join(REPO, "plugins"), os.path.join(collection, "plugins"), skip=("modules",))
    skip = [n for m in modules for n in ("%s.ps1" % m, "%s.yml" % m, "%s.py" % m)]
    collection_tree.link_all(os.path.join(REPO, "plugins", "modules"), os.path.join(collection, "plugins", "modules"), skip=skip)
    for name in modules:
        with open(os.path.join(collection, "plugins", "modules", "%s.py" % name), "w", encoding="utf-8") as handle:
            handle.write(STAND_IN % {"name": "sms.upgrade.%s" % name, "options": module_options(name), "path_env": PATH_ENV})
    collection_tree.link_dependencies(base)
    return root


def save_model(directory, computer, kind, model):
    """Keep a model (``client`` or ``site``) as the machine ``computer`` in the models directory."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "%s.json" % computer), "w", encoding="utf-8") as handle:
        json.dump({"kind": kind, "state": model.dump()}, handle)


def load_model(directory, computer):
    """The model of ``computer`` as the last module call left it."""
    from .model_runner import load  # pylint: disable=import-outside-toplevel
    return load(os.path.join(directory, "%s.json" % computer))


def run_playbook(name, inventory, *extra, collections=None, models=None):
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=collections or collection_tree.ensure_tree(), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false")
    if models:
        env[MODELS_ENV] = models
        env[PATH_ENV] = os.pathsep.join([HERE, os.path.join(REPO, "tests"), collection_tree.ensure_tree()])
    return subprocess.run([PLAYBOOK, "-i", inventory, name] + list(extra), capture_output=True, text=True, env=env,
                          cwd=REPO, check=False)
