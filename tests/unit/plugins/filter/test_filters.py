"""The filters through a real Jinja template, their errors, and their ansible-doc pages."""
import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleError
from ansible.template import Templar

try:  # ansible-core 2.19+: only trusted strings are templated
    from ansible.template import trust_as_template
except ImportError:  # pragma: no cover - older ansible-core
    def trust_as_template(text):
        return text

from ansible_collections.sms.upgrade.plugins.filter import sizing, startup, versions

FILTERS = ["site_db_sizing", "tempdb_sizing", "version_at_least", "version_compare", "parse_version", "remove_startup_program",
           "phase_summary", "relay", "site_server"]


def render(expression):
    env_filters = dict(versions.FilterModule().filters(), **sizing.FilterModule().filters())
    env_filters.update(startup.FilterModule().filters())
    templar = Templar(loader=None)
    templar.environment.filters.update(env_filters)
    return templar.template(trust_as_template("{{ %s }}" % expression))


def test_filters_in_a_template():
    assert render("'6.50.258' | version_at_least('6.50.281')") is False
    assert render("'Service Pack 6a' | version_compare('Service Pack 6')") == 1
    assert render("(10000 | site_db_sizing).tempdb_log_mb") == 40
    assert render("(200 | tempdb_sizing).tempdb_data_mb") == 40
    assert render("('1.2 (build 786)' | parse_version).parts") == [786]
    assert render("'C:\\\\MS\\\\SMS\\\\BIN\\\\SMSRUN32.EXE clock.exe' | remove_startup_program('SMSRUN32.EXE')") == "clock.exe"


@pytest.mark.parametrize("expression, message", [
    ("'Service Pak 4' | version_at_least('Service Pack 4')", "version_at_least: 'Service Pak 4' is not a service pack"),
    ("'lots' | site_db_sizing", "site_db_sizing: computers must be"),
    ("42 | remove_startup_program('SMSRUN32.EXE')", "remove_startup_program: a load/run value must be a string"),
])
def test_bad_input_is_a_clear_filter_error(expression, message):
    with pytest.raises(AnsibleError, match=message):
        render(expression)


@pytest.mark.parametrize("name", FILTERS)
def test_ansible_doc_renders(name):
    ansible_doc = os.path.join(os.path.dirname(sys.executable), "ansible-doc")
    if not os.path.exists(ansible_doc):
        pytest.skip("ansible-doc is not installed next to %s" % sys.executable)
    root = [p for p in sys.path if p.endswith(os.path.basename(p)) and os.path.isdir(os.path.join(p, "ansible_collections", "sms"))]
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=root[0])
    result = subprocess.run([ansible_doc, "-t", "filter", "sms.upgrade.%s" % name], capture_output=True, text=True, env=env, check=False)
    assert result.returncode == 0, result.stderr
    assert "EXAMPLES" in result.stdout and "RETURN" in result.stdout.upper()


def test_phase_summary_sorts_every_host_into_one_outcome():
    from ansible_collections.sms.upgrade.plugins.filter.phases import phase_summary
    hostvars = {
        "A": {"r": {"changed": True, "changes": [{"status": "changed"}, {"status": "unchanged"}]}},
        "B": {"r": {"changed": False, "changes": [{"status": "unchanged"}]}},
        "C": {"r": {"failed": True, "msg": "C: access denied"}},
        "D": {"r": {"unreachable": True, "msg": "relay down"}},
        "E": {"r": {"unreachable_target": True, "changes": [{"status": "failed"}], "msg": "E could not be reached"}},
        "F": {},
        "G": {"r": {"changes": [{"status": "planned"}]}},
        "H": {"r": {"changes": [{"status": "would_change"}, {"status": "unchanged"}]}},
    }
    summary = phase_summary(hostvars, list(hostvars), "r")
    assert summary["hosts"] == {"changed": ["A"], "unchanged": ["B"], "failed": ["C"], "unreachable": ["D", "E"],
                                "not_run": ["F"], "planned": ["G"], "would_change": ["H"]}
    assert summary["lines"][0] == ("7 of 8 host(s) processed: 1 changed, 1 would change, 1 planned, 1 unchanged, "
                                   "1 failed, 2 unreachable")
    assert "failed C: C: access denied" in summary["lines"] and "unreachable D: relay down" in summary["lines"]
    assert summary["lines"][-1].endswith(": F")


def test_phase_summary_rejects_bad_input():
    from ansible.errors import AnsibleFilterError
    from ansible_collections.sms.upgrade.plugins.filter.phases import phase_summary
    with pytest.raises(AnsibleFilterError, match="hosts must be a list"):
        phase_summary({}, "A", "r")
    with pytest.raises(AnsibleFilterError, match="NOPE is not in the inventory"):
        phase_summary({}, ["NOPE"], "r")


def test_phase_summary_counts_hosts_the_plan_left_alone_as_unchanged():
    from ansible_collections.sms.upgrade.plugins.filter.phases import phase_summary
    hostvars = {"A": {"r": {"changes": [{"status": "changed"}]}}, "B": {}, "C": {}, "D": {}, "E": {}}
    planned = {"A": {"changes": [1]}, "C": {"changes": [1]}, "E": {"changes": [], "problems": ["profiles not read"]}}
    summary = phase_summary(hostvars, ["A", "B", "C", "D", "E"], "r", planned=planned, blocked=["D"])
    assert summary["hosts"] == {"changed": ["A"], "unchanged": ["B"], "not_run": ["C", "D"], "failed": ["E"]}
    assert "failed E: E: not planned: profiles not read" in summary["lines"]
