"""Compile a JSON Schema (draft 2020-12, the subset the snapshot schemas use) into one fast predicate.

``compile_schema`` walks the schema once and returns ``is_valid(instance) -> bool`` made of nested closures, so
validating a document does no keyword dispatch. Its verdict equals jsonschema's (``not list(iter_errors(doc))``)
for every instance: the same type rules (bool is not an integer, 1.0 is), the same JSON equality for enum,
const and uniqueItems (True != 1, 1 == 1.0), keywords judging only their own types. Anything it does not know
(a keyword, a ``$ref`` it cannot resolve, a format without a function, another dialect) raises
:class:`UnsupportedSchema` when compiling: the caller then keeps jsonschema alone. Pure Python, no Ansible.
"""
import itertools
import numbers
import re
from collections.abc import Mapping, Sequence
from urllib.parse import unquote, urldefrag, urljoin

DIALECT = "https://json-schema.org/draft/2020-12/schema"

# Keywords without effect on validity (jsonschema ignores them when validating).
ANNOTATIONS = frozenset(("title", "description", "$comment", "examples", "default", "deprecated", "readOnly",
                         "writeOnly", "$defs"))
# Allowed only at the root of a resource (elsewhere they would change the base URI or the dialect).
RESOURCE_ROOT = frozenset(("$id", "$schema"))
OBJECT_KEYWORDS = ("properties", "required", "additionalProperties")
ARRAY_KEYWORDS = ("items", "minItems", "uniqueItems")
KEYWORDS = frozenset(OBJECT_KEYWORDS + ARRAY_KEYWORDS + (
    "type", "$ref", "enum", "const", "minimum", "minLength", "pattern", "format", "allOf"))


class UnsupportedSchema(ValueError):
    """The schema uses something this compiler does not implement exactly."""


# ------------------------------------------------------------------ JSON equality (jsonschema._utils)
def _unbool(element, true=object(), false=object()):
    """True and False as markers no number equals."""
    if element is True:
        return true
    if element is False:
        return false
    return element


def json_equal(one, two):
    """jsonschema's ``equal``: Python equality, except that booleans never equal numbers, deeply."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return one == two
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(json_equal(i, j) for i, j in zip(one, two))
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(key in two and json_equal(value, two[key]) for key, value in one.items())
    return _unbool(one) == _unbool(two)


def json_unique(container):
    """jsonschema's ``uniq``, step for step (sorted neighbours, else every pair), so verdicts match even at its edges."""
    try:
        ordered = sorted(_unbool(i) for i in container)
        for i, j in zip(ordered, itertools.islice(ordered, 1, None)):
            if json_equal(i, j):
                return False
    except (NotImplementedError, TypeError):
        seen = []
        for each in container:
            each = _unbool(each)
            if any(json_equal(i, each) for i in seen):
                return False
            seen.append(each)
    return True


# ------------------------------------------------------------------ types (jsonschema draft 2020-12 type checker)
def _is_integer(value):
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or isinstance(value, float) and value.is_integer()


def _is_number(value):
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


TYPES = {
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "null": lambda value: value is None,
}


_SIMPLE_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_check(types):
    """The ``type`` keyword: isinstance for the simple types, the number rules for integer and number."""
    simple = tuple(_SIMPLE_TYPES[t] for t in types if t in _SIMPLE_TYPES)
    special = tuple(TYPES[t] for t in types if t not in _SIMPLE_TYPES)
    if not special:
        kind = simple[0] if len(simple) == 1 else simple
        return lambda value: isinstance(value, kind)
    if not simple and len(special) == 1:
        return special[0]
    return lambda value: isinstance(value, simple) or any(check(value) for check in special)


def _merged(kind, shape):
    """A type of one kind and the keywords judging that kind, in one check."""
    return lambda value: isinstance(value, kind) and shape(value)


def _only_for(kind, shape):
    """Keywords that judge values of one kind and let every other value pass."""
    return lambda value: not isinstance(value, kind) or shape(value)


def _always(_value):
    return True


def _never(_value):
    return False


def _all_of(checks):
    """One predicate true when every check is."""
    checks = tuple(checks)
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)

    def every(value):
        for check in checks:
            if not check(value):
                return False
        return True
    return every


