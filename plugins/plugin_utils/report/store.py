"""Write readiness reports to a run directory, atomically, and find the previous run.

Layout under the report directory::

    <report_dir>/<run_id>/readiness.{json,md,html,junit.xml}
    <report_dir>/latest.json            copy of the newest readiness.json

Files are written into ``<run_id>.partial`` and the directory is renamed when complete; latest.json
is replaced last. An interrupted run therefore leaves no half-written report behind.
"""
import json
import os
import shutil

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import replace_atomically

LATEST = "latest.json"
FILES = (("json", "readiness.json"), ("markdown", "readiness.md"), ("html", "readiness.html"),
         ("junit", "readiness.junit.xml"))
COLLECTION_ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


class ReportStoreError(RuntimeError):
    """The report directory cannot be used or written."""


def check_report_dir(report_dir, collection_root=COLLECTION_ROOT):
    """Refuse a report directory inside an installed collection (one with MANIFEST.json)."""
    real = os.path.realpath(report_dir)
    installed = os.path.exists(os.path.join(collection_root, "MANIFEST.json"))
    if installed and os.path.commonpath([real, collection_root]) == collection_root:
        raise ReportStoreError("report directory %s is inside the installed collection %s; choose another "
                               "sms_upgrade_report_dir (the default is ./sms-upgrade-reports in the working "
                               "directory)" % (report_dir, collection_root))


def read_previous(report_dir):
    """Return ``(previous_report_or_None, warning_or_None)`` from latest.json."""
    path = os.path.join(report_dir, LATEST)
    if not os.path.exists(path):
        return None, None
    try:
        with open(path, encoding="utf-8") as handle:
            previous = json.load(handle)
        if not isinstance(previous, dict) or not isinstance(previous.get("findings"), list):
            raise ValueError("not a readiness report")
        return previous, None
    except (OSError, ValueError) as exc:
        return None, "previous report %s is unreadable (%s); the comparison starts afresh" % (path, exc)


def _write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def free_run_id(report_dir, run_id):
    """Return ``run_id``, or ``run_id-N`` when a run of the same second exists already."""
    candidate, n = run_id, 1
    while os.path.exists(os.path.join(report_dir, candidate)):
        n += 1
        candidate = "%s-%d" % (run_id, n)
    return candidate


def write_report(report_dir, report, rendered):
    """Write ``rendered`` ({format: text}) for ``report``; return {format: path} plus 'dir' and 'latest'."""
    check_report_dir(report_dir)
    try:
        os.makedirs(report_dir, exist_ok=True)
        run_id = report["run_id"]
        if os.path.exists(os.path.join(report_dir, run_id)):
            raise ReportStoreError("run directory %s exists already" % os.path.join(report_dir, run_id))
        partial = os.path.join(report_dir, run_id + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        os.makedirs(partial)
        for fmt, name in FILES:
            _write_text(os.path.join(partial, name), rendered[fmt])
        final = os.path.join(report_dir, run_id)
        os.rename(partial, final)
        replace_atomically(os.path.join(report_dir, LATEST), rendered["json"])
    except OSError as exc:
        raise ReportStoreError("cannot write the report under %s: %s" % (report_dir, exc))
    paths = {fmt: os.path.join(final, name) for fmt, name in FILES}
    paths.update(dir=final, latest=os.path.join(report_dir, LATEST))
    return paths
