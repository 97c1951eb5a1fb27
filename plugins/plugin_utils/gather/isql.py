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


# ------------------------------------------------------------------ scripts that change something (the database phase)
STATUS = "SMSUPG!"
STATUSES = ("applied", "failed", "conflict")
_STATUS = re.compile(r"^\s*SMSUPG!(applied|failed|conflict)\s*$")
_MSG_FULL = re.compile(r"^\s*Msg (\d+), Level (\d+), State (\d+)")
_PATH = re.compile(r"^(?:[A-Za-z]:\\|\\\\[^\\/:*?\"<>|\s]+\\[^\\/:*?\"<>|]+\\?)[^'\"\r\n\t*?<>|]*$")
_GO = re.compile(r"^\s*go\s*$", re.IGNORECASE | re.MULTILINE)
_BATCH_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")


def quote(text):
    """A T-SQL string literal of ``text`` (single quotes doubled); refuses line breaks and the script markers."""
    if not isinstance(text, str) or any(c in text for c in "\r\n\x00") or MARKER in text or STATUS in text:
        raise SqlScriptError("%r cannot be put into a script as a string" % (text,))
    return "'%s'" % text.replace("'", "''")


def check_path(path):
    """A Windows path on the SQL Server (drive or UNC) that can be quoted in DISK INIT, DUMP or LOAD."""
    if not isinstance(path, str) or len(path) > 255 or not _PATH.match(path) or "'" in path:
        raise SqlScriptError("%r is not a plain Windows path (a drive or UNC path without quotes)" % (path,))
    return path


def check_statement(sql):
    """A statement built by the phase: one batch, no markers of its own."""
    if _GO.search(sql) or MARKER in sql or STATUS in sql:
        raise SqlScriptError("statement %r would break the script into other batches" % sql[:80])
    return sql


def batch(name, body):
    """One marked batch: its output lands in block ``name`` of split_output."""
    if not _BATCH_NAME.match(name or ""):
        raise SqlScriptError("batch name %r is not a plain name" % name)
    return "print '%s%s'\ngo\n%s\ngo\n" % (MARKER, name, body.rstrip("\n"))


def guarded(conditions, statement, procedure=False):
    """A compare-and-set batch body: run ``statement`` only when every condition (T-SQL boolean) still holds.

    Prints ``SMSUPG!applied`` when the statement raised no error (``procedure``: and the procedure returned 0),
    ``SMSUPG!failed`` when it did, ``SMSUPG!conflict`` when a condition no longer holds (nothing is run).
    """
    check_statement(statement)
    for condition in conditions:
        check_statement(condition)
    run = "exec @rc = %s" % statement if procedure else statement
    compare = "\n  and ".join(conditions) if conditions else "1 = 1"
    return ("declare @rc int, @err int\nselect @rc = 0, @err = 0\nif %s\nbegin\n    %s\n    select @err = @@error\n"
            "    if @err = 0 and @rc = 0 print '%sapplied' else print '%sfailed'\nend\nelse\n    print '%sconflict'\n"
            % (compare, run, STATUS, STATUS, STATUS))


def block_status(lines):
    """``applied``, ``failed`` or ``conflict`` as a guarded batch printed it; None when it printed none."""
    for line in lines:
        match = _STATUS.match(line)
        if match:
            return match.group(1)
    return None


def messages(lines):
    """Every ``Msg n, Level l, State s`` of a block as ``{number, level, state, text}`` (the line after it is the text)."""
    found = []
    for index, line in enumerate(lines):
        match = _MSG_FULL.match(line)
        if match:
            text = next((t.strip() for t in lines[index + 1:] if t.strip()), "")
            found.append({"number": int(match.group(1)), "level": int(match.group(2)), "state": int(match.group(3)),
                          "text": "" if _MSG_FULL.match(text) else text})
    return found
