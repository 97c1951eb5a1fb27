# Hands of the post-upgrade and client phases (modules post_upgrade and client_upgrade): read classes of the SMS 2.0
# provider, apply compare-and-set changes to provider objects, hash files, resolve a client's addresses and start a
# process on it. What to read, which object to change from what to what, and which process to start are decided on the
# controller (plugins/plugin_utils/phases/post_upgrade.py, client_upgrade.py); nothing here decides.

#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsTarget
#AnsibleRequires -PowerShell ansible_collections.sms.upgrade.plugins.module_utils.SmsApply

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

Function Get-SmsWmiCode {
    <# The WMI status of a failure (ManagementException.ErrorCode: AccessDenied, InvalidNamespace, ...), else $null.
       The controller turns it into a cause (data/post_upgrade.yml wmi_codes). #>
    param([System.Exception]$Exception)
    $e = $Exception
    while ($e.InnerException -and ($e -is [System.Management.Automation.RuntimeException] -or
            $e -is [System.Reflection.TargetInvocationException])) { $e = $e.InnerException }
    if ($e -is [System.Management.ManagementException]) { return "$($e.ErrorCode)" }
    $null
}

Function New-SmsProviderStatus {
    <# Whether the provider namespace could be opened; if not, the WMI code, the general cause and the message. #>
    param([String]$Namespace, [Bool]$Connected, [String]$Code, [String]$Cause, [String]$Message)
    @{ namespace = $Namespace; connected = $Connected; code = $Code; cause = $Cause; message = $Message }
}

Function New-SmsReadError {
    <# A read that failed: the WMI code (if any), the general cause and the message. #>
    param([System.Exception]$Exception)
    @{ code = (Get-SmsWmiCode -Exception $Exception); cause = (Get-SmsErrorCause -Exception $Exception); message = $Exception.Message }
}

