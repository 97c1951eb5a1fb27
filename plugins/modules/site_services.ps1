#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsApply
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsSite

# Reads a server's SMS 1.2 services and shares (mode read), or applies the compare-and-set changes the action plugin of
# the same name planned (mode apply: stop and disable a service; remove a share, or put it back), on the machine the
# module runs on or on the one named by `computer` (a legacy NT 4.0 server reached from a relay).

$spec = @{
    options = @{
        computer = @{ type = 'str' }
        mode = @{ type = 'str'; default = 'read'; choices = @('read', 'apply') }
        service_names = @{ type = 'list'; elements = 'str'; default = @() }
        share_names = @{ type = 'list'; elements = 'str'; default = @() }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
        stop_timeout = @{ type = 'int'; default = 120 }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure "Failed to $($module.Params.mode) the SMS 1.2 services and shares of {computer}" -Work {
    if ($module.Params.mode -eq 'read') { Get-SmsSiteServerState -Module $module } else { Invoke-SmsChangeSet -Module $module }
}
