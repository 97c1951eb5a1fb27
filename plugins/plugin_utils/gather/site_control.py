"""Parse an SMS 1.2 site control file (SITE.SRV\\SITECFG.BOX\\SITECTRL.CT0).

Format (SMS 1.2 Resource Guide, "Site Control File", RG-1.2 S3D59): a header line
``SITE CONTROL FILE [786][1.08]`` (SMS build and syntax version), then sections grouped by
``BEGIN_<NAME>`` / ``END_<NAME>`` whose entries are ``<field>`` values one per line, and keyword
lines such as ``PROPERTY <name><string1><string2><dword>``, ``SERVER <name><type><flags><drive>``
or ``ADDRESS <from><to><sender type><format><address>``.

The field order inside SITE_ACCOUNT, DOMAIN, COMPONENT and SENDER follows the order in which the
Resource Guide describes the fields (PARTIAL: no complete sample file was available). Encrypted
fields (service and SQL accounts, passwords, keys, address strings) are never returned.
"""
import re

_HEADER = re.compile(r"^\s*SITE CONTROL FILE\s*\[(\d+)\]\s*\[([^\]]*)\]", re.IGNORECASE)
_BEGIN = re.compile(r"^\s*BEGIN_([A-Z_]+)\s*$", re.IGNORECASE)
_END = re.compile(r"^\s*END_([A-Z_]+)\s*$", re.IGNORECASE)
_KEYWORD = re.compile(r"^\s*([A-Za-z_]+)\s*(?=<)")
_FIELD = re.compile(r"<([^>]*)>")
_SITE_CODE = re.compile(r"^[A-Za-z0-9]{3}$")

# Positions in SITE_ACCOUNT (RG-1.2 S3D59 order); only the unencrypted ones are used.
SITE_ACCOUNT_FIELDS = {"site_type": 0, "site_code": 1, "parent_site_code": 2, "site_server": 3,
                       "domain": 4, "site_name": 5, "install_dir": 6, "sql_server": 11, "sql_database": 14}
SITE_TYPES = {"6": "primary", "9": "secondary"}
LOGON_SCRIPTS_AUTOMATIC = 0x1
SENDER_TYPES = (("SNA", "INTER", "sna_interactive"), ("SNA", "BATCH", "sna_batch"), ("ISDN", "", "ras_isdn"),
                ("X25", "", "ras_x25"), ("X.25", "", "ras_x25"), ("ASYNC", "", "ras_async"), ("LAN", "", "lan"))


class SiteControlFile:
    """Sections and keyword lines of one site control file, plus problems found while reading it."""

    def __init__(self):
        self.build = None
        self.syntax = None
        self.header = None
        self.sections = []   # (name, [fields], [(keyword, [fields])])
        self.keywords = []   # (keyword, [fields]) anywhere in the file
        self.problems = []


def _line_fields(line):
    return [value.strip() for value in _FIELD.findall(line)]


def read_site_control(text):
    """Split the file into header, sections and keyword lines (no interpretation)."""
    scf = SiteControlFile()
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), "")
    header = _HEADER.match(first)
    if header:
        scf.header, scf.build, scf.syntax = first.strip(), int(header.group(1)), header.group(2)
    else:
        scf.problems.append("missing header 'SITE CONTROL FILE [build][syntax]' (first line: %r)" % first[:60])
    stack = []
    for number, line in enumerate(lines, start=1):
        begin, end = _BEGIN.match(line), _END.match(line)
        if begin:
            stack.append((begin.group(1).upper(), [], []))
        elif end:
            if not stack or stack[-1][0] != end.group(1).upper():
                scf.problems.append("line %d: END_%s without matching BEGIN" % (number, end.group(1).upper()))
                continue
            scf.sections.append(stack.pop())
        elif "<" in line:
            keyword = _KEYWORD.match(line)
            fields = _line_fields(line)
            if keyword:
                entry = (keyword.group(1).upper(), fields)
                scf.keywords.append(entry)
                if stack:
                    stack[-1][2].append(entry)
            elif stack:
                stack[-1][1].extend(fields)
    for name, dummy_fields, dummy_keywords in stack:
        scf.problems.append("section %s is not closed (END_%s missing)" % (name, name))
    return scf


def _field(fields, position):
    return fields[position] if position < len(fields) and fields[position] != "" else None


def _site_account(scf):
    accounts = [fields for name, fields, dummy in scf.sections if name == "SITE_ACCOUNT"]
    if not accounts:
        scf.problems.append("no SITE_ACCOUNT section")
        return {}
    fields = accounts[0]
    account = {key: _field(fields, position) for key, position in SITE_ACCOUNT_FIELDS.items()}
    if account["site_code"] is None or not _SITE_CODE.match(account["site_code"]):
        scf.problems.append("SITE_ACCOUNT site code %r is not three letters or digits" % account["site_code"])
        account["site_code"] = None
    if account["site_type"] not in SITE_TYPES:
        scf.problems.append("SITE_ACCOUNT site type %r is neither 6 (primary) nor 9 (secondary)" % account["site_type"])
    parent = account["parent_site_code"]
    if parent is not None and not _SITE_CODE.match(parent):
        scf.problems.append("SITE_ACCOUNT parent site code %r is not three letters or digits" % parent)
        account["parent_site_code"] = None
    return account


