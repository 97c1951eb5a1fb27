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

The file is read with a loader that refuses YAML aliases (``*name``: a few lines of aliases can expand to
billions of nodes) and files over MAX_BYTES. ``at`` is an instant: times without an offset are UTC, a
date is its midnight UTC, an answer dated after the run is refused (a typo, or a clock that is wrong),
and "newest" compares instants, not text.
"""
import datetime
import os
from collections import namedtuple

import yaml

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.text import shorten

HIERARCHY_HOST = "(hierarchy)"
REQUIRED = ("rule", "by", "at", "reason")
KNOWN = REQUIRED + ("hosts", "decision")
MAX_BYTES = 4 * 1024 * 1024

Answer = namedtuple("Answer", ["rule", "hosts", "by", "at", "reason", "decision", "instant"])
Answer.__new__.__defaults__ = (None,)


class NoAliasLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """The safe loader without aliases: ``*name`` is refused where it appears (no alias bomb can expand)."""

    def compose_node(self, parent, index):
        if self.check_event(yaml.events.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "YAML aliases (*%s) are not allowed in this file; write the "
                                              "value out" % event.anchor, event.start_mark)
        return super().compose_node(parent, index)


def safe_yaml(text):
    """Parse YAML text with :class:`NoAliasLoader`."""
    return yaml.load(text, Loader=NoAliasLoader)  # nosec B506 - NoAliasLoader is a SafeLoader


class AnswersError(ValueError):
    """The answers file is unreadable or has invalid entries; the message lists them all."""


def instant(value):
    """The moment an ``at`` value names (UTC when it has no offset; a date is its midnight UTC); ValueError if none."""
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=datetime.timezone.utc)
    if not isinstance(value, str):
        raise ValueError(value)
    return parse_timestamp(value)


def _timestamp_problem(value, now):
    try:
        moment = instant(value)
    except (ValueError, TypeError, OverflowError):
        return "'at' must be an ISO 8601 date or time, not %s" % shorten(repr(value), 80)
    if now is not None and moment > now:
        return ("'at' %s is after this run (%s): an answer cannot be recorded in the future (a time without an "
                "offset is UTC)" % (_as_text(value), now.isoformat()))
    return None


def _as_text(value):
    if isinstance(value, datetime.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)).isoformat()
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


def _type_problems(entry):
    problems = []
    if entry.get("rule") is not None and not isinstance(entry["rule"], str):
        problems.append("'rule' must be one rule ID (a string), not %s" % type(entry["rule"]).__name__)
    problems += ["'%s' must be text, not %s" % (key, type(entry[key]).__name__) for key in ("by", "reason")
                 if isinstance(entry.get(key), (dict, list))]
    if entry.get("decision") is not None and not isinstance(entry["decision"], str):
        problems.append("'decision' must be one of the rule's decisions (a string)")
    return problems


def _entry_problems(entry, rules, now=None):
    if not isinstance(entry, dict):
        return ["is not a mapping"]
    problems = _type_problems(entry)
    if problems:
        return problems
    problems = ["missing '%s'" % key for key in REQUIRED if not str(entry.get(key) or "").strip()]
    problems += ["unknown key %s" % shorten(repr(key), 60) for key in entry if key not in KNOWN]
    rule = rules.get(entry.get("rule"))
    if entry.get("rule") and rule is None:
        problems.append("rule %r is not in the catalog" % entry["rule"])
    elif rule is not None and not rule.answerable:
        problems.append("rule %s cannot be answered: it is a hard requirement, fix the finding instead" % rule.id)
    elif rule is not None and rule.decisions and entry.get("decision") not in rule.decisions:
        problems.append("decision must be one of %s" % ", ".join(rule.decisions))
    if entry.get("at"):
        problems += [p for p in [_timestamp_problem(entry["at"], now)] if p]
    hosts = entry.get("hosts", ["all"])
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        problems.append("'hosts' must be a list of inventory host names")
    return problems


def _label(entry):
    rule = entry.get("rule", "?") if isinstance(entry, dict) else "?"
    return shorten(rule if isinstance(rule, str) else repr(rule), 80)


def parse_answers(document, rules, source="answers file", now=None):
    """Validate a parsed answers document against the catalog (``rules``: id -> Rule); with ``now``, answers dated
    after it are refused."""
    if document is None:
        return []
    if not isinstance(document, dict) or document.get("schema_version") != 1 \
            or not isinstance(document.get("answers", []), list):
        raise AnswersError("%s: expected a mapping with schema_version 1 and a list 'answers'" % source)
    problems, answers = [], []
    for index, entry in enumerate(document.get("answers") or [], start=1):
        found = _entry_problems(entry, rules, now)
        problems += ["%s: answer #%d (%s): %s" % (source, index, _label(entry), p) for p in found]
        if not found:
            answers.append(Answer(entry["rule"], tuple(entry.get("hosts", ["all"])), shorten(entry["by"], 200),
                                  _as_text(entry["at"]), shorten(entry["reason"], 1000), entry.get("decision"),
                                  instant(entry["at"])))
    if problems:
        raise AnswersError("\n".join(problems))
    return answers


def load_answers(path, rules, now=None):
    """Read and validate an answers file; a missing path means no answers."""
    if not path or not os.path.exists(path):
        return []
    try:
        if os.path.getsize(path) > MAX_BYTES:
            raise AnswersError("answers file %s is larger than %d bytes" % (path, MAX_BYTES))
        with open(path, encoding="utf-8") as handle:
            document = safe_yaml(handle.read())
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError) as exc:
        raise AnswersError("cannot read answers file %s: %s" % (path, shorten(exc, 500)))
    return parse_answers(document, rules, source=path, now=now)


def unknown_hosts(answers, hosts):
    """``{host: [rule, ...]}`` of answers that name hosts not in ``hosts`` (nor ``all`` or the hierarchy)."""
    known = set(hosts) | {"all", HIERARCHY_HOST}
    found = {}
    for answer in answers:
        for host in answer.hosts:
            if host not in known:
                found.setdefault(host, []).append(answer.rule)
    return found


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
        chosen = sorted(specific or general, key=lambda a: a.instant or instant(a.at))
        if not chosen:
            return None
        found = chosen[-1]._asdict()
        found.pop("instant")
        return dict(found, hosts=list(chosen[-1].hosts))
