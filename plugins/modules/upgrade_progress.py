#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: upgrade_progress
short_description: The JSON record of a post-upgrade or client run, per site of the wave
version_added: 0.1.0
description:
  - Runs on the controller at the end of the playbooks C(sms.upgrade.post_upgrade) and C(sms.upgrade.client_upgrade).
    For every site of the wave it records the post-upgrade status (from the site's record) and the client progress
    (upgraded, pending, staying on SMS 1.2, failed), counted over every client of the site (a client the phase has not
    run yet counts as pending). Sites the upgrade plan keeps on SMS 1.2 are listed with their clients as staying on 1.2.
  - Writes C(<records_dir>/runs/<phase>-<wave>-<UTC time>.json) and merges the sites into
    C(<records_dir>/progress.json), the newest view per site; check mode writes nothing. The format is described in the
    collection's C(docs/post_upgrade.md) ("Records").
options:
  records_dir:
    description: Controller directory of the post-upgrade and client records (C(sms_upgrade_records_dir)).
    type: path
    required: true
  phase:
    description: The phase of the run.
    type: str
    required: true
    choices: [post_upgrade, client_upgrade]
  wave:
    description: The wave of the run (C(sms_upgrade_wave)); required when O(plan_file) exists.
    type: str
  plan_file:
    description: The upgrade plan; without one the whole inventory is one wave.
    type: path
  hosts:
    description: The hosts of this run.
    type: list
    elements: str
    default: []
  result_var:
    description: The variable each host registered the phase's result in (its C(status), C(site) and C(reason) are read).
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - sms.upgrade.controller_action
attributes:
  check_mode:
    support: full
    details: Computes the record and writes nothing.
seealso:
  - module: sms.upgrade.post_upgrade
  - module: sms.upgrade.client_upgrade
author:
  - sms.upgrade contributors (@sms-upgrade)
"""

EXAMPLES = r"""
- name: Record the run per site
  sms.upgrade.upgrade_progress:
    records_dir: "{{ inventory_dir }}/upgrade_records"
    phase: client_upgrade
    wave: "{{ sms_upgrade_wave }}"
    plan_file: "{{ inventory_dir }}/upgrade_plan.yml"
    hosts: "{{ ansible_play_hosts_all }}"
    result_var: client_upgrade_result
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
record:
  description:
    - The run's record (C(schema) sms.upgrade.upgrade_progress.run, C(phase), C(wave), C(run_at), C(plan_file), C(sites)).
    - Per site C(post_upgrade) (C(status), C(reason), C(updated_at)), C(clients) (C(upgraded), C(pending),
      C(staying_on_1_2), C(failed), C(total)), C(failed) and C(pending) (each C(host) and C(reason)), C(this_run), and for a
      site kept on SMS 1.2 C(kept_on_1_2) (the plan's reason).
  returned: always
  type: dict
lines:
  description: One line per site (post-upgrade status and client counts, failed clients by name).
  returned: always
  type: list
  elements: str
path:
  description: The run's record file (null in check mode).
  returned: always
  type: str
"""
