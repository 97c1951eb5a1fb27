#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: readiness_gate
short_description: Stop a phase unless a fresh readiness report clears its hosts
version_added: 0.1.0
description:
  - Runs on the controller. Every phase that changes something calls it first.
  - Fails with the reasons unless a readiness report exists, is younger than O(max_age), contains every
    host of O(hosts), and has no blocking finding left unanswered for those hosts or for the hierarchy
    (host C((hierarchy))).
  - Errors are never answerable; failing findings of answerable rules are cleared by an answers-file entry
    and a new readiness run.
  - With O(phase), the phase's policy applies (its room in C(plugins/plugin_utils/phases/), and the rules whose
    C(fixed_by) names the phase). Findings of the rules the phase remediates never close its gate, and only blocking findings of the rules it requires count.
    A phase with scope C(host) stays open for the hosts without blockers and returns the others in
    RV(blocked_hosts); a stale report or a hierarchy-wide blocker still closes it for every host.
options:
  hosts:
    description: Hosts the phase is about to change. Defaults to the hosts of the play.
    type: list
    elements: str
  report:
    description:
      - A C(readiness.json) file, or a report directory (its C(latest.json) is read).
        Defaults to C(sms-upgrade-reports) in the current working directory.
    type: path
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
- name: Let the client agent phase go on for every client the report clears
  sms.upgrade.readiness_gate:
    phase: client_agents
  register: gate
  run_once: true
  delegate_to: localhost

- name: Refuse to change anything unless the readiness report clears these hosts
  sms.upgrade.readiness_gate:
    hosts: "{{ ansible_play_hosts_all }}"
    report: "{{ playbook_dir }}/sms-upgrade-reports"
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
  description: Hosts of O(hosts) that may not proceed (blockers, not in the report, or a hierarchy-wide blocker).
  returned: when a report was read
  type: list
  elements: str
left_out:
  description: One line per host of RV(blocked_hosts) naming its blockers, for the play's output.
  returned: when a report was read
  type: list
  elements: str
scope:
  description: C(play) or C(host), from the phase policy.
  returned: when a report was read
  type: str
"""
