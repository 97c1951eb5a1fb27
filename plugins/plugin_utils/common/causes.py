"""Causes of a failure, one vocabulary for every phase: from a module's cause, or from a message.

The PowerShell modules name the cause of each failed item with one function (Get-SmsErrorCause in SmsTarget.psm1,
which returns exactly MODULE_CAUSES) or set one of EXPLICIT_CAUSES themselves; the gather adds the controller's
GATHER_CAUSES. A snapshot's section errors take all three (the snapshot schema's enum); a phase reports each under
its problem cause (``problem_cause``). A module call that failed as a whole returns only a message, mapped here by
its wording (``cause_of_message``). tests/unit/tools/test_module_contracts.py pins these lists to the PowerShell and
the schema.
"""
import re

# What Get-SmsErrorCause returns (SmsTarget.psm1).
MODULE_CAUSES = ("access_denied", "not_found", "path_too_long", "locked", "disk_full", "remote_registry_stopped",
                 "timeout", "unreachable", "other")
# Causes a module sets itself: a profile hive that stays loaded after a change (SmsApply.psm1); a destination that
# holds other content, or a source that changed since the controller saw it (SmsPreserve.psm1).
EXPLICIT_CAUSES = ("hive_in_use", "conflict", "changed")
# Causes of the controller's own reading of a gather result.
GATHER_CAUSES = ("parse_error", "sql_error")
# Module and gather causes that a phase reports under another name.
MODULE_TO_PROBLEM = {"hive_in_use": "locked", "remote_registry_stopped": "unreachable", "parse_error": "other",
                     "sql_error": "other"}
# Causes recognised in the message of a module call that failed as a whole (no per-item result).
MESSAGE_CAUSES = (("access_denied", r"access (is|to .* is) denied|unauthori[sz]ed"), ("disk_full", r"not enough space"),
                  ("unreachable", r"network (path|name) (was )?not found|rpc server is unavailable|cannot connect"),
                  ("path_too_long", r"too long"), ("locked", r"being used by another process"),
                  ("not_found", r"could not find|cannot find|does not exist"), ("timeout", r"timed? ?out"))


def problem_cause(cause):
    """The problem cause of a module or gather cause (``hive_in_use`` -> ``locked``); ``other`` when none."""
    return MODULE_TO_PROBLEM.get(cause, cause or "other")


def cause_of_message(message):
    """The cause a whole-call failure message names (``Access is denied`` -> access_denied), else ``other``."""
    text = str(message or "").lower()
    return next((cause for cause, pattern in MESSAGE_CAUSES if re.search(pattern, text)), "other")
