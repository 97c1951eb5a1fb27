# Read-only probes of an SMS 1.2 machine for the sms.upgrade gather modules.
# Works on the machine the module runs on (no computer) or on a legacy machine reached over the network from a
# relay (remote registry, admin shares, service control manager, NetShare API): the target is SmsTarget.psm1's.
# Nothing here decides what a value means: that happens on the controller (plugin_utils/gather).

#AnsibleRequires -CSharpUtil ansible_collections.sms.upgrade.plugins.module_utils.SmsNative
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

$script:SmsServiceStates = @{
    Running = 'running'
    Stopped = 'stopped'
    StartPending = 'start_pending'
    StopPending = 'stop_pending'
    Paused = 'paused'
    ContinuePending = 'unknown'
    PausePending = 'unknown'
}

$script:SmsStartModes = @{
    Boot = 'boot'
    System = 'system'
    Automatic = 'auto'
    Manual = 'manual'
    Disabled = 'disabled'
}

$script:Latin1 = [System.Text.Encoding]::GetEncoding(28591)

# What differs between the gather modules that share Invoke-SmsGather (microsoft.ad style:
# a table of modules, one implementation).
$script:SmsGatherKinds = @{
    site_facts = @{ service_patterns = @('SMS_*'); read_disks = $true; read_profiles = $false }
    client_facts = @{ service_patterns = @('Wuser32', 'SMS_*'); read_disks = $false; read_profiles = $true }
    preserve_files = @{ service_patterns = @(); read_disks = $false; read_profiles = $false }
}

Function Get-SmsGatherSpec {
    <# The argument spec of a gather module (documented in plugins/doc_fragments/gather.py and the module sidecar). #>
    param([String]$Kind)
    $defaults = $script:SmsGatherKinds[$Kind]
    @{
        options = @{
            computer = @{ type = 'str' }
            registry_values = @{ type = 'list'; elements = 'str'; default = @() }
            registry_keys = @{ type = 'list'; elements = 'str'; default = @() }
            system_root = @{ type = 'str' }
            system_root_values = @{ type = 'list'; elements = 'str'; default = @() }
            sms_root = @{ type = 'str' }
            sms_root_value = @{ type = 'str' }
            service_patterns = @{ type = 'list'; elements = 'str'; default = $defaults.service_patterns }
            file_sets = @{
                type = 'list'
                elements = 'dict'
                default = @()
                options = @{
                    name = @{ type = 'str'; required = $true }
                    path = @{ type = 'str'; required = $true }
                    include = @{ type = 'list'; elements = 'str'; default = @('*') }
                    recurse = @{ type = 'bool'; default = $false }
                }
            }
            text_files = @{
                type = 'list'
                elements = 'dict'
                default = @()
                options = @{
                    name = @{ type = 'str'; required = $true }
                    path = @{ type = 'str'; required = $true }
                    max_bytes = @{ type = 'int'; default = 1048576 }
                }
            }
            share_map = @{ type = 'dict'; default = @{} }
            hash_files = @{ type = 'bool'; default = $true }
            hash_max_mb = @{ type = 'int'; default = 512 }
            read_disks = @{ type = 'bool'; default = $defaults.read_disks }
            read_profiles = @{ type = 'bool'; default = $defaults.read_profiles }
            user_values = @{ type = 'dict'; default = @{} }
        }
        supports_check_mode = $true
    }
}

Function New-SmsSectionError {
    <# One unreadable source: section, cause (snapshot schema enum) and message. #>
    param([String]$Section, [String]$Cause, [String]$Message)
    @{ section = $Section; cause = $Cause; message = $Message }
}

Function New-SmsServiceRecord {
    param([String]$Name, [String]$DisplayName, [String]$State, [String]$StartMode)
    @{ name = $Name; display_name = $DisplayName; state = $State; start_mode = $StartMode }
}

Function New-SmsShareRecord {
    param([String]$Name, [String]$Path, [String]$Remark, [UInt32]$Type)
    @{ name = $Name; path = $Path; remark = $Remark; type = $Type }
}

Function New-SmsFileRecord {
    param([String]$Path, [Int64]$Size, [String]$Sha256, [String]$Modified)
    @{ path = $Path; size = $Size; sha256 = $Sha256; modified = $Modified }
}

