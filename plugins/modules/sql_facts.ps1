#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsSql

# Runs the read-only query script of a site-database gather in one isql/osql session and returns
# the raw output (the runner is Invoke-SmsSqlScript of SmsSql.psm1, shared with sms.upgrade.database).
# The action plugin of the same name builds and checks the script and parses the output on the
# controller. The password reaches the client through its environment variable, never on the
# command line.

$spec = @{
    options = @{
        computer = @{ type = 'str' }
        script = @{ type = 'str' }
        client = @{ type = 'str'; default = 'isql.exe' }
        login_user = @{ type = 'str' }
        login_password = @{ type = 'str'; no_log = $true }
        timeout = @{ type = 'int'; default = 600 }
        width = @{ type = 'int'; default = 4096 }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false
$target = Get-SmsTarget -Params $module.Params
$module.Result.computer = $target.Name
if (-not $module.Params.script) {
    $module.FailJson("script is empty: run sms.upgrade.sql_facts as a task so that its action plugin builds the read-only query script")
}

$clientPath = Resolve-SmsSqlClient -Client $module.Params.client
if (-not $clientPath) {
    $module.FailJson("SQL client '$($module.Params.client)' not found on $($env:COMPUTERNAME): install the SQL Server client tools (isql.exe or osql.exe) or set sms_upgrade_sql_client to its full path")
}
try {
    $run = Invoke-SmsSqlScript -ClientPath $clientPath -Server $target.Name -Script $module.Params.script `
        -User $module.Params.login_user -Password $module.Params.login_password -Timeout $module.Params.timeout -Width $module.Params.width
}
catch {
    $module.FailJson("Failed to run $clientPath against $($target.Name): $($_.Exception.Message)", $_)
}
if ($run.timed_out) {
    $module.Result.errors = @(New-SmsSectionError -Section 'sql' -Cause 'timeout' -Message "$clientPath did not finish within $($module.Params.timeout) s")
    $module.FailJson("$clientPath against $($target.Name) did not finish within $($module.Params.timeout) seconds")
}
$module.Result.output = $run.output
$module.Result.stderr = $run.stderr
$module.Result.rc = $run.rc
$module.Result.client_path = $run.client_path

$module.ExitJson()
