"""Documents the preserve phase writes about what SMS 2.0 does not keep (rendered on the controller).

- ``registry``: a REGEDIT4 export of HKLM\\SOFTWARE\\Microsoft\\SMS (KB Q171338) and the SMS services' keys
  (HKLM\\SYSTEM\\CurrentControlSet\\Services\\SMS_*, Wuser32; KB Q139627) from the raw key tree the preserve module
  reads (names, types and data; binary data as base64). REGEDIT4 is what REGEDIT on Windows NT 4.0 imports; when a
  string cannot be written in the ANSI code page the file is written as "Windows Registry Editor Version 5.00" in
  UTF-16 instead.
- ``site_documents``: site properties, senders, addresses, outboxes with their schedule strings (KB Q263356), helper
  and logon servers of SITECTRL.CT0 (parsed with the gather's site control parser; encrypted fields are never shown,
  property values that look like secrets are masked), in Markdown.
- ``database_documents``: machine groups and jobs from the site database snapshot, and each configured export
  query (physical disks per computer, jobs, job details, queries, security) as CSV, in Markdown and CSV.

Every renderer is deterministic: the same input gives the same bytes, so an unchanged source gives no new
version.
"""
import base64
import csv
import io
import re

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.site_control import (
    interpret_site_control, read_site_control)

ROOT_KEY = "HKEY_LOCAL_MACHINE"
_SECRET = re.compile(r"pass|pwd|secret|account|key|credential", re.IGNORECASE)
_ENCRYPTED = re.compile(r"^[0-9A-Fa-f]{6,}$")
NOT_CONVERTED_SENDERS = ("sna_batch", "sna_interactive")


class DocumentError(ValueError):
    """Raw data a document cannot be made from."""


