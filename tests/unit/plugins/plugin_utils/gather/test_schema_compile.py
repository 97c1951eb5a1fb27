"""schema_compile: each keyword judges as jsonschema (draft 2020-12) does, and what it cannot judge exactly is refused."""
import jsonschema
import pytest
from referencing import Registry, Resource

from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.schema_compile import UnsupportedSchema, compile_schema, json_unique
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather.snapshot import format_checker, is_date_time, is_latin1

FORMATS = {"date-time": is_date_time, "latin1": is_latin1}
COMMON = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://t.example/common.json",
          "$defs": {"code": {"type": "string", "minLength": 3}, "tilde~/slash": {"const": 7},
                    "pair": {"type": "array", "items": {"$ref": "#/$defs/code"}}}}
INT = {"type": "integer"}


class Text(str):
    """A str subclass (as snapshot.parse_json makes for NaN): enum compares it as text."""


CASES = [
    # type: integer takes ints and integral floats, never bool; number never bool; boolean only bool
    (INT, 1, True), (INT, 1.0, True), (INT, -3, True), (INT, 1.5, False), (INT, True, False), (INT, False, False),
    (INT, "1", False), (INT, None, False), (INT, float("nan"), False), (INT, float("inf"), False),
    ({"type": "number"}, 1.5, True), ({"type": "number"}, 2, True), ({"type": "number"}, True, False),
    ({"type": "number"}, "2", False),
    ({"type": "boolean"}, True, True), ({"type": "boolean"}, 0, False), ({"type": "boolean"}, None, False),
    ({"type": "null"}, None, True), ({"type": "null"}, 0, False), ({"type": "null"}, "", False),
    ({"type": "object"}, {}, True), ({"type": "object"}, [], False),
    ({"type": "array"}, [], True), ({"type": "array"}, {}, False), ({"type": "array"}, (), False),
    ({"type": "string"}, "", True), ({"type": "string"}, b"x", False),
    ({"type": ["string", "null"]}, None, True), ({"type": ["string", "null"]}, "x", True),
    ({"type": ["string", "null"]}, 0, False), ({"type": ["integer", "string"]}, 4.0, True),
    ({"type": ["integer", "string"]}, True, False), ({"type": ["boolean", "null"]}, 1, False),
    # enum and const: JSON equality (True != 1, 1 == 1.0, deep)
    ({"enum": ["a", None]}, None, True), ({"enum": ["a", None]}, "a", True), ({"enum": ["a", None]}, "b", False),
    ({"enum": ["a", None]}, 0, False), ({"enum": ["a", "b"]}, ["a"], False), ({"enum": ["a", "b"]}, {"a": 1}, False),
    ({"enum": ["a", "b"]}, Text("b"), True), ({"enum": ["a", "b"]}, Text("c"), False), ({"const": "a"}, Text("a"), True),
    ({"enum": [1, "a"]}, 1.0, True), ({"enum": [1, "a"]}, True, False), ({"enum": [True]}, 1, False),
    ({"enum": [[1, {"a": False}]]}, [1.0, {"a": False}], True), ({"enum": [[1, {"a": False}]]}, [1, {"a": 0}], False),
    ({"const": "client"}, "client", True), ({"const": "client"}, "Client", False), ({"const": "client"}, None, False),
    ({"const": 1}, 1.0, True), ({"const": 1}, True, False), ({"const": False}, 0, False), ({"const": None}, None, True),
    ({"const": {"a": [1]}}, {"a": [1.0]}, True), ({"const": {"a": [1]}}, {"a": [True]}, False),
    # minimum judges numbers only (not bool); NaN is not below anything, as in jsonschema
    ({"minimum": 0}, -1, False), ({"minimum": 0}, 0, True), ({"minimum": 0}, -0.5, False), ({"minimum": 0}, "-1", True),
    ({"minimum": 1}, False, True), ({"minimum": 0}, float("nan"), True), ({"minimum": 0}, None, True),
    # minLength and pattern judge strings only; code points; re.search
    ({"minLength": 1}, "", False), ({"minLength": 1}, "x", True), ({"minLength": 2}, "\u4e2d\u6587", True),
    ({"minLength": 1}, [], True), ({"minLength": 1}, 0, True),
    ({"pattern": "^[0-9a-f]{64}$"}, "0" * 64, True), ({"pattern": "^[0-9a-f]{64}$"}, "0" * 63, False),
    ({"pattern": "b"}, "abc", True), ({"pattern": "^1\\.[0-9]+$"}, "1.0\n", True), ({"pattern": "x"}, 5, True),
    ({"type": ["string", "null"], "pattern": "^a"}, None, True), ({"type": ["string", "null"], "pattern": "^a"}, "b", False),
    # format: through the given function only
    ({"format": "date-time"}, "2026-11-20T06:00:00Z", True), ({"format": "date-time"}, "2026-02-30T06:00:00Z", False),
    ({"format": "date-time"}, 5, True), ({"format": "latin1"}, "caf\xe9", True), ({"format": "latin1"}, "\u4e2d", False),
    # properties, required, additionalProperties judge dicts only
    ({"required": ["a"]}, {"a": None}, True), ({"required": ["a"]}, {"b": 1}, False), ({"required": ["a"]}, [], True),
    ({"properties": {"a": INT}}, {"a": True}, False), ({"properties": {"a": INT}}, {"b": True}, True),
    ({"properties": {"a": INT}}, "a", True),
    ({"properties": {"a": INT}, "additionalProperties": False}, {"a": 1}, True),
    ({"properties": {"a": INT}, "additionalProperties": False}, {"a": 1, "b": 1}, False),
    ({"additionalProperties": {"type": "string"}}, {"x": "1", "y": 2}, False),
    ({"properties": {"y": True}, "additionalProperties": {"type": "string"}}, {"x": "1", "y": 2}, True),
    ({"additionalProperties": True}, {"x": 1}, True), ({"additionalProperties": False}, [1], True),
    ({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}, {"a": "x"}, True),
    ({"type": "object", "required": ["a"]}, [], False),
    # items, minItems, uniqueItems judge lists only; uniqueItems with JSON equality
    ({"items": INT}, [1, 2.0], True), ({"items": INT}, [1, True], False), ({"items": INT}, {"a": True}, True),
    ({"items": False}, [], True), ({"items": False}, [1], False), ({"items": True}, [None], True),
    ({"minItems": 1}, [], False), ({"minItems": 1}, [0], True), ({"minItems": 1}, "", True),
    ({"uniqueItems": True}, ["a", "b"], True), ({"uniqueItems": True}, ["a", "a"], False),
    ({"uniqueItems": True}, [1, 1.0], False), ({"uniqueItems": True}, [1, True], True),
    ({"uniqueItems": True}, [0, False], True), ({"uniqueItems": True}, [True, True], False),
    ({"uniqueItems": True}, [{"a": 1}, {"a": True}], True), ({"uniqueItems": True}, [{"a": 1}, {"a": 1.0}], False),
    ({"uniqueItems": True}, [[1], ["1"], [1]], False), ({"uniqueItems": False}, [1, 1], True),
    ({"uniqueItems": True}, "aa", True),
    # allOf, $ref (by $id, JSON pointer with escapes) and boolean schemas
    ({"allOf": [INT, {"minimum": 2}]}, 1, False), ({"allOf": [INT, {"minimum": 2}]}, 2, True),
    ({"$ref": "common.json#/$defs/code"}, "abc", True), ({"$ref": "common.json#/$defs/code"}, "ab", False),
    ({"$ref": "common.json#/$defs/tilde~0~1slash"}, 7, True), ({"$ref": "common.json#/$defs/tilde~0~1slash"}, 8, False),
    ({"$ref": "common.json#/$defs/pair"}, ["abc", "ab"], False), ({"$ref": "common.json#/$defs/pair"}, ["abc"], True),
    ({"$ref": "#/$defs/local", "$defs": {"local": INT}}, 1, True), ({"$ref": "#/$defs/local", "$defs": {"local": INT}}, "1", False),
    ({"$ref": "#/$defs/local", "minimum": 5, "$defs": {"local": INT}}, 4, False),
    (True, {"any": "thing"}, True), (False, None, False),
    ({"title": "t", "description": "d", "$comment": "c"}, 1, True),
]


