#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsApply

# Applies the client_agents changes the action plugin of the same name planned on the controller
# (remote control agent off, SMSRUN start-up entries removed), compare-and-set, on the machine the
# module runs on or on a legacy client reached over the network from a relay.

$spec = @{
    options = @{
        computer = @{ type = 'str' }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
        stop_timeout = @{ type = 'int'; default = 60 }
        share_map = @{ type = 'dict'; default = @{} }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure 'Failed to apply the client agent changes on {computer}' -Work { Invoke-SmsChangeSet -Module $module }
