"""The SNS filter-policy evaluator against the documented examples, one page section per test.

Each test quotes its example's policy and messages from the page named in its comment, under
https://docs.aws.amazon.com/sns/latest/dg/.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.aws_rules.sns_filter import matches


def string(value: str) -> dict[str, str]:
    return {"Type": "String", "Value": value}


def number(value: str) -> dict[str, str]:
    return {"Type": "Number", "Value": value}


def string_array(value: str) -> dict[str, str]:
    return {"Type": "String.Array", "Value": value}


INTERESTS = {"customer_interests": string_array('["baseball", "basketball"]')}


@pytest.mark.parametrize("attributes", [{}, {"store": string("example_corp")}], ids=["none", "some"])
def test_no_filter_policy_delivers_every_message(attributes: dict[str, Any]) -> None:
    # sns-message-filtering.html: "If a subscription doesn't have a filter policy, the subscriber
    # receives every message published to its topic."
    assert matches(None, attributes)


def test_exists_false_never_matches_an_empty_attribute_set() -> None:
    # attribute-key-matching.html, Note: '"exists": false only matches if at least one attribute is
    # present. An empty set of attributes results in the filter not matching.' This is the alert
    # forwarder's old policy against a CloudWatch alarm notification, which carries no attributes.
    assert not matches({"forwarded_from": [{"exists": False}]}, {})


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [({"store": string("fans"), **INTERESTS}, False), (INTERESTS, True)],
    ids=["with-store", "without-store"],
)
def test_exists_false_matches_only_messages_without_the_key(
    attributes: dict[str, Any], expected: bool
) -> None:
    # attribute-key-matching.html: "store": [{"exists": false}] doesn't match the attributes with
    # "store", matches those without it.
    assert matches({"store": [{"exists": False}]}, attributes) is expected


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [({"store": string("fans"), **INTERESTS}, True), (INTERESTS, False)],
    ids=["with-store", "without-store"],
)
def test_exists_true_matches_only_messages_with_the_key(attributes: dict[str, Any], expected: bool) -> None:
    # attribute-key-matching.html: "store": [{"exists": true}] matches the attributes with "store" only.
    assert matches({"store": [{"exists": True}]}, attributes) is expected


@pytest.mark.parametrize(
    ("value", "expected"), [("rugby", True), ("tennis", True), ("baseball", False)], ids=str
)
def test_exact_string_matching(value: str, expected: bool) -> None:
    # string-value-matching.html, Exact matching: "customer_interests": ["rugby", "tennis"].
    assert (
        matches({"customer_interests": ["rugby", "tennis"]}, {"customer_interests": string(value)})
        is expected
    )


@pytest.mark.parametrize(
    ("value", "expected"), [('["rugby", "tennis"]', True), ('["baseball"]', False)], ids=str
)
def test_exact_matching_takes_each_string_array_element_on_its_own(value: str, expected: bool) -> None:
    # string-value-matching.html, Exact matching: "For String.Array type attributes, each element in the
    # array is treated as a separate string for matching purposes."
    policy = {"customer_interests": ["rugby", "tennis"]}
    assert matches(policy, {"customer_interests": string_array(value)}) is expected


def test_string_matching_is_case_sensitive() -> None:
    # subscription-filter-policy-constraints.html: "For string matching, the comparison is case-sensitive."
    assert not matches({"customer_interests": ["Rugby"]}, {"customer_interests": string("rugby")})


@pytest.mark.parametrize(
    ("value", "expected"), [("baseball", True), ("football", True), ("rugby", False)], ids=str
)
def test_anything_but_string_matching(value: str, expected: bool) -> None:
    # string-value-matching.html, Anything-but matching: [{"anything-but": ["rugby", "tennis"]}] matches
    # "baseball" and "football"; it matches no value that is listed.
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert matches(policy, {"customer_interests": string(value)}) is expected


def test_anything_but_against_a_string_array_is_refused_not_guessed() -> None:
    # string-value-matching.html: one version says [{"anything-but": ["rugby", "tennis"]}] matches
    # ["rugby", "baseball"] "because it contains a value that isn't rugby or tennis", a later one
    # "For String.Array type attributes, it matches if none of the array elements are listed".
    policy = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    with pytest.raises(ValueError, match="disagree"):
        matches(policy, {"customer_interests": string_array('["rugby", "baseball"]')})


@pytest.mark.parametrize(
    ("value", "expected"), [("baseball", True), ("basketball", True), ("rugby", False)], ids=str
)
def test_prefix_matching(value: str, expected: bool) -> None:
    # string-value-matching.html, Prefix matching: "customer_interests": [{"prefix": "bas"}].
    assert (
        matches({"customer_interests": [{"prefix": "bas"}]}, {"customer_interests": string(value)})
        is expected
    )


@pytest.mark.parametrize("value", ["301.5", "3.015e2"])
def test_numeric_exact_matching(value: str) -> None:
    # numeric-value-matching.html, Exact matching: "price_usd": [{"numeric": ["=",301.5]}] matches 301.5
    # and 3.015e2.
    assert matches({"price_usd": [{"numeric": ["=", 301.5]}]}, {"price_usd": number(value)})


@pytest.mark.parametrize(("value", "expected"), [("101", True), ("100.1", True), ("100", False)], ids=str)
def test_numeric_anything_but_matching(value: str, expected: bool) -> None:
    # numeric-value-matching.html, Anything-but matching: "price": [{"anything-but": [100, 500]}] matches
    # 101 and 100.1, not 100.
    assert matches({"price": [{"anything-but": [100, 500]}]}, {"price": number(value)}) is expected


@pytest.mark.parametrize(("value", "expected"), [("-0.5", True), ("0", False)], ids=str)
def test_numeric_less_than_matching(value: str, expected: bool) -> None:
    # numeric-value-matching.html, Value range matching: "price_usd": [{"numeric": ["<", 0]}] "matches any
    # message attributes with negative numeric values".
    assert matches({"price_usd": [{"numeric": ["<", 0]}]}, {"price_usd": number(value)}) is expected


@pytest.mark.parametrize(
    ("value", "expected"), [("0", False), ("0.01", True), ("150", True), ("150.5", False)], ids=str
)
def test_numeric_range_matching(value: str, expected: bool) -> None:
    # numeric-value-matching.html, Value range matching: [{"numeric": [">", 0, "<=", 150]}] "matches any
    # message attributes with positive numbers up to and including 150".
    policy = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}
    assert matches(policy, {"price_usd": number(value)}) is expected


@pytest.mark.parametrize(
    ("interest", "price", "expected"),
    [("rugby", "210.75", True), ("rugby", "99", False), ("soccer", "210.75", False)],
    ids=["both", "price-too-low", "other-interest"],
)
def test_and_logic_across_keys(interest: str, price: str, expected: bool) -> None:
    # and-or-logic.html, AND logic: {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}
    # matches rugby *and* a price larger than 100.
    policy = {"customer_interests": ["rugby"], "price_usd": [{"numeric": [">", 100]}]}
    attributes = {"customer_interests": string(interest), "price_usd": number(price)}
    assert matches(policy, attributes) is expected


@pytest.mark.parametrize(("value", "expected"), [("football", True), ("tennis", False)], ids=str)
def test_or_logic_within_a_key(value: str, expected: bool) -> None:
    # and-or-logic.html, OR logic: "customer_interests": ["rugby", "football", "baseball"].
    policy = {"customer_interests": ["rugby", "football", "baseball"]}
    assert matches(policy, {"customer_interests": string(value)}) is expected


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"source": string("aws.cloudwatch"), "metricName": string("CPUUtilization")}, True),
        ({"source": string("aws.cloudwatch"), "namespace": string("AWS/EC2")}, True),
        ({"source": string("aws.cloudwatch"), "metricName": string("ReadLatency")}, False),
        ({"metricName": string("CPUUtilization"), "namespace": string("AWS/EC2")}, False),
    ],
    ids=["source-and-metric", "source-and-namespace", "source-only", "no-source"],
)
def test_or_operator_across_keys(attributes: dict[str, Any], expected: bool) -> None:
    # and-or-logic.html, OR operator, Standard OR: "source" && ("metricName" || "namespace").
    policy = {
        "source": ["aws.cloudwatch"],
        "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}],
    }
    assert matches(policy, attributes) is expected


def test_binary_attributes_are_ignored() -> None:
    # subscription-filter-policy-constraints.html: "Amazon SNS ignores message attributes with the
    # Binary data type."
    assert not matches(
        {"TestBinary": [{"exists": True}]}, {"TestBinary": {"Type": "Binary", "Value": "AA=="}}
    )


def test_an_operator_not_implemented_here_is_refused() -> None:
    # An operator this module does not encode must fail the test that uses it, not read as a match or a miss.
    with pytest.raises(ValueError, match="suffix"):
        matches({"store": [{"suffix": "corp"}]}, {"store": string("example_corp")})
