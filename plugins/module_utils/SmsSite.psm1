# Hands of the site upgrade (modules site_services and site_upgrade): read a server of an SMS 1.2 site and apply the
# explicit compare-and-set changes the controller planned (plugins/plugin_utils/phases/site_services.py and
# site_upgrade.py). The machine is this one, or the one named by `computer`, reached over the network (service control
# manager, remote registry, NetShare API, administrative shares, WMI for processes): the controller decides which.
# Nothing here decides what a service, a share or a step should be.
# The target, path and cause helpers are deliberately small: SmsTarget.psm1 (being written) is meant to hold them once.

#AnsibleRequires -CSharpUtil ansible_collections.sms.upgrade.plugins.module_utils.SmsSite

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

$script:SmsSiteStates = @{ Running = 'running'; Stopped = 'stopped'; StartPending = 'start_pending'; StopPending = 'stop_pending';
    Paused = 'paused'; PausePending = 'pause_pending'; ContinuePending = 'continue_pending' }
$script:SmsSiteStartModes = @{ Automatic = 'auto'; Manual = 'manual'; Disabled = 'disabled'; Boot = 'boot'; System = 'system' }
$script:SmsSiteStartTypes = @{ auto = 'Automatic'; manual = 'Manual'; disabled = 'Disabled' }