Function Connect-SmsProvider {
    <# Open root\SMS\site_<code> on the target; returns @{ scope; status }. #>
    param($Target, [String]$Namespace)
    # The target's own name: WMI connects locally when it names this machine.
    $options = New-Object -TypeName System.Management.ConnectionOptions
    $options.Impersonation = [System.Management.ImpersonationLevel]::Impersonate
    $options.EnablePrivileges = $true
    $scope = New-Object -TypeName System.Management.ManagementScope -ArgumentList "\\$($Target.Name)\$Namespace", $options
    try {
        $scope.Connect()
        @{ scope = $scope; status = (New-SmsProviderStatus -Namespace $Namespace -Connected $true) }
    }
    catch {
        $failure = New-SmsReadError -Exception $_.Exception
        @{ scope = $null; status = (New-SmsProviderStatus -Namespace $Namespace -Connected $false -Code $failure.code `
                    -Cause $failure.cause -Message $failure.message) }
    }
}

Function ConvertTo-SmsPlainValue {
    <# WMI values as JSON-friendly values: embedded objects as hashtables with __CLASS, arrays element by element. #>
    param($Value)
    if ($null -eq $Value) { return $null }
    if ($Value -is [System.Management.ManagementBaseObject]) {
        $plain = @{ __CLASS = $Value.ClassPath.ClassName }
        foreach ($property in $Value.Properties) { $plain[$property.Name] = ConvertTo-SmsPlainValue -Value $property.Value }
        return $plain
    }
    if ($Value -is [System.Array]) { return , @(foreach ($item in $Value) { ConvertTo-SmsPlainValue -Value $item }) }
    $Value
}

Function Read-SmsProviderClass {
    <# One read: the listed properties of every instance of a class (lazy ones fetched per instance). #>
    param($Scope, [Hashtable]$Read)
    try {
        $query = "SELECT * FROM $($Read['class'])"
        if ($Read['where']) { $query += " WHERE $($Read['where'])" }
        $searcher = New-Object -TypeName System.Management.ManagementObjectSearcher -ArgumentList $Scope, `
        (New-Object -TypeName System.Management.ObjectQuery -ArgumentList $query)
        $lazy = @($Read.lazy)
        $found = @(foreach ($object in $searcher.Get()) {
                if ($lazy.Count -gt 0) { $object.Get() }
                $has = @(foreach ($property in $object.Properties) { $property.Name })
                $plain = @{}
                foreach ($name in @($Read.properties)) {
                    $plain[$name] = if ($has -contains $name) { ConvertTo-SmsPlainValue -Value $object.Properties[$name].Value } else { $null }
                }
                $plain
            })
        @{ instances = $found }
    }
    catch {
        @{ error = (New-SmsReadError -Exception $_.Exception) }
    }
}

Function Read-SmsRegistryValueAt {
    <# A value of HKLM by its 'Key\Value' path; $null when absent or unreadable. #>
    param($Target, [String]$Path)
    $key = $Path.Substring(0, $Path.LastIndexOf('\'))
    $name = $Path.Substring($Path.LastIndexOf('\') + 1)
    try {
        $base = Open-SmsBaseKey -Target $Target -Hive LocalMachine
        try {
            $open = $base.OpenSubKey($key)
            if ($null -eq $open) { return $null }
            try { $open.GetValue($name, $null) } finally { $open.Dispose() }
        }
        finally { $base.Dispose() }
    }
    catch { $null }
}

Function Get-SmsFileState {
    <# Whether a file of the target exists, its size and SHA-256 (path as the target sees it). #>
    param($Target, [String]$Path)
    try {
        $remote = ConvertTo-SmsRemotePath -Target $Target -LocalPath $Path
        if (-not [System.IO.File]::Exists($remote)) { return @{ present = $false; size = $null; sha256 = $null } }
        @{ present = $true; size = (New-Object -TypeName System.IO.FileInfo -ArgumentList $remote).Length; sha256 = (Get-SmsFileHash -Path $remote) }
    }
    catch {
        @{ present = $null; size = $null; sha256 = $null; cause = (Get-SmsErrorCause -Exception $_.Exception); message = $_.Exception.Message }
    }
}

Function ConvertTo-SmsComparable {
    <# One text for a value from WMI or from the controller, so that "still A" compares like with like. #>
    param($Value)
    if ($null -eq $Value) { return '<null>' }
    if ($Value -is [System.Array] -or $Value -is [System.Collections.IList]) {
        return '[' + ((@($Value) | ForEach-Object { "$_" }) -join [String][char]0x1F) + ']'
    }
    "$Value"
}

Function ConvertTo-SmsCimValue {
    <# The controller's value in the type of the WMI property it is written to. #>
    param([System.Management.PropertyData]$Property, $Value)
    if ($null -eq $Value) { return $null }
    $types = @{ UInt8 = [byte]; UInt16 = [UInt16]; UInt32 = [UInt32]; UInt64 = [UInt64]; SInt16 = [Int16]; SInt32 = [Int32]
        SInt64 = [Int64]; Boolean = [Bool]; String = [String]
    }
    $type = $types["$($Property.Type)"]
    if ($null -eq $type) { throw [System.ArgumentException]"property $($Property.Name) of type $($Property.Type) cannot be set" }
    if ($Property.IsArray) {
        $items = @($Value)
        $array = [System.Array]::CreateInstance($type, $items.Count)
        for ($i = 0; $i -lt $items.Count; $i++) { $array[$i] = $items[$i] -as $type }
        return , $array
    }
    $Value -as $type
}

Function Find-SmsProviderObject {
    <# The one instance of a class whose key properties have the given values; $null when there is none. #>
    param($Scope, [String]$Class, [Hashtable]$Keys)
    $where = @(foreach ($name in $Keys.Keys) {
            $value = $Keys[$name]
            if ($value -is [String]) { "$name = '$($value.Replace("'", "''"))'" } else { "$name = $value" }
        }) -join ' AND '
    $query = New-Object -TypeName System.Management.ObjectQuery -ArgumentList "SELECT * FROM $Class WHERE $where"
    $searcher = New-Object -TypeName System.Management.ManagementObjectSearcher -ArgumentList $Scope, $query
    foreach ($object in $searcher.Get()) { $object.Get(); return $object }
    $null
}

Function Invoke-SmsInstanceChange {
    <# wmi_instance: set each property from -> to, all or none, with one Put(). #>
    param($Scope, [Hashtable]$Change, [Bool]$CheckMode)
    $object = Find-SmsProviderObject -Scope $Scope -Class $Change['class'] -Keys $Change.keys
    if ($null -eq $object) { return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "no $($Change['class']) with these keys" -Current @{} }
    $current = @{}
    $done = $true
    $other = $false
    foreach ($name in $Change.set.Keys) {
        $current[$name] = ConvertTo-SmsPlainValue -Value $object.Properties[$name].Value
        $now = ConvertTo-SmsComparable -Value $current[$name]
        if ($now -cne (ConvertTo-SmsComparable -Value $Change.set[$name].to)) {
            $done = $false
            if ($now -cne (ConvertTo-SmsComparable -Value $Change.set[$name].from)) { $other = $true }
        }
    }
    if ($done) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current $current }
    if ($other) { return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "$($Change['class']) changed since it was read" -Current $current }
    if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current $current }
    foreach ($name in $Change.set.Keys) {
        $object.Properties[$name].Value = ConvertTo-SmsCimValue -Property $object.Properties[$name] -Value $Change.set[$name].to
    }
    [void]$object.Put()
    New-SmsChangeResult -Id $Change.id -Status 'changed'
}

Function Invoke-SmsEmbeddedChange {
    <# wmi_embedded: one field of the embedded object named `name` in the array property `array`, from -> to. #>
    param($Scope, [Hashtable]$Change, [Bool]$CheckMode)
    $object = Find-SmsProviderObject -Scope $Scope -Class $Change['class'] -Keys $Change.keys
    if ($null -eq $object) { return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "no $($Change['class']) with these keys" -Current @{} }
    $items = @($object.Properties[$Change.array].Value)
    $item = $items | Where-Object { $_ -and $_.Properties[$Change.name_field].Value -eq $Change.name } | Select-Object -First 1
    if ($null -eq $item) { return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "no $($Change.array) entry $($Change.name)" -Current @{} }
    $value = $item.Properties[$Change.value_field].Value
    $now = ConvertTo-SmsComparable -Value $value
    if ($now -ceq (ConvertTo-SmsComparable -Value $Change.to)) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Current @{ value = $value } }
    if ($now -cne (ConvertTo-SmsComparable -Value $Change.from)) {
        return New-SmsChangeResult -Id $Change.id -Status 'conflict' -Message "$($Change.name) changed since it was read" -Current @{ value = $value }
    }
    if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' -Current @{ value = $value } }
    $item.Properties[$Change.value_field].Value = ConvertTo-SmsCimValue -Property $item.Properties[$Change.value_field] -Value $Change.to
    $object.Properties[$Change.array].Value = [System.Management.ManagementBaseObject[]]$items
    [void]$object.Put()
    New-SmsChangeResult -Id $Change.id -Status 'changed'
}

Function Invoke-SmsProviderChange {
    <# One provider change by kind; an exception becomes a failed result with its cause, the other changes go on. #>
    param($Scope, [Hashtable]$Change, [Bool]$CheckMode)
    try {
        switch ($Change.kind) {
            'wmi_instance' { Invoke-SmsInstanceChange -Scope $Scope -Change $Change -CheckMode $CheckMode }
            'wmi_embedded' { Invoke-SmsEmbeddedChange -Scope $Scope -Change $Change -CheckMode $CheckMode }
            default { New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause 'other' -Message "unknown change kind '$($Change.kind)'" }
        }
    }
    catch {
        $failure = New-SmsReadError -Exception $_.Exception
        $message = if ($failure.code) { "$($failure.code): $($failure.message)" } else { $failure.message }
        New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause $failure.cause -Message $message
    }
}

Function Get-SmsAddresses {
    <# The IPv4 addresses the target's name resolves to (from the machine the module runs on). #>
    param($Target)
    @([System.Net.Dns]::GetHostAddresses($Target.Name) | Where-Object { $_.AddressFamily -eq 'InterNetwork' } |
            ForEach-Object { $_.IPAddressToString })
}

Function Connect-SmsCimv2 {
    <# root\cimv2 of the target (Win32_Process). #>
    param($Target)
    $scope = New-Object -TypeName System.Management.ManagementScope -ArgumentList "\\$($Target.Name)\root\cimv2"
    $scope.Connect()
    $scope
}

Function Get-SmsProcessCounts {
    <# How many processes of each name run on the target (Win32_Process; Windows NT targets). #>
    param($Target, [String[]]$Names)
    $scope = Connect-SmsCimv2 -Target $Target
    $counts = @{}
    foreach ($name in $Names) {
        $query = New-Object -TypeName System.Management.ObjectQuery -ArgumentList "SELECT ProcessId FROM Win32_Process WHERE Name = '$($name.Replace("'", "''"))'"
        $counts[$name] = @((New-Object -TypeName System.Management.ManagementObjectSearcher -ArgumentList $scope, $query).Get()).Count
    }
    $counts
}

Function Invoke-SmsProcessStart {
    <# start_process: start a command on the target (Win32_Process.Create) unless a process of that name runs. #>
    param($Target, [Hashtable]$Change, [Bool]$CheckMode)
    try {
        $running = (Get-SmsProcessCounts -Target $Target -Names @($Change.process_name))[$Change.process_name]
        if ($running -gt 0) { return New-SmsChangeResult -Id $Change.id -Status 'unchanged' -Message "$($Change.process_name) runs already" }
        if ($CheckMode) { return New-SmsChangeResult -Id $Change.id -Status 'would_change' }
        $class = New-Object -TypeName System.Management.ManagementClass -ArgumentList (Connect-SmsCimv2 -Target $Target), `
        (New-Object -TypeName System.Management.ManagementPath -ArgumentList 'Win32_Process'), $null
        $line = ("`"$($Change.command)`" $($Change.arguments)").Trim()
        $inParams = $class.GetMethodParameters('Create')
        $inParams['CommandLine'] = $line
        $out = $class.InvokeMethod('Create', $inParams, $null)
        if ([UInt32]$out['ReturnValue'] -ne 0) {
            return New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause 'other' -Message "Win32_Process.Create returned $($out['ReturnValue']) for $line"
        }
        New-SmsChangeResult -Id $Change.id -Status 'changed' -Current @{ process_id = $out['ProcessId'] }
    }
    catch {
        $failure = New-SmsReadError -Exception $_.Exception
        New-SmsChangeResult -Id $Change.id -Status 'failed' -Cause $failure.cause -Message $failure.message
    }
}

Export-ModuleMember -Function Connect-SmsProvider, Read-SmsProviderClass, Read-SmsRegistryValueAt, Get-SmsFileState, `
    Invoke-SmsProviderChange, Get-SmsAddresses, Get-SmsProcessCounts, Invoke-SmsProcessStart, New-SmsProviderStatus
