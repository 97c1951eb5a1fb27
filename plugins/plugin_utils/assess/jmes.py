"""JMESPath with the functions the rule catalog uses, and a cache of compiled expressions."""
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.clock import parse_timestamp
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.startup import names_program
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.versions import version_at_least

try:
    import jmespath
    from jmespath import functions as jmes_functions
    from jmespath.visitor import TreeInterpreter
    JMESPATH_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - exercised only without the dependency
    jmespath = None
    JMESPATH_IMPORT_ERROR = exc
    jmes_functions = None
    TreeInterpreter = object


def require_jmespath():
    """Raise a clear error when the jmespath library is missing on the controller."""
    if jmespath is None:
        raise RuntimeError("the Python library 'jmespath' is required on the Ansible controller "
                           "(pip install -r requirements.txt): %s" % JMESPATH_IMPORT_ERROR)


if jmes_functions is not None:
    class RuleFunctions(jmes_functions.Functions):
        """Functions available to rule expressions; ``now`` fixes the clock for one assessment."""

        def __init__(self, now):
            super().__init__()
            self.now = now

        @jmes_functions.signature({"types": ["string", "number", "null"]}, {"types": ["string", "number"]},
                                  {"types": ["string", "null"]})
        def _func_version_at_least(self, value, minimum, scheme):
            if value is None:
                raise ValueError("no version to compare with %s" % minimum)
            return version_at_least(value, minimum, scheme)

        @jmes_functions.signature({"types": ["string"]})
        def _func_days_since(self, timestamp):
            return (self.now - parse_timestamp(timestamp)).total_seconds() / 86400.0

        @jmes_functions.signature({"types": ["string", "null"]}, {"types": ["string"]})
        def _func_names_program(self, value, program):
            return names_program(value, program)

        @jmes_functions.signature({"types": ["string", "null"]})
        def _func_lower(self, text):
            return (text or "").lower()

        @jmes_functions.signature({"types": ["array"]}, {"types": ["array"]})
        def _func_intersect_ci(self, items, candidates):
            wanted = {str(c).lower() for c in candidates}
            return [item for item in items if str(item).lower() in wanted]


_COMPILED = {}


def compile_expression(expression):
    """Compile (once) and return a JMESPath expression; raises jmespath's ParseError."""
    require_jmespath()
    if expression not in _COMPILED:
        _COMPILED[expression] = jmespath.compile(expression)
    return _COMPILED[expression]


def search_options(now):
    """Return jmespath Options bound to the assessment's clock."""
    require_jmespath()
    return jmespath.Options(custom_functions=RuleFunctions(now))


def _is_null(node):
    """A ``null`` operand: the literal `null`, or the bare name ``null`` (a field no document has)."""
    return (node["type"] == "literal" and node["value"] is None) or (node["type"] == "field" and node["value"] == "null")


class StrictInterpreter(TreeInterpreter):
    """Evaluates an expression and records every field it read that the document does not have.

    Only fields reached from the document's top by names count (``win_ini.load``; not the fields of array items in a
    projection or filter), and only those actually read (``a || b`` reads ``b`` only when ``a`` is false). With
    ``null_asks``, a field compared with null is not counted (``x == null`` in an ``applies`` asks whether ``x`` is
    there). ``missing`` lists the rest as dotted paths.
    """

    def __init__(self, options, document, null_asks=False):
        super().__init__(options)
        self.anchored = {id(document): []}
        self.missing = []
        self.null_asks = null_asks
        self._quiet = 0

    def visit_field(self, node, value):
        result = super().visit_field(node, value)
        path = self.anchored.get(id(value)) if isinstance(value, dict) else None
        if path is not None:
            name = node["value"]
            if name not in value:
                if not self._quiet and name != "null":
                    self.missing.append(".".join(path + [name]))
            elif isinstance(result, dict):
                self.anchored[id(result)] = path + [name]
        return result

    def visit_comparator(self, node, value):
        if self.null_asks and node["value"] in ("eq", "ne") and any(_is_null(child) for child in node["children"]):
            self._quiet += 1
            try:
                return super().visit_comparator(node, value)
            finally:
                self._quiet -= 1
        return super().visit_comparator(node, value)


def strict_search(expression, document, options, null_asks=False):
    """``(result, missing)``: the expression's value over ``document`` and the fields it read that are not there
    (see StrictInterpreter for ``null_asks``)."""
    interpreter = StrictInterpreter(options, document, null_asks)
    result = interpreter.visit(compile_expression(expression).parsed, document)
    return result, sorted(set(interpreter.missing))
