"""Causes of a failure, one vocabulary for every phase: from a gather section's cause, or from a message.

The PowerShell side returns a cause with each failed item (Get-SmsErrorCause in SmsGather.psm1); a module call that
failed as a whole returns only a message, which is mapped here by its wording.
"""
import re

# Gather causes (snapshot schema) that a phase reports under another name.
GATHER_TO_PROBLEM = {"hive_in_use": "locked", "remote_registry_stopped": "unreachable", "parse_error": "other",
                     "sql_error": "other"}
# Causes recognised in the message of a module call that failed as a whole (no per-item result).
MESSAGE_CAUSES = (("access_denied", r"access (is|to .* is) denied|unauthori[sz]ed"), ("disk_full", r"not enough space"),
                  ("unreachable", r"network (path|name) (was )?not found|rpc server is unavailable|cannot connect"),
                  ("path_too_long", r"too long"), ("locked", r"being used by another process"),
                  ("not_found", r"could not find|cannot find|does not exist"), ("timeout", r"timed? ?out"))


def problem_cause(cause):
    """The problem cause of a gather or module cause (``hive_in_use`` -> ``locked``); ``other`` when none."""
    return GATHER_TO_PROBLEM.get(cause, cause or "other")


def cause_of_message(message):
    """The cause a whole-call failure message names (``Access is denied`` -> access_denied), else ``other``."""
    text = str(message or "").lower()
    return next((cause for cause, pattern in MESSAGE_CAUSES if re.search(pattern, text)), "other")
