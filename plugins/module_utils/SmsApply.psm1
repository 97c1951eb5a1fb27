# Compare-and-set hands for the sms.upgrade apply modules. Each change was planned on the controller
# (plugins/plugin_utils/plan); here it is applied only when the target still holds what the plan expects
# ("set X to B if it is still A"). A change already in place is reported unchanged; anything else is a
# conflict that returns what the target holds now, so that the controller can plan again. Nothing here
# decides what a value should be.

#AnsibleRequires -CSharpUtil ansible_collections.sms.upgrade.plugins.module_utils.SmsChange
#AnsibleRequires -CSharpUtil Ansible.Privilege
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

$script:SmsStartTypes = @{ auto = 2; manual = 3; disabled = 4 }

Function New-SmsChangeResult {
    <# The outcome of one change: changed, unchanged, would_change, conflict or failed. #>
    param([String]$Id, [String]$Status, [String]$Message, [String]$Cause, $Current, [String]$Backup)
    @{ id = $Id; status = $Status; message = $Message; cause = $Cause; current = $Current; backup = $Backup }
}

Function Get-SmsBytesHash {
    param([byte[]]$Bytes)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    try { ([System.BitConverter]::ToString($sha.ComputeHash($Bytes))).Replace('-', '').ToLowerInvariant() }
    finally { $sha.Dispose() }
}

Function Invoke-SmsServiceChange {
    <# Start mode from -> to (compare-and-set), then stop the service when the plan says so. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode, [Int32]$TimeoutSeconds)
    $now = Get-SmsServiceStatus -Target $Target -Name $Change.name
    if ($null -eq $now) { return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "service $($Change.name) does not exist" -Current @{} }
    $setMode = $Change.ContainsKey('start_mode') -and $now.start_mode -ne $Change.start_mode.to
    if ($setMode -and $now.start_mode -ne $Change.start_mode.from) {
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current $now `
            -Message "service $($Change.name) starts $($now.start_mode), the plan expected $($Change.start_mode.from)"
    }
    $wantState = if ($Change.ContainsKey('state')) { $Change.state.to } else { $null }
    $setState = $wantState -and $now.state -ne $wantState
    if (-not ($setMode -or $setState)) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current $now }
    if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current $now }
    $machine = if ($Target.IsLocal) { $null } else { $Target.Name }
    if ($setMode) {
        [ansible_collections.sms.upgrade.plugins.module_utils.SmsChange.ServiceConfig]::SetStartType($machine, $Change.name, $script:SmsStartTypes[$Change.start_mode.to])
    }
    if ($setState) {
        $service = if ($machine) { New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Change.name, $machine } `
        else { New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Change.name }
        try {
            if ($wantState -eq 'stopped') { $service.Stop() } else { $service.Start() }
            $service.WaitForStatus($(if ($wantState -eq 'stopped') { 'Stopped' } else { 'Running' }), [TimeSpan]::FromSeconds($TimeoutSeconds))
        }
        finally { $service.Dispose() }
    }
    New-SmsChangeResult -Id $Change.id -Status 'changed' -Current (Get-SmsServiceStatus -Target $Target -Name $Change.name)
}

