"""The lab as live machines for playbook runs: a copy of inventories/lab whose SMS servers are reached through a model.

How the model is injected (the windows_sim.py way: a collections tree of its own, the state in one JSON file named by an
environment variable): ``build_tree`` writes ``<root>/ansible_collections`` with ``sms.upgrade`` (a link to the
repository), the bundled dependency collections, and ``smsmodel.lab``, whose connection plugin ``smsmodel.lab.site``
(``model_connection.py``) answers every module call of a host with ``fake_site.FakeSite`` instead of running PowerShell:
the real playbooks, roles, action plugins and rooms run unchanged, only the machines are models.

``ready_lab`` copies the lab and makes the wave's sites ready the way an operator would: their snapshots fixed where
the lab shows problems (helper components, sizes, duplicates, jobs, client properties), the manual items answered,
the database phase's record written (its documented interface), and the model built from the snapshots, with the
snapshots listing the model's file contents (as a gather of it would).
"""
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys

import yaml

import collection_tree

from ..plugins.plugin_utils.phases.fake_site import FakeSite, lab_site
from ..plugins.plugin_utils.phases.site_lab import prepared

REPO = collection_tree.REPO
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
STATE_ENV = "SMS_SITE_MODEL_STATE"
CONNECTION = os.path.join(os.path.dirname(__file__), "model_connection.py")
WAVES = {"central": ["CENSRV01", "CENSQL01", "CENHLP01", "CENLOG01"],
         "branches": ["P01SRV01", "P01SQL01", "S01SRV01", "S03SRV01"]}
MANUAL = ["manual.client_agents_disabled", "manual.routine_maintenance", "manual.site_data_prepared",
          "manual.physical_disk_report", "manual.queries_documented", "manual.conversion_tested",
          "manual.security_settings"]


def build_tree(root):
    """``<root>/ansible_collections`` with sms.upgrade, the bundled dependencies and the model connection."""
    base = os.path.join(root, "ansible_collections")
    link = os.path.join(base, "sms", "upgrade")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    collection_tree.link_dependencies(base)
    model = os.path.join(base, "smsmodel", "lab")
    os.makedirs(os.path.join(model, "plugins", "connection"), exist_ok=True)
    with open(os.path.join(model, "galaxy.yml"), "w", encoding="utf-8") as handle:
        handle.write("namespace: smsmodel\nname: lab\nversion: 0.0.1\n")
    shutil.copy(CONNECTION, os.path.join(model, "plugins", "connection", "site.py"))
    return root


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _lan_addresses(snapshot):
    """The site's addresses by LAN: P01 and S02 (which stays on 1.2) link by LAN before P01 goes to 2.0 (site.children_sna)."""
    for address in snapshot["site_control"].get("addresses") or []:
        address.update(sender="LAN Sender", format="MS_LAN")


