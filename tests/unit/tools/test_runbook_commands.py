"""The commands the runbook and the phase docs give are real: each playbook exists, and each variable given with -e is
one a playbook or role reads (nothing invented)."""
import json
import os
import re
import shlex

import pytest

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DOCS = ["README.md"] + ["docs/%s" % name for name in sorted(os.listdir(os.path.join(REPO, "docs"))) if name.endswith(".md")]
PLAYBOOKS = os.path.join(REPO, "playbooks")


def _text(path):
    with open(os.path.join(REPO, path), encoding="utf-8") as handle:
        return handle.read()


def _sources():
    """Every playbook, role task, default and argument spec: where the variables a command may set are read."""
    texts = []
    for top in ("playbooks", "roles"):
        for root, _dirs, files in os.walk(os.path.join(REPO, top)):
            texts += [_text(os.path.join(root, name)) for name in files if name.endswith((".yml", ".yaml"))]
    return "\n".join(texts)


SOURCES = _sources()


def commands(path):
    """``ansible-playbook`` command lines of the code blocks of a document, continuation lines joined."""
    found = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", _text(path), flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("   #", 1)[0].strip()
            if line.startswith("ansible-playbook "):
                found.append(line)
    return found


def extra_vars(command):
    """The variable names a command sets with -e (key=value, or a JSON object)."""
    words = shlex.split(command.replace("\\", "\\\\"))
    names = []
    for flag, value in zip(words, words[1:]):
        if flag not in ("-e", "--extra-vars"):
            continue
        if value.startswith("{"):
            names += list(json.loads(value))
        else:
            names.append(value.split("=", 1)[0])
    return names


ALL = [(path, command) for path in DOCS for command in commands(path)]


def test_the_runbook_gives_every_phase_s_commands():
    playbooks = {re.search(r"sms\.upgrade\.(\w+)", c).group(1) for p, c in ALL if p == "docs/runbook.md"}
    assert playbooks >= {"readiness", "preserve", "client_agents", "database", "site_upgrade", "site_upgrade_recover",
                         "post_upgrade", "client_upgrade"}


@pytest.mark.parametrize("path, command", ALL)
def test_a_documented_command_names_a_playbook_and_variables_that_exist(path, command):
    playbook = re.search(r"\ssms\.upgrade\.(\w+)", command)
    assert playbook, "%s: %s names no playbook" % (path, command)
    assert os.path.exists(os.path.join(PLAYBOOKS, playbook.group(1) + ".yml")), "%s: no playbook %s" % (path, command)
    for name in extra_vars(command):
        assert re.search(r"\b%s\b" % re.escape(name), SOURCES), "%s: -e %s is read by no playbook or role" % (path, name)


def test_the_variables_the_runbook_gives_in_its_text_exist():
    text = _text("docs/runbook.md")
    given = set(re.findall(r"`-e '?\{?\"?([a-z_]+)", text))
    assert given and "site_upgrade_recover_conversion" in given
    for name in sorted(given):
        assert re.search(r"\b%s\b" % re.escape(name), SOURCES), "-e %s in docs/runbook.md is read by no playbook or role" % name
