"""Path safety for the preserve phase: Windows source paths, vault-relative paths, host copy paths.

Three kinds of path meet here:

- **source paths** on the SMS machine as it sees them (``C:\\SMS\\SITE.SRV\\...``, a UNC path, or one with
  the ``\\\\?\\`` prefix), read from a snapshot or a live listing;
- **relative paths** inside the vault and inside the host copy (``v1/package_definition_files/ENU/X.PDF``):
  always forward slashes, never absolute, never ``..``, no Windows device name (CON, NUL, COM1, ...), no
  character Windows refuses, no trailing dot or space (Windows strips them, so two names would collide);
- **host copy paths** (``<host root>\\v1\\...``) kept under ``MAX_HOST_PATH`` characters, so that every
  tool on the host (and the connection's file transfer) can open them without the long-path prefix.

Every function either returns a safe value or raises :class:`UnsafePath` naming the value and the cause.
"""
import hashlib
import os
import re

HOST_PARTIAL_SUFFIX = ".smsupg-partial"  # a host copy in progress (SmsPreserve.psm1 $script:SmsPartialSuffix)
MAX_HOST_PATH = 220          # local form; the relay's \\COMPUTER\C$ form and a copy's temporary suffix stay below 260
MAX_SEGMENT = 255
LONG_DIR = "_long"
DEVICE_NAMES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CLOCK$", "CONIN$", "CONOUT$"]
    + ["%s%s" % (kind, n) for kind in ("COM", "LPT") for n in list("123456789") + ["\u00b9", "\u00b2", "\u00b3"]])
INVALID_CHARS = frozenset('<>:"|?*\\/') | frozenset(chr(c) for c in range(32))
_DRIVE = re.compile(r"^([A-Za-z]):(?:[\\/]|$)")
_SHA_HEX = re.compile(r"^[0-9a-f]{64}$")
_INVALID = re.compile(r'[<>:"|?*\\/\x00-\x1f]')


class UnsafePath(ValueError):
    """A path that would escape the vault or the host root, or that Windows cannot hold."""


