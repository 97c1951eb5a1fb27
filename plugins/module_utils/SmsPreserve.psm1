# Hands of the sms.upgrade preserve phase: list and hash the SMS files, dump registry keys, list the host copy,
# copy a source to a versioned path under the host root if it still has the content the controller saw
# (compare-and-set), and write documents the controller rendered. Sources are only ever opened for reading.
# Nothing here decides what to keep, where it goes or which version it is (plugins/plugin_utils/phases/preserve.py and
# restore.py do), and nothing here builds the diff: the actions show the plan's.
# Works on the machine the module runs on (no computer) or on a legacy machine over its admin shares and remote
# registry from a relay: the target is SmsTarget.psm1's.

#AnsibleRequires -CSharpUtil ansible_collections.sms.upgrade.plugins.module_utils.SmsNative
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsGather

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

# A copy in progress carries this suffix until it is verified and renamed; the controller names the leftovers the
# next apply removes (paths.HOST_PARTIAL_SUFFIX; a preserved file never ends with it).
$script:SmsPartialSuffix = '.smsupg-partial'
# Paths this long or longer are opened with the \\?\ prefix (.NET 4.6.2+ then allows up to 32,767 characters). Every
# directory and file is converted on its own, so a long path below a short root gets the prefix too.
$script:SmsLongPathAt = 240
$script:SmsCopyBuffer = 1048576

Function Get-SmsPreserveSpec {
    <# The gather read-list options (kind preserve_files) plus the preserve options (documented in preserve_files.yml). #>
    $spec = Get-SmsGatherSpec -Kind 'preserve_files'
    $options = @{
        mode = @{ type = 'str'; default = 'inventory'; choices = @('inventory', 'apply') }
        host_root = @{ type = 'str' }
        registry_export = @{ type = 'list'; elements = 'str'; default = @() }
        copies = @{
            type = 'list'
            elements = 'dict'
            default = @()
            options = @{
                id = @{ type = 'str'; required = $true }
                source = @{ type = 'str'; required = $true }
                dest = @{ type = 'str'; required = $true }
                sha256 = @{ type = 'str'; required = $true }
                size = @{ type = 'int' }
            }
        }
        documents = @{
            type = 'list'
            elements = 'dict'
            default = @()
            options = @{
                id = @{ type = 'str'; required = $true }
                dest = @{ type = 'str'; required = $true }
                content = @{ type = 'str'; required = $true }
                sha256 = @{ type = 'str'; required = $true }
                replace = @{ type = 'bool'; default = $false }
            }
        }
        remove_partials = @{ type = 'list'; elements = 'str'; default = @() }
    }
    foreach ($name in $options.Keys) { $spec.options[$name] = $options[$name] }
    $spec
}

