# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes shared by the collection's controller-only actions."""


class ModuleDocFragment:
    """Controller-only action; use it after ansible.builtin.action_common_attributes (.conn, .flow). Each action only
    reads the managed hosts, so it runs in check mode too: the module gives check_mode its details."""

    DOCUMENTATION = r"""
attributes:
  action:
    support: full
  async:
    support: none
  become:
    support: none
  bypass_host_loop:
    support: none
    details: Use it with C(run_once) and C(delegate_to=localhost); one run covers all hosts it is given.
  check_mode:
    support: full
  connection:
    support: none
  delegation:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: all
"""
