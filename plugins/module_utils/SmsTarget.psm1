# The machine a sms.upgrade module acts on, and what every module shares to reach it: paths on it, its registry and
# services, the cause of a failure, SHA-256 and timestamps as the controller reads them.
# The controller decides direct or relay (plugins/plugin_utils/common/targets.py) and passes the module `computer`
# only when it must reach another machine. Here no `computer` is the machine the module runs on and any name is a
# machine reached over the network (remote registry, admin shares, service control manager): nothing is guessed.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

Function Get-SmsTarget {
    <# The machine to act on, from the module options computer and share_map (drive letter -> share name). #>
    param($Params)
    $computer = if ($Params.ContainsKey('computer')) { [String]$Params.computer } else { '' }
    $local = [String]::IsNullOrEmpty($computer)
    $name = if ($local) { $env:COMPUTERNAME } else { $computer.TrimStart('\') }
    $target = [PSCustomObject]@{ Name = $name; IsLocal = $local; ShareMap = @{} }
    if ($Params.ContainsKey('share_map') -and $Params.share_map) {
        foreach ($drive in $Params.share_map.Keys) { $target.ShareMap[$drive.TrimEnd(':').ToUpperInvariant()] = $Params.share_map[$drive] }
    }
    $target
}

Function Invoke-SmsModule {
    <# Run a module's work and exit; an exception fails the module with the Failure text ({computer}: the machine). #>
    param($Module, [String]$Failure, [ScriptBlock]$Work)
    try {
        & $Work
    }
    catch {
        $name = (Get-SmsTarget -Params $Module.Params).Name
        $Module.FailJson("$($Failure.Replace('{computer}', $name)): $($_.Exception.Message)", $_)
    }
    $Module.ExitJson()
}

Function ConvertTo-SmsRemotePath {
    <# C:\SMS on the target -> \\TARGET\C$\SMS (or the share named in ShareMap for that drive). #>
    param($Target, [String]$LocalPath)
    if ($Target.IsLocal -or $LocalPath.StartsWith('\\')) { return $LocalPath }
    if ($LocalPath -notmatch '^([A-Za-z]):\\?(.*)$') { throw [System.ArgumentException]"'$LocalPath' is not a drive path" }
    $drive = $Matches[1].ToUpperInvariant()
    $share = if ($Target.ShareMap.ContainsKey($drive)) { $Target.ShareMap[$drive] } else { "$drive`$" }
    "\\$($Target.Name)\$share\$($Matches[2])".TrimEnd('\')
}

Function ConvertTo-SmsLocalPath {
    <# The reverse of ConvertTo-SmsRemotePath, so results show paths as the target sees them. #>
    param($Target, [String]$RemotePath, [String]$LocalRoot, [String]$RemoteRoot)
    if ($Target.IsLocal) { return $RemotePath }
    $LocalRoot.TrimEnd('\') + $RemotePath.Substring($RemoteRoot.TrimEnd('\').Length)
}

Function Open-SmsBaseKey {
    <# A registry hive of the target: this machine's 64-bit view, or the remote registry of another machine. #>
    param($Target, [Microsoft.Win32.RegistryHive]$Hive)
    if ($Target.IsLocal) {
        return [Microsoft.Win32.RegistryKey]::OpenBaseKey($Hive, [Microsoft.Win32.RegistryView]::Registry64)
    }
    try {
        [Microsoft.Win32.RegistryKey]::OpenRemoteBaseKey($Hive, $Target.Name)
    }
    catch [System.IO.IOException] {
        if ([System.IO.Directory]::Exists("\\$($Target.Name)\IPC$") -or [System.IO.Directory]::Exists("\\$($Target.Name)\ADMIN$")) {
            $msg = "cannot open the registry of $($Target.Name) although the machine answers: is the Remote Registry service running?"
            throw [System.InvalidOperationException]$msg
        }
        throw
    }
}

Function New-SmsServiceController {
    <# A ServiceController for one service of the target (dispose it). #>
    param($Target, [String]$Name)
    if ($Target.IsLocal) { return New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Name }
    New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Name, $Target.Name
}

Function Get-SmsErrorCause {
    <# The cause of a failure, one vocabulary for every module (plugins/plugin_utils/common/causes.py MODULE_CAUSES). #>
    param([System.Exception]$Exception)
    $e = $Exception
    # PowerShell's wrappers (MethodInvocation, GetValueInvocation, CmdletInvocation) and ServiceController's
    # InvalidOperationException carry the real error as their InnerException.
    while ($e.InnerException -and (
            $e -is [System.Management.Automation.RuntimeException] -or
            $e -is [System.Reflection.TargetInvocationException] -or
            ($e -is [System.InvalidOperationException] -and $e.InnerException -is [System.ComponentModel.Win32Exception]))) {
        $e = $e.InnerException
    }
    $code = if ($e -is [System.ComponentModel.Win32Exception]) { $e.NativeErrorCode } else { $e.HResult -band 0xFFFF }
    if ($e -is [System.IO.PathTooLongException] -or $code -eq 206) { return 'path_too_long' }
    if ($e -is [System.UnauthorizedAccessException] -or $e -is [System.Security.SecurityException] -or $code -eq 5) {
        return 'access_denied'
    }
    if ($e -is [System.IO.FileNotFoundException] -or $e -is [System.IO.DirectoryNotFoundException] -or $code -in @(2, 3)) {
        return 'not_found'
    }
    if ($e -is [System.InvalidOperationException] -and $e.Message -like '*Remote Registry service*') { return 'remote_registry_stopped' }
    # Sharing and lock violations: another process holds the file (an open file, a loaded hive).
    if ($code -in @(32, 33)) { return 'locked' }
    if ($code -in @(39, 112)) { return 'disk_full' }
    # ServiceController.WaitForStatus throws System.ServiceProcess.TimeoutException, which is not a System.TimeoutException.
    if ($e -is [System.TimeoutException] -or $e.GetType().FullName -eq 'System.ServiceProcess.TimeoutException' -or $code -eq 1460) {
        return 'timeout'
    }
    if ($code -in @(51, 53, 64, 67, 1219, 1722, 1727)) { return 'unreachable' }
    'other'
}

Function ConvertTo-SmsHashText {
    <# A hash as the controller writes it: lower-case hex. #>
    param([byte[]]$Hash)
    ([System.BitConverter]::ToString($Hash)).Replace('-', '').ToLowerInvariant()
}

Function Get-SmsBytesHash {
    <# SHA-256 of bytes in memory. #>
    param([byte[]]$Bytes)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { ConvertTo-SmsHashText -Hash ($sha.ComputeHash($Bytes)) }
    finally { $sha.Dispose() }
}

Function Get-SmsFileHash {
    <# SHA-256 of a file, read while others may write or delete it. #>
    param([String]$Path)
    $stream = [System.IO.File]::Open($Path, 'Open', 'Read', [System.IO.FileShare]'ReadWrite, Delete')
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { ConvertTo-SmsHashText -Hash ($sha.ComputeHash($stream)) }
    finally {
        $sha.Dispose()
        $stream.Dispose()
    }
}

Function ConvertTo-SmsTimestamp {
    <# A UTC time as the controller writes it (common/clock.py ISO): 2026-12-03T11:52:28Z. #>
    param([DateTime]$Utc)
    $Utc.ToString('yyyy-MM-ddTHH:mm:ssZ', [System.Globalization.CultureInfo]::InvariantCulture)
}

Export-ModuleMember -Function Get-SmsTarget, Invoke-SmsModule, ConvertTo-SmsRemotePath, ConvertTo-SmsLocalPath, Open-SmsBaseKey, `
    New-SmsServiceController, Get-SmsErrorCause, ConvertTo-SmsHashText, Get-SmsBytesHash, Get-SmsFileHash, ConvertTo-SmsTimestamp