def fold(text):
    """Upper case one character at a time, as NTFS compares names (its upcase table maps each character to one):
    ``straße`` and ``STRASSE`` stay different, ``Abc`` and ``ABC`` are the same. ``str.upper`` would turn ``ß`` into
    ``SS`` and make two different files one."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def segment_problem(segment):
    """Why ``segment`` cannot be a file or directory name on Windows and in the vault; None when it can."""
    if not isinstance(segment, str):
        return "is not a string"
    if segment in ("", ".", ".."):
        return "is empty or a '.'/'..' segment" if segment != ".." else "climbs out with '..'"
    bad = sorted({c for c in segment if c in INVALID_CHARS}) if _INVALID.search(segment) else None
    if bad:
        return "contains characters Windows does not allow in a name (%s)" % ", ".join(repr(c) for c in bad)
    if segment[-1] in ". ":
        return "ends with a dot or a space (Windows would strip it)"
    stem = segment.split(".", 1)[0].rstrip(" ").upper()
    if stem in DEVICE_NAMES:
        return "is the Windows device name %s" % stem
    if len(segment) > MAX_SEGMENT:
        return "is longer than %d characters" % MAX_SEGMENT
    return None


def check_segments(segments, what):
    """Raise UnsafePath for the first unsafe segment."""
    if not segments:
        raise UnsafePath("%s is empty" % what)
    for segment in segments:
        problem = segment_problem(segment)
        if problem:
            raise UnsafePath("%s: %r %s" % (what, segment, problem))
    return segments


def vault_relpath(value, what="relative path"):
    """Validate a relative path (``/`` or ``\\`` separators) and return it with ``/`` separators.

    Refuses absolute paths, drive letters, UNC and ``\\\\?\\`` paths, ``..``, empty segments, device names and
    names Windows cannot hold.
    """
    if not isinstance(value, str) or not value:
        raise UnsafePath("%s %r is empty or not a string" % (what, value))
    if value.startswith(("/", "\\")) or _DRIVE.match(value) or ":" in value.split("/")[0].split("\\")[0]:
        raise UnsafePath("%s %r is absolute; only paths inside the vault are allowed" % (what, value))
    segments = re.split(r"[\\/]", value)
    check_segments(segments, "%s %r" % (what, value))
    return "/".join(segments)


def split_source(path):
    """Split an absolute Windows path into ``(anchor, [segments])``.

    The anchor is ``C:`` for a drive path, or ``UNC/<server>/<share>`` for a UNC path; a ``\\\\?\\`` or
    ``\\\\?\\UNC\\`` prefix is accepted and dropped. Relative paths and ``..`` are refused.
    """
    if not isinstance(path, str) or not path:
        raise UnsafePath("source path %r is empty or not a string" % (path,))
    text = path.replace("/", "\\")
    long_form = text.startswith("\\\\?\\")
    if text.startswith("\\\\.\\") or (long_form and not _DRIVE.match(text[4:]) and not text.upper().startswith("\\\\?\\UNC\\")):
        raise UnsafePath("source path %r is in the device namespace (\\\\.\\ or \\\\?\\GLOBALROOT, \\\\?\\Volume{...}); "
                         "use a drive or UNC path" % path)
    if text.upper().startswith("\\\\?\\UNC\\"):
        text = "\\\\" + text[8:]
    elif text.startswith("\\\\?\\"):
        text = text[4:]
    if text.startswith("\\\\"):
        parts = text[2:].split("\\")
        if len(parts) < 2 or not parts[0] or not parts[1]:
            raise UnsafePath("source path %r is a UNC path without server and share" % path)
        anchor, rest = "UNC/%s/%s" % (parts[0], parts[1]), parts[2:]
    else:
        match = _DRIVE.match(text)
        if not match:
            raise UnsafePath("source path %r is not absolute (expected X:\\... or \\\\server\\share\\...)" % path)
        anchor, rest = match.group(1).upper() + ":", text[2:].split("\\")
    rest = [p for p in rest if p != ""]
    if ".." in rest or "." in rest:
        raise UnsafePath("source path %r contains '.' or '..' segments" % path)
    return anchor, rest


def windows_key(path):
    """Case-insensitive identity of a Windows path (Windows compares names without case)."""
    anchor, segments = split_source(path)
    return fold("\\".join([anchor] + segments))


def source_key(path):
    """``windows_key`` of a source, or the upper-cased text when it is no Windows path (a generated document)."""
    try:
        return windows_key(path)
    except UnsafePath:
        return fold(str(path))


def relative_to(path, base):
    """Segments of ``path`` below ``base`` (case-insensitive), or None when it is not inside ``base``."""
    anchor, segments = split_source(path)
    base_anchor, base_segments = split_source(base)
    if fold(anchor) != fold(base_anchor) or len(segments) <= len(base_segments):
        return None
    if [fold(s) for s in segments[:len(base_segments)]] != [fold(s) for s in base_segments]:
        return None
    return segments[len(base_segments):]


def is_within(path, base):
    """True when ``path`` is ``base`` itself or below it (segment-wise, case-insensitive)."""
    if windows_key(path) == windows_key(base):
        return True
    return relative_to(path, base) is not None


def qualified_segments(path):
    """A source path as relative segments that keep where it came from: ``C:\\A\\B`` -> ``C/A/B``."""
    anchor, segments = split_source(path)
    return anchor.rstrip(":").split("/") + segments


def join_windows(root, relative):
    """``root`` + a vault-relative path, with backslashes."""
    return root.rstrip("\\/") + "\\" + vault_relpath(relative).replace("/", "\\")


def stored_path(version, category, relative, host_root):
    """Where version ``version`` of a file lives, relative to the vault directory and to the host root.

    Normally ``v<version>/<category>/<relative>``. When the host copy would be longer than MAX_HOST_PATH, or the
    name ends with ``HOST_PARTIAL_SUFFIX`` (which marks a copy in progress on the host), the file is stored as
    ``v<version>/<category>/_long/<16 hex digits of the path's hash>-<name>`` (the name cut to fit, extension kept,
    a trailing suffix changed); the manifest keeps the original relative path.
    """
    if not isinstance(version, int) or version < 1:
        raise UnsafePath("version %r is not a positive number" % (version,))
    category = vault_relpath(category, "category")
    relative = vault_relpath(relative)
    stored = "v%d/%s/%s" % (version, category, relative)
    partial_name = relative.upper().endswith(HOST_PARTIAL_SUFFIX.upper())
    if len(join_windows(host_root, stored)) <= MAX_HOST_PATH and not partial_name:
        return stored
    digest = hashlib.sha256(fold(relative).encode("utf-8")).hexdigest()[:16]
    prefix = "v%d/%s/%s/%s-" % (version, category, LONG_DIR, digest)
    room = MAX_HOST_PATH - len(join_windows(host_root, prefix + "x")) + 1
    if room < 1:
        raise UnsafePath("host root %r is too long to hold the copies below %d characters" % (host_root, MAX_HOST_PATH))
    name = relative.rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 8 and room > len(ext) + 1:
        name = stem[:room - len(ext) - 1].rstrip(". ") + "." + ext
    else:
        name = name[:room].rstrip(". ")
    if name.upper().endswith(HOST_PARTIAL_SUFFIX.upper()):
        name = name[:-1] + "_"  # the host would take it for a copy in progress
    candidate = prefix + (name or "file")
    return "/".join(check_segments(candidate.split("/"), "stored path"))


LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def local_form(path, machine_names=(), share_map=None):
    """``path`` as the machine itself sees it: ``\\\\<this machine>\\<X>$\\...`` (or a share of ``share_map``, drive
    letter -> share name) becomes ``X:\\...``; other paths are returned as they are. ``machine_names`` are the names
    the machine answers to (NetBIOS name, inventory name, DNS name; the first label of a DNS name counts too)."""
    anchor, segments = split_source(path)
    if not anchor.startswith("UNC/"):
        return path
    server, share = anchor.split("/")[1:3]
    names = {n.upper() for n in LOCAL_NAMES}
    for name in machine_names or ():
        if name:
            names |= {name.strip("\\").upper(), name.strip("\\").split(".")[0].upper()}
    if server.upper() not in names and server.split(".")[0].upper() not in names:
        return path
    shares = {"%s$" % letter: letter for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    shares.update({str(name).upper(): str(drive).rstrip(":").upper() for drive, name in (share_map or {}).items()})
    drive = shares.get(share.upper())
    return "%s:\\%s" % (drive, "\\".join(segments)) if drive else path


def check_host_root(host_root, sms_root=None, machine_names=(), share_map=None):
    """Validate the host copy's root directory and return it normalised (``X:\\DIR`` or ``\\\\srv\\share\\DIR``).

    It must be absolute, not a drive or share root, not in the device namespace, not inside the SMS tree (SMS 2.0
    Setup deletes it) nor contain it, also when written as an administrative share of the machine itself
    (``\\\\CENSRV01\\C$\\SMS\\KEEP``, see :func:`local_form`); a directory directly under a drive root must not match
    ``SMS*`` or ``SCMAN*``, which KB Q139627's removal procedure deletes. (8.3 short names and junctions that lead
    into the tree cannot be told apart here: the host would have to resolve the final path.)
    """
    anchor, segments = split_source(host_root)
    if not segments:
        raise UnsafePath("host root %r is a drive or share root; use a directory such as C:\\PRESERVED-SMS12" % host_root)
    check_segments(segments, "host root %r" % host_root)
    local = local_form(host_root, machine_names, share_map)
    if sms_root:
        sms_local = local_form(sms_root, machine_names, share_map)
        if is_within(local, sms_local):
            raise UnsafePath("host root %r is inside the SMS tree %s, which SMS 2.0 Setup deletes" % (host_root, sms_root))
        if is_within(sms_local, local):
            raise UnsafePath("host root %r contains the SMS tree %s; choose a directory outside it" % (host_root, sms_root))
    local_anchor, local_segments = split_source(local)
    if not local_anchor.startswith("UNC/") and len(local_segments) == 1 and \
            re.match(r"^(SMS|SCMAN)", local_segments[0], re.IGNORECASE):
        raise UnsafePath("host root %r: a directory named SMS*/SCMAN* in a drive root is removed with the SMS 1.2 "
                         "files (KB Q139627); choose another name" % host_root)
    if anchor.startswith("UNC/"):
        return "\\\\" + "\\".join(anchor.split("/")[1:] + segments)
    return anchor + "\\" + "\\".join(segments)


def host_copy_root(host_root, site, host):
    """The host copy's directory of one inventory host: ``<host root>\\<SITE>\\<inventory name>``.

    Every inventory host gets its own directory and its own ``MANIFEST.json``, so two inventory names of one machine
    (a site server and its co-located SQL Server) or a host root shared by several machines never mix their copies.
    ``host_root`` must have passed :func:`check_host_root`.
    """
    for value, what in ((site, "site code"), (host, "inventory host name")):
        why = segment_problem(value)
        if why:
            raise UnsafePath("%s %r cannot be a directory of the host copy: it %s" % (what, value, why))
    return "%s\\%s\\%s" % (host_root.rstrip("\\"), site.upper(), host)


def check_sha256(value, what):
    """A lower-case hex SHA-256, or UnsafePath."""
    if not isinstance(value, str) or not _SHA_HEX.match(value.lower()):
        raise UnsafePath("%s: %r is not a SHA-256 hex digest" % (what, value))
    return value.lower()


def controller_join(directory, relative):
    """The controller path of a vault-relative path (validated first)."""
    return os.path.join(directory, *vault_relpath(relative).split("/"))
