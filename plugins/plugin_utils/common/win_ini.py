"""Read and edit the ``[windows]`` section of WIN.INI without touching anything else.

Text is handled as decoded by the caller; decode WIN.INI bytes as latin-1 so that every byte
round-trips, and encode the result the same way: the file then stays byte-for-byte unchanged
outside the edited value (encoding, line endings, other sections, comments, blank lines).
"""
import re

_SECTION = re.compile(r"^\s*\[([^\]]*)\]")
_ENTRY = re.compile(r"^(\s*)([^=;\s][^=]*?)(\s*=\s*)(.*?)(\s*)$")


class WinIniError(ValueError):
    """WIN.INI cannot be read or edited as asked (e.g. it has no [windows] section)."""


def _lines(text):
    """Split into lines, each keeping its own line ending."""
    return text.splitlines(keepends=True)


def _body_and_ending(line):
    body = line.rstrip("\r\n")
    return body, line[len(body):]


def _windows_entries(lines):
    """Yield (line index, key, match) for the entries of the first [windows] section; None if absent."""
    found, in_windows = False, False
    for index, line in enumerate(lines):
        body, _ending = _body_and_ending(line)
        section = _SECTION.match(body)
        if section:
            if found and in_windows:
                break
            in_windows = section.group(1).strip().lower() == "windows"
            found = found or in_windows
            continue
        if in_windows and not body.lstrip().startswith(";"):
            entry = _ENTRY.match(body)
            if entry:
                yield index, entry.group(2).strip().lower(), entry
    if not found:
        yield None


def read_windows_section(text):
    """Return ``{has_windows_section, load, run}`` (the first value of each key, None when absent)."""
    values = {"has_windows_section": False, "load": None, "run": None}
    for item in _windows_entries(_lines(text)):
        if item is None:
            return values
        _index, key, entry = item
        if key in ("load", "run") and values[key] is None:
            values[key] = entry.group(4)
    values["has_windows_section"] = True
    return values


def set_windows_value(text, key, new_value):
    """Return ``text`` with the first ``key=`` of [windows] set to ``new_value``; nothing else changes."""
    if not isinstance(new_value, str) or "\n" in new_value or "\r" in new_value:
        raise WinIniError("a WIN.INI value must be one line of text, not %r" % (new_value,))
    lines = _lines(text)
    for item in _windows_entries(lines):
        if item is None:
            raise WinIniError("WIN.INI has no [windows] section")
        index, found_key, entry = item
        if found_key == key.lower():
            _body, ending = _body_and_ending(lines[index])
            lines[index] = entry.group(1) + entry.group(2) + entry.group(3) + new_value + entry.group(5) + ending
            return "".join(lines)
    raise WinIniError("WIN.INI [windows] has no %s= line" % key)


def plan_program_removal(text, program, remove):
    """Plan removing ``program`` from load= and run= of [windows]: ``(new_text, [{key, old, new}])``.

    ``remove(value, program)`` edits one value (sms.upgrade.remove_startup_program). No change gives
    the text unchanged and an empty list.
    """
    values = read_windows_section(text)
    if not values["has_windows_section"]:
        raise WinIniError("WIN.INI has no [windows] section")
    changes = []
    for key in ("load", "run"):
        old = values[key]
        new = remove(old, program) if old is not None else None
        if old is not None and new != old:
            text = set_windows_value(text, key, new)
            changes.append({"key": key, "old": old, "new": new})
    return text, changes
