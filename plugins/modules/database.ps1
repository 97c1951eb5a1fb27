#!powershell

# Copyright: sms.upgrade contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

#AnsibleRequires -CSharpUtil Ansible.Basic
#AnsibleRequires -CSharpUtil ansible_collections.sms.upgrade.plugins.module_utils.SmsNative
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsSql

# The hands of the database phase (plugins/plugin_utils/phases/database.py decides everything):
#   mode sql    runs one script, built and checked on the controller, in one isql/osql session against the
#               SQL Server (computer, or this machine) and returns its output as it is;
#   mode files  says for each path on the SQL Server whether it exists, its size, SHA-256 (when asked), whether
#               its directory exists and the free space of its volume (read-only);
#   mode conv20 runs CONV20.EXE against a lab SQL Server and returns Conv20.log.
# The SQL password reaches isql/osql in ISQLPASSWORD/OSQLPASSWORD, never on a command line. CONV20.EXE takes its
# password only as /P (KB Q200653): that happens on the lab SQL Server's runner only, and the command returned shows
# /P ********.

$spec = @{
    options = @{
        computer = @{ type = 'str' }
        mode = @{ type = 'str'; default = 'sql'; choices = @('sql', 'files', 'conv20') }
        script = @{ type = 'str' }
        read_only = @{ type = 'bool'; default = $false }
        client = @{ type = 'str'; default = 'isql.exe' }
        login_user = @{ type = 'str' }
        login_password = @{ type = 'str'; no_log = $true }
        timeout = @{ type = 'int'; default = 600 }
        width = @{ type = 'int'; default = 4096 }
        paths = @{
            type = 'list'
            elements = 'dict'
            default = @()
            options = @{
                path = @{ type = 'str'; required = $true }
                hash = @{ type = 'bool'; default = $false }
            }
        }
        share_map = @{ type = 'dict'; default = @{} }
        conv20_path = @{ type = 'str' }
        conv20_database = @{ type = 'str' }
        conv20_log = @{ type = 'str' }
    }
    supports_check_mode = $true
}

$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
$module.Result.changed = $false
$target = Get-SmsTarget -Params $module.Params
$module.Result.computer = $target.Name
$module.Result.mode = $module.Params.mode

