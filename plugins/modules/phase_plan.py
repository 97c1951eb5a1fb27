#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: phase_plan
short_description: Plan a changing phase for every host of a run, once, on the controller
version_added: 0.1.0
description:
  - Runs on the controller. Reads and validates the snapshot of every host of O(hosts) in one pass (or, with
    O(rollback=true), the newest journal record of each host) and plans the phase's changes for each.
  - Returns only the hosts with something to change or something that cannot be planned, so that the phase runs a task
    only for those hosts (pass each host its entry with the phase module's O(sms.upgrade.client_agents#module:plan)
    option). A re-run over hosts that are already as wanted contacts none of them.
  - The same planning runs when the phase module is given no plan; the readiness report shows it as text.
options:
  phase:
    description: The phase to plan.
    type: str
    required: true
    choices: [client_agents]
  hosts:
    description: Inventory names to plan. Defaults to the hosts of the play.
    type: list
    elements: str
  exclude:
    description: Hosts to leave out, for example those the readiness gate did not clear (RV(sms.upgrade.readiness_gate#module:blocked_hosts)).
    type: list
    elements: str
    default: []
  snapshot_dir:
    description: Controller directory of the readiness snapshots (C(<host>.json)). Required unless O(rollback=true).
    type: path
  journal_dir:
    description: Controller directory of the phase's journal. Required with O(rollback=true).
    type: path
  rollback:
    description: Plan the undoing of each host's newest journal record instead.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - sms.upgrade.controller_action
attributes:
  check_mode:
    details: Planning only reads; it runs in check mode too.
seealso:
  - module: sms.upgrade.client_agents
  - module: sms.upgrade.readiness_gate
author:
  - sms.upgrade contributors (@sms-upgrade)
"""

EXAMPLES = r"""
- name: Plan the client agents phase for every client the gate cleared
  sms.upgrade.phase_plan:
    phase: client_agents
    exclude: "{{ gate_result.blocked_hosts }}"
    snapshot_dir: "{{ inventory_dir }}/snapshots"
  register: fleet_plan
  run_once: true
  delegate_to: localhost

- name: Apply on the clients that need it
  sms.upgrade.client_agents:
    plan: "{{ fleet_plan.plans[inventory_hostname] }}"
    journal_dir: "{{ inventory_dir }}/journal"
  when: inventory_hostname in fleet_plan.plans
"""

RETURN = r"""
plans:
  description:
    - Per host with something to do, C(changes) (the explicit changes the phase module applies), C(problems) (what
      cannot be planned, which fails that host) and C(source) (the snapshot or journal record).
  returned: always
  type: dict
hosts:
  description: Number of hosts planned.
  returned: always
  type: int
to_change:
  description: Hosts with at least one change.
  returned: always
  type: int
with_problems:
  description: Hosts with something that cannot be planned.
  returned: always
  type: int
nothing_to_do:
  description: Hosts already as the phase wants them.
  returned: always
  type: int
"""