def _fix_snapshots(snapshots):
    """What an operator fixes before the wave (the lab shows these problems on purpose)."""
    for host in list(snapshots):
        snapshots[host] = prepared(snapshots[host])
    cen = snapshots["CENSRV01"]
    cen["site_control"]["helper_servers"] = []
    cen["site_control"]["senders"] = [s for s in cen["site_control"]["senders"] if s["server"] == "CENSRV01"]
    for host in ("CENSRV01", "P01SRV01", "S01SRV01", "S03SRV01"):
        cen_or = snapshots[host]
        cen_or["site_control"]["client_installation"] = 0
        cen_or["site_control"]["automatic_logon_scripts"] = False
    snapshots["P01SRV01"]["site_control"]["senders"] = [s for s in snapshots["P01SRV01"]["site_control"]["senders"]
                                                        if s["type"] != "sna_batch"]
    _lan_addresses(snapshots["P01SRV01"])
    p01 = snapshots["P01SRV01"]
    p01["os"]["csd_version"] = "Service Pack 6"
    p01["ie"]["version"] = "4.72.3110.8"
    s03 = snapshots["S03SRV01"]
    s03["sms"].update(setup_version="786", csdver="Service Pack 4")
    s03["site_control"].update(header="SITE CONTROL FILE [786][1.08]", build=786)
    for host in ("CENSQL01", "P01SQL01"):
        sql = snapshots[host]
        sql["sql"] = {"version": "6.50.281", "version_banner": "Microsoft SQL Server  6.50 - 6.50.281 (Intel X86)"}
        sql["duplicate_smsids"] = []
        sql["machine_history"] = {"oldest": _iso(_now() - datetime.timedelta(days=45))}  # purged to 60 days
        sql["jobs"] = [job for job in sql.get("jobs") or [] if job.get("system")]
        sql["machine_groups"] = [g for g in sql.get("machine_groups") or [] if not g["name"].startswith("All ")]
        site_db = next(d for d in sql["databases"] if d["name"] == sql["site_database"])
        site_db.update(data_mb=1000, log_mb=400, options=sorted(set(site_db.get("options") or []) | {"trunc. log on chkpt."}))
        site_db["devices"] = [{"device": "%s_DATA" % site_db["name"], "segment": "data", "size_mb": 1000},
                              {"device": "%s_LOG" % site_db["name"], "segment": "log", "size_mb": 400}]
        tempdb = next(d for d in sql["databases"] if d["name"] == "tempdb")
        tempdb.update(data_mb=400, log_mb=100, options=["select into/bulkcopy"], log_shares_data_device=False,
                      devices=[{"device": "TEMPDB_DATA", "segment": "data", "size_mb": 400},
                               {"device": "TEMPDB_LOG", "segment": "log", "size_mb": 100}])
        sql["devices"] = [d for d in sql["devices"] if d["name"] == "master"] + [
            {"name": "%s_DATA" % site_db["name"], "physical_name": "D:\\MSSQL\\DATA\\%s.DAT" % site_db["name"], "size_mb": 1000, "vdevno": 3},
            {"name": "%s_LOG" % site_db["name"], "physical_name": "E:\\MSSQL\\DATA\\%s_LOG.DAT" % site_db["name"], "size_mb": 400, "vdevno": 4},
            {"name": "TEMPDB_DATA", "physical_name": "D:\\MSSQL\\DATA\\TEMPDB.DAT", "size_mb": 400, "vdevno": 5},
            {"name": "TEMPDB_LOG", "physical_name": "E:\\MSSQL\\DATA\\TEMPDB_LOG.DAT", "size_mb": 100, "vdevno": 6}]
        sql["connections"] = [c for c in sql.get("connections") or [] if (c.get("program") or "").startswith("SMS_")]


def _list_model_contents(site, snapshots):
    """The snapshots list the sizes and SHA-256 of the model's files, as a gather of the model would."""
    for host, snapshot in snapshots.items():
        for name, entries in (snapshot.get("sms_tree") or {}).items():
            if name == "root":
                continue
            for entry in entries:
                data = site.file(host, entry["path"])
                if data is None:
                    data = ("content of %s" % entry["path"]).encode("utf-8")
                    site.put(host, entry["path"], data)
                entry.update(size=len(data), sha256=hashlib.sha256(data).hexdigest())


def _answers(path, hosts, now):
    entries = [{"rule": rule, "hosts": list(hosts), "by": "Model Operator", "at": _iso(now - datetime.timedelta(days=2)),
                "reason": "done for the model run"} for rule in MANUAL]
    entries.append({"rule": "manual.secondary_upgrade_method", "hosts": ["S01SRV01"], "decision": "download_from_parent",
                    "by": "Model Operator", "at": _iso(now - datetime.timedelta(days=2)), "reason": "plan"})
    entries.append({"rule": "manual.secondary_upgrade_method", "hosts": ["S03SRV01"], "decision": "local_cd",
                    "by": "Model Operator", "at": _iso(now - datetime.timedelta(days=2)), "reason": "plan"})
    entries.append({"rule": "manual.secondary_final_config", "hosts": ["S01SRV01", "S02SRV01", "S03SRV01"],
                    "decision": "configured_before_parent_upgrade", "by": "Model Operator",
                    "at": _iso(now - datetime.timedelta(days=2)), "reason": "final 1.2 SP4 configuration"})
    for rule, decision in (("manual.package_sources", "none_under_sms_root"),
                           ("manual.mstest_packages_resent", "no_package_uses_mstest")):
        entries.append({"rule": rule, "hosts": [h for h in hosts if h in ("CENSRV01", "P01SRV01")], "decision": decision,
                        "by": "Model Operator", "at": _iso(now - datetime.timedelta(days=2)), "reason": "checked"})
    entries.append({"rule": "hierarchy.change_plan", "hosts": ["(hierarchy)"], "by": "Model Operator",
                    "at": _iso(now - datetime.timedelta(days=2)), "reason": "frozen"})
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump({"schema_version": 1, "answers": entries}, handle, sort_keys=False)


