#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: upgrade_wave
short_description: The wave of the upgrade plan a run acts on, and which hosts are in it
version_added: 0.1.0
description:
  - Runs on the controller. Reads and validates the upgrade plan (O(plan_file), see the collection's
    C(docs/upgrade_plan.md)), finds the wave O(wave) and splits O(hosts) into the hosts of the wave and the others,
    each named with the reason.
  - A host belongs to the wave when its site is one the wave upgrades (its snapshot's site code when O(snapshot_dir)
    holds a valid snapshot of it, else its C(sms_site_XXX) group); that holds the site servers, their SQL, helper and
    logon servers and their clients.
  - For phases that need no readiness gate (the client agents rollback); changing phases get the same scoping from
    M(sms.upgrade.readiness_gate).
  - Without a plan file the whole inventory is one wave, C(all), and the task returns a warning. An unknown wave, or
    none with a plan, fails and lists the waves; a plan that does not load fails with every problem.
options:
  wave:
    description: The wave (playbooks pass C(sms_upgrade_wave)). Required when O(plan_file) exists.
    type: str
  plan_file:
    description:
      - The upgrade plan (playbooks pass C(sms_upgrade_plan_file), default C(<inventory_dir>/upgrade_plan.yml)).
      - When the path is empty or does not exist, the whole inventory is one wave.
    type: path
  hosts:
    description: Inventory names to split. Defaults to the hosts of the play.
    type: list
    elements: str
  snapshot_dir:
    description: Controller directory of the readiness snapshots; without it the sites come from the C(sms_site_XXX) groups.
    type: path
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - sms.upgrade.controller_action
attributes:
  check_mode:
    details: It only reads the plan and the snapshots.
seealso:
  - module: sms.upgrade.readiness_gate
  - module: sms.upgrade.phase_plan
author:
  - sms.upgrade contributors (@sms-upgrade)
"""

EXAMPLES = r"""
- name: Find the clients of the wave
  sms.upgrade.upgrade_wave:
    wave: "{{ sms_upgrade_wave }}"
    plan_file: "{{ sms_upgrade_plan_file | default(inventory_dir ~ '/upgrade_plan.yml') }}"
    snapshot_dir: "{{ sms_upgrade_snapshot_dir | default(inventory_dir ~ '/snapshots') }}"
  register: wave
  run_once: true
  delegate_to: localhost

- name: Plan the rollback of the wave's clients only
  sms.upgrade.phase_plan:
    phase: client_agents
    rollback: true
    hosts: "{{ wave.wave_hosts }}"
    journal_dir: "{{ inventory_dir }}/journal"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
wave:
  description:
    - C(name), C(planned) (false without a plan file, then the wave is C(all)), C(window) (C(start), C(end)), C(sites) (in the
      order the wave upgrades them, each with its C(method) for a secondary) and C(plan_file).
  returned: always
  type: dict
waves:
  description: Every wave of the plan, in order.
  returned: always
  type: list
  elements: str
stay_on_1_2:
  description: The sites that stay on SMS 1.2, with C(site) and C(reason).
  returned: always
  type: list
  elements: dict
wave_hosts:
  description: Hosts of O(hosts) in the wave.
  returned: always
  type: list
  elements: str
out_of_wave:
  description: Hosts of O(hosts) outside the wave.
  returned: always
  type: list
  elements: str
left_out:
  description: One line per host of RV(out_of_wave) with the reason.
  returned: always
  type: list
  elements: str
"""
