# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options and attributes shared by the gather modules site_facts and client_facts (after sms.upgrade.windows_target)."""


class ModuleDocFragment:
    """The read list options of SmsGather.psm1 and the snapshot options of the gather action."""

    DOCUMENTATION = r"""
options:
  snapshot_dir:
    description:
      - Controller directory in which the snapshot is saved as C(<inventory name>.json), written atomically.
        A different earlier snapshot of the host is kept in C(history/). Not saved when omitted.
    type: path
  registry_values:
    description:
      - HKLM-relative C(Key\Value) paths to read. Set by the action plugin from C(gather.yml); set it only to
        troubleshoot.
    type: list
    elements: str
    default: []
  registry_keys:
    description: HKLM-relative keys whose subkey names are listed. Set by the action plugin.
    type: list
    elements: str
    default: []
  system_root:
    description:
      - The target's Windows directory, for C(%SYSTEM_ROOT%) in paths. Defaults to the first of
        O(system_root_values) found in the registry; set it (C(sms_upgrade_system_root)) for machines without a
        remote registry such as Windows 3.x.
    type: str
  system_root_values:
    description: Registry value paths tried for the Windows directory. Set by the action plugin.
    type: list
    elements: str
    default: []
  sms_root:
    description:
      - SMS root directory on the target, for C(%SMS_ROOT%) in paths. Defaults to the registry value named by
        O(sms_root_value) (C(Identification\Installation Directory), KB Q191329).
    type: str
  sms_root_value:
    description: Registry value path holding the SMS root. Set by the action plugin.
    type: str
  service_patterns:
    description: Wildcard patterns of the service names reported, read from the target's service control manager.
    type: list
    elements: str
  file_sets:
    description:
      - Directories inventoried with size, SHA-256 and last write time. Set by the action plugin from
        C(gather.yml). C(path) may contain C(%SMS_ROOT%), C(%SYSTEM_ROOT%) and C(%SHARE:NAME%); a set whose
        token has no value is skipped.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the set; C(logon_scripts.<location>) sets become logon scripts with that location.
        type: str
        required: true
      path:
        description: Directory on the target, as the target sees it.
        type: str
        required: true
      include:
        description: File name patterns.
        type: list
        elements: str
        default: ['*']
      recurse:
        description: Include subdirectories.
        type: bool
        default: false
  text_files:
    description:
      - Small files returned unparsed for parsing on the controller (decoded byte for byte as latin-1). Set by
        the action plugin.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Key of the file in the raw result.
        type: str
        required: true
      path:
        description: File on the target, as the target sees it.
        type: str
        required: true
      max_bytes:
        description: Read at most this many bytes.
        type: int
        default: 1048576
  hash_files:
    description: Compute SHA-256 of every inventoried file.
    type: bool
    default: true
  hash_max_mb:
    description: Files larger than this are listed without a hash.
    type: int
    default: 512
  read_disks:
    description: Report fixed drives with file system, total and free space.
    type: bool
  read_profiles:
    description: Read the O(user_values) of every user profile (loaded hives and NTUSER.DAT of the others).
    type: bool
  user_values:
    description: HKCU-relative C(Key\Value) paths read per profile, by result key. Set by the action plugin.
    type: dict
    default: {}
notes:
  - The module changes nothing on the target. A hive that is not loaded is copied to a private temporary
    directory on the machine running the module, loaded from the copy as a read-only application hive, unloaded
    and deleted, even on error.
  - A source that cannot be read (access denied, remote registry stopped, share unreachable, hive in use)
    becomes an entry of RV(section_errors) and the rest is still returned; the readiness assessment turns each
    into a blocking C(error) finding that names the cause.
  - Requires PowerShell 5.1 on the machine running the module (the host itself, or the relay). Legacy
    machines (Windows NT 4.0, Windows 9x) are read through a relay; see docs/gather.md.
attributes:
  check_mode:
    support: full
    details: The module only reads; check mode gathers the same way.
  diff_mode:
    support: none
    details: Nothing is changed, so there is nothing to diff.
"""