Function Set-SmsHiveValue {
    <# Compare-and-set one string value under an open hive root. #>
    param($HiveRoot, [Hashtable]$Change, [Bool]$CheckMode)
    $key = $HiveRoot.OpenSubKey($Change.key, (-not $CheckMode))
    if ($null -eq $key) {
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current @{ value = $null } -Message "key $($Change.key) does not exist"
    }
    try {
        $current = if ($key.GetValueNames() -contains $Change.value) {
            $key.GetValue($Change.value, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
        }
        else { $null }
        if ($null -ne $current -and $current -isnot [String]) {
            return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current @{ value = "$current" } `
                -Message "$($Change.value) is a $($key.GetValueKind($Change.value)) value, not a string"
        }
        if ($current -ceq $Change.to) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current @{ value = $current } }
        if ($current -cne $Change.from) {
            return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current @{ value = $current } -Message "$($Change.value) changed since it was read"
        }
        if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current @{ value = $current } }
        $kind = $key.GetValueKind($Change.value)
        $key.SetValue($Change.value, [String]$Change.to, $kind)
        New-SmsChangeResult -Id $Change.id -Status 'changed' -Current @{ value = $Change.to }
    }
    finally { $key.Dispose() }
}

Function Invoke-SmsUserValueChange {
    <# A value in a loaded user hive (HKU\<sid>), or in an NTUSER.DAT loaded for the change and always unloaded. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode)
    $users = Open-SmsBaseKey -Target $Target -Hive Users
    try {
        if ($Change.source -eq 'loaded_hive' -or ($Change.sid -and $users.GetSubKeyNames() -contains $Change.sid)) {
            $root = $users.OpenSubKey($Change.sid, (-not $CheckMode))
            if ($null -eq $root) { return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Current @{ value = $null } -Message "HKU\$($Change.sid) is no longer loaded" }
            try { return Set-SmsHiveValue -HiveRoot $root -Change $Change -CheckMode $CheckMode } finally { $root.Dispose() }
        }
        $file = Join-Path -Path $Change.profile_path -ChildPath 'NTUSER.DAT'
        $name = 'sms-upgrade-' + [Guid]::NewGuid().ToString('N')
        $machine = if ($Target.IsLocal) { $null } else { $Target.Name }
        # RegLoadKey needs both privileges (on the machine whose registry it is); not strict: a relay's token may lack them
        # while the remote machine grants them to the administrator it authenticates.
        $privileges = New-Object -TypeName Ansible.Privilege.PrivilegeEnabler -ArgumentList @($false, 'SeBackupPrivilege', 'SeRestorePrivilege')
        try {
            $mount = New-Object -TypeName ansible_collections.sms.upgrade.plugins.module_utils.SmsChange.HiveMount -ArgumentList $machine, $file, $name
            try {
                $root = $users.OpenSubKey($name, (-not $CheckMode))
                try { Set-SmsHiveValue -HiveRoot $root -Change $Change -CheckMode $CheckMode } finally { $root.Dispose() }
            }
            finally { $mount.Dispose() }
        }
        finally { $privileges.Dispose() }
    }
    finally { $users.Dispose() }
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
        $candidate = Join-Path -Path $directory -ChildPath ($Change.backup_pattern -f $n)
        try {
            $stream = New-Object -TypeName System.IO.FileStream -ArgumentList $candidate, 'CreateNew', 'Write'
            try { $stream.Write($bytes, 0, $bytes.Length) } finally { $stream.Dispose() }
            $backup = $candidate
        }
        catch [System.IO.IOException] { if ([System.IO.File]::Exists($candidate)) { continue } else { throw } }
    }
    if (-not $backup) { throw [System.IO.IOException]"no free backup name $($Change.backup_pattern) in $directory" }
    if ((Get-SmsFileHash -Path $backup) -ne $sha) { throw [System.IO.InvalidDataException]"backup $backup does not verify" }
    $temp = Join-Path -Path $directory -ChildPath ($Change.backup_pattern -f 0)
    [System.IO.File]::WriteAllBytes($temp, $new)
    if ((Get-SmsFileHash -Path $temp) -ne $Change.to_sha256) { throw [System.IO.InvalidDataException]"$temp does not verify" }
    try { [System.IO.File]::Replace($temp, $path, $null) }
    catch [System.IO.IOException], [System.PlatformNotSupportedException] {
        [System.IO.File]::Copy($temp, $path, $true)
        [System.IO.File]::Delete($temp)
    }
    $final = Get-SmsFileHash -Path $path
    $localBackup = $Change.path.Substring(0, $Change.path.LastIndexOf('\') + 1) + [System.IO.Path]::GetFileName($backup)
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
            default { New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause 'other' -Message "unknown change kind '$($Change.kind)'" }
        }
    }
    catch {
        New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause (Get-SmsErrorCause -Exception $_.Exception) -Message $_.Exception.Message
    }
}

Function Invoke-SmsChangeSet {
    <# Apply the module's changes in order on the target machine; fills changed, changes, computer and the diff. #>
    param($Module)
    $params = $Module.Params
    $target = Get-SmsTarget -Computer $params.computer
    if ($params.share_map) { foreach ($drive in $params.share_map.Keys) { $target.ShareMap[$drive.TrimEnd(':').ToUpperInvariant()] = $params.share_map[$drive] } }
    $results = @(foreach ($change in @($params.changes)) {
            Invoke-SmsChange -Target $target -Change $change -CheckMode $Module.CheckMode -TimeoutSeconds $params.stop_timeout
        })
    $Module.Result.computer = $target.Name
    $Module.Result.changes = $results
    $Module.Result.changed = @($results | Where-Object { $_.status -in @('changed', 'would_change') }).Count -gt 0
    $Module.Diff.before = @{}
    $Module.Diff.after = @{}
    foreach ($change in @($params.changes)) {
        $result = $results | Where-Object { $_.id -eq $change.id } | Select-Object -First 1
        if ($result -and $result.status -in @('changed', 'would_change')) {
            $Module.Diff.before[$change.id] = Get-SmsChangeSide -Change $change -Side 'from'
            $Module.Diff.after[$change.id] = Get-SmsChangeSide -Change $change -Side 'to'
        }
    }
}

Function Get-SmsChangeSide {
    <# What a change expects (from) or sets (to), for the diff: a value, a file hash, or a service's start mode and state. #>
    param([Hashtable]$Change, [String]$Side)
    switch ($Change.kind) {
        'service' {
            $sides = @{}
            foreach ($field in @('start_mode', 'state')) { if ($Change.ContainsKey($field)) { $sides[$field] = $Change[$field][$Side] } }
            $sides
        }
        'file_content' { $Change["$($Side)_sha256"] }
        default { $Change[$Side] }
    }
}

Export-ModuleMember -Function Invoke-SmsChangeSet, Invoke-SmsChange, New-SmsChangeResult