def _jsonschema_verdict(schema, instance):
    registry = Registry().with_resource(COMMON["$id"], Resource.from_contents(COMMON))
    if isinstance(schema, dict):
        schema = dict(schema, **{"$id": "https://t.example/case.json"})
    validator = jsonschema.Draft202012Validator(schema, registry=registry, format_checker=format_checker())
    return not list(validator.iter_errors(instance))


@pytest.mark.parametrize("schema, instance, expected", CASES)
def test_each_keyword_judges_as_jsonschema_does(schema, instance, expected):
    if isinstance(schema, dict):
        schema = dict(schema, **{"$id": "https://t.example/case.json"})
    is_valid = compile_schema(schema, {COMMON["$id"]: COMMON}, FORMATS)
    assert is_valid(instance) is expected
    assert _jsonschema_verdict(schema, instance) is expected


def test_a_schema_without_id_resolves_its_own_defs():
    is_valid = compile_schema({"items": {"$ref": "#/$defs/n"}, "$defs": {"n": {"type": "null"}}})
    assert is_valid([None]) and not is_valid([0])


def test_a_recursive_ref_compiles_once_and_judges_every_level():
    tree = {"$id": "https://t.example/tree.json", "type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}}}
    is_valid = compile_schema(tree)
    assert is_valid({"name": "a", "children": [{"name": "b", "children": [{"name": "c"}]}]})
    assert not is_valid({"name": "a", "children": [{"name": "b", "children": [{"name": 3}]}]})


@pytest.mark.parametrize("schema, resources, formats, words", [
    ({"maximum": 3}, {}, FORMATS, "maximum"),
    ({"properties": {"a": {"anyOf": [INT]}}}, {}, FORMATS, "anyOf"),
    ({"patternProperties": {"^a": INT}}, {}, FORMATS, "patternProperties"),
    ({"items": {"$id": "https://t.example/inner.json"}}, {}, FORMATS, "$id"),
    ({"$ref": "other.json#/$defs/code"}, {COMMON["$id"]: COMMON}, FORMATS, "not among the resources"),
    ({"$ref": "common.json#/$defs/missing"}, {COMMON["$id"]: COMMON}, FORMATS, "does not resolve"),
    ({"$ref": "common.json#anchor"}, {COMMON["$id"]: COMMON}, FORMATS, "not a JSON pointer"),
    ({"format": "email"}, {}, FORMATS, "email"),
    ({"format": "date-time"}, {}, {}, "date-time"),
    ({"type": "decimal"}, {}, FORMATS, "decimal"),
    ({"pattern": "("}, {}, FORMATS, "pattern"),
    ({"items": [INT]}, {}, FORMATS, "items"),
    ({"$schema": "http://json-schema.org/draft-07/schema#"}, {}, FORMATS, "draft 2020-12"),
])
def test_what_it_cannot_judge_exactly_is_refused_when_compiling(schema, resources, formats, words):
    schema = dict(schema, **{"$id": "https://t.example/case.json"})
    with pytest.raises(UnsupportedSchema, match=words.replace("$", r"\$")):
        compile_schema(schema, resources, formats)


def test_unique_follows_jsonschema_even_where_neighbours_miss_a_pair():
    """jsonschema compares sorted neighbours: it passes these lists, and so must the predicate."""
    tricky = [[1, True], [1, 1], [1, True]]
    assert json_unique(tricky) is True
    assert compile_schema({"uniqueItems": True})(tricky) is _jsonschema_verdict({"uniqueItems": True}, tricky) is True
