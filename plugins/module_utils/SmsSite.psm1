# Reads of the site upgrade's hands (modules site_services and site_upgrade) on a server of an SMS 1.2 site: its 1.2
# services with their programs and its 1.2 shares with their permissions (site_services, mode read), and what the
# site upgrade asks of a site server (site_upgrade: registry values, services, Setup's and the conversion's logs from
# an offset, the Setup media's version, MIF queues, whether servers answer, whether a process runs) and starting
# Setup. The machine is SmsTarget.psm1's; the changes (stop and disable a service, remove or put back a share) are
# SmsApply.psm1's compare-and-set. Nothing here decides what a service, a share or a step should be: the controller
# does (plugins/plugin_utils/phases/site_services.py and site_upgrade.py).

#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsSql

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

Function Read-SmsSiteValue {
    <# HKLM-relative 'key\value' -> the value (not expanded), or $null when the key or the value is absent. #>
    param($Hklm, [String]$Path)
    $read = (Read-SmsRegistryValues -BaseKey $Hklm -Paths @($Path))[$Path]
    if ($null -eq $read) { return $null }
    $read.value
}

Function Read-SmsSiteSection {
    <# A list read as one section (Invoke-SmsSection): the list, or $null when it could not be read (its error recorded). #>
    param([System.Collections.Generic.List[Object]]$Errors, [String]$Section, [ScriptBlock]$Read)
    $count = $Errors.Count
    $items = @(Invoke-SmsSection -Errors $Errors -Section $Section -Read $Read)
    if ($Errors.Count -gt $count) { return $null }
    , $items
}

# ------------------------------------------------------------------ services and shares (site_services)
Function Get-SmsSiteService {
    <# One service: present, start mode, state, and its program (ImagePath) as the registry holds it. #>
    param($Target, $Hklm, [String]$Name)
    $status = Get-SmsServiceStatus -Target $Target -Name $Name
    if ($null -eq $status) { return @{ name = $Name; present = $false; start_mode = $null; state = $null; path = $null } }
    @{ name = $Name; present = $true; start_mode = $status.start_mode; state = $status.state
        path = (Read-SmsSiteValue -Hklm $Hklm -Path "SYSTEM\CurrentControlSet\Services\$Name\ImagePath") }
}

Function Get-SmsSiteServerState {
    <# Mode 'read' of site_services: the named services (with their programs) and the named shares that exist. #>
    param($Module)
    $p = $Module.Params
    $target = Get-SmsTarget -Params $p
    $errors = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    $Module.Result.computer = $target.Name
    $Module.Result.services = Read-SmsSiteSection -Errors $errors -Section 'services' -Read {
        $hklm = Open-SmsBaseKey -Target $target -Hive LocalMachine
        try { foreach ($name in $p.service_names) { Get-SmsSiteService -Target $target -Hklm $hklm -Name $name } }
        finally { $hklm.Dispose() }
    }
    $Module.Result.shares = Read-SmsSiteSection -Errors $errors -Section 'shares' -Read {
        foreach ($name in $p.share_names) { Get-SmsShareDetail -Target $target -Name $name | Where-Object { $null -ne $_ } }
    }
    $Module.Result.errors = @($errors)
}

# ------------------------------------------------------------------ the site server's state (site_upgrade)
Function Get-SmsSiteSystemDrive {
    <# The target's system drive (C:), from its SystemRoot when it is another machine. #>
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
    $io = ConvertTo-SmsRemotePath -Target $Target -LocalPath $path
    if (-not [System.IO.File]::Exists($io)) { return $result }
    $stream = [System.IO.File]::Open($io, 'Open', 'Read', [System.IO.FileShare]'ReadWrite, Delete')
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
    $io = ConvertTo-SmsRemotePath -Target $Target -LocalPath $Path
    if (-not [System.IO.File]::Exists($io)) { return @{ path = $Path; present = $false; file_version = $null; product_version = $null } }
    $info = [System.Diagnostics.FileVersionInfo]::GetVersionInfo($io)
    @{ path = $Path; present = $true; file_version = "$($info.FileMajorPart).$($info.FileMinorPart).$($info.FileBuildPart).$($info.FilePrivatePart)"
        product_version = $info.ProductVersion }
}

Function Get-SmsSiteQueue {
    <# Files waiting in a directory (its `include` names, not in `exclude_dirs`): the count and the first ten. #>
    param($Target, [Hashtable]$Queue, [String]$SmsRoot)
    $path = $Queue.path.Replace('%SMS_ROOT%', "$SmsRoot")
    $io = ConvertTo-SmsRemotePath -Target $Target -LocalPath $path
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
    catch { @{ name = $Name; reachable = $false; cause = (Get-SmsErrorCause -Exception $_.Exception); message = $_.Exception.Message } }
}

