"""Check the execution environment definition offline: ansible-builder writes its build context, and the context
installs this collection's tarball and the Python libraries the collection declares.

Usage: check_ee.py <collection tarball> <installed collections root>   (run by `make ee` after `make build`)
"""
import os
import re
import shutil
import subprocess
import sys

import yaml

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFINITION = os.path.join(REPO, "extensions", "ee", "execution-environment.yml")
CONTEXT = os.path.join(REPO, "build", "ee")


def fail(message):
    print("execution environment: %s" % message)
    sys.exit(1)


def galaxy_version():
    with open(os.path.join(REPO, "galaxy.yml"), encoding="utf-8") as handle:
        return str(yaml.safe_load(handle)["version"])


def pins(path):
    """``{name: line}`` of a pip requirements file and the files it includes with ``-r`` (comments and blank lines
    left out)."""
    with open(path, encoding="utf-8") as handle:
        lines = [line.split("#", 1)[0].strip() for line in handle]
    found = {}
    for line in filter(None, lines):
        if line.startswith("-r "):
            found.update(pins(os.path.join(os.path.dirname(path), line[3:].strip())))
        else:
            found[re.split(r"[\[=<>!~ ]", line, maxsplit=1)[0].lower()] = line
    return found


def check_definition(tarball):
    """The definition names the tarball `make build` wrote, in its galaxy requirements and its build files."""
    with open(DEFINITION, encoding="utf-8") as handle:
        definition = yaml.safe_load(handle)
    name = os.path.basename(tarball)
    if name != "sms-upgrade-%s.tar.gz" % galaxy_version():
        fail("%s is not the tarball of galaxy.yml version %s" % (name, galaxy_version()))
    sources = [c["name"] for c in definition["dependencies"]["galaxy"]["collections"] if c.get("type") == "file"]
    if sources != ["/build/collections/%s" % name]:
        fail("dependencies.galaxy installs %s, not /build/collections/%s: update %s" % (sources, name, DEFINITION))
    files = [os.path.basename(f["src"]) for f in definition.get("additional_build_files", [])]
    if name not in files:
        fail("additional_build_files does not copy %s into the context: update %s" % (name, DEFINITION))


def check_navigator():
    """ansible-navigator.yml runs the image the definition tags."""
    with open(DEFINITION, encoding="utf-8") as handle:
        tags = yaml.safe_load(handle).get("options", {}).get("tags", [])
    with open(os.path.join(REPO, "ansible-navigator.yml"), encoding="utf-8") as handle:
        image = yaml.safe_load(handle)["ansible-navigator"]["execution-environment"]["image"]
    if image not in tags or image != "sms-upgrade-ee:%s" % galaxy_version():
        fail("ansible-navigator.yml runs %s; the definition tags %s (galaxy.yml version %s)" % (image, tags, galaxy_version()))


def create_context(builder):
    shutil.rmtree(CONTEXT, ignore_errors=True)
    result = subprocess.run([builder, "create", "-f", DEFINITION, "--context", CONTEXT], capture_output=True, text=True,
                            check=False, cwd=REPO)
    if result.returncode != 0:
        fail("ansible-builder create failed: %s" % (result.stderr or result.stdout)[-2000:])
    if not os.path.isfile(os.path.join(CONTEXT, "_build", "collections", os.path.basename(TARBALL))):
        fail("the build context holds no collection tarball")


def check_introspection(installed):
    """ansible-builder's own introspection finds the collection's Python requirements (meta/execution-environment.yml)."""
    script = os.path.join(CONTEXT, "_build", "scripts", "introspect.py")
    written = os.path.join(CONTEXT, "introspected-requirements.txt")
    result = subprocess.run([sys.executable, script, "introspect", installed, "--write-pip", written],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        fail("introspection failed: %s" % (result.stderr or result.stdout)[-2000:])
    found = pins(written)
    declared = pins(os.path.join(REPO, "meta", "ee-requirements.txt"))
    missing = sorted(set(declared) - set(found))
    if missing:
        fail("introspection does not find %s (meta/execution-environment.yml)" % ", ".join(missing))
    runtime = pins(os.path.join(REPO, "requirements.txt"))
    differ = sorted(name for name in declared if name in runtime and declared[name] != runtime[name])
    if differ:
        fail("meta/ee-requirements.txt pins %s differently from requirements.txt" % ", ".join(differ))


if __name__ == "__main__":
    TARBALL, INSTALLED = sys.argv[1], sys.argv[2]
    check_definition(TARBALL)
    check_navigator()
    create_context(os.path.join(os.path.dirname(sys.executable), "ansible-builder"))
    check_introspection(INSTALLED)
    print("execution environment: build context in %s; collection %s and its Python requirements found" % (
        os.path.relpath(CONTEXT, REPO), os.path.basename(TARBALL)))
