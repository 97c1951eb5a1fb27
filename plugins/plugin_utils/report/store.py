"""Write readiness reports to a run directory, atomically, and find the previous run of the same inventory.

Layout under the report directory (by default ``./sms-upgrade-reports/<inventory>``, one folder per inventory, so
that the diff and the gate never mix two inventories)::

    <report_dir>/<run_id>/readiness.{json,md,html,junit.xml}
    <report_dir>/latest.json            copy of the newest readiness.json
    <report_dir>/latest.compared.json   what the next run compares of it (failing findings), and its SHA-256

A writer first claims its run id by creating ``<run_id>.partial`` exclusively (a second writer in the same second
takes ``<run_id>-2``), writes every file there and renames the directory when complete; latest.json is replaced
last. Two writers therefore never mix files in one run directory, and an interrupted run leaves no half-written
report behind (only a ``.partial`` directory, which no reader looks at).
"""
import hashlib
import json
import os
import shutil

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.atomic import copy_atomically, replace_atomically
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.hostnames import check_host_name, UnsafeHostName
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.parallel import map_ordered
from ansible_collections.sms.upgrade.plugins.plugin_utils.report.build import FAILING

LATEST = "latest.json"
# What the next run compares, written beside latest.json: its run_id, inventory and failing findings (host, rule,
# status), with the SHA-256 of the latest.json it was taken from; a summary that does not match is not used.
COMPARED = "latest.compared.json"
PARTIAL = ".partial"
REPORTS = "sms-upgrade-reports"
FILES = (("json", "readiness.json"), ("markdown", "readiness.md"), ("html", "readiness.html"),
         ("junit", "readiness.junit.xml"))
COLLECTION_ROOT = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))


class ReportStoreError(RuntimeError):
    """The report directory cannot be used or written."""


def inventory_dirs(sources):
    """The directories of inventory sources (a directory source is its own): what makes an inventory the same one.

    Two files of one site's directory (``hosts.yml``, a ``live.yml`` beside it) share its snapshots, answers, plan
    and group_vars: they are one inventory; a copy elsewhere, or another site's directory, is another."""
    return sorted({s if os.path.isdir(s) else os.path.dirname(s) for s in (os.path.abspath(p) for p in sources)})


def inventory_identity(sources, inventory_dir=None, name=None):
    """``{"name", "sources", "dirs"}`` of the inventory a run reads: ``name`` (sms_upgrade_inventory_name) or the name of
    the inventory's directory, its sources as absolute paths, and their directories (what the report records and the
    gate and the diff compare)."""
    sources = sorted(os.path.abspath(s) for s in (sources or []) if isinstance(s, str))
    if not name:
        base = inventory_dir or (inventory_dirs(sources)[0] if sources else None)
        name = os.path.basename(os.path.normpath(base)) if base else "default"
    try:
        check_host_name(str(name), "inventory name")
    except UnsafeHostName as exc:
        raise ReportStoreError("%s; set sms_upgrade_inventory_name to a name that can be a folder" % exc) from None
    return {"name": str(name), "sources": sources, "dirs": inventory_dirs(sources)}


def recorded_dirs(report):
    """The inventory directories a report records (from its sources, for a report that records none), or None."""
    inventory = report.get("inventory") if isinstance(report, dict) else None
    if not isinstance(inventory, dict):
        return None
    if isinstance(inventory.get("dirs"), list):
        return sorted(d for d in inventory["dirs"] if isinstance(d, str))
    if isinstance(inventory.get("sources"), list):
        return sorted({os.path.dirname(s) for s in inventory["sources"] if isinstance(s, str)})
    return None


def run_inventory(task_vars, name=None):
    """The inventory identity of a task from its variables (``ansible_inventory_sources``, ``inventory_dir``)."""
    sources = task_vars.get("ansible_inventory_sources") or []
    return inventory_identity([sources] if isinstance(sources, str) else sources, task_vars.get("inventory_dir"), name)


def default_report_dir(inventory, cwd=None):
    """``<cwd>/sms-upgrade-reports/<inventory name>``: the report folder of an inventory when none is set."""
    return os.path.join(cwd or os.getcwd(), REPORTS, inventory["name"])


def legacy_report(report_dir):
    """The ``latest.json`` of the layout before reports were kept per inventory (beside ``report_dir``), or None."""
    parent = os.path.dirname(os.path.normpath(report_dir))
    path = os.path.join(parent, LATEST)
    return path if os.path.basename(parent) == REPORTS and os.path.isfile(path) else None


def check_report_dir(report_dir, collection_root=COLLECTION_ROOT):
    """Refuse a report directory inside an installed collection (one with MANIFEST.json)."""
    real = os.path.realpath(report_dir)
    installed = os.path.exists(os.path.join(collection_root, "MANIFEST.json"))
    if installed and os.path.commonpath([real, collection_root]) == collection_root:
        raise ReportStoreError("report directory %s is inside the installed collection %s; choose another "
                               "sms_upgrade_report_dir (the default is ./sms-upgrade-reports/<inventory> in the working "
                               "directory)" % (report_dir, collection_root))


_COMPARED = ("host", "rule", "status")


def load_report_json(handle, finding):
    """Parse a report file, each finding (an object with host, rule, status and blocks) passed through ``finding`` as
    soon as it is parsed, so that only what the reader keeps stays in memory (a whole report of 100,000 hosts takes
    gigabytes); every other object stays as it is."""
    def hook(item):
        return finding(item) if "blocks" in item and "rule" in item and "host" in item and "status" in item else item
    return json.load(handle, object_hook=hook)