def database_record(vault, site, host, now, database):
    """The database phase's record as site_upgrade reads it (upgrade_inputs.py: steps and the baseline dump)."""
    directory = os.path.join(vault, site, host)
    os.makedirs(directory, exist_ok=True)
    at = _iso(now - datetime.timedelta(hours=2))
    record = {"schema": "sms.upgrade.database_record", "schema_version": "1.0",
              "steps": {"consistency": {"status": "ok", "at": at, "message": "clean"},
                        "baseline_dump": {"status": "ok", "at": at, "message": "verified"}},
              "dumps": [{"kind": "baseline", "database": database, "path": "D:\\MSSQL\\BACKUP\\%s-baseline.DAT" % database,
                         "at": at, "verified": True, "sha256": "0" * 64}]}
    with open(os.path.join(directory, "database-record.json"), "w", encoding="utf-8") as handle:
        json.dump(record, handle)


def _inventory(lab, live):
    """hosts-live.yml: hosts.yml with the ``live`` hosts out of sms_snapshots_only, reached through the model connection.

    The readiness run keeps hosts.yml (every host assessed from its snapshot, as if gathered earlier); the phases run
    with hosts-live.yml.
    """
    with open(os.path.join(lab, "hosts.yml"), encoding="utf-8") as handle:
        inventory = yaml.safe_load(handle)
    path = os.path.join(lab, "hosts-live.yml")
    children = inventory["all"]["children"]
    for host in live:
        children["sms_snapshots_only"]["hosts"].pop(host, None)
    children["sms_model"] = {"hosts": {host: {"ansible_connection": "smsmodel.lab.site", "ansible_shell_type": "powershell"}
                                       for host in live}}
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump(inventory, handle, sort_keys=False)
    return path


def _rehome_report(path, old, new):
    """The copied report, recorded for the copied lab: its inventory and snapshot paths under ``new`` instead of ``old``
    (the gate refuses a report of another inventory; the copy's snapshots are byte for byte those the report assessed)."""
    if not os.path.exists(path):
        return

    def moved(value):
        return new + value[len(old):] if isinstance(value, str) and value.startswith(old + os.sep) or value == old else value

    with open(path, encoding="utf-8") as handle:
        report = json.load(handle)
    inventory = report.get("inventory") or {}
    for key in ("sources", "dirs"):
        inventory[key] = [moved(value) for value in inventory.get(key) or []]
    for host in report.get("hosts") or []:
        host["snapshot"] = moved(host.get("snapshot"))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(report, handle)


