#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: site_wave
short_description: The ordered plan of one wave of the site upgrade, and the wave's record
version_added: 0.1.0
description:
  - Runs on the controller. Reads the upgrade plan (O(plan_file); without one, every site of the inventory is one wave,
    top-down), the inventory's SMS servers and their snapshots, and returns the wave's sites in order, each with its
    site server, SQL, helper and logon servers, role, parent, the secondary's upgrade method and, for a download from
    the parent, the size (about 65 MB), the expected transfer time from the parent's C(sms_upgrade_sender_kbps) and how
    many may download at once (at most five, and fewer than the parent's C(sms_upgrade_max_concurrent_sendings)).
  - Each entry of RV(sites) is what M(sms.upgrade.site_upgrade) takes as its O(sms.upgrade.site_upgrade#module:site).
  - With O(results) (the registered results of the site upgrade, by host) it also writes the record of this run of the
    wave, C(<status_dir>/waves/<wave>-<UTC time>.json) and C(<wave>-latest.json), unless in check mode.
options:
  wave:
    description: The wave of the upgrade plan (required with a plan; without one the only wave is C(all)).
    type: str
  plan_file:
    description: The upgrade plan (C(upgrade_plan.yml), docs/upgrade_plan.md).
    type: path
  snapshot_dir:
    description: Controller directory of the readiness snapshots (roles and parents of the sites).
    type: path
  status_dir:
    description: Controller directory of the site upgrade's records (the wave record goes to C(waves/)).
    type: path
  assessment_params:
    description: Overrides of the assessment parameters (C(secondary_download_mb), C(secondary_download_max_at_once)).
    type: dict
    default: {}
  results:
    description: The results of M(sms.upgrade.site_upgrade) by inventory host; writes the wave's record.
    type: dict
  result_var:
    description:
      - The name under which each site server registered its M(sms.upgrade.site_upgrade) result; the action reads them
        from C(hostvars) (sites that did not run are recorded as C(not_run)) and writes the wave's record.
    type: str
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - sms.upgrade.controller_action
attributes:
  check_mode:
    support: full
    details: Planning only reads; in check mode the wave record is not written.
seealso:
  - module: sms.upgrade.site_upgrade
  - module: sms.upgrade.upgrade_wave
author:
  - sms.upgrade contributors (@sms-upgrade)
"""

EXAMPLES = r"""
- name: The wave's sites, in order
  sms.upgrade.site_wave:
    wave: central
    plan_file: "{{ inventory_dir }}/upgrade_plan.yml"
    snapshot_dir: "{{ inventory_dir }}/snapshots"
  register: site_wave
  run_once: true
  delegate_to: localhost

- name: Record the wave's run
  sms.upgrade.site_wave:
    wave: central
    plan_file: "{{ inventory_dir }}/upgrade_plan.yml"
    status_dir: "{{ inventory_dir }}/site_upgrade"
    result_var: site_upgrade_result
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
wave:
  description:
    - The wave as every phase shows it (C(name), C(planned), C(window), C(sites) with their C(method), C(plan_file)),
      see M(sms.upgrade.upgrade_wave).
  returned: always
  type: dict
sites:
  description:
    - The wave's sites in order, each with C(site), C(position), C(role), C(parent), C(method), C(note), C(server),
      C(sql), C(helpers), C(logon) (each C(host), C(computer), C(snapshots_only)), C(parent_server), C(download) and
      C(steps).
  returned: always
  type: list
  elements: dict
site_hosts:
  description: The site servers of RV(sites), in order.
  returned: always
  type: list
  elements: str
wave_sites:
  description: The site codes, in order.
  returned: always
  type: list
  elements: str
lines:
  description: The plan as text (with O(results), one line per site and its status).
  returned: always
  type: list
  elements: str
problems:
  description: Sites of the wave that cannot be planned (no site server in the inventory, a secondary without a method).
  returned: always
  type: list
  elements: str
left_out:
  description:
    - One line per SMS server of the inventory outside the wave, with the reason (its site is upgraded in another
      wave, stays on SMS 1.2, or is in no wave). The hosts of the wave are decided as for every phase (the site of the
      host's snapshot, else its C(sms_site_XXX) group).
  returned: always
  type: list
  elements: str
stay_on_1_2:
  description: The sites the plan keeps on SMS 1.2, with the reason.
  returned: always
  type: list
  elements: dict
record:
  description: The wave's record (with O(results) or O(result_var)).
  returned: with results or result_var
  type: dict
record_path:
  description: Where the record was written.
  returned: with results or result_var, not in check mode
  type: str
"""