def read_previous(report_dir, inventory=None):
    """Return ``(previous_report_or_None, warning_or_None)`` from latest.json: its ``run_id``, ``inventory`` and its
    failing ``findings``, each with only host, rule and status (all that :func:`report.build.diff_reports` compares).

    A previous report of another inventory (its recorded directories differ) is not compared: the warning says so.
    """
    path = os.path.join(report_dir, LATEST)
    if not os.path.exists(path):
        return None, None
    try:
        previous = _compared_summary(report_dir, path) or _compared_of(path)
    except (OSError, ValueError, RecursionError) as exc:
        return None, "previous report %s is unreadable (%s); the comparison starts afresh" % (path, exc)
    recorded = recorded_dirs(previous)
    if inventory and recorded and recorded != inventory["dirs"]:
        return None, ("previous report %s was made for inventory %s, not %s; it is not compared (keep one report "
                      "directory per inventory)" % (path, ", ".join(recorded), ", ".join(inventory["dirs"])))
    return previous, None


def _compared_of(path):
    """What the comparison reads of a whole report file (findings trimmed while it is parsed)."""
    with open(path, encoding="utf-8") as handle:
        report = load_report_json(handle, lambda finding: {key: finding[key] for key in _COMPARED})
    if not isinstance(report, dict) or not isinstance(report.get("findings"), list) or \
            not all(isinstance(f, dict) for f in report["findings"]):
        raise ValueError("not a readiness report")
    compared = {key: report[key] for key in ("run_id", "inventory") if key in report}
    compared["findings"] = [f for f in report["findings"] if f.get("status") in FAILING]
    return compared


def _sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _compared_summary(report_dir, latest):
    """The summary written with ``latest`` (:data:`COMPARED`) when it is there, well-formed and of that very file;
    else None (the whole report is read instead)."""
    try:
        with open(os.path.join(report_dir, COMPARED), encoding="utf-8") as handle:
            summary = json.load(handle)
    except (OSError, ValueError, RecursionError):
        return None
    if not isinstance(summary, dict) or not isinstance(summary.get("findings"), list) or \
            not all(isinstance(f, dict) and set(f) == set(_COMPARED) for f in summary["findings"]) or \
            summary.get("sha256") != _sha256_of(latest):
        return None
    return {key: summary[key] for key in ("run_id", "inventory", "findings") if key in summary}


def _write_compared(report_dir, report, latest):
    """Write :data:`COMPARED` for the report just copied to ``latest``."""
    summary = {"run_id": report.get("run_id"), "inventory": report.get("inventory"), "sha256": _sha256_of(latest),
               "findings": [{key: f[key] for key in _COMPARED} for f in report.get("findings", [])
                            if f.get("status") in FAILING]}
    replace_atomically(os.path.join(report_dir, COMPARED), json.dumps(summary, ensure_ascii=False, separators=(",", ":")))


def _write_text(path, text):
    """Write a text, a function that renders it, or the pieces (an iterable of str) such a function yields."""
    text = text() if callable(text) else text
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        if isinstance(text, str):
            handle.write(text)
        else:
            handle.writelines(text)


def claim_run_id(report_dir, run_id):
    """Claim ``run_id`` (or ``run_id-N`` when it is taken) by creating its ``.partial`` directory exclusively."""
    check_report_dir(report_dir)
    try:
        os.makedirs(report_dir, exist_ok=True)
        for n in range(1, 10000):
            candidate = run_id if n == 1 else "%s-%d" % (run_id, n)
            try:
                os.mkdir(os.path.join(report_dir, candidate + PARTIAL))
            except FileExistsError:
                continue
            if os.path.lexists(os.path.join(report_dir, candidate)):
                os.rmdir(os.path.join(report_dir, candidate + PARTIAL))
                continue
            return candidate
    except OSError as exc:
        raise ReportStoreError("cannot write the report under %s: %s" % (report_dir, exc))
    raise ReportStoreError("no free run directory for %s under %s" % (run_id, report_dir))


def release_run_id(report_dir, run_id):
    """Remove a claimed run's ``.partial`` directory (the run did not write its report)."""
    shutil.rmtree(os.path.join(report_dir, run_id + PARTIAL), ignore_errors=True)


def write_report(report_dir, report, rendered, workers=1):
    """Write ``rendered`` ({format: text, or a function returning the text or its pieces}) for ``report`` into the run
    directory its ``run_id`` claimed (:func:`claim_run_id`); return {format: path} plus 'dir' and 'latest'. With
    ``workers`` above 1 the formats are rendered and written by that many processes at the same time."""
    check_report_dir(report_dir)
    run_id = report["run_id"]
    partial, final = os.path.join(report_dir, run_id + PARTIAL), os.path.join(report_dir, run_id)
    if not os.path.isdir(partial) or os.listdir(partial):
        raise ReportStoreError("run %s was not claimed by this writer under %s (claim_run_id first)" % (run_id, report_dir))
    try:
        map_ordered(lambda item: _write_text(os.path.join(partial, item[1]), rendered[item[0]]), FILES, workers, chunk=1)
        os.rename(partial, final)
        copy_atomically(os.path.join(final, dict(FILES)["json"]), os.path.join(report_dir, LATEST))
        _write_compared(report_dir, report, os.path.join(report_dir, LATEST))
    except OSError as exc:
        raise ReportStoreError("cannot write the report under %s: %s" % (report_dir, exc))
    paths = {fmt: os.path.join(final, name) for fmt, name in FILES}
    paths.update(dir=final, latest=os.path.join(report_dir, LATEST))
    return paths
