"""Text from untrusted input made fit for messages and reports: shortened, and without lone surrogates.

A snapshot, an answers file or a previous report can hold values of megabytes, or lone UTF-16 surrogates that no
UTF-8 file can carry. Everything the collection writes about such a value goes through :func:`shorten` (messages,
report cells) or :func:`fit` (a whole JSON-like document), so one bad value neither floods a report nor stops it
from being written.
"""
import re

# Longest text kept in a message or a report field; longer values keep their start and say how long they were.
MESSAGE_CHARS = 500
REPORT_CHARS = 2000
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text):
    """``text`` with each lone surrogate replaced by U+FFFD (so that it can be written as UTF-8)."""
    return _SURROGATE.sub("\ufffd", text)


def shorten(value, limit=MESSAGE_CHARS):
    """``value`` as text of at most about ``limit`` characters: the start, then how many characters were left out."""
    text = clean("" if value is None else str(value))
    if len(text) <= limit:
        return text
    return "%s… [%d more characters]" % (text[:limit], len(text) - limit)


def fit(value, limit=REPORT_CHARS):
    """A copy of a JSON-like value whose strings (keys too) are cleaned and shortened (see :func:`shorten`)."""
    if isinstance(value, str):
        return shorten(value, limit) if len(value) > limit or _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {fit(k, limit) if isinstance(k, str) else k: fit(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [fit(v, limit) for v in value]
    return value
