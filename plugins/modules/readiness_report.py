#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: readiness_report
short_description: Assess an SMS 1.2 hierarchy from its snapshots and write the readiness report
version_added: 0.1.0
description:
  - Runs on the Ansible controller, once for the whole fleet. Reads the snapshot of every host
    (C(<snapshot_dir>/<host>.json)), validates it against the versioned snapshot schema, evaluates
    the rule catalog (every PRE, SEC, CLI, UPG-07 and FAQ item of the SMS 1.2 to 2.0 upgrade checklist),
    applies the answers file and writes the report as JSON, Markdown, self-contained HTML and JUnit XML
    into a new run directory C(<report_dir>/<run_id>/), then replaces C(<report_dir>/latest.json).
  - Read-only for every managed host, with or without C(--check); the report files are written on the
    controller in both cases. The task never reports C(changed).
  - A missing, unreadable or invalid snapshot, a gather error in a section a rule reads, or a rule that
    cannot be evaluated becomes a blocking C(error) finding that names the host, the field and the cause.
    That includes snapshots no gather writes (values nested too deep, integers of too many digits, NaN,
    lone surrogates, text of megabytes, a bad date, WIN.INI text latin-1 cannot hold), host names that cannot
    name a file, and the hosts of O(gather_failures); every other host is assessed and the report is written.
  - The report starts with what to do first, a numbered plan of every blocking finding in the upgrade's order
    (the gather, the machines days before, each phase's playbook per wave, the answers file), and records the
    inventory it was made for and each snapshot's SHA-256 for M(sms.upgrade.readiness_gate).
  - Findings are compared with the previous run in the same report directory (new, fixed, still failing), unless
    that run was made for another inventory.
  - The task fails only for unusable input (empty host list, malformed answers file or parameters,
    missing snapshot directory, unwritable report directory), or when O(fail_on_blocking=true).
options:
  hosts:
    description:
      - Inventory host names to assess. Defaults to the hosts of the play (C(ansible_play_hosts_all)).
      - The host's group membership tells the kind of snapshot expected
        (C(sms_clients), C(sms_sql), C(sms_site_servers), C(sms_central), C(sms_primary), C(sms_secondary),
        C(sms_helper), C(sms_logon)) and C(sms_site_<CODE>) groups give the site when a snapshot cannot.
    type: list
    elements: str
  snapshot_dir:
    description: Directory holding one C(<inventory_hostname>.json) snapshot per host.
    type: path
    required: true
  report_dir:
    description:
      - Directory for the run directories and C(latest.json). Defaults to C(sms-upgrade-reports/<inventory name>) in
        the current working directory (one folder per inventory, see O(inventory_name)). A directory inside an installed
        collection is refused.
    type: path
  inventory_name:
    description:
      - Name of the inventory (or site) shown in the report's title and used for its default folder. Defaults to the
        name of the inventory's directory (C(lab) for C(inventories/lab/hosts.yml)). Roles pass
        C(sms_upgrade_inventory_name).
    type: str
  gather_failures:
    description:
      - Hosts whose gather failed in this run, as a mapping HOST -> message, or HOST -> C(msg) and C(unreachable) (what
        the gather role records in C(gather_failure)). Each is a blocking error that gives the failure and
        the age of the host's last good snapshot; an older snapshot is never assessed as current.
    type: dict
    default: {}
  answers_file:
    description:
      - YAML answers file recording manual confirmations and accepted findings (who, when, why).
        See the collection's C(docs/answers.md). A path that does not exist means no answers.
    type: path
  plan_file:
    description:
      - The upgrade plan (see C(docs/upgrade_plan.md)) with the waves, the sites each upgrades in order, the sites that stay on
        SMS 1.2. It is checked against the hierarchy in the snapshots (rules C(plan.*)); the report shows each wave with
        its sites, hosts and status, and marks which waves each finding blocks.
      - An empty path or a file that does not exist means no plan (the whole inventory is one wave); a plan that does
        not load is the blocking C(plan.valid) finding, not a failure of the task.
    type: path
  params:
    description:
      - Overrides of the assessment parameters (C(plugins/plugin_utils/data/assessment_defaults.yml)),
        for example C(min_memory_mb) or C(snapshot_max_age_days). Defaults marked UNCONFIRMED there are
        assumptions an administrator should review. Unknown names or wrong types fail the task.
    type: dict
    default: {}
  preservation:
    description:
      - Verified copies per host and category, as M(sms.upgrade.vault_verify) returns them
        (a mapping HOST -> CATEGORY -> C(verified), C(files), C(verified_at), C(host_verified_at), C(problems),
        C(sources), C(exclude)). The preservation rules pass only when each file the snapshot lists has a verified
        vault version of its source with the snapshot's SHA-256 (C(sources)); files the preserve run left out on
        purpose (C(exclude)) are reported as such.
      - When not given, the task verifies O(vault_dir) itself for the assessed hosts, as M(sms.upgrade.vault_verify)
        does (every current file hashed again); with neither, nothing counts as preserved.
    type: dict
  vault_dir:
    description:
      - The preserve vault, which the task verifies for the assessed hosts unless O(preservation) is given, and where
        the database phase (M(sms.upgrade.database)) keeps each SQL host's record
        (C(<vault_dir>/<SITE>/<host>/database-record.json)). The rules of the site database (sizes, tempdb, log,
        history, duplicates, connections, routine maintenance, site data, conversion test) pass from the phase's verified
        results while they are fresh (assessment parameter C(database_results_max_age_days)). Without it only the
        snapshots count.
    type: path
  site_upgrade_dir:
    description:
      - Where the site upgrade keeps its records (C(sites/<SITE>.json), C(waves/<wave>-latest.json); see
        C(docs/site_upgrade.md)). The report's C(progress) section shows each wave's status and each site's timeline from
        them. Without it, or without a record, the site upgrade is shown as not started.
    type: path
  records_dir:
    description:
      - Where the post-upgrade and client phases keep their records (C(post_upgrade/<SITE>.json), C(progress.json); see
        C(docs/post_upgrade.md)). The report's C(progress) section shows each site's post-upgrade status, its POST-06
        data-conversion table and its client progress from them. Without it, or without a record, they are shown as not
        started. A record that cannot be read is a note in the report naming the file, never a failure of the task.
    type: path
  fail_on_blocking:
    description: Fail the task when any finding blocks the upgrade.
    type: bool
    default: false
  workers:
    description:
      - Processes that read, validate and assess hosts at the same time on the controller (forked from the task's
        process; each works on 1,000 hosts at a time). V(0) means one per CPU, at most 8; V(1) assesses in the task's
        own process. Below 2,000 hosts the task's own process does it all. The findings and the report are the same.
    type: int
    default: 0
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - sms.upgrade.controller_action
attributes:
  check_mode:
    details: Nothing changes on any host in either mode; the report files are written on the controller.
seealso:
  - module: sms.upgrade.readiness_gate
author:
  - sms.upgrade contributors (@sms-upgrade)
"""

EXAMPLES = r"""
- name: Assess every SMS host of the inventory and write the report
  sms.upgrade.readiness_report:
    hosts: "{{ groups['sms_upgrade'] }}"
    snapshot_dir: "{{ inventory_dir }}/snapshots"
    answers_file: "{{ inventory_dir }}/answers.yml"
    plan_file: "{{ inventory_dir }}/upgrade_plan.yml"
    params:
      min_memory_mb: 128
  run_once: true
  delegate_to: localhost
  register: readiness

- name: Show the summary
  ansible.builtin.debug:
    msg: "{{ readiness.console }}"
  run_once: true
"""

RETURN = r"""
run_id:
  description: Identifier of this run (UTC timestamp); the name of its run directory.
  returned: success
  type: str
  sample: 20261125T101500Z
report:
  description: Paths of the files written.
  returned: success
  type: dict
  sample:
    json: /work/sms-upgrade-reports/lab/20261125T101500Z/readiness.json
    markdown: /work/sms-upgrade-reports/lab/20261125T101500Z/readiness.md
    html: /work/sms-upgrade-reports/lab/20261125T101500Z/readiness.html
    junit: /work/sms-upgrade-reports/lab/20261125T101500Z/readiness.junit.xml
    dir: /work/sms-upgrade-reports/lab/20261125T101500Z
    latest: /work/sms-upgrade-reports/lab/latest.json
summary:
  description: Fleet summary (hosts, blocked hosts, counts per status, by severity, tier, site and rule).
    The report file also holds the upgrade plan with each wave's status (C(plan)).
  returned: success
  type: dict
blocked:
  description: Whether any finding blocks the upgrade.
  returned: success
  type: bool
console:
  description: Lines of the end-of-play summary (verdict for the fleet, counts, blocked hosts, the first steps of what
    to do, top blocking rules, report paths).
  returned: success
  type: list
  elements: str
diff_summary:
  description: Number of findings that are new, fixed and still failing compared with the previous run.
  returned: success
  type: dict
  sample: {new: 3, fixed: 1, still_failing: 40}
"""
