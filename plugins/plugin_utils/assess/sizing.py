"""Site database and tempdb sizes by the upgrade paper's rules (constants in data/sizing.yml)."""
import math

from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml


class SizingError(ValueError):
    """Bad input to a sizing function."""


def sizing_constants(overrides=None):
    """Return the sizing constants, with overrides of known keys."""
    constants = read_yaml("sizing.yml")
    for key, value in (overrides or {}).items():
        if key not in constants:
            raise SizingError("unknown sizing constant %r (known: %s)" % (key, ", ".join(sorted(constants))))
        constants[key] = _number(value, key)
    return constants


def _number(value, name):
    if isinstance(value, bool):
        raise SizingError("%s must be a number, not %r" % (name, value))
    if isinstance(value, str):
        try:
            value = float(value) if "." in value else int(value)
        except ValueError:
            raise SizingError("%s must be a number, not %r" % (name, value))
    if not isinstance(value, (int, float)) or math.isnan(value) or value < 0:
        raise SizingError("%s must be a non-negative number, not %r" % (name, value))
    return value


def tempdb_sizing(site_data_mb, overrides=None):
    """tempdb data and log sizes (MB, rounded up) for site database data device(s) of ``site_data_mb``.

    The seed ("Increase the Size of Tempdb"): the tempdb data device at least 20 % of the site database device(s),
    the tempdb log from that; its example, a 200 MB site database, gives 40 MB and 8 MB. The log device is not part of
    the base (KB Q135850 sizes tempdb from the site database *data* as well).
    """
    size = _number(site_data_mb, "site_data_mb")
    constants = sizing_constants(overrides)
    data = math.ceil(size * constants["tempdb_ratio"] - 1e-9)
    return {"tempdb_data_mb": data, "tempdb_log_mb": math.ceil(data * constants["tempdb_log_ratio"] - 1e-9)}


def site_db_sizing(computers, overrides=None):
    """Data, log and tempdb sizes (MB, rounded up) for a site database of ``computers`` computers."""
    count = _number(computers, "computers")
    if count != int(count):
        raise SizingError("computers must be a whole number, not %r" % (computers,))
    constants = sizing_constants(overrides)
    data = math.ceil(count * constants["kb_per_computer"] / constants["kb_per_mb"] - 1e-9)
    log = math.ceil(data * constants["log_ratio"] - 1e-9)
    result = {"computers": int(count), "data_mb": data, "log_mb": log, "site_devices_mb": data + log}
    result.update(tempdb_sizing(data, overrides))
    result["basis"] = constants
    return result