class _Compiler:
    """Compiles subschemas once each (``$ref`` targets memoised by URI, cycles allowed)."""

    def __init__(self, resources, formats):
        self.resources = dict(resources)
        self.formats = formats
        self.compiled = {}

    # -------------------------------------------------------------- $ref
    def resource_root(self, schema, uri):
        """Check what the root of a resource may hold: its own $id and the 2020-12 dialect only."""
        if not isinstance(schema, dict):
            return
        if schema.get("$schema", DIALECT) != DIALECT:
            raise UnsupportedSchema("dialect %r is not draft 2020-12" % schema.get("$schema"))
        if "$id" in schema and (not isinstance(schema["$id"], str) or urldefrag(schema["$id"])[0] != uri):
            raise UnsupportedSchema("resource $id %r differs from %r" % (schema["$id"], uri))

    def reference(self, ref, base):
        """The predicate of the subschema ``ref`` names, relative to the resource at ``base``."""
        if not isinstance(ref, str):
            raise UnsupportedSchema("$ref %r is not a string" % (ref,))
        uri, fragment = urldefrag(urljoin(base, ref))
        key = (uri, fragment)
        if key not in self.compiled:
            target = self.resolve(uri, fragment)
            cell = []

            def forward(value):
                """Stands for the subschema while it compiles (a $ref cycle reaches it)."""
                return cell[0](value)
            self.compiled[key] = forward
            cell.append(self.node(target, uri, root=not fragment))
            self.compiled[key] = cell[0]
        return self.compiled[key]

    def resolve(self, uri, fragment):
        if uri not in self.resources:
            raise UnsupportedSchema("$ref to %r, which is not among the resources" % uri)
        target = self.resources[uri]
        self.resource_root(target, uri)
        if not fragment:
            return target
        if not fragment.startswith("/"):
            raise UnsupportedSchema("$ref fragment %r is not a JSON pointer" % fragment)
        for token in unquote(fragment).split("/")[1:]:
            token = token.replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise UnsupportedSchema("$ref %s#%s does not resolve" % (uri, fragment))
        return target

    # -------------------------------------------------------------- schemas
    def node(self, schema, base, root=True):
        """The predicate of one (sub)schema; ``base`` is the URI of the resource it belongs to."""
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise UnsupportedSchema("a schema must be an object or a boolean, not %r" % (schema,))
        for keyword in schema:
            if keyword not in KEYWORDS and keyword not in ANNOTATIONS and not (root and keyword in RESOURCE_ROOT):
                raise UnsupportedSchema("keyword %r is not supported here" % keyword)
        types = schema.get("type")
        if types is not None:
            types = [types] if isinstance(types, str) else types
            if not isinstance(types, list) or not types or any(t not in TYPES for t in types):
                raise UnsupportedSchema("type %r is not supported" % (schema["type"],))
        checks = self.shaped(schema, base, types)
        if "$ref" in schema:
            checks.append(self.reference(schema["$ref"], base))
        if "allOf" in schema:
            if not isinstance(schema["allOf"], list):
                raise UnsupportedSchema("allOf must be a list")
            checks.extend(self.node(sub, base, root=False) for sub in schema["allOf"])
        checks.extend(self.values(schema))
        return _all_of(checks)

    def shaped(self, schema, base, types):
        """The type check and the keywords judging objects, arrays or strings (merged when the type is that one)."""
        shapes = []
        if any(k in schema for k in OBJECT_KEYWORDS):
            shapes.append(("object", dict, self.object_check(schema, base)))
        if any(k in schema for k in ARRAY_KEYWORDS):
            shapes.append(("array", list, self.array_check(schema, base)))
        if "minLength" in schema or "pattern" in schema:
            shapes.append(("string", str, self.string_check(schema)))
        if len(shapes) == 1 and types == [shapes[0][0]]:
            return [_merged(shapes[0][1], shapes[0][2])]
        checks = [] if types is None else [_type_check(types)]
        return checks + [_only_for(kind, shape) for _name, kind, shape in shapes]

    def object_check(self, schema, base):
        """properties, required and additionalProperties for a dict (given a dict)."""
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        if not isinstance(properties, dict) or not isinstance(required, list):
            raise UnsupportedSchema("properties must be an object and required a list")
        if not all(isinstance(name, str) for name in required):
            raise UnsupportedSchema("required names must be strings")
        required = tuple(required)
        props = tuple((name, self.node(sub, base, root=False)) for name, sub in properties.items())
        extra = self.additional(schema, base, frozenset(properties))
        missing = object()

        def check(value):
            for name in required:
                if name not in value:
                    return False
            for name, sub in props:
                item = value.get(name, missing)
                if item is not missing and not sub(item):
                    return False
            return extra is None or extra(value)
        return check

    def additional(self, schema, base, known):
        if "additionalProperties" not in schema:
            return None
        sub_schema = schema["additionalProperties"]
        if isinstance(sub_schema, dict):
            sub = self.node(sub_schema, base, root=False)
            return lambda value: all(sub(item) for name, item in value.items() if name not in known)
        if sub_schema is True:
            return None
        if sub_schema is False:
            return lambda value: all(name in known for name in value)
        raise UnsupportedSchema("additionalProperties %r is not supported" % (sub_schema,))

    def array_check(self, schema, base):
        """items, minItems and uniqueItems for a list (given a list)."""
        items = schema.get("items", True)
        if not isinstance(items, (dict, bool)):
            raise UnsupportedSchema("items must be a schema")
        sub = self.node(items, base, root=False)
        least = self.count(schema, "minItems")
        unique = schema.get("uniqueItems", False)
        if not isinstance(unique, bool):
            raise UnsupportedSchema("uniqueItems must be a boolean")
        each = None if sub is _always else sub

        def check(value):
            if len(value) < least:
                return False
            if each is not None:
                for item in value:
                    if not each(item):
                        return False
            return not unique or json_unique(value)
        return check

    @staticmethod
    def count(schema, keyword):
        value = schema.get(keyword, 0)
        if not _is_integer(value) or value < 0:
            raise UnsupportedSchema("%s must be a non-negative integer" % keyword)
        return value

    def string_check(self, schema):
        """minLength and pattern for a str (given a str)."""
        least = self.count(schema, "minLength")
        search = None
        if "pattern" in schema:
            try:
                search = re.compile(schema["pattern"]).search
            except (re.error, TypeError) as exc:
                raise UnsupportedSchema("pattern %r: %s" % (schema["pattern"], exc)) from exc
        if search is None:
            return lambda value: not len(value) < least
        return lambda value: not len(value) < least and search(value) is not None

    def values(self, schema):
        """enum, const, minimum and format (each judging what it judges)."""
        if "enum" in schema:
            yield self.enum_check(schema["enum"])
        if "const" in schema:
            yield self.const_check(schema["const"])
        if "minimum" in schema:
            least = schema["minimum"]
            if not _is_number(least):
                raise UnsupportedSchema("minimum %r is not a number" % (least,))
            yield lambda value: not _is_number(value) or not value < least
        if "format" in schema:
            name = schema["format"]
            if not isinstance(name, str) or name not in self.formats:
                raise UnsupportedSchema("format %r has no function" % (name,))
            judge = self.formats[name]
            yield lambda value: bool(judge(value))

    @staticmethod
    def enum_check(enums):
        if not isinstance(enums, list):
            raise UnsupportedSchema("enum must be a list")
        enums = tuple(enums)
        texts = frozenset(e for e in enums if type(e) is str)  # pylint: disable=unidiomatic-typecheck
        others = tuple(e for e in enums if type(e) is not str)  # pylint: disable=unidiomatic-typecheck

        def check(value):
            if type(value) is str:  # pylint: disable=unidiomatic-typecheck
                # between two texts json_equal is ==, which the set lookup decides
                return value in texts or any(json_equal(e, value) for e in others)
            return any(json_equal(e, value) for e in enums)
        return check

    @staticmethod
    def const_check(const):
        return lambda value: json_equal(value, const)


def compile_schema(schema, resources=None, formats=None):
    """``is_valid(instance) -> bool`` for ``schema``; ``resources`` maps ``$id`` to schema for ``$ref``, ``formats``
    maps a format name to its function. Raises UnsupportedSchema for anything not implemented exactly."""
    compiler = _Compiler(resources or {}, formats or {})
    base = ""
    if isinstance(schema, dict) and "$id" in schema:
        if not isinstance(schema["$id"], str):
            raise UnsupportedSchema("$id must be a string")
        base = urldefrag(schema["$id"])[0]
        if urldefrag(schema["$id"])[1]:
            raise UnsupportedSchema("$id %r has a fragment" % schema["$id"])
    compiler.resources[base] = schema
    compiler.resource_root(schema, base)
    check = compiler.node(schema, base)
    return lambda instance: bool(check(instance))