class ModelLab:
    """A ready copy of the lab, its model state file and a way to run playbooks over it."""

    def __init__(self, tmp_path, media="2.0.1380.1000"):
        self.tmp = tmp_path
        self.lab = str(tmp_path / "lab")
        shutil.copytree(os.path.join(REPO, "inventories", "lab"), self.lab)
        self.live = WAVES["central"] + WAVES["branches"]
        snapshots = {h: self._snapshot(h) for h in self.live}
        _fix_snapshots(snapshots)
        clone = self._snapshot("CENNT012")
        clone["sms_ini"]["sections"]["SMS"]["SMS Unique ID"] = "CEN00143"
        self._write("CENNT012", clone)
        kept = self._snapshot("S02SRV01")  # stays on 1.2 under P01: SP4 before P01 is upgraded (plan.children_sp4)
        kept["sms"]["csdver"] = "Service Pack 4"
        _lan_addresses(kept)
        self._write("S02SRV01", kept)
        site = lab_site(snapshots, self.live, media={"CENSRV01": media, "P01SRV01": media})
        _list_model_contents(site, snapshots)
        for host, snapshot in snapshots.items():
            self._write(host, snapshot)
        now = _now()
        _answers(os.path.join(self.lab, "answers.yml"), self.live, now)
        self.vault = os.path.join(self.lab, "vault")
        database_record(self.vault, "CEN", "CENSQL01", now, "SMS_CEN")
        database_record(self.vault, "P01", "P01SQL01", now, "SMS_P01")
        self.inventory = _inventory(self.lab, self.live)
        self.snapshot_inventory = os.path.join(self.lab, "hosts.yml")
        self.state_file = str(tmp_path / "model.json")
        self.save(site)
        self.root = build_tree(str(tmp_path / "tree"))
        self.reports = str(tmp_path / "reports")

    def _snapshot(self, host):
        with open(os.path.join(self.lab, "snapshots", host + ".json"), encoding="utf-8") as handle:
            return json.load(handle)

    def _write(self, host, snapshot):
        with open(os.path.join(self.lab, "snapshots", host + ".json"), "w", encoding="utf-8") as handle:
            json.dump(snapshot, handle, indent=1)

    def model(self):
        with open(self.state_file, encoding="utf-8") as handle:
            return FakeSite(json.load(handle))

    def save(self, site):
        with open(self.state_file, "w", encoding="utf-8") as handle:
            json.dump(site.state, handle)

    def copy(self, tmp_path):
        """The same lab, vault, reports and model state in ``tmp_path`` (a test changes its copy only)."""
        twin = object.__new__(ModelLab)
        twin.__dict__.update(self.__dict__)
        twin.tmp = tmp_path
        for name in ("lab", "reports"):
            setattr(twin, name, str(tmp_path / name))
            shutil.copytree(getattr(self, name), getattr(twin, name), symlinks=True)
        twin.vault = os.path.join(twin.lab, "vault")
        twin.inventory = os.path.join(twin.lab, "hosts-live.yml")
        twin.snapshot_inventory = os.path.join(twin.lab, "hosts.yml")
        twin.state_file = str(tmp_path / "model.json")
        shutil.copy(self.state_file, twin.state_file)
        _rehome_report(os.path.join(twin.reports, "latest.json"), self.lab, twin.lab)
        return twin

    def prepare(self):
        """What comes before the site upgrade: readiness, the preserve phase on the live hosts of each wave, readiness
        again."""
        extra = '{"sms_upgrade_preserve_extra_sources": [{"category": "package_definition_files", "path": "D:\\\\PDF", ' \
            '"include": ["*.PDF"]}]}'
        steps = [self.readiness] + [
            lambda wave=wave: self.run("sms.upgrade.preserve", "--limit", ",".join(WAVES[wave]), "-e",
                                       "sms_upgrade_wave=%s" % wave, "-e", extra) for wave in WAVES] + [self.readiness]
        for step in steps:
            result = step()
            assert result.returncode == 0, result.stdout[-3000:]
        return self

    def readiness(self):
        """The readiness report over the snapshots (every host assessed as gathered earlier)."""
        return self.run("sms.upgrade.readiness", "--check", inventory=self.snapshot_inventory)

    def run(self, playbook, *extra, inventory=None):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.root, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
                   ANSIBLE_NOCOLOR="1", ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
                   ANSIBLE_LOCAL_TEMP=str(self.tmp / "ansible-tmp"), **{STATE_ENV: self.state_file})
        args = [PLAYBOOK, "-i", inventory or self.inventory, playbook, "-e", "sms_upgrade_report_dir=%s" % self.reports] + list(extra)
        result = subprocess.run(args, capture_output=True, text=True, env=env, cwd=REPO, check=False)
        assert "Traceback" not in result.stdout + result.stderr, result.stdout[-4000:] + result.stderr[-4000:]
        return result
