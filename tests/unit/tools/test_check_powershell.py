"""The PowerShell grammar check flags broken code and accepts Ansible.Basic-style modules."""
import pytest

check_powershell = pytest.importorskip("check_powershell")
pytest.importorskip("tree_sitter_pwsh")

VALID = b"""\xef\xbb\xbf#!powershell
#AnsibleRequires -CSharpUtil Ansible.Basic
$spec = @{
    options = @{
        computer = @{ type = 'str'; default = $env:COMPUTERNAME }
    }
    supports_check_mode = $true
}
$module = [Ansible.Basic.AnsibleModule]::Create($args, $spec)
try {
    $key = [Microsoft.Win32.RegistryKey]::OpenRemoteBaseKey('LocalMachine', $module.Params.computer)
    $module.Result.value = "$($key.Name)"
}
catch {
    $module.FailJson("cannot open the registry of $($module.Params.computer): $($_.Exception.Message)", $_)
}
$module.ExitJson()
"""


@pytest.fixture(scope="module")
def parser():
    from tree_sitter import Language, Parser
    import tree_sitter_pwsh
    return Parser(Language(tree_sitter_pwsh.language()))


def test_valid_module_parses(parser):
    assert check_powershell.problems_in(VALID, parser) == []


@pytest.mark.parametrize("broken", [
    b"function Get-X {\n  if ($a) {\n    'x'\n}\n",
    b"$s = \"unterminated\n$t = 1\n",
    b"$x = (1 + \n",
])
def test_broken_code_is_flagged(parser, broken):
    assert check_powershell.problems_in(broken, parser)


def test_main_reports_files_and_exit_code(tmp_path, capsys):
    good, bad = tmp_path / "good.ps1", tmp_path / "bad.psm1"
    good.write_bytes(VALID)
    bad.write_bytes(b"function F {\n")
    assert check_powershell.main([str(good)]) == 0
    assert check_powershell.main([str(good), str(bad)]) == 1
    assert "1 with errors" in capsys.readouterr().out