Function ConvertTo-SmsIoPath {
    <# A path .NET opens past MAX_PATH: \\?\C:\... or \\?\UNC\server\share\... when it is long. #>
    param([String]$Path)
    if ($Path.StartsWith('\\?\') -or $Path.Length -lt $script:SmsLongPathAt) { return $Path }
    if ($Path.StartsWith('\\')) { return '\\?\UNC\' + $Path.Substring(2) }
    '\\?\' + $Path
}

Function ConvertFrom-SmsIoPath {
    param([String]$Path)
    if ($Path.StartsWith('\\?\UNC\')) { return '\\' + $Path.Substring(8) }
    if ($Path.StartsWith('\\?\')) { return $Path.Substring(4) }
    $Path
}

Function New-SmsPreserveOutcome {
    <# One per-file result of an apply: status copied, present, written, replaced, would_copy, would_write or failed. #>
    param([String]$Id, [String]$Dest, [String]$Status, [String]$Cause, [String]$Message)
    @{ id = $Id; dest = $Dest; status = $Status; cause = $Cause; message = $Message }
}

Function Get-SmsDirectoryError {
    <# A directory that cannot be listed, as an item of its own: the rest of the file set is still listed. #>
    param([String]$Path, [System.Exception]$Exception)
    @{ path = $Path; directory = $true; error = @{ cause = (Get-SmsErrorCause -Exception $Exception); message = $Exception.Message } }
}

Function Get-SmsPreserveFileRecords {
    <# Files of one set with size, SHA-256 and time, one directory at a time: a file that cannot be hashed and a
       directory that cannot be listed (access denied, path too long) each get an error of their own. #>
    param($Target, [String]$LocalPath, [String[]]$Include, [Bool]$Recurse)
    $remote = ConvertTo-SmsRemotePath -Target $Target -LocalPath $LocalPath
    $io = ConvertTo-SmsIoPath -Path $remote
    if (-not [System.IO.Directory]::Exists($io)) { return }
    $seen = @{}
    $pending = New-Object -TypeName 'System.Collections.Generic.Queue[String]'
    $pending.Enqueue($remote)
    while ($pending.Count -gt 0) {
        $dir = $pending.Dequeue()
        $dirIo = ConvertTo-SmsIoPath -Path $dir
        try {
            $files = @(foreach ($pattern in $Include) { [System.IO.Directory]::GetFiles($dirIo, $pattern) })
            $subdirs = if ($Recurse) { @([System.IO.Directory]::GetDirectories($dirIo)) } else { @() }
        }
        catch {
            Get-SmsDirectoryError -Path (ConvertTo-SmsLocalPath -Target $Target -RemotePath $dir -LocalRoot $LocalPath -RemoteRoot $remote) `
                -Exception $_.Exception
            continue
        }
        foreach ($sub in $subdirs) { $pending.Enqueue((ConvertFrom-SmsIoPath -Path $sub)) }
        foreach ($found in $files) {
            $file = ConvertTo-SmsIoPath -Path (ConvertFrom-SmsIoPath -Path $found)
            if ($seen.ContainsKey($file)) { continue }
            $seen[$file] = $true
            $local = ConvertTo-SmsLocalPath -Target $Target -RemotePath (ConvertFrom-SmsIoPath -Path $file) -LocalRoot $LocalPath -RemoteRoot $remote
            try {
                $info = New-Object -TypeName System.IO.FileInfo -ArgumentList $file
                $sha = Get-SmsFileHash -Path $file
                @{ path = $local; size = $info.Length; sha256 = $sha; modified = (ConvertTo-SmsTimestamp -Utc $info.LastWriteTimeUtc) }
            }
            catch {
                @{ path = $local; error = @{ cause = (Get-SmsErrorCause -Exception $_.Exception); message = $_.Exception.Message } }
            }
        }
    }
}

Function Get-SmsRegistryTree {
    <# A key and all its subkeys: @{ path; values = @(@{ name; type; value }) } in depth-first order. #>
    param($BaseKey, [String]$Path)
    $key = $BaseKey.OpenSubKey($Path)
    if ($null -eq $key) { return }
    try {
        $values = @(foreach ($name in $key.GetValueNames()) {
                $data = ConvertTo-SmsRegistryData -Key $key -Name $name
                @{ name = $name; type = $data.type; value = $data.value }
            })
        @{ path = $Path; values = $values }
        foreach ($sub in $key.GetSubKeyNames()) { Get-SmsRegistryTree -BaseKey $BaseKey -Path "$Path\$sub" }
    }
    finally { $key.Dispose() }
}

Function Resolve-SmsRegistryPattern {
    <# The key paths a registry_export entry names: the path itself, or, when its last part holds '*' or '?'
       (SYSTEM\CurrentControlSet\Services\SMS_*), every existing subkey of its parent that matches it (-like, no case). #>
    param($BaseKey, [String]$Path)
    $split = $Path.LastIndexOf('\')
    $leaf = $Path.Substring($split + 1)
    if ($split -lt 0 -or $leaf.IndexOfAny([char[]]'*?') -lt 0) { return $Path }
    $parentPath = $Path.Substring(0, $split)
    $parent = $BaseKey.OpenSubKey($parentPath)
    if ($null -eq $parent) { return }
    try { foreach ($name in $parent.GetSubKeyNames()) { if ($name -like $leaf) { "$parentPath\$name" } } }
    finally { $parent.Dispose() }
}

Function Get-SmsHostCopy {
    <# Every file under the host root (relative path, size, SHA-256), the leftovers of interrupted copies, and the
       directories that could not be listed, one directory at a time. #>
    param([String]$IoRoot)
    $files = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    $partials = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    $unlisted = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    $root = (ConvertFrom-SmsIoPath -Path $IoRoot).TrimEnd('\')
    if ([System.IO.Directory]::Exists((ConvertTo-SmsIoPath -Path $root))) {
        $pending = New-Object -TypeName 'System.Collections.Generic.Queue[String]'
        $pending.Enqueue($root)
        while ($pending.Count -gt 0) {
            $dir = $pending.Dequeue()
            try {
                $found = @([System.IO.Directory]::GetFiles((ConvertTo-SmsIoPath -Path $dir)))
                $subdirs = @([System.IO.Directory]::GetDirectories((ConvertTo-SmsIoPath -Path $dir)))
            }
            catch {
                $unlisted.Add(@{ path = $dir; cause = (Get-SmsErrorCause -Exception $_.Exception); message = $_.Exception.Message })
                continue
            }
            foreach ($sub in $subdirs) { $pending.Enqueue((ConvertFrom-SmsIoPath -Path $sub)) }
            foreach ($item in $found) {
                $plain = ConvertFrom-SmsIoPath -Path $item
                $relative = $plain.Substring($root.Length + 1)
                if ($relative.EndsWith($script:SmsPartialSuffix, [System.StringComparison]::OrdinalIgnoreCase)) {
                    $partials.Add($relative)
                    continue
                }
                $file = ConvertTo-SmsIoPath -Path $plain
                $info = New-Object -TypeName System.IO.FileInfo -ArgumentList $file
                $sha = try { Get-SmsFileHash -Path $file } catch { $null }
                $files.Add(@{ path = $relative; size = $info.Length; sha256 = $sha })
            }
        }
    }
    @{ files = @($files); partials = @($partials); unlisted = @($unlisted) }
}

Function Get-SmsFreeByte {
    <# Free bytes on the volume of the host root (or of its nearest existing parent); $null when unknown. #>
    param([String]$IoRoot)
    $dir = ConvertFrom-SmsIoPath -Path $IoRoot
    while ($dir -and -not [System.IO.Directory]::Exists((ConvertTo-SmsIoPath -Path $dir))) { $dir = [System.IO.Path]::GetDirectoryName($dir) }
    if (-not $dir) { return $null }
    $space = [ansible_collections.sms.upgrade.plugins.module_utils.SmsNative.Volumes]::SpaceMB($dir.TrimEnd('\') + '\')
    [Int64]$space[1] * 1048576
}

Function Copy-SmsStream {
    <# Copy Source to a new file Destination (never replacing one); return the SHA-256 and size of the bytes read. #>
    param([String]$Source, [String]$Destination)
    $sha = [System.Security.Cryptography.SHA256]::Create()
    $in = [System.IO.File]::Open($Source, 'Open', 'Read', [System.IO.FileShare]'ReadWrite, Delete')
    try {
        $out = New-Object -TypeName System.IO.FileStream -ArgumentList $Destination, ([System.IO.FileMode]::CreateNew), ([System.IO.FileAccess]::Write), ([System.IO.FileShare]::None)
        try {
            $buffer = New-Object -TypeName byte[] -ArgumentList $script:SmsCopyBuffer
            $size = [Int64]0
            while (($read = $in.Read($buffer, 0, $buffer.Length)) -gt 0) {
                [void]$sha.TransformBlock($buffer, 0, $read, $null, 0)
                $out.Write($buffer, 0, $read)
                $size += $read
            }
            [void]$sha.TransformFinalBlock($buffer, 0, 0)
            $out.Flush($true)
        }
        finally { $out.Dispose() }
        @{ sha256 = (ConvertTo-SmsHashText -Hash $sha.Hash); size = $size }
    }
    finally {
        $in.Dispose()
        $sha.Dispose()
    }
}

Function Remove-SmsPartialFile {
    param([String]$Path)
    try { if ([System.IO.File]::Exists($Path)) { [System.IO.File]::Delete($Path) } } catch { $null = $_ }
}

Function Copy-SmsPreserveFile {
    <# Copy one source to <host root>\<dest> if the source still has the expected SHA-256; never overwrite. #>
    param($Target, [String]$IoRoot, $Copy, [Bool]$CheckMode)
    $dest = ConvertTo-SmsIoPath -Path ($IoRoot.TrimEnd('\') + '\' + $Copy.dest)
    $temp = $dest + $script:SmsPartialSuffix
    try {
        if ([System.IO.File]::Exists($dest)) {
            $held = Get-SmsFileHash -Path $dest
            if ($held -eq $Copy.sha256) { return New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'present' }
            return New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'failed' -Cause 'conflict' `
                -Message "$(ConvertFrom-SmsIoPath -Path $dest) exists with other content (SHA-256 $held); it is kept and not overwritten"
        }
        $source = ConvertTo-SmsIoPath -Path (ConvertTo-SmsRemotePath -Target $Target -LocalPath $Copy.source)
        if (-not [System.IO.File]::Exists($source)) {
            return New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'failed' -Cause 'not_found' -Message "$($Copy.source) no longer exists"
        }
        if ($CheckMode) { return New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'would_copy' }
        [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($dest))
        $read = Copy-SmsStream -Source $source -Destination $temp
        if ($read.sha256 -ne $Copy.sha256) {
            Remove-SmsPartialFile -Path $temp
            return New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'failed' -Cause 'changed' `
                -Message "$($Copy.source) changed since it was listed (SHA-256 now $($read.sha256)); it is taken at the next run"
        }
        $written = Get-SmsFileHash -Path $temp
        if ($written -ne $Copy.sha256) {
            Remove-SmsPartialFile -Path $temp
            return New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'failed' -Cause 'other' `
                -Message "the copy of $($Copy.source) reads back with SHA-256 $written; the disk did not keep what was written"
        }
        [System.IO.File]::SetLastWriteTimeUtc($temp, [System.IO.File]::GetLastWriteTimeUtc($source))
        [System.IO.File]::Move($temp, $dest)
        New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'copied'
    }
    catch {
        Remove-SmsPartialFile -Path $temp
        New-SmsPreserveOutcome -Id $Copy.id -Dest $Copy.dest -Status 'failed' -Cause (Get-SmsErrorCause -Exception $_.Exception) `
            -Message "$($Copy.source): $($_.Exception.Message)"
    }
}

Function Write-SmsPreserveDocument {
    <# Write a controller-rendered document to <host root>\<dest>; replace an existing one only when told to. #>
    param([String]$IoRoot, $Document, [Bool]$CheckMode)
    $dest = ConvertTo-SmsIoPath -Path ($IoRoot.TrimEnd('\') + '\' + $Document.dest)
    $temp = $dest + $script:SmsPartialSuffix
    try {
        $bytes = [System.Convert]::FromBase64String($Document.content)
        if ((Get-SmsBytesHash -Bytes $bytes) -ne $Document.sha256) {
            return New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'failed' -Cause 'other' `
                -Message "the content sent for $($Document.dest) does not match its SHA-256"
        }
        $exists = [System.IO.File]::Exists($dest)
        if ($exists) {
            $held = Get-SmsFileHash -Path $dest
            if ($held -eq $Document.sha256) { return New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'present' }
            if (-not $Document.replace) {
                return New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'failed' -Cause 'conflict' `
                    -Message "$(ConvertFrom-SmsIoPath -Path $dest) exists with other content (SHA-256 $held); it is kept and not overwritten"
            }
        }
        if ($CheckMode) { return New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'would_write' }
        [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($dest))
        Remove-SmsPartialFile -Path $temp
        [System.IO.File]::WriteAllBytes($temp, $bytes)
        if ((Get-SmsFileHash -Path $temp) -ne $Document.sha256) {
            Remove-SmsPartialFile -Path $temp
            return New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'failed' -Cause 'other' `
                -Message "$($Document.dest) reads back with another SHA-256; the disk did not keep what was written"
        }
        if ($exists) {
            # [NullString]::Value: PowerShell would pass $null to a string parameter as "", which File.Replace refuses.
            [System.IO.File]::Replace($temp, $dest, [NullString]::Value)
            return New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'replaced'
        }
        [System.IO.File]::Move($temp, $dest)
        New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'written'
    }
    catch {
        Remove-SmsPartialFile -Path $temp
        New-SmsPreserveOutcome -Id $Document.id -Dest $Document.dest -Status 'failed' -Cause (Get-SmsErrorCause -Exception $_.Exception) `
            -Message "$($Document.dest): $($_.Exception.Message)"
    }
}

Function Invoke-SmsPreserveInventory {
    <# Mode inventory (read-only): SMS root and shares (through the gather), file sets, registry keys, host copy. #>
    param($Module, $Target, [String]$IoRoot)
    $params = $Module.Params
    $fileSets = @($params.file_sets)
    $Module.Params.file_sets = @()
    Invoke-SmsGather -Module $Module
    $errors = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    foreach ($item in @($Module.Result.errors)) { $errors.Add($item) }
    $tokens = @{ SMS_ROOT = $Module.Result.sms_root; SYSTEM_ROOT = $Module.Result.system_root }
    foreach ($share in @($Module.Result.shares)) { if ($share.path) { $tokens["SHARE:$($share.name.ToUpperInvariant())"] = $share.path } }
    $skipped = New-Object -TypeName 'System.Collections.Generic.List[Object]'
    $Module.Result.file_sets = @(foreach ($set in $fileSets) {
            $path = Resolve-SmsPathToken -Path $set.path -Tokens $tokens
            if (-not $path) {
                # A token without a value on this machine: reported, the controller decides whether that is a problem.
                $skipped.Add(@{ name = $set.name; path = $set.path; reason = 'unresolved_token' })
                continue
            }
            $files = Invoke-SmsSection -Errors $errors -Section "files.$($set.name)" -Read {
                @(Get-SmsPreserveFileRecords -Target $Target -LocalPath $path -Include $set.include -Recurse $set.recurse)
            }
            @{ name = $set.name; path = $path; files = @($files) }
        })
    $Module.Result.skipped_file_sets = @($skipped)
    $Module.Result.registry_tree = $null
    if (@($params.registry_export).Count -gt 0) {
        $Module.Result.registry_tree = @(Invoke-SmsSection -Errors $errors -Section 'registry_export' -Read {
            $base = Open-SmsBaseKey -Target $Target -Hive LocalMachine
            try {
                @(foreach ($pattern in $params.registry_export) {
                        foreach ($key in @(Resolve-SmsRegistryPattern -BaseKey $base -Path $pattern)) { Get-SmsRegistryTree -BaseKey $base -Path $key }
                    })
            }
            finally { $base.Dispose() }
        })
    }
    $copy = Invoke-SmsSection -Errors $errors -Section 'host_root' -Read { Get-SmsHostCopy -IoRoot $IoRoot }
    $Module.Result.host_files = if ($copy) { $copy.files } else { @() }
    $Module.Result.host_partials = if ($copy) { $copy.partials } else { @() }
    if ($copy) {
        foreach ($dir in $copy.unlisted) { $errors.Add((New-SmsSectionError -Section 'host_root' -Cause $dir.cause -Message "$($dir.path): $($dir.message)")) }
    }
    $Module.Result.host_free_bytes = try { Get-SmsFreeByte -IoRoot $IoRoot } catch { $null }
    $Module.Result.errors = @($errors)
}

Function Invoke-SmsPreserveApply {
    <# Mode apply: remove the leftovers of interrupted copies the controller names, then copy and write what it decided. #>
    param($Module, $Target, [String]$IoRoot)
    $check = $Module.CheckMode
    # Only the exact paths the controller passed (from its listing), and only copies in progress (the suffix).
    $Module.Result.removed_partials = @(foreach ($relative in @($Module.Params.remove_partials)) {
            if (-not $relative.EndsWith($script:SmsPartialSuffix, [System.StringComparison]::OrdinalIgnoreCase)) { continue }
            $partial = ConvertTo-SmsIoPath -Path ($IoRoot.TrimEnd('\') + '\' + $relative)
            if (-not $check -and [System.IO.File]::Exists($partial)) {
                Remove-SmsPartialFile -Path $partial
                $relative
            }
        })
    $copies = @(foreach ($copy in @($Module.Params.copies)) { Copy-SmsPreserveFile -Target $Target -IoRoot $IoRoot -Copy $copy -CheckMode $check })
    $documents = @(foreach ($document in @($Module.Params.documents)) { Write-SmsPreserveDocument -IoRoot $IoRoot -Document $document -CheckMode $check })
    $Module.Result.copies = $copies
    $Module.Result.documents = $documents
    $done = @(@($copies) + @($documents) | Where-Object { $_.status -in @('copied', 'written', 'replaced', 'would_copy', 'would_write') })
    $Module.Result.changed = $done.Count -gt 0
    $Module.Result.host_free_bytes = try { Get-SmsFreeByte -IoRoot $IoRoot } catch { $null }
}

Function Invoke-SmsPreserve {
    <# The whole preserve module: inventory (read-only) or apply (copies and documents). #>
    param($Module)
    $params = $Module.Params
    if (-not $params.host_root) {
        $Module.FailJson('host_root is empty: run sms.upgrade.preserve_files as a task, so that its action plugin decides the host root and what to copy')
    }
    $target = Get-SmsTarget -Params $params
    $ioRoot = ConvertTo-SmsRemotePath -Target $target -LocalPath $params.host_root
    $Module.Result.computer = $target.Name
    $Module.Result.host_root_io = $ioRoot
    if ($params.mode -eq 'apply') { Invoke-SmsPreserveApply -Module $Module -Target $target -IoRoot $ioRoot }
    else { Invoke-SmsPreserveInventory -Module $Module -Target $target -IoRoot $ioRoot }
}

Function Get-SmsRestoreSpec {
    <# The options of sms.upgrade.restore_files (documented in restore_files.yml). #>
    @{
        options = @{
            computer = @{ type = 'str' }
            share_map = @{ type = 'dict'; default = @{} }
            mode = @{ type = 'str'; default = 'inventory'; choices = @('inventory', 'apply') }
            files = @{
                type = 'list'
                elements = 'dict'
                default = @()
                options = @{
                    id = @{ type = 'str'; required = $true }
                    target = @{ type = 'str'; required = $true }
                    staged = @{ type = 'str' }
                    sha256 = @{ type = 'str' }
                    expect_sha256 = @{ type = 'str' }
                    backup = @{ type = 'str' }
                }
            }
        }
        supports_check_mode = $true
    }
}

Function Get-SmsRestoreTargetState {
    <# Whether a restore target exists, with size and SHA-256 (as the target sees it). #>
    param($Target, $File)
    try {
        $io = ConvertTo-SmsIoPath -Path (ConvertTo-SmsRemotePath -Target $Target -LocalPath $File.target)
        if (-not [System.IO.File]::Exists($io)) { return @{ id = $File.id; target = $File.target; exists = $false } }
        $info = New-Object -TypeName System.IO.FileInfo -ArgumentList $io
        @{ id = $File.id; target = $File.target; exists = $true; size = $info.Length; sha256 = (Get-SmsFileHash -Path $io) }
    }
    catch {
        @{ id = $File.id; target = $File.target; error = @{ cause = (Get-SmsErrorCause -Exception $_.Exception); message = $_.Exception.Message } }
    }
}

Function Restore-SmsFile {
    <# Put one staged vault file at its target if the target is still as planned; an existing file is moved to backup. #>
    param($Target, $File, [Bool]$CheckMode)
    $io = ConvertTo-SmsIoPath -Path (ConvertTo-SmsRemotePath -Target $Target -LocalPath $File.target)
    $temp = $io + $script:SmsPartialSuffix
    try {
        $exists = [System.IO.File]::Exists($io)
        if ($exists) {
            $held = Get-SmsFileHash -Path $io
            if ($held -eq $File.sha256) { return New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'present' }
            if ($held -ne $File.expect_sha256 -or -not $File.backup) {
                return New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'failed' -Cause 'conflict' `
                    -Message "$($File.target) changed since it was checked (SHA-256 now $held); nothing was written"
            }
        }
        elseif ($File.expect_sha256) {
            return New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'failed' -Cause 'conflict' `
                -Message "$($File.target) vanished since it was checked; nothing was written"
        }
        if ($CheckMode) { return New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'would_copy' }
        $staged = ConvertTo-SmsIoPath -Path $File.staged
        if ((Get-SmsFileHash -Path $staged) -ne $File.sha256) {
            return New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'failed' -Cause 'other' `
                -Message "the staged copy of $($File.target) does not match the vault's SHA-256 (damaged in transfer)"
        }
        [void][System.IO.Directory]::CreateDirectory([System.IO.Path]::GetDirectoryName($io))
        $read = Copy-SmsStream -Source $staged -Destination $temp
        if ($read.sha256 -ne $File.sha256 -or (Get-SmsFileHash -Path $temp) -ne $File.sha256) {
            Remove-SmsPartialFile -Path $temp
            return New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'failed' -Cause 'other' `
                -Message "the copy written to $($File.target) does not read back with the vault's SHA-256"
        }
        if ($exists) {
            # One atomic ReplaceFile: the target is never missing, the old file is kept as the backup.
            $backup = ConvertTo-SmsIoPath -Path (ConvertTo-SmsRemotePath -Target $Target -LocalPath $File.backup)
            try { [System.IO.File]::Replace($temp, $io, $backup) }
            catch {
                $replaceError = $_
                if (-not [System.IO.File]::Exists($io) -and [System.IO.File]::Exists($backup)) {
                    # ReplaceFile moved the target aside but not the new file in: finish, or put the old file back.
                    try { [System.IO.File]::Move($temp, $io) }
                    catch { [System.IO.File]::Move($backup, $io); throw }
                }
                elseif ([System.IO.File]::Exists($io) -and -not [System.IO.File]::Exists($backup)) {
                    # A file system without ReplaceFile (an old SMB server): move aside, move in, undo on failure.
                    [System.IO.File]::Move($io, $backup)
                    try { [System.IO.File]::Move($temp, $io) }
                    catch { [System.IO.File]::Move($backup, $io); throw }
                }
                else { throw $replaceError }
            }
        }
        else { [System.IO.File]::Move($temp, $io) }
        New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'copied'
    }
    catch {
        Remove-SmsPartialFile -Path $temp
        New-SmsPreserveOutcome -Id $File.id -Dest $File.target -Status 'failed' -Cause (Get-SmsErrorCause -Exception $_.Exception) `
            -Message "$($File.target): $($_.Exception.Message)"
    }
}

Function Invoke-SmsRestore {
    <# The whole restore module: inventory (hash the targets) or apply (write the staged files). #>
    param($Module)
    $params = $Module.Params
    $target = Get-SmsTarget -Params $params
    $Module.Result.computer = $target.Name
    if ($params.mode -eq 'inventory') {
        $Module.Result.targets = @(foreach ($file in @($params.files)) { Get-SmsRestoreTargetState -Target $target -File $file })
        return
    }
    $restored = @(foreach ($file in @($params.files)) { Restore-SmsFile -Target $target -File $file -CheckMode $Module.CheckMode })
    $Module.Result.restored = $restored
    $done = @($restored | Where-Object { $_.status -in @('copied', 'would_copy') })
    $Module.Result.changed = $done.Count -gt 0
}

Export-ModuleMember -Function Get-SmsPreserveSpec, Get-SmsRestoreSpec, Invoke-SmsPreserve, Invoke-SmsRestore, ConvertTo-SmsIoPath, `
    ConvertFrom-SmsIoPath, Copy-SmsStream, New-SmsPreserveOutcome, Remove-SmsPartialFile
