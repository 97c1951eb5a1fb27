"""Static contracts of the PowerShell modules, read with the tree-sitter PowerShell grammar.

- ``module_spec(path)``: the ``$spec`` of a module as Python data (literal values; other expressions
  become ``Expr``), following ``$spec = Get-SmsGatherSpec -Kind 'x'`` into SmsGather.psm1.
- ``record_keys(source, function)``: the keys of the hashtable a record constructor returns.
- ``result_keys(source)``: the keys set with ``$module.Result.<key> =``.
- ``hashtable_values(source, variable)`` and ``function_string_returns(source, function)``: the string
  literals a mapping table holds or a function returns, to compare with the schema's enums.
- ``compare_options(spec_options, doc_options, where)``: where a ``$spec`` and its documentation disagree.
- ``defined_functions``, ``exported_functions``, ``required_utils`` and ``called_commands``: what a file defines,
  exports, requires (``#AnsibleRequires -PowerShell``) and calls, to check every call reaches a definition.
"""
import os
import re

from tree_sitter import Language, Parser
import tree_sitter_pwsh

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
GATHER_PSM1 = os.path.join(REPO, "plugins", "module_utils", "SmsGather.psm1")
PARSER = Parser(Language(tree_sitter_pwsh.language()))


class Expr(str):
    """A value that is not a literal (kept as its source text)."""


def parse(source):
    if isinstance(source, str):
        source = source.encode("utf-8")
    return PARSER.parse(source).root_node, source


def text(node, source):
    return source[node.start_byte:node.end_byte].decode("utf-8")


def walk(node):
    yield node
    for child in node.children:
        yield from walk(child)


def _unwrap(node):
    while node.type in ("pipeline", "pipeline_chain", "unary_expression", "assignment_value", "statement_list") \
            and len(node.named_children) == 1:
        node = node.named_children[0]
    return node


def literal(node, source):
    """Python value of a PowerShell literal expression; Expr for anything else."""
    node = _unwrap(node)
    raw = text(node, source)
    if node.type == "hash_literal_expression":
        return hashtable(node, source)
    if node.type == "string_literal":
        if raw.startswith("'"):
            return raw[1:-1].replace("''", "'")
        return raw[1:-1] if "$" not in raw else Expr(raw)
    if node.type == "integer_literal":
        return int(raw)
    if node.type == "variable" and raw.lower() in ("$true", "$false", "$null"):
        return {"$true": True, "$false": False, "$null": None}[raw.lower()]
    if node.type == "array_expression":
        inner = [child for child in node.named_children if child.type == "statement_list"]
        if not inner:
            return []
        value = literal(inner[0], source)
        return value if isinstance(value, list) else [value]
    if node.type == "array_literal_expression":
        return [literal(child, source) for child in node.named_children]
    return Expr(raw)


def hashtable(node, source):
    result = {}
    for entry in walk(node):
        if entry.type == "hash_entry" and entry.parent.parent == node:
            key = entry.child_by_field_name("key") or entry.named_children[0]
            value = entry.named_children[-1]
            result[text(key, source).strip("'\"")] = literal(value, source)
    return _normalise_lists(result)


def _normalise_lists(value):
    if isinstance(value, dict):
        return {key: _normalise_lists(item) for key, item in value.items()}
    return value


def _assignments(root, source, left_pattern):
    for node in walk(root):
        if node.type == "assignment_expression":
            left = text(node.named_children[0], source)
            if re.fullmatch(left_pattern, left, re.IGNORECASE):
                yield left, node.named_children[-1]


def function_node(root, source, name):
    for node in walk(root):
        if node.type == "function_statement":
            names = [child for child in node.children if child.type == "function_name"]
            if names and text(names[0], source).lower() == name.lower():
                return node
    raise KeyError("function %s not found" % name)


def _last_hashtable(node):
    found = [n for n in walk(node) if n.type == "hash_literal_expression"]
    outer = [n for n in found if not any(o is not n and o.start_byte <= n.start_byte and n.end_byte <= o.end_byte for o in found)]
    return outer[-1]


def gather_spec(kind):
    """The spec Get-SmsGatherSpec returns for a kind, with $defaults.<x> resolved from SmsGatherKinds."""
    with open(GATHER_PSM1, "rb") as handle:
        root, source = parse(handle.read())
    kinds = hashtable_values_raw(root, source, r"\$script:SmsGatherKinds")
    spec = hashtable(_last_hashtable(function_node(root, source, "Get-SmsGatherSpec")), source)
    defaults = kinds[kind]
    for option in spec["options"].values():
        value = option.get("default")
        if isinstance(value, Expr) and value.lower().startswith("$defaults."):
            option["default"] = defaults[value.split(".", 1)[1]]
    return spec


