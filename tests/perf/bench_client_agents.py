"""Time the client_agents playbook in check mode over the lab and a generated fleet; print Markdown table rows.

Usage: bench_client_agents.py [--clients 10000] [--batch 100] [--keep DIR]
Runs the readiness playbook first (the gate needs its report), then
`ansible-playbook sms.upgrade.client_agents --check` as an administrator would. The hosts of the lab and of
the generated fleet are snapshot-only, so this measures the controller: the gate, planning every client from
its snapshot, batches, progress and the summary. WinRM time comes on top (one module call per client that
needs a change). Results belong in docs/performance.md.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile

from bench_readiness import HERE, REPO, run_readiness, timed_playbook


def run_client_agents(inventory, report_dir, batch):
    elapsed, result = timed_playbook(inventory, "sms.upgrade.client_agents",
                                     "sms_upgrade_report_dir=%s sms_upgrade_client_batch=%d" % (report_dir, batch))
    summary = [line.strip() for line in result.stdout.splitlines() if "host(s) processed" in line]
    if not summary:
        sys.exit("client_agents printed no summary on %s:\n%s\n%s" % (inventory, result.stdout[-4000:], result.stderr[-4000:]))
    return elapsed, summary[-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--keep", help="directory for the generated fleet and reports (default: a temp dir)")
    args = parser.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="sms-bench-")
    print("machine: %s, %d CPUs, Python %s" % (platform.platform(), os.cpu_count(), platform.python_version()))
    print("| inventory | batch | wall time (ansible-playbook --check) | summary |")
    print("|---|---|---|---|")
    lab = os.path.join(REPO, "inventories", "lab", "hosts.yml")
    run_readiness(lab, os.path.join(work, "lab-reports"))
    elapsed, summary = run_client_agents(lab, os.path.join(work, "lab-reports"), args.batch)
    print("| lab | %d | %.1f s | %s |" % (args.batch, elapsed, summary), flush=True)
    fleet = os.path.join(work, "fleet")
    if not os.path.exists(os.path.join(fleet, "hosts.yml")):
        subprocess.run([sys.executable, os.path.join(HERE, "generate_fleet.py"), "--clients", str(args.clients),
                        "--out", fleet], check=True)
    run_readiness(os.path.join(fleet, "hosts.yml"), os.path.join(work, "fleet-reports"))
    elapsed, summary = run_client_agents(os.path.join(fleet, "hosts.yml"), os.path.join(work, "fleet-reports"), args.batch)
    print("| generated, %d clients | %d | %.1f s | %s |" % (args.clients, args.batch, elapsed, summary))


if __name__ == "__main__":
    main()
