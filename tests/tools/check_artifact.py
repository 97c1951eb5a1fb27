"""Check an installed collection artifact: it loads its own data and carries no development leftovers."""
import json
import os
import sys

FORBIDDEN = (".venv", ".ci", "build", "tests/output", "sms-upgrade-reports", ".pytest_cache", ".hypothesis")
REQUIRED = ("MANIFEST.json", "meta/runtime.yml", "plugins/plugin_utils/data/rules.yml",
            "plugins/plugin_utils/data/schemas/client.v1.json", "playbooks/readiness.yml", "roles/readiness/tasks/main.yml")


def main(root):
    problems = ["missing %s" % p for p in REQUIRED if not os.path.exists(os.path.join(root, p))]
    problems += ["unexpected %s" % p for p in FORBIDDEN if os.path.exists(os.path.join(root, p))]
    if not os.path.exists(os.path.join(root, "MANIFEST.json")):
        print("artifact: nothing installed at %s" % root)
        return 1
    with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
        info = json.load(handle)["collection_info"]
    if (info["namespace"], info["name"]) != ("sms", "upgrade"):
        problems.append("MANIFEST names %s.%s" % (info["namespace"], info["name"]))
    for problem in problems:
        print("artifact: %s" % problem)
    print("artifact %s.%s %s: %s" % (info["namespace"], info["name"], info["version"], "problems" if problems else "ok"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
