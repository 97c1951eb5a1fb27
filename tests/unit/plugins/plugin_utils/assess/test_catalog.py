"""The shipped rule catalog is well formed and covers the checklist; broken catalogs are explained."""
import copy
import os
import re

import pytest

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.catalog import CatalogError, build_catalog, load_catalog
from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.checks import CHECKS
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.data_files import read_yaml

SHARED_CHECKLIST = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "..", "shared", "checklist.md")


def must_cover(item_id):
    """PRE, SEC, CLI and FAQ items and UPG-07 need a rule or a manual item."""
    return item_id.split("-")[0] in ("PRE", "SEC", "CLI", "FAQ") or item_id == "UPG-07"


def test_shipped_catalog_loads():
    rules = load_catalog(CHECKS)
    assert len(rules) == len({r.id for r in rules}) > 40


def test_every_required_checklist_item_is_covered():
    covered = {cid for rule in load_catalog(CHECKS) for cid in rule.checklist}
    items = [item["id"] for item in read_yaml("checklist.yml")["items"]]
    missing = [i for i in items if must_cover(i) and i not in covered]
    assert missing == []
    assert len([i for i in items if must_cover(i)]) == 34 + 4 + 4 + 2 + 1


def test_catalog_names_only_known_checklist_ids():
    items = {item["id"] for item in read_yaml("checklist.yml")["items"]}
    assert {cid for rule in load_catalog(CHECKS) for cid in rule.checklist} <= items


@pytest.mark.skipif(not os.path.exists(SHARED_CHECKLIST), reason="shared/checklist.md is not beside the checkout")
def test_collection_checklist_matches_the_shared_one():
    with open(SHARED_CHECKLIST, encoding="utf-8") as handle:
        shared = re.findall(r"^\| ((?:PRE|UPG|POST|CLI|SEC|FAQ)-\d\d) \|", handle.read(), re.M)
    assert [item["id"] for item in read_yaml("checklist.yml")["items"]] == shared


def test_manual_rules_are_answerable_and_detect_rules_have_checks():
    for rule in load_catalog(CHECKS):
        if rule.kind == "manual":
            assert rule.answerable, rule.id
        else:
            assert rule.check, rule.id


def _catalog_with(change):
    document = copy.deepcopy(read_yaml("rules.yml"))
    change(document["rules"])
    return document


@pytest.mark.parametrize("change, expected", [
    (lambda rules: rules[2].update(colour="red"), "unknown key 'colour'"),
    (lambda rules: rules[2].pop("severity"), "missing 'severity'"),
    (lambda rules: rules[2].update(check={"jmespath": "length("}), "does not compile"),
    (lambda rules: rules[2].update(check={"python": "no_such_check"}), "python check 'no_such_check' is not registered"),
    (lambda rules: rules[3].update(id=rules[2]["id"]), "duplicate id"),
    (lambda rules: rules[2].update(requires=["site.nope"]), "requires unknown rule 'site.nope'"),
    (lambda rules: rules[2].update(checklist=["PRE-1"]), "checklist ID 'PRE-1' is malformed"),
    (lambda rules: rules[2].update(tiers=["moon"]), "unknown tier 'moon'"),
    (lambda rules: rules[2].update(blocking="yes"), "blocking must be true or false"),
])
def test_broken_catalogs_name_the_rule_and_problem(change, expected):
    with pytest.raises(CatalogError, match=re.escape(expected)):
        build_catalog(_catalog_with(change), CHECKS)


def test_catalog_reports_every_problem_at_once():
    def change(rules):
        rules[2].update(colour="red")
        rules[5].pop("title")
    with pytest.raises(CatalogError) as caught:
        build_catalog(_catalog_with(change), CHECKS)
    assert "2 problem(s)" in str(caught.value)
