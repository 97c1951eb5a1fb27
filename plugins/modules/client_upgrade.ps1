#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsApply
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsUpgrade

# The hands of the client_upgrade phase on an SMS 1.2 client (or, in relay mode, on the management host acting on it):
# op=read resolves the client's addresses and counts the processes the controller names; op=apply applies the
# controller's changes: SMS.INI [Local] settings (file_content, compare-and-set with a verified backup, SmsApply.psm1)
# and the start of SMSMAN.EXE (start_process, unless it runs). The client re-gather is sms.upgrade.client_facts.

$spec = @{
    options = @{
        computer = @{ type = 'str' }
        op = @{ type = 'str'; default = 'read'; choices = @('read', 'apply') }
        process_names = @{ type = 'list'; elements = 'str'; default = @() }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
        share_map = @{ type = 'dict'; default = @{} }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure 'Failed to upgrade the SMS client {computer}' -Work {
    $params = $module.Params
    $target = Get-SmsTarget -Params $params
    $module.Result.computer = $target.Name
    if ($params.op -eq 'read') {
        $module.Result.addresses = @(Get-SmsAddresses -Target $target)
        $names = @($params.process_names)
        $module.Result.processes = if ($names.Count -gt 0) { Get-SmsProcessCounts -Target $target -Names $names } else { @{} }
        return
    }
    $results = @(foreach ($change in @($params.changes)) {
            if ($change.kind -eq 'start_process') { Invoke-SmsProcessStart -Target $target -Change $change -CheckMode $module.CheckMode }
            else { Invoke-SmsChange -Target $target -Change $change -CheckMode $module.CheckMode -TimeoutSeconds 60 }
        })
    $module.Result.changes = $results
    $module.Result.changed = @($results | Where-Object { $_.status -in @('changed', 'would_change') }).Count -gt 0
}
