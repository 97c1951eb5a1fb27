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
