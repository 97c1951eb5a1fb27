"""Readiness beside the floor and a per-host assert playbook, over the lab and generated fleets (``make bench``).

Usage: bench.py [--sizes 10000,100000] [--assert-clients 1000] [--repeat 3] [--work DIR]

For each inventory (the lab, then one generated fleet per size, tests/perf/generate_fleet.py) it measures, as whole
processes with GNU time (wall seconds, CPU seconds user+sys of the process and its children, peak RSS of the largest
process; on a shared machine the CPU time is the steadier number):
- readiness: ``ansible-playbook -i hosts.yml sms.upgrade.readiness --check``;
- the floor: ``ansible-inventory -i hosts.yml --list`` plus loading every snapshot with plain ``json`` (times added,
  peak the larger of the two);
- the plugin: ``ansible-inventory -i hierarchy.sms.yml --list`` (the sms.upgrade.hierarchy inventory plugin);
- readiness over the plugin: ``ansible-playbook -i hierarchy.sms.yml sms.upgrade.readiness --check`` (the inventory
  built from the snapshots instead of read from hosts.yml);
- at ``--assert-clients`` only (it is slow; 0 skips it): tests/bench/assert_per_host.yml, ten asserts per host.
Runs are interleaved and repeated ``--repeat`` times (once for fleets above 20,000 clients); medians are printed,
then the ratios. Results belong in docs/performance.md with the machine they ran on.
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.realpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "tools"))
import collection_tree  # noqa: E402  pylint: disable=wrong-import-position

BIN = os.path.dirname(sys.executable)
TIME = "/usr/bin/time"
LOAD_SNAPSHOTS = ("import json, os, sys\nd = sys.argv[1]\n"
                  "s = [json.load(open(os.path.join(d, n), encoding='utf-8')) for n in os.listdir(d) if n.endswith('.json')]\n"
                  "print(len(s))\n")


def environment():
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collection_tree.ensure_tree(), ANSIBLE_NOCOLOR="1",
                ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"))


def measure(command, label):
    """``(wall seconds, CPU seconds, peak RSS in MB)`` of one whole process (and its waited-for children), via GNU time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        result = subprocess.run([TIME, "-f", "%e %U %S %M", "-o", stats.name] + command, cwd=REPO, env=environment(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=False)
        if result.returncode != 0:
            sys.exit("%s failed (rc %d):\n%s\n%s" % (label, result.returncode, result.stdout[-3000:], result.stderr[-3000:]))
        seconds, user, system, kilobytes = stats.read().split()[-4:]
    return float(seconds), float(user) + float(system), int(kilobytes) / 1024.0


def readiness(directory, reports, inventory="hosts.yml"):
    shutil.rmtree(reports, ignore_errors=True)
    return measure([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(directory, inventory),
                    "sms.upgrade.readiness", "--check", "-e", "sms_upgrade_report_dir=%s" % reports],
                   "readiness -i %s" % inventory)


def floor(directory):
    inventory = measure([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(directory, "hosts.yml"), "--list",
                         "--output", os.devnull], "ansible-inventory --list")
    loading = measure([sys.executable, "-c", LOAD_SNAPSHOTS, os.path.join(directory, "snapshots")], "json load")
    return inventory[0] + loading[0], inventory[1] + loading[1], max(inventory[2], loading[2])


def plugin(directory):
    return measure([os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(directory, "hierarchy.sms.yml"),
                    "--list", "--output", os.devnull], "ansible-inventory -i hierarchy.sms.yml --list")


def asserts(directory):
    return measure([os.path.join(BIN, "ansible-playbook"), "-i", os.path.join(directory, "hosts.yml"),
                    os.path.join(HERE, "assert_per_host.yml")], "assert playbook")


def generate(work, clients):
    directory = os.path.join(work, "fleet-%d" % clients)
    if not os.path.exists(os.path.join(directory, "hierarchy.sms.yml")):
        subprocess.run([sys.executable, os.path.join(REPO, "tests", "perf", "generate_fleet.py"), "--clients",
                        str(clients), "--out", directory], check=True, stdout=subprocess.DEVNULL)
    return directory


def lab_copy(work):
    directory = os.path.join(work, "lab")
    if not os.path.exists(directory):
        shutil.copytree(os.path.join(REPO, "inventories", "lab"), directory)
    return directory


def median(samples):
    return tuple(statistics.median(s[i] for s in samples) for i in range(3))


def run_size(label, directory, work, repeat, with_asserts):
    """Interleaved runs of every measurement over one inventory; the medians by name."""
    samples = {"readiness": [], "floor": [], "plugin": [], "readiness_plugin": [], "asserts": []}
    for _round in range(repeat):
        samples["readiness"].append(readiness(directory, os.path.join(work, "reports-%s" % label)))
        samples["floor"].append(floor(directory))
        samples["plugin"].append(plugin(directory))
        samples["readiness_plugin"].append(readiness(directory, os.path.join(work, "reports-plugin-%s" % label),
                                                     "hierarchy.sms.yml"))
        if with_asserts and not samples["asserts"]:
            samples["asserts"].append(asserts(directory))
    with open(os.path.join(work, "reports-%s" % label, "latest.json"), encoding="utf-8") as handle:
        summary = json.load(handle)["summary"]
    result = {name: median(values) for name, values in samples.items() if values}
    result["hosts"] = summary["hosts"]
    return result


def cell(measured):
    return "%.1f s (CPU %.1f s), %.0f MB" % measured


def row(label, result):
    ready, low = result["readiness"], result["floor"]
    cells = [label, "%d" % result["hosts"], cell(ready), cell(low),
             "%.2f (CPU %.2f)" % (ready[0] / low[0], ready[1] / low[1]), cell(result["plugin"]),
             cell(result["readiness_plugin"])]
    if "asserts" in result:
        cells += [cell(result["asserts"]), "%.0f (CPU %.0f)" % (result["asserts"][0] / ready[0], result["asserts"][1] / ready[1])]
    else:
        cells += ["-", "-"]
    return "| %s |" % " | ".join(cells)


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="utf-8") as handle:
        memory = int(handle.readline().split()[1]) / 1024 / 1024
    version = subprocess.run([os.path.join(BIN, "ansible-playbook"), "--version"], capture_output=True, text=True,
                             check=False).stdout.splitlines()[0]
    return "%s, nproc %d, %s, %.0f GB, Python %s, %s, load average %s" % (
        platform.platform(), os.cpu_count(), model, memory, platform.python_version(), version,
        " ".join("%.1f" % v for v in os.getloadavg()))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="client counts of the generated fleets")
    parser.add_argument("--assert-clients", type=int, default=1000, help="fleet size of the per-host assert playbook")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs per fleet up to 20,000 clients")
    parser.add_argument("--work", help="directory for fleets and reports (default: a temporary one; kept)")
    args = parser.parse_args()
    if not os.path.exists(TIME):
        sys.exit("%s (GNU time) is needed to measure peak memory" % TIME)
    work = args.work or tempfile.mkdtemp(prefix="sms-bench-")
    os.makedirs(work, exist_ok=True)
    print("machine: %s" % machine())
    print("work directory: %s" % work)
    print("| inventory | hosts | readiness | floor | readiness / floor | plugin inventory | readiness over the plugin | "
          "assert playbook | assert / readiness |")
    print("|---|---|---|---|---|---|---|---|---|")
    sizes = [("lab", lab_copy(work), args.repeat, False)]
    if args.assert_clients:
        sizes.append(("%d clients" % args.assert_clients, generate(work, args.assert_clients), 1, True))
    for clients in [int(n) for n in args.sizes.split(",") if n.strip()]:
        sizes.append(("%d clients" % clients, generate(work, clients), args.repeat if clients <= 20000 else 1, False))
    for label, directory, repeat, with_asserts in sizes:
        result = run_size(label.replace(" ", "-"), directory, work, repeat, with_asserts)
        print(row(label, result), flush=True)
    print("(medians of interleaved runs; wall and CPU (user+sys) seconds; peak RSS of the largest single process, GNU time)")


if __name__ == "__main__":
    main()
