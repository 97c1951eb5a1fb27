#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather

# Reads an SMS 1.2 client (Windows NT, 9x, 3.x) and every user profile on it, read-only.
# The action plugin of the same name supplies what to read (plugins/plugin_utils/data/gather.yml)
# and turns the raw result into a snapshot on the controller.

$spec = Get-SmsGatherSpec -Kind 'client_facts'
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure 'Failed to read {computer}' -Work { Invoke-SmsGather -Module $module }
