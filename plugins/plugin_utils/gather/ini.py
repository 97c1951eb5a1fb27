"""Tolerant readers for the small text files an SMS 1.2 machine keeps: SMS.INI and CSDVER.SMS.

Both follow what Windows' GetPrivateProfileString does: section and key names are matched without
regard to case, the first occurrence of a key wins, lines without ``=`` and ``;`` comments are
ignored. Nothing here raises on bad content; oddities are returned as problem strings.
"""
import re

_SECTION = re.compile(r"^\s*\[([^\]]*)\]\s*$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def text_lines(text):
    """Lines as Windows reads them: only CR, LF and CRLF end a line (str.splitlines also splits on
    form feeds and other control characters that can sit inside a value)."""
    return _LINE_BREAK.split(text)


def parse_ini(text):
    """Return ``(sections, problems)``: ``{section: {key: value}}`` with names as in the file."""
    sections, problems = {}, []
    current = None
    canonical = {}
    for number, raw in enumerate(text_lines(text), start=1):
        line = raw.strip()
        if not line or line.startswith(";"):
            continue
        header = _SECTION.match(line)
        if header:
            name = header.group(1).strip()
            current = sections.setdefault(canonical.setdefault(name.lower(), name), {})
            continue
        if "=" not in line:
            problems.append("line %d is neither a section nor key=value: %r" % (number, line[:60]))
            continue
        if current is None:
            problems.append("line %d has a value outside any section" % number)
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key and not any(existing.lower() == key.lower() for existing in current):
            current[key] = value.strip()
    return sections, problems


def ini_value(sections, section, key):
    """Look a value up without regard to case; None when absent."""
    for name, values in sections.items():
        if name.lower() == section.lower():
            for existing, value in values.items():
                if existing.lower() == key.lower():
                    return value
    return None


def parse_csdver(text):
    """CSDVER.SMS holds the service pack label (KB Q171038): the first non-empty line, trimmed."""
    for line in text_lines(text):
        label = line.strip().strip("\x00").strip()
        if label:
            return label
    return ""
