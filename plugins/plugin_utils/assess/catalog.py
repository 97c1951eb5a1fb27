"""Load the readiness rule catalog (``data/rules.yml``) and check that it is well formed."""
import re
from collections import namedtuple

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.inventory import OS_FAMILIES
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess import jmes

TIERS = ("site", "secondary", "sql", "helper", "logon", "distribution", "client", "hierarchy")
SEVERITIES = ("info", "low", "medium", "high", "critical")
KINDS = ("detect", "manual")
FAMILIES = OS_FAMILIES
CHECKLIST_ID = re.compile(r"^(PRE|UPG|POST|CLI|SEC|FAQ)-[0-9]{2}$")
RULE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
REQUIRED = ("id", "title", "checklist", "tiers", "severity", "blocking", "fixed_by", "message", "remediation",
            "references")
# Who clears a failing finding besides a phase (fixed_by): the answers file, a new gather, or a person on the machine.
FIXERS = {"answers": None, "gather": "sms.upgrade.readiness", "admin": None}
OPTIONAL = ("kind", "answerable", "requires", "sections", "applies", "check", "observed", "expected",
            "families", "decisions")

Rule = namedtuple("Rule", REQUIRED + OPTIONAL)


class CatalogError(ValueError):
    """The rule catalog is malformed; the message lists every problem."""


def _problems_of(entry, index, python_checks):
    """Return the problems of one raw catalog entry."""
    where = "rule %s" % entry.get("id", "#%d" % index) if isinstance(entry, dict) else "rule #%d" % index
    if not isinstance(entry, dict):
        return ["%s: is not a mapping" % where]
    problems = ["%s: missing '%s'" % (where, key) for key in REQUIRED if key not in entry]
    problems += ["%s: unknown key '%s'" % (where, key) for key in entry if key not in REQUIRED + OPTIONAL]
    if "id" in entry and not RULE_ID.match(str(entry["id"])):
        problems.append("%s: id must look like 'area.name'" % where)
    problems += ["%s: checklist ID %r is malformed" % (where, cid) for cid in entry.get("checklist") or []
                 if not CHECKLIST_ID.match(str(cid))]
    problems += ["%s: unknown tier %r" % (where, t) for t in entry.get("tiers") or [] if t not in TIERS]
    problems += ["%s: unknown OS family %r" % (where, f) for f in entry.get("families") or [] if f not in FAMILIES]
    if entry.get("severity") not in SEVERITIES:
        problems.append("%s: severity must be one of %s" % (where, ", ".join(SEVERITIES)))
    if entry.get("kind", "detect") not in KINDS:
        problems.append("%s: kind must be detect or manual" % where)
    for flag in ("blocking", "answerable"):
        if flag in entry and not isinstance(entry[flag], bool):
            problems.append("%s: %s must be true or false" % (where, flag))
    problems += _fixer_problems(entry, where)
    problems += _check_problems(entry, where, python_checks)
    problems += _expression_problems(entry, where)
    return problems


def phase_playbooks():
    """``{phase: playbook}`` of the collection's changing phases (imported late: the phases read the catalog too)."""
    from ansible_collections.sms.upgrade.plugins.plugin_utils.phases.registry import PHASES
    return {name: phase.playbook() for name, phase in PHASES.items()}


def fixer_playbook(fixed_by):
    """The playbook that clears a finding of a rule fixed by ``fixed_by`` (None: a person does)."""
    return FIXERS[fixed_by] if fixed_by in FIXERS else phase_playbooks()[fixed_by]


def _fixer_problems(entry, where):
    fixed_by = entry.get("fixed_by")
    if "fixed_by" not in entry:
        return []
    if fixed_by not in FIXERS and fixed_by not in phase_playbooks():
        return ["%s: fixed_by %r is neither a phase (%s) nor one of %s" % (
            where, fixed_by, ", ".join(sorted(phase_playbooks())), ", ".join(sorted(FIXERS)))]
    manual = entry.get("kind") == "manual"
    if manual != (fixed_by == "answers"):
        return ["%s: %s" % (where, "a manual rule is fixed_by answers" if manual else
                            "only manual rules are fixed_by answers (answerable detect rules name who fixes them)")]
    if "playbook" in (entry.get("remediation") or {}):
        return ["%s: remediation.playbook comes from fixed_by; remove it" % where]
    return []


def _check_problems(entry, where, python_checks):
    check = entry.get("check")
    if check is None:
        return [] if entry.get("kind") == "manual" else ["%s: a detect rule needs 'check'" % where]
    if not isinstance(check, dict) or len(set(check) & {"jmespath", "python"}) != 1:
        return ["%s: check must have exactly one of 'jmespath' or 'python'" % where]
    if "python" in check and check["python"] not in python_checks:
        return ["%s: python check %r is not registered" % (where, check["python"])]
    return []


def _expression_problems(entry, where):
    expressions = [entry.get("applies"), entry.get("observed"), (entry.get("check") or {}).get("jmespath")]
    problems = []
    for expression in filter(None, expressions):
        try:
            jmes.compile_expression(expression)
        except Exception as exc:  # jmespath raises several error classes
            problems.append("%s: JMESPath %r does not compile: %s" % (where, expression, exc))
    return problems


def _to_rule(entry):
    values = dict.fromkeys(OPTIONAL)
    values.update(kind="detect", requires=[], sections=[], families=[], decisions=[])
    values.update(entry)
    if values["answerable"] is None:
        values["answerable"] = values["kind"] == "manual"
    values["remediation"] = {"hint": None, "command": None, "tags": [], **(values["remediation"] or {}),
                             "playbook": fixer_playbook(values["fixed_by"])}
    values["references"] = {"seed": None, "kb": [], **(values["references"] or {})}
    return Rule(**{key: values[key] for key in Rule._fields})


def build_catalog(document, python_checks):
    """Validate a parsed catalog document and return its rules in file order."""
    if not isinstance(document, dict) or document.get("schema_version") != 1:
        raise CatalogError("rule catalog: expected a mapping with schema_version 1")
    entries = document.get("rules")
    if not isinstance(entries, list) or not entries:
        raise CatalogError("rule catalog: 'rules' must be a non-empty list")
    problems = [p for index, entry in enumerate(entries) for p in _problems_of(entry, index, python_checks)]
    ids = [e.get("id") for e in entries if isinstance(e, dict)]
    problems += ["rule %s: duplicate id" % rid for rid in sorted({i for i in ids if ids.count(i) > 1})]
    for entry in (e for e in entries if isinstance(e, dict)):
        problems += ["rule %s: requires unknown rule %r" % (entry.get("id"), req)
                     for req in entry.get("requires") or [] if req not in ids]
    if problems:
        raise CatalogError("rule catalog has %d problem(s):\n  %s" % (len(problems), "\n  ".join(problems)))
    return [_to_rule(entry) for entry in entries]


def load_catalog(python_checks, document=None):
    """Load the shipped catalog (or ``document``) and return its validated rules."""
    return build_catalog(read_yaml("rules.yml") if document is None else document, python_checks)
