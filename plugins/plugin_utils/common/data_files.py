"""Locate and read the collection's data files (schemas, rule catalog, reference lists)."""
import json
import os

import yaml

# libyaml's loader when PyYAML was built with it (same documents, several times faster); the pure Python one otherwise.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
DATA_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data"))


def data_path(*parts):
    """Return the absolute path of a file under ``plugins/plugin_utils/data``."""
    return os.path.join(DATA_DIR, *parts)


def read_json(*parts):
    """Parse a JSON data file of the collection."""
    with open(data_path(*parts), encoding="utf-8") as handle:
        return json.load(handle)


def read_yaml(*parts):
    """Parse a YAML data file of the collection (safe loader)."""
    with open(data_path(*parts), encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_SAFE_LOADER)  # nosec B506 - a safe loader (libyaml's or PyYAML's)


def collection_version():
    """Return the collection's version (MANIFEST.json when installed, galaxy.yml in a checkout), or None."""
    root = os.path.join(DATA_DIR, "..", "..", "..")
    try:
        with open(os.path.join(root, "MANIFEST.json"), encoding="utf-8") as handle:
            return json.load(handle)["collection_info"]["version"]
    except (OSError, ValueError, KeyError):
        pass
    try:
        with open(os.path.join(root, "galaxy.yml"), encoding="utf-8") as handle:
            return str(yaml.safe_load(handle)["version"])
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        return None