Function Get-SmsSiteWmi {
    <# The WMI parameters that reach the target: none for this machine, ComputerName for another. #>
    param($Target)
    if ($Target.IsLocal) { return @{} }
    @{ ComputerName = $Target.Name }
}

Function Get-SmsSiteProcess {
    <# Whether a process still runs on the target (WMI); running $null when WMI cannot tell. #>
    param($Target, [Int32]$ProcessId)
    $wmi = Get-SmsSiteWmi -Target $Target
    try { @{ id = $ProcessId; running = [Bool](Get-WmiObject -Class Win32_Process -Filter "ProcessId = $ProcessId" @wmi) } }
    catch { @{ id = $ProcessId; running = $null; message = $_.Exception.Message } }
}

Function Get-SmsSiteState {
    <# Mode 'state' of site_upgrade: only what the controller asked for. #>
    param($Module)
    $p = $Module.Params
    $target = Get-SmsTarget -Params $p
    $errors = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    $result = @{ computer = $target.Name; registry = @{}; services = @(); logs = @(); media = $null; media_dirs = @()
        queues = @(); reach = @(); unc_files = @(); process = $null; system_drive = $null; sms_root = $null }
    $hklm = Open-SmsBaseKey -Target $target -Hive LocalMachine
    try {
        foreach ($path in $p.registry_values) { $result.registry[$path] = Read-SmsSiteValue -Hklm $hklm -Path $path }
        if ($p.sms_root_value) { $result.sms_root = Read-SmsSiteValue -Hklm $hklm -Path $p.sms_root_value }
        $result.system_drive = Get-SmsSiteSystemDrive -Target $target -Hklm $hklm
        $result.services = @(foreach ($name in $p.service_names) { Get-SmsSiteService -Target $target -Hklm $hklm -Name $name })
    }
    finally { $hklm.Dispose() }
    $result.logs = @(foreach ($log in $p.logs) {
            Invoke-SmsSection -Errors $errors -Section "logs.$($log.name)" -Read {
                Read-SmsSiteLog -Target $target -Log $log -SystemDrive $result.system_drive -MaxBytes $p.max_log_bytes
            }
        })
    if ($p.media) { $result.media = Get-SmsSiteMedia -Target $target -Path $p.media }
    $result.media_dirs = @(foreach ($dir in $p.media_dirs) {
            @{ path = $dir; present = [System.IO.Directory]::Exists((ConvertTo-SmsRemotePath -Target $target -LocalPath $dir)) }
        })
    $result.queues = @(foreach ($queue in $p.queues) {
            Invoke-SmsSection -Errors $errors -Section 'queues' -Read { Get-SmsSiteQueue -Target $target -Queue $queue -SmsRoot $result.sms_root }
        })
    $result.reach = @(foreach ($name in $p.reach) { Test-SmsSiteReach -Name $name })
    $result.unc_files = @(foreach ($file in $p.unc_files) { @{ path = $file; present = (Test-Path -LiteralPath "\\$($target.Name)\$file") } })
    if ($p.process_id) { $result.process = Get-SmsSiteProcess -Target $target -ProcessId $p.process_id }
    $result.errors = @($errors)
    $result
}

Function Start-SmsSiteProgram {
    <# Mode 'start' of site_upgrade: start a program on the target through WMI (it outlives this session), unless a
       process of the image name `if_not_running` already runs there: then a conflict naming it. #>
    param($Module)
    $p = $Module.Params
    $target = Get-SmsTarget -Params $p
    $wmi = Get-SmsSiteWmi -Target $target
    if ($p.if_not_running) {
        $running = @(Get-WmiObject -Class Win32_Process -Filter "Name = '$($p.if_not_running.Replace("'", ''))'" @wmi)
        if ($running.Count) {
            return @{ computer = $target.Name; status = 'conflict'; process_id = [Int32]$running[0].ProcessId; changed = $false
                message = "$($p.if_not_running) already runs on $($target.Name) (process $($running[0].ProcessId))" }
        }
    }
    if ($Module.CheckMode) { return @{ computer = $target.Name; status = 'would_change'; process_id = $null; changed = $true } }
    $line = Join-SmsArgument -Arguments (@($p.program) + @($p.arguments))
    $created = Invoke-WmiMethod -Class Win32_Process -Name Create -ArgumentList $line, $p.working_dir @wmi
    if ($created.ReturnValue -ne 0) { throw [System.InvalidOperationException]"Win32_Process.Create '$line' on $($target.Name) returned $($created.ReturnValue)" }
    @{ computer = $target.Name; status = 'changed'; process_id = [Int32]$created.ProcessId; changed = $true }
}

Export-ModuleMember -Function Get-SmsSiteServerState, Get-SmsSiteState, Start-SmsSiteProgram
