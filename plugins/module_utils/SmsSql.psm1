# The isql/osql channel of the sms.upgrade modules that talk to SQL Server 6.5 (sql_facts, database).
# One client process per script: the script, built and checked on the controller, reaches the client on
# standard input; the output comes back as it is and is parsed on the controller (plugin_utils/gather/isql.py).
# The password reaches the client in ISQLPASSWORD/OSQLPASSWORD (SQL6x BOL isql), never on the command line.
# Nothing here decides what a script does or what its output means.

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 2.0

Function Resolve-SmsSqlClient {
    <# The full path of the SQL client (isql.exe or osql.exe, by name on the PATH or by path); $null when not found. #>
    param([String]$Client)
    $command = Get-Command -Name $Client -CommandType Application -ErrorAction SilentlyContinue | Select-Object -First 1
    if (-not $command) { return $null }
    $command.Source
}

Function Join-SmsArgument {
    <# One command line of arguments, each quoted when it is empty or holds blanks or quotes. #>
    param([String[]]$Arguments)
    ($Arguments | ForEach-Object { if ($_ -match '[\s"]' -or $_ -eq '') { '"' + ($_ -replace '"', '\"') + '"' } else { $_ } }) -join ' '
}

Function Get-SmsSqlClientArgument {
    <# The client's command line: server, master, no numbering, width, query timeout, login (never the password). #>
    param([String]$Server, [String]$User, [Int32]$Width, [Int32]$Timeout)
    $arguments = @('-S', $Server, '-d', 'master', '-n', '-w', "$Width", '-t', "$Timeout")
    if ($User) { $arguments += @('-U', $User) } else { $arguments += '-E' }
    Join-SmsArgument -Arguments $arguments
}

Function Invoke-SmsProcess {
    <#
    Run FilePath with Arguments, writing Stdin (when given) to its standard input and setting Environment (name ->
    value) for it alone. Returns output, stderr, rc and timed_out; a process that does not finish within Timeout
    seconds is ended and returns what it printed.
    #>
    param([String]$FilePath, [String]$Arguments, [String]$Stdin, [Hashtable]$Environment = @{}, [Int32]$Timeout = 600)
    $startInfo = New-Object -TypeName System.Diagnostics.ProcessStartInfo -Property @{
        FileName = $FilePath
        Arguments = $Arguments
        UseShellExecute = $false
        RedirectStandardInput = $true
        RedirectStandardOutput = $true
        RedirectStandardError = $true
        CreateNoWindow = $true
    }
    foreach ($name in $Environment.Keys) { $startInfo.EnvironmentVariables[$name] = $Environment[$name] }
    $process = New-Object -TypeName System.Diagnostics.Process
    $process.StartInfo = $startInfo
    try {
        [void]$process.Start()
        $stdout = $process.StandardOutput.ReadToEndAsync()
        $stderr = $process.StandardError.ReadToEndAsync()
        if ($Stdin) { $process.StandardInput.Write($Stdin) }
        $process.StandardInput.Close()
        $timedOut = -not $process.WaitForExit($Timeout * 1000)
        if ($timedOut) {
            $process.Kill()
            [void]$process.WaitForExit(10000)
        }
        @{
            output = $stdout.Result
            stderr = $stderr.Result
            rc = if ($timedOut) { $null } else { $process.ExitCode }
            timed_out = $timedOut
        }
    }
    finally {
        $process.Dispose()
    }
}

Function Invoke-SmsSqlScript {
    <#
    Run Script in one session of ClientPath against Server. Returns output, stderr, rc, client_path and
    timed_out; a session that does not finish within Timeout seconds is ended and returns what it printed.
    #>
    param(
        [String]$ClientPath,
        [String]$Server,
        [String]$Script,
        [String]$User,
        [String]$Password,
        [Int32]$Timeout = 600,
        [Int32]$Width = 4096
    )
    $environment = @{}
    if ($Password) {
        foreach ($variable in @('ISQLPASSWORD', 'OSQLPASSWORD')) { $environment[$variable] = $Password }
    }
    $arguments = Get-SmsSqlClientArgument -Server $Server -User $User -Width $Width -Timeout $Timeout
    $run = Invoke-SmsProcess -FilePath $ClientPath -Arguments $arguments -Stdin $Script -Environment $environment -Timeout $Timeout
    @{ output = $run.output; stderr = $run.stderr; rc = $run.rc; client_path = $ClientPath; timed_out = $run.timed_out }
}

Export-ModuleMember -Function Resolve-SmsSqlClient, Invoke-SmsSqlScript, Invoke-SmsProcess, Join-SmsArgument
