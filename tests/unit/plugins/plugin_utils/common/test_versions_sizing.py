"""Version strings of the real hierarchy, and the paper's sizing rules."""
import pytest
from hypothesis import given, strategies as st

from ansible_collections.sms.upgrade.plugins.plugin_utils.assess.sizing import SizingError, site_db_sizing, tempdb_sizing
from ansible_collections.sms.upgrade.plugins.plugin_utils.common.versions import (
    VersionError, compare_versions, known_version, parse_version, version_at_least)

SQL_65_BUILDS = ["6.50.201", "6.50.213", "6.50.240", "6.50.258", "6.50.281", "6.50.415", "6.50.416", "6.50.479",
                 "7.00.623", "7.00.1063"]


def test_sql_builds_in_release_order():
    parsed = [parse_version(v) for v in SQL_65_BUILDS]
    assert parsed == sorted(parsed)
    assert not version_at_least("6.50.258", "6.50.281") and version_at_least("6.50.416", "6.50.281")


def test_ie_releases():
    assert parse_version("4.72.2106.8") < parse_version("4.72.3110.8") < parse_version("4.72.3612.1713")
    assert parse_version("5.00.2314.1003") > known_version("ie_4_01_sp1")


@pytest.mark.parametrize("lower, higher", [
    ("", "Service Pack 1"), ("Service Pack 3", "Service Pack 4"), ("Service Pack 6", "Service Pack 6a"),
    ("Service Pack 6a", "Service Pack 7"), ("SP3", "sp 4"),
])
def test_service_pack_order(lower, higher):
    assert compare_versions(lower, higher, "service_pack") == -1


def test_hotfix_rc_marker_counts_as_its_service_pack():
    assert compare_versions("Service Pack 4 RC 1.2", "Service Pack 4") == 0
    assert version_at_least("Service Pack 4 RC 1.2", "Service Pack 4")


@pytest.mark.parametrize("text, build", [("786", 786), (786, 786), ("1.2 (build 786)", 786), ("build 682", 682),
                                         ("2.00.1239.0000", 1239)])
def test_sms_builds(text, build):
    assert parse_version(text, "sms_build").parts == (build,)


def test_sms_12_is_older_than_20_and_newer_than_11():
    assert known_version("sms_1_1") < known_version("sms_1_2") < parse_version("2.00.1239.0000", "sms_build")


def test_trailing_zeros_are_equal_but_6_5_is_not_6_50():
    assert parse_version("4.0") == parse_version("4.0.0") and hash(parse_version("4.0")) == hash(parse_version("4.0.0"))
    assert parse_version("6.5") != parse_version("6.50")


@pytest.mark.parametrize("value, scheme, message", [
    ("Service Pak 4", "service_pack", "not a service pack string"),
    ("six point five", None, "not a known version string"),
    (None, None, "not a version string"),
    (True, None, "not a version string"),
    ("6.50.281", "semver", "unknown version scheme"),
    ("v7", "dotted", "not a dotted version"),
])
def test_bad_strings_are_named(value, scheme, message):
    with pytest.raises(VersionError, match=message):
        parse_version(value, scheme)


def test_mixed_schemes_never_order_silently():
    with pytest.raises(VersionError, match="cannot compare"):
        assert parse_version("786") < parse_version("Service Pack 4")


dotted = st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=4).map(lambda p: ".".join(map(str, p)))


@given(dotted, dotted)
def test_compare_is_antisymmetric(a, b):
    assert compare_versions(a, b, "dotted") == -compare_versions(b, a, "dotted")


@given(dotted, dotted, dotted)
def test_order_is_transitive(a, b, c):
    x, y, z = sorted(parse_version(v, "dotted") for v in (a, b, c))
    assert x <= z and compare_versions(x.text, z.text, "dotted") <= 0


@given(dotted)
def test_parse_roundtrip(text):
    assert parse_version(str(parse_version(text))) == parse_version(text)


def test_seed_examples():
    # "Database Size": 10,000 computers -> at least 1 GB data and 100 MB log
    sized = site_db_sizing(10000)
    assert (sized["data_mb"], sized["log_mb"]) == (1000, 100)
    # "Increase the Size of Tempdb": a 200 MB site database -> 40 MB tempdb data, 8 MB tempdb log; the base is the
    # data device(s), so the 1,000 MB database above needs 200 MB and 40 MB (not 20 % of data + log: 220 and 44)
    assert tempdb_sizing(200) == {"tempdb_data_mb": 40, "tempdb_log_mb": 8}
    assert (sized["tempdb_data_mb"], sized["tempdb_log_mb"]) == (200, 40)
    assert site_db_sizing(2000)["tempdb_data_mb"] == 40, "2,000 computers -> a 200 MB data device -> 40 MB tempdb"


def test_rounding_up_and_overrides():
    assert site_db_sizing(3)["data_mb"] == 1
    assert site_db_sizing(3000, {"kb_per_computer": 150})["data_mb"] == 450


@pytest.mark.parametrize("value", [-1, "many", True, 2.5, float("nan")])
def test_bad_computer_counts(value):
    with pytest.raises(SizingError, match="computers must be"):
        site_db_sizing(value)


def test_unknown_constant():
    with pytest.raises(SizingError, match="unknown sizing constant 'kb'"):
        site_db_sizing(10, {"kb": 1})


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=10**6))
def test_sizing_is_monotonic_and_tempdb_is_a_fifth(a, b):
    small, large = site_db_sizing(min(a, b)), site_db_sizing(max(a, b))
    assert all(small[k] <= large[k] for k in ("data_mb", "log_mb", "tempdb_data_mb", "tempdb_log_mb"))
    assert large["tempdb_data_mb"] >= 0.2 * large["data_mb"]
    assert large["tempdb_data_mb"] < 0.2 * large["data_mb"] + 1
    assert large["log_mb"] >= 0.1 * large["data_mb"]