# ------------------------------------------------------------------ registry export
def _reg_string(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"')


def _hex_lines(prefix, data):
    """regedit's hex notation, wrapped with a trailing backslash like regedit writes it."""
    cells = ["%02x" % b for b in data]
    lines, line = [], prefix
    for index, cell in enumerate(cells):
        piece = cell + ("," if index < len(cells) - 1 else "")
        if len(line) + len(piece) > 77 and line.strip():
            lines.append(line + "\\")
            line = "  "
        line += piece
    lines.append(line)
    return "\r\n".join(lines)


def _integer(label, kind, data, key):
    if isinstance(data, bool) or not isinstance(data, (int, str)):
        raise DocumentError("value %s of HKLM\\%s (%s) has no number: %r" % (label, key, kind, data))
    try:
        return int(data)
    except ValueError:
        raise DocumentError("value %s of HKLM\\%s (%s) is not a number: %r" % (label, key, kind, data))


def _value_line(value, unicode_file, key=""):
    """One value as regedit writes it. Data that is missing (a value that vanished between listing its names and
    reading it) or of the wrong shape is a DocumentError naming the key and the value, never a wrong line."""
    name = value.get("name") or ""
    kind = value.get("type")
    data = value.get("value")
    label = "@" if name == "" else _reg_string(name)
    text_encoding = "utf-16-le" if unicode_file else "cp1252"
    if data is None and kind in ("String", "DWord", "QWord", "ExpandString", "MultiString"):
        raise DocumentError("value %s of HKLM\\%s (%s) has no data: it vanished or changed while it was read; run the "
                            "preserve phase again" % (label, key, kind))
    if kind in ("String", "ExpandString") and not isinstance(data, str):
        raise DocumentError("value %s of HKLM\\%s (%s) is not text: %r" % (label, key, kind, data))
    if kind == "String":
        if any(ord(c) < 32 for c in data):  # a line break would end the line: write the string as hex(1)
            return _hex_lines("%s=hex(1):" % label, (data + "\0").encode(text_encoding))
        return "%s=%s" % (label, _reg_string(data))
    if kind == "DWord":
        return "%s=dword:%08x" % (label, _integer(label, kind, data, key) & 0xFFFFFFFF)
    if kind == "QWord":
        return _hex_lines("%s=hex(b):" % label, (_integer(label, kind, data, key) & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))
    if kind == "ExpandString":
        return _hex_lines("%s=hex(2):" % label, (data + "\0").encode(text_encoding))
    if kind == "MultiString":
        items = data if isinstance(data, list) else [data]
        if not all(isinstance(item, str) for item in items):
            raise DocumentError("value %s of HKLM\\%s (MultiString) holds a part that is not text: %r" % (label, key, data))
        return _hex_lines("%s=hex(7):" % label, ("".join("%s\0" % s for s in items) + "\0").encode(text_encoding))
    if kind in ("Binary", "None", "Unknown"):
        try:
            raw = base64.b64decode(data or "", validate=True)
        except (ValueError, TypeError) as exc:
            raise DocumentError("value %s of HKLM\\%s: binary data is not base64 (%s)" % (label, key, exc))
        if kind == "Unknown":
            # .NET names no type for REG_RESOURCE_LIST and the like, and the type number is not returned: written as a
            # comment, so importing the file never creates the value with a wrong type (REG_NONE).
            return "; %s: registry type unknown to .NET (REG_RESOURCE_LIST or similar), not imported; data (hex): %s" % (
                label, ",".join("%02x" % b for b in raw) or "(none)")
        return _hex_lines("%s=hex:" % label if kind == "Binary" else "%s=hex(0):" % label, raw)
    raise DocumentError("value %s of HKLM\\%s has the unknown registry type %r" % (label, key, kind))


def _encodable(keys):
    try:
        for key in keys:
            key["path"].encode("cp1252")
            for value in key.get("values") or []:
                (value.get("name") or "").encode("cp1252")
                for item in (value["value"] if isinstance(value.get("value"), list) else [value.get("value")]):
                    if isinstance(item, str) and value.get("type") != "Binary":
                        item.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def registry_export(keys):
    """Render the raw key list ``[{path, values: [{name, type, value}]}]`` (HKLM-relative) as a .reg file.

    Returns bytes: REGEDIT4 in the ANSI code page (cp1252), or version 5.00 in UTF-16 with a BOM when a name or
    string cannot be written in cp1252. Keys are written parent first, values sorted by name.
    """
    if not isinstance(keys, list) or not keys:
        raise DocumentError("no registry key was read")
    for key in keys:
        if not isinstance(key, dict) or not isinstance(key.get("path"), str) or not key["path"]:
            raise DocumentError("registry key entry %r has no path" % (key,))
        if not isinstance(key.get("values") or [], list):
            raise DocumentError("HKLM\\%s: its values are not a list" % key["path"])
        for value in key.get("values") or []:
            if not isinstance(value, dict) or not isinstance(value.get("name") or "", str):
                raise DocumentError("HKLM\\%s: value entry %r has no name" % (key["path"], value))
    unicode_file = not _encodable(keys)
    lines = ["Windows Registry Editor Version 5.00" if unicode_file else "REGEDIT4", ""]
    for key in sorted(keys, key=lambda k: [part.upper() for part in k["path"].split("\\")]):
        lines.append("[%s\\%s]" % (ROOT_KEY, key["path"]))
        for value in sorted(key.get("values") or [], key=lambda v: (v.get("name") or "").upper()):
            lines.append(_value_line(value, unicode_file, key["path"]))
        lines.append("")
    text = "\r\n".join(lines) + "\r\n"
    return b"\xff\xfe" + text.encode("utf-16-le") if unicode_file else text.encode("cp1252")


# ------------------------------------------------------------------ site control file
def _cell(value):
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


def _table(headers, rows):
    lines = ["| %s |" % " | ".join(headers), "|%s|" % "|".join("---" for _header in headers)]
    lines += ["| %s |" % " | ".join(_cell(v) for v in row) for row in rows]
    return lines


def _property_values(fields):
    """A PROPERTY line's values; masked when the name suggests a secret or a value looks encrypted (hex)."""
    if _SECRET.search(fields[0]):
        return "(masked)"
    return ", ".join("(encrypted)" if _ENCRYPTED.match(value) and not value.isdigit() else value for value in fields[1:])


def outbox_lines(scf):
    """``OUTBOX <Outboxname><Drive><Address string format><Schedule string> <CreateFlag><Server name>`` lines (RG-1.2
    S3D59: "An Outbox entry exists for each defined sender") as six cells each, in file order."""
    return [tuple((fields + [""] * 6)[:6]) for keyword, fields in scf.keywords if keyword == "OUTBOX" and fields]


def site_properties(text, source_path, source_sha256):
    """Markdown description of an SMS 1.2 site from its site control file (PRE-31, senders for PRE-10)."""
    if not isinstance(text, str) or not text.strip():
        raise DocumentError("the site control file %s is empty" % source_path)
    facts, problems = interpret_site_control(text)
    identity, control = facts["identity"], facts["site_control"]
    scf = read_site_control(text)
    lines = ["# SMS 1.2 site properties: %s" % (identity.get("site_code") or "unknown site"), "",
             "SMS 1.2 site properties are not converted (upgrade checklist PRE-31; KB Q199238 lists SNA senders as not",
             "converted): re-create them from this page after the upgrade.",
             "Source: `%s` (SHA-256 `%s`), header `%s`." % (source_path, source_sha256, control.get("header")),
             "", "## Site", ""]
    lines += _table(["property", "value"], [(k.replace("_", " "), identity.get(k)) for k in (
        "site_code", "site_name", "site_role", "parent_site_code", "domain", "site_server", "install_dir",
        "sql_server", "sql_database")])
    lines += ["", "Automatic logon script configuration: %s" % {True: "on", False: "off", None: "unknown"}[
        control.get("automatic_logon_scripts")], "", "## Senders", ""]
    lines += _table(["type", "server", "name", "converted to SMS 2.0"], [
        (s["type"], s["server"], s.get("name"), "no (SNA senders are not converted)" if s["type"] in NOT_CONVERTED_SENDERS
         else "yes") for s in control["senders"]]) if control["senders"] else ["(none)"]
    lines += ["", "## Addresses", ""]
    lines += _table(["to site", "sender type", "address format"], [
        (a["site_code"], a.get("sender"), a.get("format")) for a in control.get("addresses") or []]) \
        if control.get("addresses") else ["(none)"]
    lines += ["", "## Outboxes: schedules and priorities", "",
              "The upgrade removes the time restrictions and priorities of every outbox, for all sender types (KB Q263356):",
              "re-create them at the upgraded site in each address's properties, Schedule tab. The schedule string is",
              "kept as the site control file writes it (how it encodes days, hours and priorities is not documented).", ""]
    outboxes = outbox_lines(scf)
    lines += _table(["outbox", "drive", "address format", "schedule string", "create flag", "server"], outboxes) \
        if outboxes else ["(none)"]
    lines += ["", "## Components on helper servers", ""]
    lines += _table(["server", "components"], [(h["name"], ", ".join(h["components"])) for h in control["helper_servers"]]) \
        if control["helper_servers"] else ["(none)"]
    lines += ["", "## Logon servers", ""]
    lines += _table(["server", "domain"], [(s["name"], s["domain"]) for s in control["logon_servers"]]) \
        if control["logon_servers"] else ["(none)"]
    lines += ["", "## Child sites", "", ", ".join(c["site_code"] for c in control["child_sites"]) or "(none)", "",
              "## Properties", ""]
    props = [(k, fields) for k, fields in scf.keywords if k == "PROPERTY" and fields]
    lines += _table(["name", "values"], [(f[0], _property_values(f)) for _k, f in props]) if props else ["(none)"]
    lines += ["", "## Sections", ""]
    counts = {}
    for name, _fields, _keywords in scf.sections:
        counts[name] = counts.get(name, 0) + 1
    lines += _table(["section", "count"], sorted(counts.items())) if counts else ["(none)"]
    if problems:
        lines += ["", "## Problems reading the file", ""] + ["- %s" % p for p in problems]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


# ------------------------------------------------------------------ site database
def csv_document(result_set):
    """One isql result set (``{columns, rows}``) as CSV (UTF-8, CRLF)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(result_set["columns"])
    for row in result_set["rows"]:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode("utf-8")


def database_summary(snapshot, exports):
    """Markdown: machine groups, jobs (active non-system ones first) and what each export query gave.

    ``exports`` maps export name to ``{title, status, file, rows, error}``.
    """
    site = snapshot.get("site_code") or "?"
    title = "# SMS 1.2 site database %s (site %s): what the conversion does not keep" % (snapshot.get("site_database"), site)
    lines = [title, "",
             "KB Q199238: jobs, queries and SMS Security Manager settings are not converted; machine groups become",
             "collections. Physical-disk data is lost in the conversion according to the upgrade checklist (PRE-19).",
             "Keep this page with the CSV files next to it.", "", "## Machine groups", ""]
    groups = snapshot.get("machine_groups")
    lines += _table(["name", "id"], [(g.get("name"), g.get("id")) for g in groups]) if groups else \
        ["(none read: see the gather's machine_groups query)"]
    lines += ["", "## Jobs", ""]
    jobs = sorted(snapshot.get("jobs") or [], key=lambda j: (not (j.get("active") and not j.get("system")), str(j.get("id"))))
    lines += _table(["id", "name", "status", "active", "system", "target sites", "note"], [
        (j.get("id"), j.get("name"), j.get("status"), j.get("active"), j.get("system"), ", ".join(j.get("target_sites") or []),
         "re-create as an advertisement" if j.get("active") and not j.get("system") else "") for j in jobs]) if jobs else ["(none)"]
    lines += ["", "## Exports", ""]
    lines += _table(["export", "status of the source", "file", "rows", "result"], [
        (e["title"], e["status"], e.get("file") or "-", e.get("rows") if e.get("rows") is not None else "-",
         e.get("error") or "exported") for _name, e in sorted(exports.items())])
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