Function New-SmsUserEntryRecord {
    param([String]$User, [String]$Sid, [String]$ProfilePath, [String]$Source, $Load, $Run)
    @{ user = $User; sid = $Sid; profile_path = $ProfilePath; source = $Source; load = $Load; run = $Run }
}

Function Invoke-SmsSection {
    <# Run one read; on failure record a section error and return $null instead of failing the gather. #>
    param([System.Collections.Generic.List[Object]]$Errors, [String]$Section, [ScriptBlock]$Read)
    try {
        & $Read
    }
    catch {
        $Errors.Add((New-SmsSectionError -Section $Section -Cause (Get-SmsErrorCause -Exception $_.Exception) `
                    -Message $_.Exception.Message))
        $null
    }
}

Function ConvertTo-SmsRegistryData {
    <# Registry data as JSON-friendly values: binary data as base64. #>
    param($Key, [String]$Name)
    $kind = $Key.GetValueKind($Name)
    $data = $Key.GetValue($Name, $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames)
    if ($data -is [byte[]]) { $data = [System.Convert]::ToBase64String($data) }
    @{ type = "$kind"; value = $data }
}

Function Read-SmsRegistryValues {
    <# HKLM-relative "Key\Value" paths -> @{ path = @{type; value} or $null when absent }. #>
    param($BaseKey, [String[]]$Paths)
    $values = @{}
    foreach ($path in $Paths) {
        $split = $path.LastIndexOf('\')
        $key = $BaseKey.OpenSubKey($path.Substring(0, $split))
        $values[$path] = $null
        if ($null -ne $key) {
            try {
                $name = $path.Substring($split + 1)
                if ($key.GetValueNames() -contains $name) { $values[$path] = ConvertTo-SmsRegistryData -Key $key -Name $name }
            }
            finally { $key.Dispose() }
        }
    }
    $values
}

Function Read-SmsRegistrySubKeys {
    param($BaseKey, [String[]]$Paths)
    $subkeys = @{}
    foreach ($path in $Paths) {
        $key = $BaseKey.OpenSubKey($path)
        $subkeys[$path] = if ($null -eq $key) { $null } else { try { @($key.GetSubKeyNames()) } finally { $key.Dispose() } }
    }
    $subkeys
}

Function Get-SmsServiceRecords {
    <# Services whose name matches one of the patterns, from the target's service control manager. #>
    param($Target, [String[]]$Patterns)
    $all = if ($Target.IsLocal) { [System.ServiceProcess.ServiceController]::GetServices() } `
    else { [System.ServiceProcess.ServiceController]::GetServices($Target.Name) }
    foreach ($service in $all) {
        if (-not ($Patterns | Where-Object { $service.ServiceName -like $_ })) { continue }
        $state = $script:SmsServiceStates["$($service.Status)"]
        $start = $script:SmsStartModes["$($service.StartType)"]
        New-SmsServiceRecord -Name $service.ServiceName -DisplayName $service.DisplayName `
            -State $(if ($state) { $state } else { 'unknown' }) -StartMode $start
        $service.Dispose()
    }
}

Function Get-SmsServiceStatus {
    <# State and start mode of one service (snapshot enum values); $null when the service does not exist. #>
    param($Target, [String]$Name)
    $service = New-SmsServiceController -Target $Target -Name $Name
    try {
        try { $status = "$($service.Status)" }
        catch [System.InvalidOperationException] {
            if ($_.Exception.InnerException -is [System.ComponentModel.Win32Exception] -and $_.Exception.InnerException.NativeErrorCode -eq 1060) { return $null }
            throw
        }
        $state = $script:SmsServiceStates[$status]
        @{ state = $(if ($state) { $state } else { 'unknown' }); start_mode = $script:SmsStartModes["$($service.StartType)"] }
    }
    finally { $service.Dispose() }
}

Function Get-SmsShareRecords {
    param($Target)
    $server = if ($Target.IsLocal) { $null } else { $Target.Name }
    foreach ($share in [ansible_collections.sms.upgrade.plugins.module_utils.SmsNative.Shares]::Enumerate($server)) {
        New-SmsShareRecord -Name $share.Name -Path $share.Path -Remark $share.Remark -Type $share.Type
    }
}

Function Get-SmsShareDetail {
    <# One share of the target by name with its permissions (NetShareGetInfo 502); $null when there is no such share. #>
    param($Target, [String]$Name)
    $server = if ($Target.IsLocal) { [NullString]::Value } else { $Target.Name }
    $share = [ansible_collections.sms.upgrade.plugins.module_utils.SmsNative.Shares]::Get($server, $Name)
    if ($null -eq $share) { return $null }
    @{ name = $share.Name; path = $share.Path; remark = $share.Remark; max_uses = $share.MaxUses; sddl = $share.Sddl }
}

Function Get-SmsDiskRecords {
    <# Fixed drives: local drive list, or the administrative X$ shares of a remote machine. #>
    param($Target, $Shares)
    $roots = if ($Target.IsLocal) {
        [System.IO.DriveInfo]::GetDrives() | Where-Object { $_.DriveType -eq 'Fixed' } | ForEach-Object { $_.Name }
    }
    else {
        $Shares | Where-Object { $_.name -match '^[A-Za-z]\$$' } | ForEach-Object { "\\$($Target.Name)\$($_.name)\" }
    }
    foreach ($root in $roots) {
        $space = [ansible_collections.sms.upgrade.plugins.module_utils.SmsNative.Volumes]::SpaceMB($root)
        $drive = if ($Target.IsLocal) { $root.Substring(0, 2) } else { $root.Split('\')[3].Substring(0, 1) + ':' }
        @{
            drive = $drive.ToUpperInvariant()
            filesystem = [ansible_collections.sms.upgrade.plugins.module_utils.SmsNative.Volumes]::FileSystem($root)
            total_mb = [Int64]$space[0]
            free_mb = [Int64]$space[1]
        }
    }
}

Function Resolve-SmsPathToken {
    <# Replace %SMS_ROOT%, %SYSTEM_ROOT% and %SHARE:NAME%; $null when a token has no value. #>
    param([String]$Path, [Hashtable]$Tokens)
    $resolved = $Path
    foreach ($match in [regex]::Matches($Path, '%([A-Z_]+(:[^%]+)?)%')) {
        $value = $Tokens[$match.Groups[1].Value.ToUpperInvariant()]
        if ([String]::IsNullOrEmpty($value)) { return $null }
        $resolved = $resolved.Replace($match.Value, $value.TrimEnd('\'))
    }
    $resolved
}

Function Get-SmsFileRecords {
    <# Files of one file set: path as the target sees it, size, SHA-256, last write time (UTC). #>
    param($Target, [String]$LocalPath, [String[]]$Include, [Bool]$Recurse, [Bool]$Hash, [Int64]$MaxHashBytes)
    $remote = ConvertTo-SmsRemotePath -Target $Target -LocalPath $LocalPath
    if (-not [System.IO.Directory]::Exists($remote)) { return }
    $option = if ($Recurse) { [System.IO.SearchOption]::AllDirectories } else { [System.IO.SearchOption]::TopDirectoryOnly }
    $seen = @{}
    foreach ($pattern in $Include) {
        foreach ($file in [System.IO.Directory]::EnumerateFiles($remote, $pattern, $option)) {
            if ($seen.ContainsKey($file)) { continue }
            $seen[$file] = $true
            $info = New-Object -TypeName System.IO.FileInfo -ArgumentList $file
            $sha = if ($Hash -and $info.Length -le $MaxHashBytes) { Get-SmsFileHash -Path $file } else { $null }
            New-SmsFileRecord -Path (ConvertTo-SmsLocalPath -Target $Target -RemotePath $file -LocalRoot $LocalPath -RemoteRoot $remote) `
                -Size $info.Length -Sha256 $sha -Modified (ConvertTo-SmsTimestamp -Utc $info.LastWriteTimeUtc)
        }
    }
}

Function Read-SmsTextFile {
    <# Raw text of a small file, decoded byte for byte (latin-1), for parsing on the controller. #>
    param($Target, [String]$LocalPath, [Int64]$MaxBytes)
    $remote = ConvertTo-SmsRemotePath -Target $Target -LocalPath $LocalPath
    $result = @{ path = $LocalPath; present = $false; content = $null; truncated = $false }
    if (-not [System.IO.File]::Exists($remote)) { return $result }
    $stream = [System.IO.File]::Open($remote, 'Open', 'Read', [System.IO.FileShare]'ReadWrite, Delete')
    try {
        $length = [Math]::Min($stream.Length, $MaxBytes)
        $buffer = New-Object -TypeName byte[] -ArgumentList $length
        $read = 0
        while ($read -lt $length) {
            $n = $stream.Read($buffer, $read, $length - $read)
            if ($n -eq 0) { break }
            $read += $n
        }
        $result.present = $true
        $result.content = $script:Latin1.GetString($buffer, 0, $read)
        $result.truncated = $stream.Length -gt $MaxBytes
    }
    finally { $stream.Dispose() }
    $result
}

Function Expand-SmsTargetPath {
    <# Expand %SystemRoot% and %SystemDrive% with the target's values (not the relay's). #>
    param([String]$Path, [String]$SystemRoot)
    if ([String]::IsNullOrEmpty($Path)) { return $Path }
    $drive = if ($SystemRoot) { $SystemRoot.Substring(0, 2) } else { 'C:' }
    $Path -replace '%SystemRoot%', $SystemRoot -replace '%SystemDrive%', $drive -replace '%WinDir%', $SystemRoot
}

Function Read-SmsUserValues {
    <# Load and Run (or any HKCU-relative values) from one user hive key. #>
    param($HiveKey, [Hashtable]$ValuePaths)
    $found = @{}
    foreach ($name in $ValuePaths.Keys) {
        $path = $ValuePaths[$name]
        $split = $path.LastIndexOf('\')
        $key = $HiveKey.OpenSubKey($path.Substring(0, $split))
        $found[$name] = $null
        if ($null -ne $key) {
            # Unexpanded, as the apply modules compare it (and as the target, not the relay, would expand it).
            try { $found[$name] = $key.GetValue($path.Substring($split + 1), $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames) }
            finally { $key.Dispose() }
        }
    }
    $found
}

Function Read-SmsUnloadedHive {
    <# Copy NTUSER.DAT to a private temp directory, load the copy read-only, read, always unload and delete. #>
    param($Target, [String]$ProfilePath, [Hashtable]$ValuePaths)
    # Path.Combine, not Join-Path: the drive is the target's and need not exist on the relay.
    $source = ConvertTo-SmsRemotePath -Target $Target -LocalPath ([System.IO.Path]::Combine($ProfilePath, 'NTUSER.DAT'))
    $temp = Join-Path -Path ([System.IO.Path]::GetTempPath()) -ChildPath ("sms-upgrade-" + [Guid]::NewGuid().ToString('N'))
    [void][System.IO.Directory]::CreateDirectory($temp)
    try {
        $copy = Join-Path -Path $temp -ChildPath 'NTUSER.DAT'
        [System.IO.File]::Copy($source, $copy)
        $hive = [ansible_collections.sms.upgrade.plugins.module_utils.SmsNative.Hives]::LoadReadOnly($copy)
        try { Read-SmsUserValues -HiveKey $hive -ValuePaths $ValuePaths } finally { $hive.Dispose() }
    }
    finally {
        [System.GC]::Collect()
        [System.GC]::WaitForPendingFinalizers()
        Remove-Item -LiteralPath $temp -Recurse -Force -ErrorAction SilentlyContinue
    }
}

Function Get-SmsAccountName {
    param([String]$Sid, [String]$ProfilePath)
    try {
        (New-Object -TypeName System.Security.Principal.SecurityIdentifier -ArgumentList $Sid).Translate(
            [System.Security.Principal.NTAccount]).Value
    }
    catch { if ($ProfilePath) { Split-Path -Path $ProfilePath -Leaf } else { $Sid } }
}

Function Get-SmsDefaultUserProfile {
    <# Default user profile folder: Vista+ 'Default', 2000/XP ProfilesDirectory\DefaultUserProfile, NT 4.0 Profiles\Default User. #>
    param($ProfileList, [String]$SystemRoot)
    $names = $ProfileList.GetValueNames()
    if ($names -contains 'Default') { return Expand-SmsTargetPath -Path $ProfileList.GetValue('Default', $null, 'DoNotExpandEnvironmentNames') -SystemRoot $SystemRoot }
    if ($names -contains 'ProfilesDirectory' -and $names -contains 'DefaultUserProfile') {
        $dir = Expand-SmsTargetPath -Path $ProfileList.GetValue('ProfilesDirectory', $null, 'DoNotExpandEnvironmentNames') -SystemRoot $SystemRoot
        return Join-Path -Path $dir -ChildPath $ProfileList.GetValue('DefaultUserProfile')
    }
    Join-Path -Path $SystemRoot -ChildPath 'Profiles\Default User'
}

Function Get-SmsUserEntries {
    <# Per-profile HKCU values: hives loaded under HKU, then NTUSER.DAT of every profile not loaded and the default user. #>
    param($Target, [Hashtable]$ValuePaths, [String]$SystemRoot, [System.Collections.Generic.List[Object]]$Errors)
    $users = Open-SmsBaseKey -Target $Target -Hive Users
    $machine = Open-SmsBaseKey -Target $Target -Hive LocalMachine
    $profileList = $machine.OpenSubKey('SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList')
    try {
        $loaded = @($users.GetSubKeyNames() | Where-Object { ($_ -like 'S-1-5-21-*' -or $_ -eq '.DEFAULT') -and $_ -notlike '*_Classes' })
        foreach ($sid in $loaded) {
            $hive = $users.OpenSubKey($sid)
            $values = try { Read-SmsUserValues -HiveKey $hive -ValuePaths $ValuePaths } finally { $hive.Dispose() }
            $profilePath = $null
            if ($profileList) {
                $entry = $profileList.OpenSubKey($sid)
                if ($entry) { try { $profilePath = Expand-SmsTargetPath -Path $entry.GetValue('ProfileImagePath', $null, 'DoNotExpandEnvironmentNames') -SystemRoot $SystemRoot } finally { $entry.Dispose() } }
            }
            New-SmsUserEntryRecord -User (Get-SmsAccountName -Sid $sid -ProfilePath $profilePath) -Sid $sid -ProfilePath $profilePath `
                -Source 'loaded_hive' -Load $values.load -Run $values.run
        }
        if ($null -eq $profileList) { return }
        $pending = @(foreach ($sid in $profileList.GetSubKeyNames()) {
                if ($loaded -contains $sid -or $sid -notlike 'S-1-5-21-*') { continue }
                $entry = $profileList.OpenSubKey($sid)
                try { @{ sid = $sid; path = Expand-SmsTargetPath -Path $entry.GetValue('ProfileImagePath', $null, 'DoNotExpandEnvironmentNames') -SystemRoot $SystemRoot; source = 'ntuser_dat' } }
                finally { $entry.Dispose() }
            })
        $pending += @{ sid = $null; path = Get-SmsDefaultUserProfile -ProfileList $profileList -SystemRoot $SystemRoot; source = 'default_user' }
        foreach ($item in $pending) {
            if ([String]::IsNullOrEmpty($item.path)) { continue }
            $user = if ($item.sid) { Get-SmsAccountName -Sid $item.sid -ProfilePath $item.path } else { 'Default User' }
            $values = Invoke-SmsSection -Errors $Errors -Section 'profiles' -Read {
                Read-SmsUnloadedHive -Target $Target -ProfilePath $item.path -ValuePaths $ValuePaths
            }
            if ($null -ne $values) {
                New-SmsUserEntryRecord -User $user -Sid $item.sid -ProfilePath $item.path -Source $item.source -Load $values.load -Run $values.run
            }
            else {
                $Errors[$Errors.Count - 1].message = "$user ($($item.path)): $($Errors[$Errors.Count - 1].message)"
            }
        }
    }
    finally {
        if ($profileList) { $profileList.Dispose() }
        $machine.Dispose()
        $users.Dispose()
    }
}

Function Invoke-SmsGather {
    <# The whole read-only gather of one machine, driven by the module options. Returns the raw result. #>
    param($Module)
    $params = $Module.Params
    $target = Get-SmsTarget -Params $params
    $errors = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    $registry = @{ values = @{}; subkeys = @{} }
    $base = Invoke-SmsSection -Errors $errors -Section 'registry' -Read { Open-SmsBaseKey -Target $target -Hive LocalMachine }
    if ($base) {
        try {
            $registry.values = Read-SmsRegistryValues -BaseKey $base -Paths @($params.registry_values)
            $registry.subkeys = Read-SmsRegistrySubKeys -BaseKey $base -Paths @($params.registry_keys)
        }
        finally { $base.Dispose() }
    }
    $systemRoot = $params.system_root
    foreach ($path in @($params.system_root_values)) {
        if (-not $systemRoot -and $registry.values[$path]) { $systemRoot = $registry.values[$path].value }
    }
    $smsRoot = $params.sms_root
    if (-not $smsRoot -and $params.sms_root_value -and $registry.values[$params.sms_root_value]) { $smsRoot = $registry.values[$params.sms_root_value].value }
    $services = @(Invoke-SmsSection -Errors $errors -Section 'services' -Read { @(Get-SmsServiceRecords -Target $target -Patterns $params.service_patterns) })
    $shares = @(Invoke-SmsSection -Errors $errors -Section 'shares' -Read { @(Get-SmsShareRecords -Target $target) })
    $tokens = @{ SMS_ROOT = $smsRoot; SYSTEM_ROOT = $systemRoot }
    foreach ($share in $shares) { if ($share.path) { $tokens["SHARE:$($share.name.ToUpperInvariant())"] = $share.path } }

    $Module.Result.computer = $target.Name
    $Module.Result.registry = $registry
    $Module.Result.services = $services
    $Module.Result.shares = $shares
    $Module.Result.sms_root = $smsRoot
    $Module.Result.system_root = $systemRoot
    if ($params.read_disks) {
        $Module.Result.disks = @(Invoke-SmsSection -Errors $errors -Section 'disks' -Read { @(Get-SmsDiskRecords -Target $target -Shares $shares) })
    }
    $Module.Result.file_sets = @(foreach ($set in @($params.file_sets)) {
            $path = Resolve-SmsPathToken -Path $set.path -Tokens $tokens
            if (-not $path) { continue }
            $files = Invoke-SmsSection -Errors $errors -Section "files.$($set.name)" -Read {
                @(Get-SmsFileRecords -Target $target -LocalPath $path -Include $set.include -Recurse $set.recurse `
                        -Hash $params.hash_files -MaxHashBytes ([Int64]$params.hash_max_mb * 1MB))
            }
            @{ name = $set.name; path = $path; files = @($files) }
        })
    $texts = @{}
    foreach ($file in @($params.text_files)) {
        $path = Resolve-SmsPathToken -Path $file.path -Tokens $tokens
        if (-not $path) { $texts[$file.name] = @{ path = $null; present = $false; content = $null; truncated = $false }; continue }
        $read = Invoke-SmsSection -Errors $errors -Section "text.$($file.name)" -Read {
            Read-SmsTextFile -Target $target -LocalPath $path -MaxBytes ([Int64]$file.max_bytes)
        }
        $texts[$file.name] = if ($read) { $read } else { @{ path = $path; present = $false; content = $null; truncated = $false } }
    }
    $Module.Result.text_files = $texts
    if ($params.read_profiles) {
        $Module.Result.user_entries = @(Invoke-SmsSection -Errors $errors -Section 'profiles' -Read {
                @(Get-SmsUserEntries -Target $target -ValuePaths $params.user_values -SystemRoot $systemRoot -Errors $errors)
            })
    }
    $Module.Result.errors = @($errors)
}

Export-ModuleMember -Function Get-SmsGatherSpec, Invoke-SmsSection, New-SmsSectionError, Invoke-SmsGather, Read-SmsTextFile, `
    Resolve-SmsPathToken, ConvertTo-SmsRegistryData, Read-SmsRegistryValues, Get-SmsServiceStatus, Get-SmsShareDetail, `
    Read-SmsUnloadedHive
