# Compare-and-set hands for the sms.upgrade apply modules. Each change was planned on the controller
# (plugins/plugin_utils/phases); here it is applied only when the target still holds what the plan expects
# ("set X to B if it is still A"). A change already in place is reported unchanged; anything else is a
# conflict that returns what the target holds now, so that the controller can plan again. Nothing here
# decides what a value should be, and nothing here builds the diff: the action shows the plan's.

#AnsibleRequires -CSharpUtil ansible_collections.sms.upgrade.plugins.module_utils.SmsChange
#AnsibleRequires -CSharpUtil Ansible.Privilege
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

$script:SmsStartTypes = @{ auto = 2; manual = 3; disabled = 4 }

Function New-SmsChangeResult {
    <# The outcome of one change: changed, unchanged, would_change, conflict or failed. #>
    param([String]$Id, [String]$Status, [String]$Message, [String]$Cause, $Current, [String]$Backup)
    @{ id = $Id; status = $Status; message = $Message; cause = $Cause; current = $Current; backup = $Backup }
}

Function Invoke-SmsServiceChange {
    <# Start mode from -> to (compare-and-set), then stop (or start) the service when the plan says so. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode, [Int32]$TimeoutSeconds)
    $now = Get-SmsServiceStatus -Target $Target -Name $Change.name
    if ($null -eq $now) { return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "service $($Change.name) does not exist" }
    $setMode = $Change.ContainsKey('start_mode') -and $now.start_mode -ne $Change.start_mode.to
    if ($setMode -and $now.start_mode -ne $Change.start_mode.from) {
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current $now `
            -Message "service $($Change.name) starts $($now.start_mode), the plan expected $($Change.start_mode.from)"
    }
    if ($setMode -and -not $script:SmsStartTypes.ContainsKey("$($Change.start_mode.to)")) {
        throw [System.ArgumentException]"cannot set start mode '$($Change.start_mode.to)' (auto, manual or disabled)"
    }
    $wantState = if ($Change.ContainsKey('state')) { $Change.state.to } else { $null }
    $setState = $wantState -and $now.state -ne $wantState
    if (-not ($setMode -or $setState)) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current $now }
    if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current $now }
    $machine = if ($Target.IsLocal) { [NullString]::Value } else { $Target.Name }
    if ($setMode) {
        [ansible_collections.sms.upgrade.plugins.module_utils.SmsChange.ServiceConfig]::SetStartType($machine, $Change.name, $script:SmsStartTypes[$Change.start_mode.to])
    }
    if ($setState) {
        $service = New-SmsServiceController -Target $Target -Name $Change.name
        $timeout = [TimeSpan]::FromSeconds($TimeoutSeconds)
        try {
            # A service already on its way (pending, e.g. after an earlier timeout) is not sent the control again.
            if ($wantState -eq 'stopped') {
                if ($now.state -eq 'start_pending') { $service.WaitForStatus('Running', $timeout) }
                if ($now.state -ne 'stop_pending') { $service.Stop() }
                $service.WaitForStatus('Stopped', $timeout)
            }
            else {
                if ($now.state -ne 'start_pending') { $service.Start() }
                $service.WaitForStatus('Running', $timeout)
            }
        }
        finally { $service.Dispose() }
    }
    New-SmsChangeResult -Id $Change.id -Status 'changed' -Current (Get-SmsServiceStatus -Target $Target -Name $Change.name)
}

Function Invoke-SmsShareChange {
    <# Remove a share if it still points to `from.path`; or, putting one back, create it as `to` (path, remark, maximum
       uses, permissions as SDDL) if there is no share of that name. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode)
    $now = Get-SmsShareDetail -Target $Target -Name $Change.name
    $machine = if ($Target.IsLocal) { [NullString]::Value } else { $Target.Name }
    if ($null -eq $Change.to) {
        if ($null -eq $now) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Message "share $($Change.name) does not exist" }
        if ($now.path -ne $Change.from.path) {
            return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current $now -Message "share $($Change.name) points to $($now.path)"
        }
        if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current $now }
        [ansible_collections.sms.upgrade.plugins.module_utils.SmsChange.ShareConfig]::Delete($machine, $Change.name)
        return New-SmsChangeResult -Id $Change.id -Status 'changed' -Current $now -Backup $now.sddl
    }
    if ($null -ne $now) {
        if ($now.path -eq $Change.to.path) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current $now }
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current $now -Message "share $($Change.name) exists on $($now.path)"
    }
    if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' }
    $maxUses = if ($null -ne $Change.to.max_uses) { [Int32]$Change.to.max_uses } else { -1 }
    $sddl = if ($Change.to.sddl) { [String]$Change.to.sddl } else { [NullString]::Value }
    [ansible_collections.sms.upgrade.plugins.module_utils.SmsChange.ShareConfig]::Add($machine, $Change.name, $Change.to.path, $Change.to.remark, $maxUses, $sddl)
    New-SmsChangeResult -Id $Change.id -Status 'changed' -Current (Get-SmsShareDetail -Target $Target -Name $Change.name)
}

Function Compare-SmsHiveValue {
    <# unchanged, conflict or $null (go ahead) for a value read now; a value that is not a string is never planned again. #>
    param([Hashtable]$Change, $Current, [String]$Kind)
    if ($null -ne $Current -and $Current -isnot [String]) {
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "$($Change.value) is a $Kind value, not a string"
    }
    if ($Current -ceq $Change.to) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current @{ value = $Current } }
    if ($Current -cne $Change.from) {
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current @{ value = $Current } -Message "$($Change.value) changed since it was read"
    }
    $null
}

Function Set-SmsHiveValue {
    <# Compare-and-set one string value under an open hive root (read-only in check mode). #>
    param($HiveRoot, [Hashtable]$Change, [Bool]$CheckMode)
    $key = $HiveRoot.OpenSubKey($Change.key, (-not $CheckMode))
    if ($null -eq $key) { return Compare-SmsHiveValue -Change $Change -Current $null -Kind 'missing' }
    try {
        $current = $null
        $kind = 'missing'
        if ($key.GetValueNames() -contains $Change.value) {
            $current = $key.GetValue($Change.value, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
            $kind = "$($key.GetValueKind($Change.value))"
        }
        $verdict = Compare-SmsHiveValue -Change $Change -Current $current -Kind $kind
        if ($verdict) { return $verdict }
        if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current @{ value = $current } }
        $key.SetValue($Change.value, [String]$Change.to, $key.GetValueKind($Change.value))
        New-SmsChangeResult -Id $Change.id -Status 'changed' -Current @{ value = $Change.to }
    }
    finally { $key.Dispose() }
}

Function Invoke-SmsProfileHiveChange {
    <# A value in a profile's NTUSER.DAT that is not loaded: check mode reads a read-only copy (as the gather does);
       otherwise the file is loaded with RegLoadKey, changed, and always unloaded. A failed unload after a
       successful write keeps the change (it was made) and says the hive is still loaded. #>
    param($Target, $Users, [Hashtable]$Change, [Bool]$CheckMode)
    if ($CheckMode) {
        $read = Read-SmsUnloadedHive -Target $Target -ProfilePath $Change.profile_path -ValuePaths @{ value = "$($Change.key)\$($Change.value)" }
        $verdict = Compare-SmsHiveValue -Change $Change -Current $read.value -Kind 'non-string'
        if ($verdict) { return $verdict }
        return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current @{ value = $read.value }
    }
    $file = [System.IO.Path]::Combine($Change.profile_path, 'NTUSER.DAT')
    $name = 'sms-upgrade-' + [Guid]::NewGuid().ToString('N')
    $machine = if ($Target.IsLocal) { [NullString]::Value } else { $Target.Name }
    # RegLoadKey needs both privileges (on the machine whose registry it is); not strict: a relay's token may lack them
    # while the remote machine grants them to the administrator it authenticates.
    $privileges = New-Object -TypeName Ansible.Privilege.PrivilegeEnabler -ArgumentList @($false, 'SeBackupPrivilege', 'SeRestorePrivilege')
    try {
        $mount = New-Object -TypeName ansible_collections.sms.upgrade.plugins.module_utils.SmsChange.HiveMount -ArgumentList $machine, $file, $name
        $result = $null
        try {
            $root = $Users.OpenSubKey($name)
            if ($null -eq $root) { throw [System.IO.IOException]"HKU\$name is not visible after loading $file" }
            try { $result = Set-SmsHiveValue -HiveRoot $root -Change $Change -CheckMode $false } finally { $root.Dispose() }
        }
        finally {
            $unloadError = $mount.Unload()
            if ($unloadError) {
                if ($null -eq $result) { throw [System.IO.IOException]"$file stays loaded as HKU\$($name): $unloadError" }
                $result.cause = 'hive_in_use'
                $result.message = ("$($result.message) $file stays loaded as HKU\$($name) until it is unloaded or the machine " +
                    "restarts: $unloadError").Trim()
            }
        }
        $result
    }
    finally { $privileges.Dispose() }
}

Function Invoke-SmsUserValueChange {
    <# A value in a user hive: the loaded hive HKU\<sid> when the user is logged on now, else the profile's NTUSER.DAT. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode)
    $users = Open-SmsBaseKey -Target $Target -Hive Users
    try {
        if ($Change.sid -and ($users.GetSubKeyNames() -contains $Change.sid)) {
            $root = $users.OpenSubKey($Change.sid)
            if ($null -ne $root) { try { return Set-SmsHiveValue -HiveRoot $root -Change $Change -CheckMode $CheckMode } finally { $root.Dispose() } }
        }
        if (-not $Change.profile_path) {
            return New-SmsChangeResult -Id $Change.id -Status 'conflict' `
                -Message "HKU\$($Change.sid) is no longer loaded and no profile path is known for its NTUSER.DAT"
        }
        Invoke-SmsProfileHiveChange -Target $Target -Users $users -Change $Change -CheckMode $CheckMode
    }
    finally { $users.Dispose() }
}

