#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: vault_verify
short_description: Verify the preserve vault against its manifests and return what is preserved per host
version_added: 0.1.0
description:
  - Runs on the controller. Reads every C(<vault_dir>/<SITE>/<host>/manifest.json) written by
    M(sms.upgrade.preserve_files), hashes every version of every file again and compares size and SHA-256 with
    the manifest.
  - A category (for example C(collected_files)) is verified when every version of every file is in the vault unchanged,
    the current versions' host copies were verified by the preserve run, and that run left no problem open in the
    category.
  - Per category, C(sources) lists for each source path the SHA-256 of every version that verifies (in the vault and
    on the host); the readiness rules match each file of the snapshot against it.
  - RV(preservation) is what M(sms.upgrade.readiness_report) takes as its C(preservation) option; the readiness role
    passes it, so the C(preserve.*) rules pass only for what the vault verifies at assessment time.
  - A manifest that cannot be read gives its host an unverified C(vault) entry naming the cause. A missing vault
    directory means nothing is preserved yet (an empty result), not an error.
options:
  vault_dir:
    description: The vault directory (C(sms_upgrade_vault_dir)).
    type: path
    required: true
  hosts:
    description: Only these inventory hosts. Defaults to every host in the vault.
    type: list
    elements: str
  fail_on_unverified:
    description: Fail when a category of a host does not verify.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.conn
  - ansible.builtin.action_common_attributes.flow
  - sms.upgrade.controller_action
attributes:
  check_mode:
    details: Only reads the vault, in both modes.
seealso:
  - module: sms.upgrade.preserve_files
  - module: sms.upgrade.readiness_report
author:
  - sms.upgrade contributors (@sms-upgrade)
"""

EXAMPLES = r"""
- name: Verify the vault and feed the readiness report
  sms.upgrade.vault_verify:
    vault_dir: "{{ playbook_dir }}/sms-upgrade-vault"
  run_once: true
  delegate_to: localhost
  register: vault

- name: Assess with what the vault verifies
  sms.upgrade.readiness_report:
    snapshot_dir: "{{ inventory_dir }}/snapshots"
    preservation: "{{ vault.preservation }}"
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
preservation:
  description:
    - HOST -> CATEGORY -> C(verified), C(files), C(bytes) (current versions that verify), C(verified_at) (now),
      C(host_verified_at) (the oldest verification of a current host copy), C(problems), C(sources) (source path in
      upper case -> SHA-256 of every verified version), C(exclude) (patterns the last preserve run left out on purpose)
      and C(names) (vault paths of the current versions that verify).
  returned: always
  type: dict
  sample:
    CENSRV01:
      collected_files:
        verified: true
        files: 1
        bytes: 4097
        verified_at: "2026-11-25T10:00:00Z"
        host_verified_at: "2026-11-24T18:00:00Z"
        problems: []
        sources: {'C:\SMS\SITE.SRV\DATALOAD.BOX\FILES.COL\00000001.COL': [49c856347da3cb151fb4be1e4ef804a25b2f43653fbac8ebe7a0b128cf68c36e]}
        exclude: ['*.TMP']
        names: [00000001.COL]
summary:
  description: Per host, the verified and unverified categories and the number of files and bytes verified.
  returned: always
  type: dict
  sample: {CENSRV01: {categories: 9, verified: [collected_files], unverified: [], files: 14, bytes: 61234}}
unverified_hosts:
  description: Hosts with at least one category that does not verify.
  returned: always
  type: list
  elements: str
"""
