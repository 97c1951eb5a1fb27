#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsPreserve

# Lists, hashes, copies and writes for the preserve phase, on the host itself or on a legacy machine reached
# from a relay (computer). The action plugin of the same name decides what to keep, where and which version
# (plugins/plugin_utils/phases/preserve.py), and moves the verified host copies into the controller's vault.

$spec = Get-SmsPreserveSpec
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure "Failed to preserve files of {computer} under $($module.Params.host_root)" `
    -Work { Invoke-SmsPreserve -Module $module }
