"""Build the one isql/osql script a site-database gather runs, and split and parse its output.

The script separates queries with ``print 'SMSUPG>>name'`` batches, so the output can be cut into
one block per query even when a query fails. isql (SQL Server 6.5, DB-Library) and osql print
result sets as a header line, a line of dashes whose runs give the column widths, the rows and
``(n rows affected)``; errors as ``Msg n, Level l, State s[, ...]`` followed by the message.
"""
import re

MARKER = "SMSUPG>>"
_IDENTIFIER = re.compile(r"^[A-Za-z_@#][A-Za-z0-9_@#$]{0,29}$")
_READ_ONLY = re.compile(r"^\s*(select\s|exec(ute)?\s+(master\.\.)?sp_help)", re.IGNORECASE)
_WRITES = re.compile(r"\b(into|insert|update|delete|drop|create|alter|truncate|kill|dump|load|grant|revoke|shutdown|dbcc)\b",
                     re.IGNORECASE)
_MSG = re.compile(r"^\s*Msg (\d+), Level (\d+), State (\d+)")
_AFFECTED = re.compile(r"^\s*\(\d+ rows? affected\)\s*$")
_PROMPT = re.compile(r"^(\s*\d+>)+\s?")
_DASHES = re.compile(r"-+")
NULLS = ("(null)", "NULL")


class SqlScriptError(ValueError):
    """A query or database name that must not be sent to the server."""


def check_identifier(name):
    """A database name that can be put into a query as is (no quoting, no injection)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise SqlScriptError("database name %r is not a plain SQL Server 6.5 identifier" % (name,))
    return name


def check_read_only(name, sql):
    """Refuse anything but a select or an sp_help* call without write keywords."""
    if not _READ_ONLY.match(sql) or _WRITES.search(re.sub(r"'[^']*'", "''", sql)):
        raise SqlScriptError("query %s is not a read-only select or sp_help call: %r" % (name, sql[:80]))
    return sql


def build_script(queries, database):
    """Return the isql script text for ``[(name, sql)]`` with ``{database}`` substituted."""
    check_identifier(database)
    batches = []
    for name, sql in queries:
        text = check_read_only(name, sql.replace("{database}", database))
        batches.append("print '%s%s'\ngo\n%s\ngo\n" % (MARKER, name, text))
    return "".join(batches)


def split_output(output):
    """Return ``{query name: [lines]}`` from the isql standard output."""
    blocks, current = {}, None
    for raw in output.splitlines():
        line = _PROMPT.sub("", raw.rstrip("\r"))
        if line.strip().startswith(MARKER):
            current = line.strip()[len(MARKER):].strip()
            blocks[current] = []
        elif current is not None:
            blocks[current].append(line)
    return blocks


def block_error(lines):
    """The first error of severity 11 or more in a block as ``(number, message)``; None if none."""
    for index, line in enumerate(lines):
        match = _MSG.match(line)
        if match and int(match.group(2)) >= 11:
            message = next((text.strip() for text in lines[index + 1:] if text.strip()), "")
            return int(match.group(1)), message
    return None


def _spans(dash_line):
    return [(match.start(), match.end()) for match in _DASHES.finditer(dash_line)]


def _cell(line, start, end, last):
    value = (line[start:] if last else line[start:end]).strip()
    return None if value in NULLS else value


def _is_dash_line(line):
    stripped = line.strip()
    return bool(stripped) and set(stripped) <= set("- |") and "-" in stripped


def result_sets(lines):
    """Parse the result sets of one block into ``[{columns, rows}]`` (rows are lists of strings)."""
    sets, index = [], 0
    content = [line for line in lines if not _AFFECTED.match(line)]
    while index < len(content):
        if index + 1 < len(content) and _is_dash_line(content[index + 1]) and not _MSG.match(content[index]):
            spans = _spans(content[index + 1])
            header = content[index]
            columns = [_cell(header, start, end, False) or "" for start, end in spans]
            rows, index = [], index + 2
            while index < len(content) and content[index].strip():
                rows.append([_cell(content[index], start, end, number == len(spans) - 1)
                             for number, (start, end) in enumerate(spans)])
                index += 1
            sets.append({"columns": columns, "rows": rows})
        else:
            index += 1
    return sets


def first_value(lines):
    """The first cell of the first row of a block (for ``select count(*)`` and similar); None if none."""
    sets = result_sets(lines)
    if sets and sets[0]["rows"]:
        return sets[0]["rows"][0][0]
    return None