Function Invoke-DatabaseSql {
    if (-not $module.Params.script) {
        $module.FailJson("script is empty: run sms.upgrade.database as a task so that its action plugin builds the script")
    }
    if ($module.CheckMode -and -not $module.Params.read_only) {
        $module.FailJson("check mode runs read-only scripts only: the action plugin marks those with read_only")
    }
    $clientPath = Resolve-SmsSqlClient -Client $module.Params.client
    if (-not $clientPath) {
        $module.FailJson("SQL client '$($module.Params.client)' not found on $($env:COMPUTERNAME): install the SQL Server client tools (isql.exe or osql.exe) or set sms_upgrade_sql_client to its full path")
    }
    $run = Invoke-SmsSqlScript -ClientPath $clientPath -Server $target.Name -Script $module.Params.script `
        -User $module.Params.login_user -Password $module.Params.login_password -Timeout $module.Params.timeout -Width $module.Params.width
    $module.Result.output = $run.output
    $module.Result.stderr = $run.stderr
    $module.Result.rc = $run.rc
    $module.Result.client_path = $run.client_path
    $module.Result.timed_out = $run.timed_out
    $module.Result.changed = -not $module.Params.read_only
}

Function Get-DatabaseFreeByte {
    <# Free bytes of the volume holding Directory (or its nearest existing parent); $null when unknown. #>
    param([String]$Directory)
    $dir = $Directory
    while ($dir -and -not [System.IO.Directory]::Exists($dir)) { $dir = [System.IO.Path]::GetDirectoryName($dir) }
    if (-not $dir) { return $null }
    $space = [ansible_collections.sms.upgrade.plugins.module_utils.SmsNative.Volumes]::SpaceMB($dir.TrimEnd('\') + '\')
    [Int64]$space[1] * 1048576
}

Function Get-DatabaseFileRecord {
    <# One path as the SQL Server sees it: exists, size, SHA-256 (when asked), its directory, the volume's free bytes. #>
    param([Hashtable]$Item)
    $record = @{ path = $Item.path; exists = $false; size = $null; sha256 = $null; dir_exists = $null; free_bytes = $null; error = $null; cause = $null }
    try {
        $io = ConvertTo-SmsRemotePath -Target $target -LocalPath $Item.path
        $directory = [System.IO.Path]::GetDirectoryName($io)
        $record.dir_exists = [System.IO.Directory]::Exists($directory)
        $record.free_bytes = Get-DatabaseFreeByte -Directory $directory
        if ([System.IO.File]::Exists($io)) {
            $record.exists = $true
            $record.size = (New-Object -TypeName System.IO.FileInfo -ArgumentList $io).Length
            if ($Item.hash) { $record.sha256 = Get-SmsFileHash -Path $io }
        }
    }
    catch {
        $record.error = $_.Exception.Message
        $record.cause = Get-SmsErrorCause -Exception $_.Exception
    }
    $record
}

Function Invoke-DatabaseFile {
    $module.Result.files = @(foreach ($item in $module.Params.paths) { Get-DatabaseFileRecord -Item $item })
}

Function Read-DatabaseLog {
    <# The text of Conv20.log that this run wrote: what follows the Before bytes when the file grew, else all of it. #>
    param([String]$Path, [Int64]$Before)
    if (-not [System.IO.File]::Exists($Path)) { return $null }
    $bytes = [System.IO.File]::ReadAllBytes($Path)
    $latin1 = [System.Text.Encoding]::GetEncoding(28591)
    if ($Before -gt 0 -and $bytes.Length -gt $Before) { return $latin1.GetString($bytes, [Int32]$Before, [Int32]($bytes.Length - $Before)) }
    $latin1.GetString($bytes)
}

Function Invoke-DatabaseConv20 {
    foreach ($name in @('conv20_path', 'conv20_database')) {
        if (-not $module.Params[$name]) { $module.FailJson("$name is required in mode conv20") }
    }
    if (-not [System.IO.File]::Exists($module.Params.conv20_path)) {
        $module.FailJson("CONV20.EXE not found at '$($module.Params.conv20_path)' on $($env:COMPUTERNAME): set sms_upgrade_conv20_path")
    }
    $user = if ($module.Params.login_user) { $module.Params.login_user } else { 'sa' }
    $shown = @('/S', $target.Name, '/D', $module.Params.conv20_database, '/U', $user)
    $module.Result.command = "$($module.Params.conv20_path) $($shown -join ' ') /P ********"
    if ($module.CheckMode) {
        $module.Result.changed = $true
        return
    }
    $logPath = [System.Environment]::ExpandEnvironmentVariables($(if ($module.Params.conv20_log) { $module.Params.conv20_log } else { '%SystemDrive%\Conv20.log' }))
    $before = if ([System.IO.File]::Exists($logPath)) { (New-Object -TypeName System.IO.FileInfo -ArgumentList $logPath).Length } else { 0 }
    $arguments = Join-SmsArgument -Arguments ($shown + @('/P', "$($module.Params.login_password)"))
    $run = Invoke-SmsProcess -FilePath $module.Params.conv20_path -Arguments $arguments -Timeout $module.Params.timeout
    $module.Result.output = $run.output
    $module.Result.stderr = $run.stderr
    $module.Result.rc = $run.rc
    $module.Result.timed_out = $run.timed_out
    $module.Result.log_path = $logPath
    $module.Result.log = Read-DatabaseLog -Path $logPath -Before $before
    $module.Result.changed = $true
}

Invoke-SmsModule -Module $module -Failure "The database module (mode $($module.Params.mode)) failed on {computer}" -Work {
    switch ($module.Params.mode) {
        'sql' { Invoke-DatabaseSql }
        'files' { Invoke-DatabaseFile }
        'conv20' { Invoke-DatabaseConv20 }
    }
}
