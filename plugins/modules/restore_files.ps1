#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsPreserve

# Puts files back from the preserve vault: hashes the targets (inventory), then writes each staged file only
# where the target is still as the controller saw it (apply); a replaced file is moved aside, never deleted.
# The action plugin of the same name chooses the files, versions and targets and stages the vault copies.

$spec = Get-SmsRestoreSpec
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure 'Failed to restore files on {computer}' -Work { Invoke-SmsRestore -Module $module }
