"""Decode the registry's REG_RESOURCE_LIST for physical memory.

``HKLM\\HARDWARE\\RESOURCEMAP\\System Resources\\Physical Memory`` value ``.Translated`` is a
CM_RESOURCE_LIST (Windows DDK, wdm.h) written at boot on Windows NT 4.0 and later; it can be read
over the remote registry where WMI is not installed. Layout (little-endian): ULONG count of full
descriptors; each full descriptor is INTERFACE_TYPE and bus number (two ULONGs), a partial list
header (USHORT version, USHORT revision, ULONG count) and 16-byte partial descriptors (UCHAR type,
UCHAR share disposition, USHORT flags, PHYSICAL_ADDRESS start, ULONG length).
"""
import struct

MEMORY = 3
_LARGE_SHIFTS = ((0x0200, 8), (0x0400, 16), (0x0800, 32))  # CM_RESOURCE_MEMORY_LARGE_40/48/64


class ResourceListError(ValueError):
    """The bytes are not a well-formed CM_RESOURCE_LIST."""


def _length(flags, length):
    for flag, shift in _LARGE_SHIFTS:
        if flags & flag:
            return length << shift
    return length


def memory_bytes(data):
    """Total bytes of the memory ranges in a CM_RESOURCE_LIST."""
    try:
        (full_count,) = struct.unpack_from("<I", data, 0)
        offset, total = 4, 0
        for dummy_full in range(full_count):
            offset += 8
            (dummy_version, dummy_revision, partial_count) = struct.unpack_from("<HHI", data, offset)
            offset += 8
            for dummy_partial in range(partial_count):
                kind, dummy_share, flags, dummy_start, length = struct.unpack_from("<BBHQI", data, offset)
                offset += 16
                if kind == MEMORY:
                    total += _length(flags, length)
        return total
    except struct.error as exc:
        raise ResourceListError("truncated CM_RESOURCE_LIST (%d bytes): %s" % (len(data), exc)) from exc


def memory_mb(data):
    """Physical memory in MB, rounded up to whole MB (firmware reserves part of the last MB)."""
    total = memory_bytes(data)
    return -(-total // (1024 * 1024))
