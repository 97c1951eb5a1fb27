#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: readiness_gate
short_description: Scope a phase to its wave and stop it unless a fresh readiness report clears its hosts
version_added: 0.1.0
description:
  - Runs on the controller. Every phase that changes something calls it first.
  - "First the wave: with an upgrade plan (O(plan_file), see the collection's C(docs/upgrade_plan.md)) the run acts on
    one wave, O(wave). Every host of O(hosts) outside that wave is left out and named with the reason
    (RV(out_of_wave), RV(left_out)): a host belongs to the wave when its site (from its snapshot, as the readiness
    report recorded it, else its C(sms_site_XXX) group) is one the wave upgrades; that holds the site servers, their
    SQL, helper and logon servers and their clients. RV(announce) says which wave, which sites and how many hosts the
    run acts on. An unknown wave, or none with a plan, fails and lists the waves."
  - Without a plan file the whole inventory is one wave, C(all), and the task returns a warning.
  - Fails with the reasons unless a readiness report exists, is younger than O(max_age), contains every
    host of O(hosts), and has no blocking finding left unanswered for those hosts or for the hierarchy
    (host C((hierarchy))).
  - The report must hold together and belong to this run. A malformed report, or one whose C(blocks) flags or summary
    disagree with its findings (edited by hand), is refused with the reason; so is a report dated in the future or
    made for another inventory (another directory of C(-i) sources than it records). A host whose snapshot changed
    since the report assessed it (its recorded SHA-256) is left out with the reason.
  - Errors are never answerable; failing findings of answerable rules are cleared by an answers-file entry
    and a new readiness run.
  - With O(phase), the phase's policy applies (its room in C(plugins/plugin_utils/phases/), and the rules whose
    C(fixed_by) names the phase). Failures of the rules the phase remediates never close its gate (errors do, since what could
    not be read the phase cannot fix), and only blocking findings of the rules it requires count.
    A phase with scope C(host) stays open for the hosts without blockers and returns the others in
    RV(blocked_hosts); a stale report or a hierarchy-wide blocker still closes it for every host.
  - With a plan, the report must have been made with this version of the plan (its SHA-256), the findings of the plan
    itself (rules C(plan.*)) count for every phase, and a hierarchy-wide blocker closes the gate only for the waves it
    blocks (the report names them per finding).
options:
  hosts:
    description: Hosts the phase is about to change. Defaults to the hosts of the play.
    type: list
    elements: str
  report:
    description:
      - A C(readiness.json) file, or a report directory (its C(latest.json) is read).
        Defaults to C(sms-upgrade-reports/<inventory name>) in the current working directory, the folder the readiness
        playbook writes for this inventory.
    type: path
  inventory_name:
    description:
      - Name of the inventory for the default O(report) folder (default the name of the inventory's directory).
    type: str
  max_age:
    description:
      - Oldest acceptable report, as a number of days or a duration such as C(7d), C(36h), C(90m), C(2w).
        Roles pass C(sms_upgrade_report_max_age).
    type: raw
    default: 7d
  phase:
    description:
      - Name of the phase asking (for example C(client_agents), C(preserve)).
      - Without it every blocking finding counts and any blocker closes the gate for all hosts.
    type: str
  wave:
    description:
      - The wave of the upgrade plan this run acts on (playbooks pass C(sms_upgrade_wave), given with
        C(-e sms_upgrade_wave=<name>)).
      - Required when O(plan_file) exists; without a plan the only wave is C(all).
    type: str
  plan_file:
    description:
      - The upgrade plan (playbooks pass C(sms_upgrade_plan_file), default C(<inventory_dir>/upgrade_plan.yml)).
      - When the path is empty or does not exist, the whole inventory is one wave and the task warns.
      - A plan that does not load fails the task with every problem, naming wave, site and cause.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - sms.upgrade.controller_action
attributes:
  check_mode:
    details: The gate only reads the report; it applies in check mode too.
seealso:
  - module: sms.upgrade.readiness_report
author:
  - sms.upgrade contributors (@sms-upgrade)
"""

EXAMPLES = r"""
- name: Let the client agent phase go on for every client of the wave the report clears
  sms.upgrade.readiness_gate:
    phase: client_agents
    wave: "{{ sms_upgrade_wave | default(omit) }}"
    plan_file: "{{ sms_upgrade_plan_file | default(inventory_dir ~ '/upgrade_plan.yml') }}"
  register: gate
  run_once: true
  delegate_to: localhost

- name: Say which wave, which sites and how many hosts the run acts on
  ansible.builtin.debug:
    msg: "{{ gate.announce }}"
  run_once: true

- name: Refuse to change anything unless the readiness report clears these hosts
  sms.upgrade.readiness_gate:
    hosts: "{{ ansible_play_hosts_all }}"
    report: "{{ playbook_dir }}/sms-upgrade-reports/lab"
    max_age: 7d
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
passed:
  description: Whether the gate is open.
  returned: always
  type: bool
run_id:
  description: Run id of the report that was checked.
  returned: when a report was read
  type: str
report_age_hours:
  description: Age of the report in hours.
  returned: when a report was read
  type: float
reasons:
  description: Why the gate is closed (empty when it is open).
  returned: when a report was read
  type: list
  elements: str
blockers:
  description: Blocking findings per host (C(rule [checklist] message)), including C((hierarchy)).
  returned: when a report was read
  type: dict
blocked_hosts:
  description: Hosts of the wave that may not proceed (blockers, not in the report, or a hierarchy-wide blocker).
  returned: when a report was read
  type: list
  elements: str
wave:
  description:
    - The wave the run acts on, C(name), C(planned) (false without a plan file, then the wave is C(all)), C(window)
      (C(start), C(end)), C(sites) (in the order the wave upgrades them, each C(site) with the C(method) of a
      secondary) and C(plan_file).
  returned: when a report was read
  type: dict
  sample: {name: central, planned: true, window: {start: "2026-12-05T18:00:00Z", end: "2026-12-06T06:00:00Z"},
           sites: [{site: CEN, method: null}], plan_file: inventories/lab/upgrade_plan.yml}
wave_hosts:
  description: Hosts of O(hosts) in the wave (those the gate judged; minus RV(blocked_hosts) they are what the run acts on).
  returned: when a report was read
  type: list
  elements: str
out_of_wave:
  description: Hosts of O(hosts) outside the wave.
  returned: when a report was read
  type: list
  elements: str
announce:
  description: One line for the start of the run, which wave, which sites and how many hosts it acts on.
  returned: when a report was read
  type: str
  sample: >-
    Wave central of upgrade plan inventories/lab/upgrade_plan.yml (window 2026-12-05T18:00:00Z to 2026-12-06T06:00:00Z):
    sites CEN, in this order; this run acts on 22 of 38 host(s) of the play (left out: 15 outside the wave, 1 not cleared
    by readiness report 20261125T120000Z).
left_out:
  description:
    - One line per host left out, for the play's output; first the hosts of RV(out_of_wave) with the reason, then
      those of RV(blocked_hosts) with their blockers.
  returned: when a report was read
  type: list
  elements: str
scope:
  description: C(play) or C(host), from the phase policy.
  returned: when a report was read
  type: str
"""