Function Get-SmsSiteTarget {
    <# The machine the module acts on: `computer`, or the machine it runs on. #>
    param($Params)
    $computer = if ($Params.ContainsKey('computer')) { [String]$Params.computer } else { '' }
    $local = [String]::IsNullOrEmpty($computer)
    [PSCustomObject]@{ Name = $(if ($local) { $env:COMPUTERNAME } else { $computer.TrimStart('\') }); IsLocal = $local }
}

Function Get-SmsSiteMachine {
    <# The machine name the Windows APIs take: $null for this machine. #>
    param($Target)
    if ($Target.IsLocal) { [NullString]::Value } else { $Target.Name }
}

Function Get-SmsSiteCause {
    <# The cause of a failure, in the vocabulary of plugins/plugin_utils/common/causes.py. #>
    param([System.Exception]$Exception)
    $e = $Exception
    while ($e.InnerException -and -not ($e -is [System.ComponentModel.Win32Exception])) { $e = $e.InnerException }
    $code = if ($e -is [System.ComponentModel.Win32Exception]) { $e.NativeErrorCode } else { $e.HResult -band 0xFFFF }
    if ($e -is [System.UnauthorizedAccessException] -or $code -eq 5) { return 'access_denied' }
    if ($e -is [System.IO.FileNotFoundException] -or $e -is [System.IO.DirectoryNotFoundException] -or $code -in @(2, 3)) { return 'not_found' }
    if ($e -is [System.TimeoutException] -or $e.GetType().FullName -eq 'System.ServiceProcess.TimeoutException') { return 'timeout' }
    if ($code -in @(32, 33)) { return 'locked' }
    if ($code -in @(51, 53, 64, 67, 1722, 1727)) { return 'unreachable' }
    'other'
}

Function New-SmsSiteError {
    param([String]$Section, [System.Exception]$Exception)
    @{ section = $Section; cause = (Get-SmsSiteCause -Exception $Exception); message = $Exception.Message }
}

Function ConvertTo-SmsSitePath {
    <# A path as the target sees it (C:\SMSSETUP.LOG) -> a path this machine can open (\\TARGET\C$\SMSSETUP.LOG). #>
    param($Target, [String]$Path)
    if ($Target.IsLocal -or $Path.StartsWith('\\')) { return $Path }
    if ($Path -notmatch '^([A-Za-z]):\\?(.*)$') { throw [System.ArgumentException]"'$Path' is not a drive path" }
    "\\$($Target.Name)\$($Matches[1].ToUpperInvariant())`$\$($Matches[2])".TrimEnd('\')
}

Function Open-SmsSiteHklm {
    param($Target)
    if ($Target.IsLocal) {
        return [Microsoft.Win32.RegistryKey]::OpenBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    }
    [Microsoft.Win32.RegistryKey]::OpenRemoteBaseKey([Microsoft.Win32.RegistryHive]::LocalMachine, $Target.Name)
}

Function Read-SmsSiteValue {
    <# HKLM-relative 'key\value' -> the value (not expanded), or $null when the key or the value is absent. #>
    param($Hklm, [String]$Path)
    $index = $Path.LastIndexOf('\')
    $key = $Hklm.OpenSubKey($Path.Substring(0, $index))
    if ($null -eq $key) { return $null }
    try { $key.GetValue($Path.Substring($index + 1), $null, [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames) }
    finally { $key.Dispose() }
}

# ------------------------------------------------------------------ services and shares
Function Get-SmsSiteService {
    <# One service: present, start mode, state, and its program (ImagePath) as the registry holds it. #>
    param($Target, $Hklm, [String]$Name)
    $service = New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Name, $(if ($Target.IsLocal) { '.' } else { $Target.Name })
    try {
        try { $status = "$($service.Status)" }
        catch [System.InvalidOperationException] {
            if ($_.Exception.InnerException -is [System.ComponentModel.Win32Exception] -and $_.Exception.InnerException.NativeErrorCode -eq 1060) {
                return @{ name = $Name; present = $false; start_mode = $null; state = $null; path = $null }
            }
            throw
        }
        $state = $script:SmsSiteStates[$status]
        @{ name = $service.ServiceName; present = $true; start_mode = $script:SmsSiteStartModes["$($service.StartType)"]
            state = $(if ($state) { $state } else { 'unknown' })
            path = (Read-SmsSiteValue -Hklm $Hklm -Path "SYSTEM\CurrentControlSet\Services\$Name\ImagePath") }
    }
    finally { $service.Dispose() }
}

Function ConvertTo-SmsSiteShareRecord {
    param($Share)
    if ($null -eq $Share) { return $null }
    @{ name = $Share.Name; path = $Share.Path; remark = $Share.Remark; max_uses = $Share.MaxUses; sddl = $Share.Sddl }
}

Function Get-SmsSiteShare {
    param($Target, [String]$Name)
    ConvertTo-SmsSiteShareRecord -Share ([ansible_collections.sms.upgrade.plugins.module_utils.SmsSite.Shares]::Get((Get-SmsSiteMachine -Target $Target), $Name))
}

Function Get-SmsSiteServerState {
    <# The read of mode 'read' (site_services): the named services and the named shares that exist. #>
    param($Target, [String[]]$ServiceNames, [String[]]$ShareNames)
    $result = @{ errors = @(); services = $null; shares = $null }
    try {
        $hklm = Open-SmsSiteHklm -Target $Target
        try { $result.services = @(foreach ($name in $ServiceNames) { Get-SmsSiteService -Target $Target -Hklm $hklm -Name $name }) }
        finally { $hklm.Dispose() }
    }
    catch { $result.errors += New-SmsSiteError -Section 'services' -Exception $_.Exception }
    try { $result.shares = @(foreach ($name in $ShareNames) { Get-SmsSiteShare -Target $Target -Name $name } | Where-Object { $null -ne $_ }) }
    catch { $result.errors += New-SmsSiteError -Section 'shares' -Exception $_.Exception }
    $result
}

Function New-SmsSiteResult {
    param([String]$Id, [String]$Status, [String]$Message, [String]$Cause, $Current, [String]$Backup)
    @{ id = $Id; status = $Status; message = $Message; cause = $Cause; current = $Current; backup = $Backup }
}

Function Invoke-SmsSiteServiceChange {
    <# Start mode from -> to if it is still `from`, then the state; a service that is gone is a conflict. #>
    param($Target, $Hklm, [Hashtable]$Change, [Bool]$CheckMode, [Int32]$TimeoutSeconds)
    $now = Get-SmsSiteService -Target $Target -Hklm $Hklm -Name $Change.name
    if (-not $now.present) { return New-SmsSiteResult -Id $Change.id -Status 'conflict' -Current $now -Message "service $($Change.name) does not exist" }
    $setMode = $Change.ContainsKey('start_mode') -and $now.start_mode -ne $Change.start_mode.to
    if ($setMode -and $now.start_mode -ne $Change.start_mode.from) {
        return New-SmsSiteResult -Id $Change.id -Status 'conflict' -Current $now -Message "service $($Change.name) starts $($now.start_mode), the plan expected $($Change.start_mode.from)"
    }
    $want = if ($Change.ContainsKey('state')) { $Change.state.to } else { $null }
    $setState = $want -and $now.state -ne $want
    if (-not ($setMode -or $setState)) { return New-SmsSiteResult -Id $Change.id -Status 'unchanged' -Current $now }
    if ($CheckMode) { return New-SmsSiteResult -Id $Change.id -Status 'would_change' -Current $now }
    $machine = if ($Target.IsLocal) { '.' } else { $Target.Name }
    if ($setMode) { Set-Service -Name $Change.name -ComputerName $machine -StartupType $script:SmsSiteStartTypes[$Change.start_mode.to] }
    if ($setState) {
        $service = New-Object -TypeName System.ServiceProcess.ServiceController -ArgumentList $Change.name, $machine
        try {
            if ($want -eq 'stopped') {
                if ($now.state -ne 'stop_pending') { $service.Stop() }
                $service.WaitForStatus('Stopped', [TimeSpan]::FromSeconds($TimeoutSeconds))
            }
            else {
                if ($now.state -ne 'start_pending') { $service.Start() }
                $service.WaitForStatus('Running', [TimeSpan]::FromSeconds($TimeoutSeconds))
            }
        }
        finally { $service.Dispose() }
    }
    New-SmsSiteResult -Id $Change.id -Status 'changed' -Current (Get-SmsSiteService -Target $Target -Hklm $Hklm -Name $Change.name)
}

Function Invoke-SmsSiteShareChange {
    <# Remove a share if it still points to `from.path`; or create it as `to` if it does not exist. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode)
    $machine = Get-SmsSiteMachine -Target $Target
    $now = Get-SmsSiteShare -Target $Target -Name $Change.name
    if ($null -eq $Change.to) {
        if ($null -eq $now) { return New-SmsSiteResult -Id $Change.id -Status 'unchanged' -Message "share $($Change.name) does not exist" }
        if ($now.path -ne $Change.from.path) {
            return New-SmsSiteResult -Id $Change.id -Status 'conflict' -Current $now -Message "share $($Change.name) points to $($now.path)"
        }
        if ($CheckMode) { return New-SmsSiteResult -Id $Change.id -Status 'would_change' -Current $now }
        [ansible_collections.sms.upgrade.plugins.module_utils.SmsSite.Shares]::Delete($machine, $Change.name)
        return New-SmsSiteResult -Id $Change.id -Status 'changed' -Current $now -Backup $now.sddl
    }
    if ($null -ne $now) {
        $status = if ($now.path -eq $Change.to.path) { 'unchanged' } else { 'conflict' }
        return New-SmsSiteResult -Id $Change.id -Status $status -Current $now -Message $(if ($status -eq 'conflict') { "share $($Change.name) exists on $($now.path)" })
    }
    if ($CheckMode) { return New-SmsSiteResult -Id $Change.id -Status 'would_change' }
    $maxUses = if ($null -ne $Change.to.max_uses) { [Int32]$Change.to.max_uses } else { -1 }
    [ansible_collections.sms.upgrade.plugins.module_utils.SmsSite.Shares]::Add($machine, $Change.name, $Change.to.path, $Change.to.remark, $maxUses, $Change.to.sddl)
    New-SmsSiteResult -Id $Change.id -Status 'changed' -Current (Get-SmsSiteShare -Target $Target -Name $Change.name)
}

Function Invoke-SmsSiteChangeSet {
    <# Every change in order; one that fails is reported with its cause and the others still run. #>
    param($Module)
    $target = Get-SmsSiteTarget -Params $Module.Params
    $Module.Result.computer = $target.Name
    $hklm = Open-SmsSiteHklm -Target $target
    try {
        $Module.Result.changes = @(foreach ($change in $Module.Params.changes) {
                try {
                    switch ($change.kind) {
                        'service' { Invoke-SmsSiteServiceChange -Target $target -Hklm $hklm -Change $change -CheckMode $Module.CheckMode -TimeoutSeconds $Module.Params.stop_timeout }
                        'share' { Invoke-SmsSiteShareChange -Target $target -Change $change -CheckMode $Module.CheckMode }
                        default { New-SmsSiteResult -Id $change.id -Status 'failed' -Cause 'other' -Message "unknown change kind '$($change.kind)'" }
                    }
                }
                catch { New-SmsSiteResult -Id $change.id -Status 'failed' -Cause (Get-SmsSiteCause -Exception $_.Exception) -Message $_.Exception.Message }
            })
    }
    finally { $hklm.Dispose() }
    $Module.Result.changed = [Bool]($Module.Result.changes | Where-Object { $_.status -in @('changed', 'would_change') })
}

# ------------------------------------------------------------------ the site server's state (site_upgrade)
Function Get-SmsSiteSystemDrive {
    param($Target, $Hklm)
    if ($Target.IsLocal) { return $env:SystemDrive }
    $root = Read-SmsSiteValue -Hklm $Hklm -Path 'SOFTWARE\Microsoft\Windows NT\CurrentVersion\SystemRoot'
    if ($root) { $root.Substring(0, 2) } else { $null }
}

Function Read-SmsSiteLog {
    <# The bytes of a log from `offset` on (at most MaxBytes), read while its writer keeps it open. #>
    param($Target, [Hashtable]$Log, [String]$SystemDrive, [Int32]$MaxBytes)
    $path = $Log.path.Replace('%SYSTEMDRIVE%', $SystemDrive)
    $result = @{ name = $Log.name; path = $path; present = $false; size = $null; offset = 0; text = '' }
    $io = ConvertTo-SmsSitePath -Target $Target -Path $path
    if (-not [System.IO.File]::Exists($io)) { return $result }
    $stream = New-Object -TypeName System.IO.FileStream -ArgumentList $io, 'Open', 'Read', 'ReadWrite'
    try {
        $offset = [Int64]$(if ($Log.ContainsKey('offset') -and $Log.offset) { $Log.offset } else { 0 })
        if ($offset -gt $stream.Length) { $offset = 0 }
        [void]$stream.Seek($offset, 'Begin')
        $buffer = New-Object -TypeName byte[] -ArgumentList ([Math]::Min([Int64]$MaxBytes, $stream.Length - $offset))
        $read = $stream.Read($buffer, 0, $buffer.Length)
        $result.present = $true
        $result.size = $stream.Length
        $result.offset = $offset + $read
        $result.text = [System.Text.Encoding]::GetEncoding(28591).GetString($buffer, 0, $read)
    }
    finally { $stream.Dispose() }
    $result
}

Function Get-SmsSiteMedia {
    <# Setup on the media: present, file and product version. #>
    param($Target, [String]$Path)
    $io = ConvertTo-SmsSitePath -Target $Target -Path $Path
    if (-not [System.IO.File]::Exists($io)) { return @{ path = $Path; present = $false; file_version = $null; product_version = $null } }
    $info = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($io)
    @{ path = $Path; present = $true; file_version = "$($info.FileMajorPart).$($info.FileMinorPart).$($info.FileBuildPart).$($info.FilePrivatePart)"
        product_version = $info.ProductVersion }
}

Function Get-SmsSiteQueue {
    <# Files waiting in a directory (its `include` names, not in `exclude_dirs`): the count and the first ten. #>
    param($Target, [Hashtable]$Queue, [String]$SmsRoot)
    $path = $Queue.path.Replace('%SMS_ROOT%', "$SmsRoot")
    $io = ConvertTo-SmsSitePath -Target $Target -Path $path
    if (-not [System.IO.Directory]::Exists($io)) { return @{ path = $path; present = $false; files = 0; names = @() } }
    $skip = @(foreach ($dir in $Queue.exclude_dirs) { (Join-Path -Path $io -ChildPath $dir).ToUpperInvariant() + '\' })
    $found = @(foreach ($include in $Queue.include) {
            Get-ChildItem -LiteralPath $io -Filter $include -File -Recurse -Force | Where-Object {
                $full = $_.FullName.ToUpperInvariant()
                -not ($skip | Where-Object { $full.StartsWith($_) })
            }
        })
    @{ path = $path; present = $true; files = $found.Count; names = @($found | Select-Object -First 10 | ForEach-Object { $_.FullName }) }
}

Function Test-SmsSiteReach {
    <# Whether a server answers from here: its ADMIN$ share and its service control manager. #>
    param([String]$Name)
    try {
        if (-not (Test-Path -LiteralPath "\\$Name\ADMIN`$")) { throw [System.IO.IOException]"\\$Name\ADMIN`$ cannot be opened" }
        [void][System.ServiceProcess.ServiceController]::GetServices($Name)
        @{ name = $Name; reachable = $true }
    }
    catch { @{ name = $Name; reachable = $false; cause = (Get-SmsSiteCause -Exception $_.Exception); message = $_.Exception.Message } }
}

Function Get-SmsSiteProcess {
    <# Whether a process still runs on the target (WMI); running $null when WMI cannot tell. #>
    param($Target, [Int32]$ProcessId)
    $wmi = @{ Class = 'Win32_Process'; Filter = "ProcessId = $ProcessId" }
    if (-not $Target.IsLocal) { $wmi.ComputerName = $Target.Name }
    try { @{ id = $ProcessId; running = [Bool](Get-WmiObject @wmi) } }
    catch { @{ id = $ProcessId; running = $null; message = $_.Exception.Message } }
}

Function Get-SmsSiteState {
    <# The read of mode 'state' (site_upgrade): only what the controller asked for. #>
    param($Module)
    $p = $Module.Params
    $target = Get-SmsSiteTarget -Params $p
    $result = @{ computer = $target.Name; errors = @(); registry = @{}; services = @(); logs = @(); media = $null; media_dirs = @()
        queues = @(); reach = @(); unc_files = @(); process = $null; system_drive = $null; sms_root = $null }
    $hklm = Open-SmsSiteHklm -Target $target
    try {
        foreach ($path in $p.registry_values) { $result.registry[$path] = Read-SmsSiteValue -Hklm $hklm -Path $path }
        if ($p.sms_root_value) { $result.sms_root = Read-SmsSiteValue -Hklm $hklm -Path $p.sms_root_value }
        $result.system_drive = Get-SmsSiteSystemDrive -Target $target -Hklm $hklm
        $result.services = @(foreach ($name in $p.service_names) { Get-SmsSiteService -Target $target -Hklm $hklm -Name $name })
    }
    finally { $hklm.Dispose() }
    foreach ($log in $p.logs) {
        try { $result.logs += Read-SmsSiteLog -Target $target -Log $log -SystemDrive $result.system_drive -MaxBytes $p.max_log_bytes }
        catch { $result.errors += New-SmsSiteError -Section "logs.$($log.name)" -Exception $_.Exception }
    }
    if ($p.media) { $result.media = Get-SmsSiteMedia -Target $target -Path $p.media }
    $result.media_dirs = @(foreach ($dir in $p.media_dirs) { @{ path = $dir; present = [System.IO.Directory]::Exists((ConvertTo-SmsSitePath -Target $target -Path $dir)) } })
    foreach ($queue in $p.queues) {
        try { $result.queues += Get-SmsSiteQueue -Target $target -Queue $queue -SmsRoot $result.sms_root }
        catch { $result.errors += New-SmsSiteError -Section "queues" -Exception $_.Exception }
    }
    $result.reach = @(foreach ($name in $p.reach) { Test-SmsSiteReach -Name $name })
    $result.unc_files = @(foreach ($file in $p.unc_files) { @{ path = $file; present = (Test-Path -LiteralPath "\\$($target.Name)\$file") } })
    if ($p.process_id) { $result.process = Get-SmsSiteProcess -Target $target -ProcessId $p.process_id }
    $result
}

Function Start-SmsSiteProgram {
    <# Start a program on the target through WMI (it outlives this session), unless a process of the image name
       `if_not_running` already runs there: then a conflict naming it. #>
    param($Module)
    $p = $Module.Params
    $target = Get-SmsSiteTarget -Params $p
    $wmi = @{}
    if (-not $target.IsLocal) { $wmi.ComputerName = $target.Name }
    if ($p.if_not_running) {
        $running = @(Get-WmiObject -Class Win32_Process -Filter "Name = '$($p.if_not_running.Replace("'", ''))'" @wmi)
        if ($running.Count) {
            return @{ computer = $target.Name; status = 'conflict'; process_id = [Int32]$running[0].ProcessId; changed = $false
                message = "$($p.if_not_running) already runs on $($target.Name) (process $($running[0].ProcessId))" }
        }
    }
    if ($Module.CheckMode) { return @{ computer = $target.Name; status = 'would_change'; process_id = $null; changed = $true } }
    $line = (@($p.program) + @($p.arguments) | ForEach-Object { if ($_ -match '\s') { '"' + $_ + '"' } else { $_ } }) -join ' '
    $created = Invoke-WmiMethod -Class Win32_Process -Name Create -ArgumentList $line, $p.working_dir @wmi
    if ($created.ReturnValue -ne 0) { throw [System.InvalidOperationException]"Win32_Process.Create '$line' on $($target.Name) returned $($created.ReturnValue)" }
    @{ computer = $target.Name; status = 'changed'; process_id = [Int32]$created.ProcessId; changed = $true }
}

Export-ModuleMember -Function Get-SmsSiteTarget, Get-SmsSiteServerState, Invoke-SmsSiteChangeSet, Get-SmsSiteState, Start-SmsSiteProgram
