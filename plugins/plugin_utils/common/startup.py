"""Read the program lists of WIN.INI ``load=``/``run=`` lines and the NT ``Load``/``Run`` values.

Windows starts each entry of these lists at logon; entries are separated by blanks or commas,
and an entry may be double-quoted. Only reading lives here; editing builds on the spans.
"""
import re

_ENTRY = re.compile(r'"[^"]*"?|[^\s,"]+')


def startup_entries(value):
    """Return ``(entry, start, end)`` for each program entry of a load/run string."""
    if not isinstance(value, str):
        raise TypeError("a load/run value must be a string, not %s" % type(value).__name__)
    return [(match.group(0), match.start(), match.end()) for match in _ENTRY.finditer(value)]


def program_stem(entry):
    """Return the upper-case file name of an entry without directory, quotes or extension."""
    name = re.split(r"[\\/:]", entry.strip('"'))[-1]
    stem, dot, extension = name.rpartition(".")
    if dot and extension and "." not in extension and stem:
        name = stem
    return name.upper()


def names_program(value, program):
    """Tell whether a load/run string starts ``program`` (case-insensitive, path and extension ignored).

    ``None`` (value absent) names no program.
    """
    if value is None:
        return False
    wanted = program_stem(program)
    return any(program_stem(entry) == wanted for entry, _start, _end in startup_entries(value))


def remove_startup_program(value, program):
    """Return ``value`` without every entry that starts ``program``; other entries keep their text and order.

    The separator kept before a remaining entry is the one that preceded it in the input; text before
    the first entry and after the last one stays as it was; when no entry remains the result is empty.
    Nothing matching returns ``value`` itself.
    """
    if not isinstance(program, str) or not program_stem(program):
        raise TypeError("program must be a file name such as SMSRUN32.EXE, not %r" % (program,))
    entries = startup_entries(value)
    wanted = program_stem(program)
    if not any(program_stem(text) == wanted for text, _start, _end in entries):
        return value
    head = value[:entries[0][1]]
    tail = value[entries[-1][2]:]
    kept, previous_end = [], None
    for text, start, end in entries:
        gap = value[previous_end:start] if previous_end is not None else ""
        previous_end = end
        if program_stem(text) != wanted:
            kept.append((gap, text))
    if not kept:
        return ""
    body = "".join(text if index == 0 else gap + text for index, (gap, text) in enumerate(kept))
    return head + body + tail
