#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsSite

# The hands of the site upgrade on a site server (or, with `computer`, on one reached from a relay): mode `state` reads
# what the action plugin of the same name asks for (registry values, services, Setup's and the conversion's logs from
# an offset, the Setup media's version, MIF queues, whether servers answer, whether a process runs); mode `start`
# starts SMS 2.0 Setup through WMI unless a Setup already runs. Every decision is made by the action plugin.

$spec = @{
    options = @{
        computer = @{ type = 'str' }
        mode = @{ type = 'str'; default = 'state'; choices = @('state', 'start') }
        registry_values = @{ type = 'list'; elements = 'str'; default = @() }
        sms_root_value = @{ type = 'str' }
        service_names = @{ type = 'list'; elements = 'str'; default = @() }
        logs = @{ type = 'list'; elements = 'dict'; default = @() }
        max_log_bytes = @{ type = 'int'; default = 65536 }
        media = @{ type = 'str' }
        media_dirs = @{ type = 'list'; elements = 'str'; default = @() }
        queues = @{ type = 'list'; elements = 'dict'; default = @() }
        reach = @{ type = 'list'; elements = 'str'; default = @() }
        unc_files = @{ type = 'list'; elements = 'str'; default = @() }
        process_id = @{ type = 'int' }
        program = @{ type = 'str' }
        arguments = @{ type = 'list'; elements = 'str'; default = @() }
        working_dir = @{ type = 'str' }
        if_not_running = @{ type = 'str' }
        share_map = @{ type = 'dict'; default = @{} }
    }
    required_if = @(, @('mode', 'start', @('program', 'working_dir')))
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure "Failed to $($module.Params.mode) on {computer}" -Work {
    $outcome = if ($module.Params.mode -eq 'start') { Start-SmsSiteProgram -Module $module } else { Get-SmsSiteState -Module $module }
    foreach ($key in $outcome.Keys) { $module.Result[$key] = $outcome[$key] }
}
