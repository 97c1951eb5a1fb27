"""Time the readiness playbook over the lab and over a generated fleet; print a Markdown table row each.

Usage: bench_readiness.py [--clients 10000] [--keep DIR]
Runs `ansible-playbook sms.upgrade.readiness --check` exactly as an administrator would, with the
collection tree on ANSIBLE_COLLECTIONS_PATH, and reports wall time, the playbook's own assessment
time (from the report) and the size of each report file. Results belong in docs/performance.md.
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.realpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))
import collection_tree  # noqa: E402


def ansible_playbook():
    candidate = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    return candidate if os.path.exists(candidate) else "ansible-playbook"


def timed_playbook(inventory, playbook, extra_vars):
    """Run ``ansible-playbook <playbook> --check`` as an administrator would; return (seconds, completed process)."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_STDOUT_CALLBACK="default")
    command = [ansible_playbook(), "-i", inventory, playbook, "--check", "-e", extra_vars]
    started = time.monotonic()
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    return time.monotonic() - started, result


def run_readiness(inventory, report_dir):
    elapsed, result = timed_playbook(inventory, "sms.upgrade.readiness", "sms_upgrade_report_dir=%s" % report_dir)
    if result.returncode != 0:
        sys.exit("readiness failed on %s:\n%s\n%s" % (inventory, result.stdout[-4000:], result.stderr[-4000:]))
    with open(os.path.join(report_dir, "latest.json"), encoding="utf-8") as handle:
        report = json.load(handle)
    run_dir = os.path.join(report_dir, report["run_id"])
    sizes = {name: os.path.getsize(os.path.join(run_dir, name)) for name in sorted(os.listdir(run_dir))}
    return elapsed, report, sizes


def row(label, elapsed, report, sizes):
    def mb(size):
        return "%.1f MB" % (size / 1e6)

    return "| %s | %d | %d | %.1f s | %s |" % (
        label, report["summary"]["hosts"], len(report["findings"]), elapsed,
        ", ".join("%s %s" % (name.split(".", 1)[1], mb(size)) for name, size in sizes.items()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10000)
    parser.add_argument("--keep", help="directory for the generated fleet and reports (default: a temp dir)")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="sms-bench-")
    print("machine: %s, %d CPUs, Python %s" % (platform.platform(), os.cpu_count(), platform.python_version()))
    print("| inventory | hosts | findings | wall time (ansible-playbook) | report files |")
    print("|---|---|---|---|---|")
    elapsed, report, sizes = run_readiness(os.path.join(REPO, "inventories", "lab", "hosts.yml"), os.path.join(work, "lab-reports"))
    print(row("lab", elapsed, report, sizes), flush=True)
    fleet = os.path.join(work, "fleet")
    started = time.monotonic()
    subprocess.run([sys.executable, os.path.join(HERE, "generate_fleet.py"), "--clients", str(args.clients),
                    "--out", fleet], check=True)
    print("(generating %d clients took %.1f s)" % (args.clients, time.monotonic() - started), file=sys.stderr)
    elapsed, report, sizes = run_readiness(os.path.join(fleet, "hosts.yml"), os.path.join(work, "fleet-reports"))
    print(row("generated, %d clients" % args.clients, elapsed, report, sizes))


if __name__ == "__main__":
    main()