Function Write-SmsNewFile {
    <# Write bytes to a file that must not exist yet; a partial file from a failed write is removed. $false if it exists. #>
    param([String]$Path, [byte[]]$Bytes)
    try { $stream = New-Object -TypeName System.IO.FileStream -ArgumentList $Path, 'CreateNew', 'Write' }
    catch [System.IO.IOException] { if ([System.IO.File]::Exists($Path)) { return $false } else { throw } }
    try {
        $stream.Write($Bytes, 0, $Bytes.Length)
        $stream.Flush()
    }
    catch {
        $stream.Dispose()
        $stream = $null
        [System.IO.File]::Delete($Path)
        throw
    }
    finally { if ($stream) { $stream.Dispose() } }
    $true
}

Function Invoke-SmsFileContentChange {
    <# Replace a file whose SHA-256 is from_sha256: verified backup beside it first, then new bytes through a temp file. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode)
    $path = ConvertTo-SmsRemotePath -Target $Target -LocalPath $Change.path
    $bytes = [System.IO.File]::ReadAllBytes($path)
    $sha = Get-SmsBytesHash -Bytes $bytes
    if ($sha -eq $Change.to_sha256) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current @{ sha256 = $sha } }
    if ($sha -ne $Change.from_sha256) {
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "$($Change.path) changed since it was read" `
            -Current @{ sha256 = $sha; content_b64 = [System.Convert]::ToBase64String($bytes) }
    }
    if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current @{ sha256 = $sha } }
    $new = [System.Convert]::FromBase64String($Change.content_b64)
    if ((Get-SmsBytesHash -Bytes $new) -ne $Change.to_sha256) { throw [System.IO.InvalidDataException]'the new content does not match to_sha256' }
    $directory = [System.IO.Path]::GetDirectoryName($path)
    $backup = $null
    for ($n = 1; $n -le 999 -and -not $backup; $n++) {
        $candidate = [System.IO.Path]::Combine($directory, ($Change.backup_pattern -f $n))
        if (Write-SmsNewFile -Path $candidate -Bytes $bytes) { $backup = $candidate }
    }
    if (-not $backup) { throw [System.IO.IOException]"no free backup name $($Change.backup_pattern) in $directory" }
    if ((Get-SmsFileHash -Path $backup) -ne $sha) { throw [System.IO.InvalidDataException]"backup $backup does not verify" }
    $localBackup = $Change.path.Substring(0, $Change.path.LastIndexOf('\') + 1) + [System.IO.Path]::GetFileName($backup)
    $temp = [System.IO.Path]::Combine($directory, ($Change.backup_pattern -f 0))
    if ([System.IO.File]::Exists($temp)) { [System.IO.File]::Delete($temp) }
    try {
        [void](Write-SmsNewFile -Path $temp -Bytes $new)
        if ((Get-SmsFileHash -Path $temp) -ne $Change.to_sha256) { throw [System.IO.InvalidDataException]"$temp does not verify" }
        # [NullString]::Value: PowerShell would pass $null to a string parameter as "", which File.Replace refuses.
        try { [System.IO.File]::Replace($temp, $path, [NullString]::Value) }
        catch [System.IO.IOException], [System.PlatformNotSupportedException] {
            [System.IO.File]::Copy($temp, $path, $true)
        }
    }
    finally { if ([System.IO.File]::Exists($temp)) { [System.IO.File]::Delete($temp) } }
    $final = Get-SmsFileHash -Path $path
    if ($final -ne $Change.to_sha256) {
        return New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause 'other' -Backup $localBackup -Current @{ sha256 = $final } `
            -Message "$($Change.path) does not verify after the write; the original is in $localBackup"
    }
    New-SmsChangeResult -Id $Change.id -Status 'changed' -Backup $localBackup -Current @{ sha256 = $final }
}

