"""Differential test: over every lab snapshot and seeded random mutations of it, the compiled predicate of its kind
gives jsonschema's verdict, and validate_snapshot reports exactly what jsonschema alone reports."""
import copy
import glob
import json
import os
import random

import pytest

import collection_tree
from ansible_collections.sms.upgrade.plugins.plugin_utils.gather import snapshot

SNAPSHOTS = sorted(glob.glob(os.path.join(collection_tree.REPO, "inventories", "lab", "snapshots", "*.json")))
MUTATIONS = 200          # per lab snapshot (each stacks one to three changes)
SEED = 20261203

ODD_VALUES = [None, True, False, 0, 1, -1, 1.0, 2.5, -0.5, "", "x", "1", [], {}, [1, 1], {"a": 1}, ["a"],
              "\u4e2d", float("nan")]
BAD_DATES = ["2026-02-30T06:00:00Z", "2026-11-20 06:00:00Z", "2026-11-20T06:00:00", "2026-11-20T25:00:00Z",
             "20261120T060000Z", "yesterday", "2026-11-20T06:00:00+0100"]


def _nodes(doc):
    """Every (container, key, value) of a document, depth first."""
    found, stack = [], [doc]
    while stack:
        node = stack.pop()
        for key, value in (node.items() if isinstance(node, dict) else enumerate(node)):
            found.append((node, key, value))
            if isinstance(value, (dict, list)):
                stack.append(value)
    return found


def _pick(rng, doc, want):
    nodes = [n for n in _nodes(doc) if want(n[2])]
    return rng.choice(nodes) if nodes else None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _replace(rng, doc, want, new_value):
    node = _pick(rng, doc, want)
    if node is not None:
        node[0][node[1]] = new_value(node[2])


def drop_key(rng, doc):
    node = _pick(rng, {"root": doc}, lambda v: isinstance(v, dict) and v)
    if node is not None:
        del node[2][rng.choice(sorted(node[2]))]


def wrong_type(rng, doc):
    _replace(rng, doc, lambda v: True, lambda v: copy.deepcopy(rng.choice(ODD_VALUES)))


def bool_for_int(rng, doc):
    _replace(rng, doc, _is_int, lambda v: rng.choice([True, False]))


def int_for_bool(rng, doc):
    _replace(rng, doc, lambda v: isinstance(v, bool), int)


def float_for_int(rng, doc):
    _replace(rng, doc, _is_int, lambda v: float(v) + rng.choice([0, 0, 0.5]))


def negative(rng, doc):
    _replace(rng, doc, _is_int, lambda v: -1 - abs(v) if rng.random() < 0.8 else -0.5)


def empty_string(rng, doc):
    _replace(rng, doc, lambda v: isinstance(v, str), lambda v: "")


def extra_key(rng, doc):
    node = _pick(rng, {"root": doc}, lambda v: isinstance(v, dict))
    if node is not None:
        node[2]["extra_%d" % rng.randrange(3)] = copy.deepcopy(rng.choice(ODD_VALUES))


def duplicate_item(rng, doc):
    node = _pick(rng, doc, lambda v: isinstance(v, list) and v)
    if node is not None:
        node[2].append(copy.deepcopy(rng.choice(node[2])))


def empty_list(rng, doc):
    _replace(rng, doc, lambda v: isinstance(v, list), lambda v: [])


def not_latin1(rng, doc):
    _replace(rng, doc, lambda v: isinstance(v, str), lambda v: v + rng.choice(["\u4e2d", "\u20ac", "\u0100"]))


def bad_date(rng, doc):
    _replace(rng, doc, lambda v: isinstance(v, str), lambda v: rng.choice(BAD_DATES))


def not_in_enum(rng, doc):
    _replace(rng, doc, lambda v: isinstance(v, str), lambda v: rng.choice([v.upper(), v + "x", v[:-1], " " + v]))


def swap_values(rng, doc):
    """A value moved to another field (right type for one schema, maybe wrong for the other)."""
    nodes = _nodes(doc)
    if len(nodes) > 1:
        one, two = rng.sample(nodes, 2)
        one[0][one[1]] = copy.deepcopy(two[2])


MUTATORS = [drop_key, wrong_type, bool_for_int, int_for_bool, float_for_int, negative, empty_string, extra_key,
            duplicate_item, empty_list, not_latin1, bad_date, not_in_enum, swap_values]


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return snapshot.parse_json(handle.read())


def _mutants(path):
    """Seeded mutants of one lab snapshot: (names of the mutators applied, document)."""
    rng = random.Random("%d:%s" % (SEED, os.path.basename(path)))
    original = _load(path)
    for _count in range(MUTATIONS):
        doc = copy.deepcopy(original)
        names = []
        for mutate in rng.sample(MUTATORS, rng.choice([1, 1, 1, 2, 3])):
            mutate(rng, doc)
            names.append(mutate.__name__)
        yield names, doc


def _jsonschema_valid(doc):
    return not list(snapshot.validators()[doc["kind"]].iter_errors(doc))


def test_every_kind_compiles():
    """The fast path is in use for every kind (a schema it refused would silently cost the time back)."""
    assert all(snapshot.fast_checks()[kind] is not None for kind in snapshot.KINDS)


def test_the_lab_has_snapshots_of_every_kind():
    kinds = {_load(path)["kind"] for path in SNAPSHOTS}
    assert kinds == set(snapshot.KINDS)


@pytest.mark.parametrize("path", SNAPSHOTS, ids=os.path.basename)
def test_compiled_predicate_agrees_with_jsonschema_on_mutants(path):
    verdicts, invalid_by = [], {}
    for names, doc in _mutants(path):
        kind = doc.get("kind")
        if kind not in snapshot.KINDS:   # the envelope check refuses it before any schema
            continue
        expected = _jsonschema_valid(doc)
        assert snapshot.fast_checks()[kind](doc) is expected, (names, json.dumps(doc, default=str)[:2000])
        verdicts.append(expected)
        for name in names if not expected else ():
            invalid_by[name] = invalid_by.get(name, 0) + 1
    assert _jsonschema_valid(_load(path)) and snapshot.fast_checks()[_load(path)["kind"]](_load(path))
    assert 0.2 < verdicts.count(False) / len(verdicts) < 0.98, "the mutants must mix valid and invalid documents"


def test_mutators_reach_the_rules_they_aim_at():
    """Each mutator made some lab snapshot invalid (so the differential test exercises what it names)."""
    reached = set()
    for path in SNAPSHOTS[::4]:
        for names, doc in _mutants(path):
            if len(names) == 1 and doc.get("kind") in snapshot.KINDS and not _jsonschema_valid(doc):
                reached.add(names[0])
    assert reached == {m.__name__ for m in MUTATORS}


@pytest.mark.parametrize("path", SNAPSHOTS[::3], ids=os.path.basename)
def test_validate_snapshot_reports_what_jsonschema_alone_reports(path, monkeypatch):
    mutants = [doc for index, (_names, doc) in enumerate(_mutants(path)) if index % 4 == 0]
    host = os.path.basename(path)[:-5]
    fast = [snapshot.validate_snapshot(host, doc) for doc in mutants]
    monkeypatch.setattr(snapshot, "_FAST_CHECKS", {kind: None for kind in snapshot.KINDS})
    assert fast == [snapshot.validate_snapshot(host, doc) for doc in mutants]
    assert any(fast) and not all(fast)