def hashtable_values_raw(root, source, variable):
    for dummy_left, value in _assignments(root, source, variable):
        return literal(value, source)
    raise KeyError("%s is not assigned" % variable)


def module_spec(path):
    with open(path, "rb") as handle:
        root, source = parse(handle.read())
    for dummy_left, value in _assignments(root, source, r"\$spec"):
        value = _unwrap(value)
        if value.type == "hash_literal_expression":
            return hashtable(value, source)
        match = re.search(r"Get-SmsGatherSpec\s+-Kind\s+'([a-z_]+)'", text(value, source))
        if match:
            return gather_spec(match.group(1))
    raise KeyError("no $spec in %s" % path)


def result_keys(source):
    root, source = parse(source)
    return sorted({left.split(".")[2] for left, dummy in _assignments(root, source, r"\$module\.Result\.[A-Za-z_]+")})


def record_keys(source, function):
    root, source = parse(source)
    return sorted(hashtable(_last_hashtable(function_node(root, source, function)), source))


def hashtable_values(source, variable):
    root, source = parse(source)
    return sorted(set(hashtable_values_raw(root, source, re.escape(variable)).values()))


def function_string_returns(source, function):
    """String literals that stand alone as statements (implicit output) or follow ``return``."""
    root, source = parse(source)
    node = function_node(root, source, function)
    values = set()
    for item in walk(node):
        if item.type == "string_literal" and text(item, source).startswith("'"):
            statement = item
            wrappers = ("unary_expression", "pipeline_chain", "pipeline", "flow_control_statement")
            while statement.parent is not None and statement.parent.type in wrappers:
                statement = statement.parent
            standalone = statement.type == "flow_control_statement" or (
                statement.parent is not None and statement.parent.type == "statement_list")
            if standalone and text(statement, source).strip() in (text(item, source), "return " + text(item, source)):
                values.add(literal(item, source))
    return sorted(values)


def literal_values_for(source, name):
    """Single-quoted literals given as ``-Name 'x'`` or ``name = 'x'`` anywhere in the source."""
    decoded = source.decode("utf-8") if isinstance(source, bytes) else source
    pattern = r"(?:-%s\s+|\b%s\s*=\s*)'([^']*)'" % (re.escape(name), re.escape(name))
    return sorted(set(re.findall(pattern, decoded, re.IGNORECASE)))


DOC_KEYS = ("type", "elements", "required", "default", "choices")


def _normalised(option):
    return {key: option.get(key, False if key == "required" else None) for key in DOC_KEYS}


def compare_options(spec_options, doc_options, where):
    """Problems where a module's ``$spec`` (or an action's options) and its documented options disagree."""
    problems = []
    for name, option in spec_options.items():
        if name not in doc_options:
            problems.append("%s: option %s is in $spec but not documented" % (where, name))
            continue
        mine, documented = _normalised(option), _normalised(doc_options[name])
        for key in DOC_KEYS:
            if isinstance(mine[key], Expr):
                continue
            if mine[key] != documented[key] and not (key == "default" and mine[key] in ([], {}) and documented[key] in ([], {})):
                problems.append("%s: option %s %s is %r in $spec but %r in the docs" % (where, name, key, mine[key], documented[key]))
        if option.get("options"):
            problems += compare_options(option["options"], doc_options[name].get("suboptions", {}), "%s.%s" % (where, name))
    return problems


REQUIRES = re.compile(r"^#AnsibleRequires -PowerShell (\S+)\s*$", re.MULTILINE | re.IGNORECASE)
UTIL_PREFIX = "ansible_collections.sms.upgrade.plugins.module_utils."


def defined_functions(source):
    """Names of the functions a file defines."""
    root, source = parse(source)
    return sorted(text(child, source) for node in walk(root) if node.type == "function_statement"
                  for child in node.children if child.type == "function_name")


def exported_functions(source):
    """Names listed by ``Export-ModuleMember -Function``."""
    root, source = parse(source)
    found = []
    for node in walk(root):
        if node.type == "command" and text(node.named_children[0], source).lower() == "export-modulemember":
            found += re.findall(r"[A-Za-z]+-[A-Za-z0-9]+", text(node, source).split("-Function", 1)[1])
    return sorted(found)


def required_utils(source):
    """The ``#AnsibleRequires -PowerShell`` names of a file, as written."""
    decoded = source.decode("utf-8") if isinstance(source, bytes) else source
    return REQUIRES.findall(decoded)


def called_commands(source, prefix="-Sms"):
    """Names of the commands a file calls whose noun starts with ``prefix`` (the collection's own functions)."""
    root, source = parse(source)
    return sorted({text(node, source) for node in walk(root) if node.type == "command_name"
                   and prefix.lower() in text(node, source).lower()})
