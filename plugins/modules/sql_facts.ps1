#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather

# Runs the read-only query script of a site-database gather in one isql/osql session and returns
# the raw output. The action plugin of the same name builds and checks the script and parses the
# output on the controller. The password reaches the client through its environment variable,
# never on the command line.

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

Function Resolve-SqlClient {
    param([String]$Client)
    $command = Get-Command -Name $Client -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $command) {
        $module.FailJson("SQL client '$Client' not found on $($env:COMPUTERNAME): install the SQL Server client tools (isql.exe or osql.exe) or set sms_upgrade_sql_client to its full path")
    }
    $command.Source
}

Function Get-SqlClientArgument {
    param([String]$Server, [String]$User, [Int32]$Width, [Int32]$Timeout)
    $arguments = @('-S', $Server, '-d', 'master', '-n', '-w', "$Width", '-t', "$Timeout")
    if ($User) { $arguments += @('-U', $User) } else { $arguments += '-E' }
    ($arguments | ForEach-Object { if ($_ -match '[\s"]') { '"' + ($_ -replace '"', '\"') + '"' } else { $_ } }) -join ' '
}

$clientPath = Resolve-SqlClient -Client $module.Params.client
$startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo -Property @{
    FileName = $clientPath
    Arguments = Get-SqlClientArgument -Server $target.Name -User $module.Params.login_user -Width $module.Params.width -Timeout $module.Params.timeout
    UseShellExecute = $false
    RedirectStandardInput = $true
    RedirectStandardOutput = $true
    RedirectStandardError = $true
    CreateNoWindow = $true
}
foreach ($variable in @('ISQLPASSWORD', 'OSQLPASSWORD')) {
    if ($module.Params.login_password) { $startInfo.EnvironmentVariables[$variable] = $module.Params.login_password }
}

$process = New-Object -TypeName System.Diagnostics.Process
$process.StartInfo = $startInfo
try {
    [void]$process.Start()
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    $process.StandardInput.Write($module.Params.script)
    $process.StandardInput.Close()
    if (-not $process.WaitForExit($module.Params.timeout * 1000)) {
        $process.Kill()
        $module.Result.errors = @(New-SmsSectionError -Section 'sql' -Cause 'timeout' -Message "$clientPath did not finish within $($module.Params.timeout) s")
        $module.FailJson("$clientPath against $($target.Name) did not finish within $($module.Params.timeout) seconds")
    }
    $module.Result.output = $stdout.Result
    $module.Result.stderr = $stderr.Result
    $module.Result.rc = $process.ExitCode
    $module.Result.client_path = $clientPath
}
catch {
    $module.FailJson("Failed to run $clientPath against $($target.Name): $($_.Exception.Message)", $_)
}
finally {
    $process.Dispose()
}

$module.ExitJson()
