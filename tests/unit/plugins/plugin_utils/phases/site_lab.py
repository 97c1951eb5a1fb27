"""The lab hierarchy as the site upgrade's tests need it: snapshots, groups, a wave plan, a clearing report."""
import datetime
import hashlib
import json
import os

import yaml

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import iso_stamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.hierarchy.upgrade_plan import load_plan
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases import site_wave
from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.site_upgrade import download_params

LAB = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "inventories", "lab"))
NOW = datetime.datetime(2026, 12, 5, 18, 0, 0, tzinfo=datetime.timezone.utc)
PLAN = os.path.join(LAB, "upgrade_plan.yml")
INVENTORY = os.path.join(LAB, "hosts.yml")


def snapshot(host):
    with open(os.path.join(LAB, "snapshots", host + ".json"), encoding="utf-8") as handle:
        return json.load(handle)


def prepared(snapshot):
    """The snapshot once the operator readied the site as the lab's planted findings ask: the inventory and MIF queues
    processed (preserve.pending_mifs; the site upgrade's pre-flight requires them empty, check mif_queues) and the site
    server's own remote control agent turned off (site.remote_control_agent)."""
    snapshot = dict(snapshot)
    if (snapshot.get("sms_tree") or {}).get("pending_mifs"):
        snapshot["sms_tree"] = dict(snapshot["sms_tree"], pending_mifs=[])
    snapshot["services"] = [dict(s, start_mode="disabled", state="stopped") if s["name"].upper() == "WUSER32" else s
                            for s in snapshot.get("services") or []]
    return snapshot


def groups():
    """``{host: [group]}`` of the lab inventory."""
    with open(os.path.join(LAB, "hosts.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    found = {}

    def walk(name, group):
        for host in (group or {}).get("hosts") or {}:
            found.setdefault(host, []).append(name)
        for child, sub in ((group or {}).get("children") or {}).items():
            walk(child, sub)
            for host in _hosts(sub):
                found.setdefault(host, []).append(name)

    def _hosts(group):
        hosts = list((group or {}).get("hosts") or {})
        for sub in ((group or {}).get("children") or {}).values():
            hosts += _hosts(sub)
        return hosts

    for name, group in inventory["all"]["children"].items():
        walk(name, group)
    return {host: sorted(set(names)) for host, names in found.items()}


def hosts_info(extra=None):
    info = {host: {"groups": names, "computer": host, "snapshots_only": False} for host, names in groups().items()}
    for host, values in (extra or {}).items():
        info[host].update(values)
    return info


def wave(name, extra=None):
    servers = [h for h, g in groups().items() if "sms_site_servers" in g or "sms_sql" in g]
    snapshots = {h: snapshot(h) for h in servers if os.path.exists(os.path.join(LAB, "snapshots", h + ".json"))}
    return site_wave.plan_wave(load_plan(PLAN), name, hosts_info(extra), snapshots,
                               download_params())


def report_host(host, snapshots=None):
    """A report's entry of ``host``: the snapshot it assessed and its SHA-256 (None: the host has no snapshot)."""
    path = os.path.join(snapshots or os.path.join(LAB, "snapshots"), host + ".json")
    if not os.path.exists(path):
        return {"host": host, "snapshot": None, "snapshot_sha256": None}
    with open(path, "rb") as handle:
        return {"host": host, "snapshot": path, "snapshot_sha256": hashlib.sha256(handle.read()).hexdigest()}


def clearing_report(directory, hosts, now=NOW, plan=PLAN, findings=(), inventory=INVENTORY, snapshots=None):
    """A readiness report made an hour ago for ``inventory`` (the lab's hosts.yml) with the upgrade plan ``plan`` (None:
    without one), from the snapshots in ``snapshots`` (the lab's), that blocks nothing and has the two findings the
    pre-flight reads, plus ``findings``."""
    os.makedirs(directory, exist_ok=True)
    found = [dict({"blocking": finding.get("blocks", False)}, **finding) for finding in findings]
    for host in hosts:
        found.append({"host": host, "rule": "manual.client_agents_disabled", "status": "pass", "blocking": True,
                      "blocks": False, "checklist": ["PRE-26"], "message": "Client agents turned off at 2026-12-03T08:00:00Z."})
        found.append({"host": host, "rule": "sql.active_jobs", "status": "pass", "blocking": True, "blocks": False,
                      "checklist": ["PRE-25"], "message": "only system jobs"})
    report = {"schema_version": "1.1", "run_id": "20261205T170000Z", "generated_at": iso_stamp(now - datetime.timedelta(hours=1)),
              "inventory": {"name": "lab", "sources": [inventory], "dirs": [os.path.dirname(inventory)]},
              "hosts": [report_host(h, snapshots) for h in hosts], "findings": found}
    if plan:
        report["plan"] = {"sha256": load_plan(plan).sha256}
    with open(os.path.join(directory, "latest.json"), "w", encoding="utf-8") as handle:
        json.dump(report, handle)
    return directory


class FakeClock:
    """Time that passes only when the run sleeps (or a test says so)."""

    def __init__(self, now=NOW):
        self.moment = now
        self.slept = 0

    def now(self):
        return self.moment

    def sleep(self, seconds):
        self.slept += 1
        self.moment += datetime.timedelta(seconds=max(seconds, 1))

    def advance(self, **delta):
        self.moment += datetime.timedelta(**delta)