def _properties(scf):
    props = {}
    for keyword, fields in scf.keywords:
        if keyword == "PROPERTY" and fields:
            props.setdefault(fields[0].lower(), fields[1:])
    return props


def _dword(value):
    try:
        return int(value, 0) if value.lower().startswith("0x") else int(value)
    except (AttributeError, ValueError):
        return None


def sender_type(text):
    """Map a sender's address format or name (e.g. MS_LAN_SENDER) to the snapshot's sender type."""
    upper = text.upper()
    for needle, qualifier, kind in SENDER_TYPES:
        if needle in upper and qualifier in upper:
            return kind
    return None


def _logon_servers(scf):
    servers = []
    for name, fields, dummy in scf.sections:
        if name == "DOMAIN" and fields:
            servers.extend({"name": server, "domain": fields[0]} for server in fields[3:] if server)
    return servers


def _placed(scf, section, name_at, server_at):
    """(component name, server) for each COMPONENT or SENDER section."""
    placed = []
    for name, fields, dummy in scf.sections:
        if name == section and _field(fields, name_at) and _field(fields, server_at):
            placed.append((fields[name_at], fields[server_at]))
    return placed


def _senders(scf):
    senders = []
    for name, fields, dummy in scf.sections:
        if name != "SENDER":
            continue
        label = " ".join(filter(None, [_field(fields, 1), _field(fields, 5)]))
        kind = sender_type(label)
        if kind is None:
            scf.problems.append("sender %r has an address format this collection does not know" % label)
            continue
        senders.append({"type": kind, "server": _field(fields, 4) or "", "name": _field(fields, 5)})
    return senders


def _helper_servers(scf, site_server):
    helpers = {}
    placed = _placed(scf, "COMPONENT", 1, 3) + _placed(scf, "SENDER", 5, 4)
    for component, server in placed:
        if site_server and server.lower().lstrip("\\") != site_server.lower().lstrip("\\"):
            helpers.setdefault(server, []).append(component)
    return [{"name": server, "components": components} for server, components in sorted(helpers.items())]


def _child_sites(scf, own, parent):
    codes = []
    for keyword, fields in scf.keywords:
        if keyword == "ADDRESS" and len(fields) > 1 and _SITE_CODE.match(fields[1]):
            code = fields[1].upper()
            if code not in {own, parent} and code not in codes:
                codes.append(code)
    return [{"site_code": code} for code in codes]


def _addresses(scf, own):
    """``ADDRESS <from><to><sender type><format><address>`` lines of this site (RG-1.2 S3D59: "The sender type can be LAN
    Sender, SNA Sender, or RAS Sender"): destination, sender type and address string format as written (the address
    string itself is encrypted and never returned)."""
    addresses = []
    for keyword, fields in scf.keywords:
        if keyword != "ADDRESS" or len(fields) < 2 or not _SITE_CODE.match(fields[1]):
            continue
        if own and fields[0].upper() != own:
            continue
        entry = {"site_code": fields[1].upper(), "sender": _field(fields, 2), "format": _field(fields, 3)}
        if entry not in addresses:
            addresses.append(entry)
    return addresses


def site_role(account):
    """central (primary without parent), primary or secondary; None when unknown."""
    kind = SITE_TYPES.get(account.get("site_type"))
    if kind == "primary" and not account.get("parent_site_code"):
        return "central"
    return kind


def interpret_site_control(text):
    """Return ``(facts, problems)``: the site identity and the snapshot's ``site_control`` section."""
    scf = read_site_control(text)
    account = _site_account(scf)
    props = _properties(scf)
    logon_flags = _dword((props.get("logonscripts") or [None, None, None])[-1])
    own = (account.get("site_code") or "").upper()
    parent = (account.get("parent_site_code") or "").upper() or None
    site_control = {
        "header": scf.header,
        "build": scf.build,
        "senders": _senders(scf),
        "helper_servers": _helper_servers(scf, account.get("site_server")),
        "logon_servers": _logon_servers(scf),
        "child_sites": _child_sites(scf, own, parent),
        "addresses": _addresses(scf, own),
        "automatic_logon_scripts": None if logon_flags is None else bool(logon_flags & LOGON_SCRIPTS_AUTOMATIC),
        "client_installation": _dword((props.get("client installation") or [None])[-1]),
    }
    identity = {
        "site_code": own or None,
        "site_name": account.get("site_name"),
        "site_role": site_role(account),
        "parent_site_code": parent,
        "domain": account.get("domain"),
        "site_server": account.get("site_server"),
        "install_dir": account.get("install_dir"),
        "sql_server": account.get("sql_server"),
        "sql_database": account.get("sql_database"),
    }
    return {"identity": identity, "site_control": site_control}, scf.problems
