"""Amazon SNS subscription filter policies in attribute scope, evaluated as the SNS Developer Guide documents.

moto's matcher lets ``{"forwarded_from": [{"exists": false}]}`` match a message without attributes, which
AWS does not: a test that trusted it passed while no CloudWatch alarm was ever delivered. This module
is written from the pages below, not from any implementation, so tests can ask what SNS would deliver.

- Message filtering (no filter policy: every message is delivered):
  https://docs.aws.amazon.com/sns/latest/dg/sns-message-filtering.html
- Subscription filter policies (every policy key must match; one of a key's values is enough):
  https://docs.aws.amazon.com/sns/latest/dg/sns-subscription-filter-policies.html
- Filter policy constraints (case-sensitive strings; numbers with five decimal digits; only String,
  String.Array and Number attributes are compared, Binary ones are ignored; no nesting in attribute scope):
  https://docs.aws.amazon.com/sns/latest/dg/subscription-filter-policy-constraints.html
- Key matching (``exists``; ``"exists": false`` only matches when at least one attribute is present,
  which this module reads as one attribute SNS compares, since the constraints page says Binary ones
  are ignored):
  https://docs.aws.amazon.com/sns/latest/dg/attribute-key-matching.html
- String value matching (exact, ``anything-but``, ``prefix``):
  https://docs.aws.amazon.com/sns/latest/dg/string-value-matching.html
- Numeric value matching (``numeric`` with ``=``, ``<``, ``<=``, ``>``, ``>=`` and ranges; ``anything-but``):
  https://docs.aws.amazon.com/sns/latest/dg/numeric-value-matching.html
- AND/OR logic (keys AND, a key's values OR, the ``$or`` operator):
  https://docs.aws.amazon.com/sns/latest/dg/and-or-logic.html

Attributes come in the shape SNS hands Lambda: ``{"name": {"Type": "String", "Value": "x"}}``. A policy
using an operator this module does not implement (``suffix``, ``equals-ignore-case``, ``cidr``, ...) raises
``ValueError`` rather than guessing, and so does ``anything-but`` against a String.Array attribute: one
version of the string-matching page says it matches when any element is unlisted, a later one when none is.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# "$or" is only an operator when none of its objects uses one of these as a key (AND/OR logic page).
_RESERVED = frozenset({"anything-but", "cidr", "equals-ignore-case", "exists", "numeric", "prefix", "suffix"})
# Filter policy constraints: numeric matching has five digits of accuracy after the decimal point.
_ACCURACY = Decimal("0.00001")
_COMPARE = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def matches(policy: dict[str, Any] | None, attributes: dict[str, Any]) -> bool:
    """Whether SNS delivers a message with these attributes to a subscription with this filter policy
    (FilterPolicyScope ``MessageAttributes``, the default). ``None`` is a subscription without a policy."""
    if policy is None:
        return True
    compared = {
        name: _elements(attribute)
        for name, attribute in attributes.items()
        if not attribute["Type"].startswith("Binary")
    }
    return _policy_matches(policy, compared)


def _policy_matches(policy: Mapping[str, Any], compared: Mapping[str, list[Any]]) -> bool:
    for key, values in policy.items():
        if key == "$or" and _is_or_operator(values):
            if not any(_policy_matches(branch, compared) for branch in values):
                return False
        elif not isinstance(values, list):
            raise ValueError(f"attribute-scope filter policies take a list per key, got {key!r}: {values!r}")
        elif not any(_value_matches(value, compared.get(key), bool(compared)) for value in values):
            return False
    return True


def _is_or_operator(values: Any) -> bool:
    return (
        isinstance(values, list)
        and len(values) >= 2
        and all(isinstance(branch, dict) and not _RESERVED & branch.keys() for branch in values)
    )


def _elements(attribute: Mapping[str, str]) -> list[Any]:
    """The values a policy compares: a String.Array's elements each on its own, a Number as a number."""
    kind, value = attribute["Type"], attribute["Value"]
    if kind.startswith("String.Array"):
        return [_number(item) if _is_number(item) else item for item in json.loads(value)]
    if kind.startswith("Number"):
        return [_number(value)]
    return [value]


def _value_matches(value: Any, elements: list[Any] | None, has_attributes: bool) -> bool:
    if isinstance(value, dict):
        if len(value) != 1:
            raise ValueError(f"one operator per filter value, got {value!r}")
        ((operator, operand),) = value.items()
        if operator == "exists":
            return elements is not None if operand else elements is None and has_attributes
        if elements is None:
            return False
        if operator == "prefix":
            return any(isinstance(element, str) and element.startswith(operand) for element in elements)
        if operator == "numeric":
            return any(_in_range(operand, element) for element in elements if isinstance(element, Decimal))
        if operator == "anything-but":
            return _anything_but(operand, elements)
        raise ValueError(f"filter operator {operator!r} is not implemented here")
    return elements is not None and any(_equal(value, element) for element in elements)


def _anything_but(operand: Any, elements: list[Any]) -> bool:
    if len(elements) != 1:
        raise ValueError("anything-but against a String.Array: the SNS string-matching pages disagree")
    (element,) = elements
    if isinstance(operand, dict):
        raise ValueError(f"anything-but with an operator ({operand!r}) is not implemented here")
    excluded = operand if isinstance(operand, list) else [operand]
    return not any(_equal(value, element) for value in excluded)


def _in_range(operand: list[Any], element: Decimal) -> bool:
    if len(operand) not in (2, 4):
        raise ValueError(f"numeric takes one or two (operator, number) pairs, got {operand!r}")
    pairs = zip(operand[::2], operand[1::2], strict=True)
    return all(_COMPARE[operator](element, _number(bound)) for operator, bound in pairs)


def _equal(value: Any, element: Any) -> bool:
    if _is_number(value):
        return isinstance(element, Decimal) and _number(value) == element
    return isinstance(value, str) and value == element


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(_ACCURACY)
