#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsUpgrade

# The hands of the post_upgrade phase on an upgraded SMS 2.0 site server (or, in relay mode, on the management host
# acting on it): op=read reads the classes, files and registry values the controller lists through the SMS Provider
# (root\SMS\site_<code>); op=apply applies the controller's compare-and-set changes to provider objects.

$spec = @{
    options = @{
        computer = @{ type = 'str' }
        op = @{ type = 'str'; default = 'read'; choices = @('read', 'apply') }
        namespace = @{ type = 'str' }
        reads = @{ type = 'list'; elements = 'dict'; default = @() }
        files = @{ type = 'list'; elements = 'dict'; default = @() }
        registry_values = @{ type = 'list'; elements = 'str'; default = @() }
        changes = @{ type = 'list'; elements = 'dict'; default = @() }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false

Invoke-SmsModule -Module $module -Failure 'Failed to use the SMS 2.0 provider of {computer}' -Work {
    $params = $module.Params
    if (-not $params.namespace) { throw [System.ArgumentException]'namespace is required (the action plugin sets it)' }
    $target = Get-SmsTarget -Params $params
    $module.Result.computer = $target.Name
    $provider = Connect-SmsProvider -Target $target -Namespace $params.namespace
    $module.Result.provider = $provider.status
    if ($params.op -eq 'read') {
        $objects = @{}
        if ($provider.scope) {
            foreach ($read in @($params.reads)) { $objects[$read.name] = Read-SmsProviderClass -Scope $provider.scope -Read $read }
        }
        $files = @{}
        foreach ($file in @($params.files)) { $files[$file.name] = Get-SmsFileState -Target $target -Path $file.path }
        $registry = @{}
        foreach ($path in @($params.registry_values)) { $registry[$path] = Read-SmsRegistryValueAt -Target $target -Path $path }
        $module.Result.objects = $objects
        $module.Result.files = $files
        $module.Result.registry = $registry
        return
    }
    if (-not $provider.scope) {
        throw [System.InvalidOperationException]"cannot open $($params.namespace) ($($provider.status.code)): $($provider.status.message)"
    }
    $results = @(foreach ($change in @($params.changes)) {
            Invoke-SmsProviderChange -Scope $provider.scope -Change $change -CheckMode $module.CheckMode
        })
    $module.Result.changes = $results
    $module.Result.changed = @($results | Where-Object { $_.status -in @('changed', 'would_change') }).Count -gt 0
}
