"""The answers file against hostile or careless input: aliases, wrong types, future dates, instants, unknown hosts."""
import datetime
import re
import time

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.answers import (
    AnswerBook, AnswersError, load_answers, parse_answers, unknown_hosts)
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS

NOW = datetime.datetime(2026, 11, 25, 12, 0, tzinfo=datetime.timezone.utc)
BY_ID = {r.id: r for r in load_catalog(CHECKS)}
BOMB = """schema_version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
answers: []
"""


def entry(**values):
    base = {"rule": "manual.security_settings", "by": "Jane Doe", "at": "2026-11-20T09:00:00Z", "reason": "done"}
    base.update(values)
    return base


def parse(*entries, now=NOW):
    return parse_answers({"schema_version": 1, "answers": list(entries)}, BY_ID, source="answers.yml", now=now)


def test_an_alias_bomb_is_refused_at_once_naming_the_alias(tmp_path):
    path = tmp_path / "answers.yml"
    path.write_text(BOMB, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(AnswersError, match=r"YAML aliases \(\*a\) are not allowed"):
        load_answers(str(path), BY_ID, NOW)
    assert time.monotonic() - started < 2


def test_an_ordinary_alias_is_refused_too(tmp_path):
    path = tmp_path / "answers.yml"
    path.write_text("schema_version: 1\nanswers:\n  - &one {rule: manual.security_settings, by: Jane, at: 2026-11-20, "
                    "reason: x}\n  - *one\n", encoding="utf-8")
    with pytest.raises(AnswersError, match="line 4"):
        load_answers(str(path), BY_ID, NOW)


@pytest.mark.parametrize("values, words", [
    ({"rule": ["manual.security_settings", "manual.sms_licenses"]}, "'rule' must be one rule ID (a string), not list"),
    ({"rule": {"id": "x"}}, "'rule' must be one rule ID"),
    ({"by": ["a", "b"]}, "'by' must be text"),
    ({"reason": {"why": "x"}}, "'reason' must be text"),
    ({"decision": ["a"]}, "'decision' must be one of"),
])
def test_wrong_types_are_refused_with_the_entry_not_a_traceback(values, words):
    with pytest.raises(AnswersError, match=re.escape(words)):
        parse(entry(**values))


@pytest.mark.parametrize("at", ["2026-11-25T12:00:01Z", "2026-11-26", datetime.date(2027, 1, 1),
                                "2026-11-25T13:30:00+01:00", "2026-11-25T12:30:00"])
def test_answers_dated_after_the_run_are_refused(at):
    with pytest.raises(AnswersError, match="after this run"):
        parse(entry(at=at))


def test_an_answer_at_the_same_instant_in_another_offset_is_not_in_the_future():
    assert parse(entry(at="2026-11-25T13:00:00+01:00"))[0].by == "Jane Doe"


def test_the_newest_answer_is_chosen_by_instant_not_by_text():
    earlier = entry(at="2026-11-20T09:00:00+05:00", reason="earlier (04:00 UTC)")
    later = entry(at="2026-11-20T05:00:00Z", reason="later (05:00 UTC)")
    book = AnswerBook(parse(later, earlier))
    assert book.find("manual.security_settings", "SRV01")["reason"] == "later (05:00 UTC)"
    book = AnswerBook(parse(earlier, later))
    assert book.find("manual.security_settings", "SRV01")["reason"] == "later (05:00 UTC)"


def test_a_date_counts_as_its_midnight_utc():
    book = AnswerBook(parse(entry(at=datetime.date(2026, 11, 20), reason="date"),
                            entry(at="2026-11-19T23:00:00Z", reason="time")))
    assert book.find("manual.security_settings", "SRV01")["reason"] == "date"


def test_answers_for_hosts_not_in_the_run_are_reported():
    answers = parse(entry(hosts=["SRV01", "SRVO1"]), entry(rule="manual.sms_licenses", hosts=["SRVO1"]),
                    entry(rule="hierarchy.change_plan", hosts=["(hierarchy)"]))
    assert unknown_hosts(answers, ["SRV01", "WKS01"]) == {"SRVO1": ["manual.security_settings", "manual.sms_licenses"]}


def test_a_huge_reason_is_kept_short():
    [answer] = parse(entry(reason="x" * 100000))
    assert len(answer.reason) < 1100