Function Invoke-SmsChange {
    <# One change by kind; an exception becomes a failed result with its cause, the other changes go on. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode, [Int32]$TimeoutSeconds)
    try {
        switch ($Change.kind) {
            'service' { Invoke-SmsServiceChange -Target $Target -Change $Change -CheckMode $CheckMode -TimeoutSeconds $TimeoutSeconds }
            'user_value' { Invoke-SmsUserValueChange -Target $Target -Change $Change -CheckMode $CheckMode }
            'file_content' { Invoke-SmsFileContentChange -Target $Target -Change $Change -CheckMode $CheckMode }
            'share' { Invoke-SmsShareChange -Target $Target -Change $Change -CheckMode $CheckMode }
            default { New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause 'other' -Message "unknown change kind '$($Change.kind)'" }
        }
    }
    catch {
        New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause (Get-SmsErrorCause -Exception $_.Exception) -Message $_.Exception.Message
    }
}

Function Invoke-SmsChangeSet {
    <# Apply the module's changes in order on the target machine; fills changed, changes and computer. #>
    param($Module)
    $params = $Module.Params
    $target = Get-SmsTarget -Params $params
    $results = @(foreach ($change in @($params.changes)) {
            Invoke-SmsChange -Target $target -Change $change -CheckMode $Module.CheckMode -TimeoutSeconds $params.stop_timeout
        })
    $Module.Result.computer = $target.Name
    $Module.Result.changes = $results
    $Module.Result.changed = @($results | Where-Object { $_.status -in @('changed', 'would_change') }).Count -gt 0
}

Export-ModuleMember -Function Invoke-SmsChangeSet, Invoke-SmsChange, New-SmsChangeResult
