"""The answers file: decisions and confirmations a person records for readiness findings.

Example::

    schema_version: 1
    answers:
      - rule: manual.security_settings
        hosts: [CENSRV01]          # omitted or [all]: every host the rule applies to
        by: Jane Doe
        at: 2026-11-20T09:30:00Z
        reason: Exported to \\\\fs01\\sms-upgrade\\security.xlsx
        decision: null             # required when the rule lists decisions

An answer satisfies a manual item or accepts a failing finding of an ``answerable`` rule;
errors are never accepted. Every problem is reported with the entry number and field.
"""
import datetime
import os
from collections import namedtuple

import yaml

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp

HIERARCHY_HOST = "(hierarchy)"
REQUIRED = ("rule", "by", "at", "reason")
KNOWN = REQUIRED + ("hosts", "decision")

Answer = namedtuple("Answer", ["rule", "hosts", "by", "at", "reason", "decision"])


class AnswersError(ValueError):
    """The answers file is unreadable or has invalid entries; the message lists them all."""


def _timestamp_problem(value):
    if isinstance(value, (datetime.datetime, datetime.date)):
        return None
    try:
        parse_timestamp(value)
    except ValueError:
        return "'at' must be an ISO 8601 date or time, not %r" % value
    return None


def _as_text(value):
    if isinstance(value, datetime.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)).isoformat()
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _entry_problems(entry, rules):
    if not isinstance(entry, dict):
        return ["is not a mapping"]
    problems = ["missing '%s'" % key for key in REQUIRED if not str(entry.get(key) or "").strip()]
    problems += ["unknown key '%s'" % key for key in entry if key not in KNOWN]
    rule = rules.get(entry.get("rule"))
    if entry.get("rule") and rule is None:
        problems.append("rule %r is not in the catalog" % entry["rule"])
    elif rule is not None and not rule.answerable:
        problems.append("rule %s cannot be answered: it is a hard requirement, fix the finding instead" % rule.id)
    elif rule is not None and rule.decisions and entry.get("decision") not in rule.decisions:
        problems.append("decision must be one of %s" % ", ".join(rule.decisions))
    if entry.get("at"):
        problems += [p for p in [_timestamp_problem(entry["at"])] if p]
    hosts = entry.get("hosts", ["all"])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        problems.append("'hosts' must be a list of inventory host names")
    return problems


def parse_answers(document, rules, source="answers file"):
    """Validate a parsed answers document against the catalog (``rules``: id -> Rule)."""
    if document is None:
        return []
    if not isinstance(document, dict) or document.get("schema_version") != 1 \
            or not isinstance(document.get("answers", []), list):
        raise AnswersError("%s: expected a mapping with schema_version 1 and a list 'answers'" % source)
    problems, answers = [], []
    for index, entry in enumerate(document.get("answers") or [], start=1):
        found = _entry_problems(entry, rules)
        problems += ["%s: answer #%d (%s): %s" % (source, index, (entry or {}).get("rule", "?")
                                                  if isinstance(entry, dict) else "?", p) for p in found]
        if not found:
            answers.append(Answer(entry["rule"], tuple(entry.get("hosts", ["all"])), str(entry["by"]),
                                  _as_text(entry["at"]), str(entry["reason"]), entry.get("decision")))
    if problems:
        raise AnswersError("\n".join(problems))
    return answers


def load_answers(path, rules):
    """Read and validate an answers file; a missing path means no answers."""
    if not path or not os.path.exists(path):
        return []
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AnswersError("cannot read answers file %s: %s" % (path, exc))
    return parse_answers(document, rules, source=path)


class AnswerBook:
    """Look up the answer for a rule and host (the most specific, then the newest, wins)."""

    def __init__(self, answers):
        self._by_rule = {}
        for answer in answers:
            self._by_rule.setdefault(answer.rule, []).append(answer)

    def find(self, rule_id, host):
        """Return the answer as a dict, or None."""
        candidates = self._by_rule.get(rule_id, [])
        specific = [a for a in candidates if host in a.hosts]
        general = [a for a in candidates if "all" in a.hosts]
        chosen = sorted(specific or general, key=lambda a: a.at)
        return dict(chosen[-1]._asdict(), hosts=list(chosen[-1].hosts)) if chosen else None
