"""Assessment parameters: shipped defaults (``data/assessment_defaults.yml``) plus overrides."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml


class ParamsError(ValueError):
    """An override names an unknown parameter or has the wrong type."""


def default_params():
    """Return the default parameter values, with the reserved collection names."""
    values = {name: entry["value"] for name, entry in read_yaml("assessment_defaults.yml").items()}
    values["reserved_collection_names"] = list(read_yaml("reserved_collections.yml")["names"])
    return values


def unconfirmed_params():
    """Return the names of parameters whose default no source confirms (docs and report say so)."""
    return sorted(name for name, entry in read_yaml("assessment_defaults.yml").items()
                  if entry.get("status") == "UNCONFIRMED")


def _same_type(default, value):
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, (int, float)):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def merge_params(overrides=None):
    """Merge overrides over the defaults; raise ParamsError naming every bad key."""
    values = default_params()
    problems = []
    for name, value in (overrides or {}).items():
        if name not in values:
            problems.append("unknown assessment parameter %r (known: %s)" % (name, ", ".join(sorted(values))))
        elif not _same_type(values[name], value):
            problems.append("assessment parameter %r must be a %s, not %r" % (name, type(values[name]).__name__, value))
        else:
            values[name] = value
    if problems:
        raise ParamsError("; ".join(problems))
    return values
