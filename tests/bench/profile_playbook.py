"""Profile a whole ``ansible-playbook`` run with cProfile, the forked workers included.

Usage: profile_playbook.py OUT_DIR -- -i <inventory>/hosts.yml sms.upgrade.readiness --check [...]
Writes OUT_DIR/main.prof (the controller process: inventory, play loading, strategy) and OUT_DIR/worker-<pid>.prof
for every worker process (where a task's action runs, e.g. the readiness assessment), then prints the top functions
of each by cumulative time. Read further with ``python -m pstats OUT_DIR/<file>``.
"""
import cProfile
import glob
import os
import pstats
import sys


def _profile_workers(out_dir):
    """Wrap WorkerProcess._run so that every forked worker profiles itself into its own file."""
    from ansible.executor.process.worker import WorkerProcess
    original = WorkerProcess._run

    def profiled(self):
        profiler = cProfile.Profile()
        try:
            return profiler.runcall(original, self)
        finally:
            profiler.dump_stats(os.path.join(out_dir, "worker-%d.prof" % os.getpid()))
    WorkerProcess._run = profiled


def main():
    if len(sys.argv) < 3 or "--" not in sys.argv:
        sys.exit(__doc__)
    split = sys.argv.index("--")
    out_dir, arguments = sys.argv[1], sys.argv[split + 1:]
    os.makedirs(out_dir, exist_ok=True)
    _profile_workers(out_dir)
    from ansible.cli.playbook import main as playbook_main
    sys.argv = ["ansible-playbook"] + arguments
    profiler = cProfile.Profile()
    try:
        profiler.runcall(playbook_main)
    except SystemExit:
        pass
    finally:
        profiler.dump_stats(os.path.join(out_dir, "main.prof"))
    for path in [os.path.join(out_dir, "main.prof")] + sorted(glob.glob(os.path.join(out_dir, "worker-*.prof"))):
        try:
            stats = pstats.Stats(path)
        except (EOFError, ValueError):  # a worker the controller ended while it wrote its profile
            continue
        if stats.total_tt < 0.5:
            continue
        print("== %s (%.1f s)" % (os.path.basename(path), stats.total_tt))
        stats.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
