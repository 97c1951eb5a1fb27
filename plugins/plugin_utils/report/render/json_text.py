"""The report as compact JSON text, produced in pieces so that the whole text is never held in memory at once."""
import json

CHUNK = 1000


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_json_chunks(report, chunk=CHUNK, stored=None):
    """Yield the report's JSON text in pieces; joined, they equal ``json.dumps(report, ensure_ascii=False,
    separators=(",", ":")) + "\\n"``. Long top-level lists (findings, hosts) are encoded ``chunk`` items at a time.
    ``stored`` ({key: function}) turns each item of a top-level list into what the file holds of it."""
    yield "{"
    for index, (key, value) in enumerate(report.items()):
        yield ("," if index else "") + _dumps(key) + ":"
        item = (stored or {}).get(key)
        if isinstance(value, list) and (len(value) > chunk or item):
            yield "["
            for start in range(0, len(value), chunk):
                part = value[start:start + chunk]
                yield ("," if start else "") + _dumps([item(v) for v in part] if item else part)[1:-1]
            yield "]"
        else:
            yield _dumps(value)
    yield "}\n"
