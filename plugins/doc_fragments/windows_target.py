# -*- coding: utf-8 -*-
# Copyright: (c) 2026, sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The machine a Windows module of the collection acts on, and the attributes those modules share."""


class ModuleDocFragment:
    """``computer`` and the shared attributes (use it after ansible.builtin.action_common_attributes and .flow);
    ``share_map`` for the modules that reach files (``sms.upgrade.windows_target.share_map``)."""

    DOCUMENTATION = r"""
options:
  computer:
    description:
      - NetBIOS name of the machine to act on, reached over the network from the machine the module runs on (remote
        registry, administrative shares, the service control manager, the NetShare API, SQL Server). Without it the
        module acts on the machine it runs on.
      - The action plugin sets it only in relay mode (the task delegated to the host named by C(sms_upgrade_relay), as
        the P(sms.upgrade.relay#filter) filter does), to C(sms_upgrade_computer), else the inventory name. A name is
        always reached over the network, even the name of the machine the module runs on; the module guesses nothing.
    type: str
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
  platform:
    platforms: windows
"""

    SHARE_MAP = r"""
options:
  share_map:
    description:
      - "Share name per drive letter of a machine reached over the network that has no administrative shares (Windows
        9x, 3.x), for example C({C: C}); other drives use C(X$). Inventory C(sms_upgrade_share_map)."
    type: dict
    default: {}
"""
