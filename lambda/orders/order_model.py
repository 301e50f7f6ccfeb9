"""The order as clients send it, and as it is read back from the table."""

from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

Identifier = Annotated[str, Field(min_length=1, max_length=64)]

# A unit price has at most 10 integer digits and 2 decimals: below ten billion, in cents. The bound keeps
# every accepted value far inside what Decimal's default 28-digit context can quantize (beyond it, quantize
# raises) and DynamoDB's 38-digit numbers.
PRICE_MAX_DIGITS = 12
PRICE_DECIMAL_PLACES = 2
CENTS = Decimal("0.01")

# Digits with an optional fraction, ASCII only. Decimal() on its own also reads " 1.00 ", "1_000.00", "+1.00",
# "1e2", "NaN" and non-ASCII digits.
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def parse_json(body: str) -> Any:
    """A request body as Python values, with JSON numbers that have a fraction or exponent as exact Decimals.

    As floats, 19.99 would reach the price check as 19.989999999999998436805981327779591083526611328125.
    """
    try:
        return json.loads(body, parse_float=Decimal)
    except json.JSONDecodeError:
        raise
    except ValueError as error:
        # Python refuses to convert an integer of more than 4300 digits: to the client, unreadable JSON.
        raise json.JSONDecodeError("number too long", body, 0) from error


def _price_from_json(value: object) -> Decimal:
    # parse_json hands over JSON numbers as int or Decimal (NaN and Infinity as float), JSON strings as str.
    if isinstance(value, str) and _PLAIN_DECIMAL.fullmatch(value):
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    if isinstance(value, Decimal) and value.is_finite():
        return value
    raise ValueError('must be a JSON number or a plain decimal string such as "19.99"')


def _to_cents(price: Decimal) -> Decimal:
    # Quantizing makes 12.5 and 12.50 the same stored value and the same content hash.
    return price.quantize(CENTS)


Price = Annotated[
    Decimal,
    BeforeValidator(_price_from_json),
    Field(gt=0, max_digits=PRICE_MAX_DIGITS, decimal_places=PRICE_DECIMAL_PLACES),
    AfterValidator(_to_cents),
]


class OrderItem(BaseModel):
    # Strict: a JSON "3", 3.0 or true is not a quantity.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    sku: Identifier
    quantity: Annotated[int, Field(ge=1, le=1000)]
    unit_price: Price


class Order(BaseModel):
    """What a client may send. Validated from ``parse_json``'s output (Python values, not JSON text)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN)]
    customer_id: Identifier
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=100)]

    def canonical_hash(self) -> str:
        """sha256 of the canonical JSON: tells a retry from a different order with the same id."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


# The table outlives any one version of this code, and a DR drill depends on reading back what it wrote: the
# read models take what they know from a stored item and ignore the rest, at every level. Lax, since DynamoDB
# returns every number as Decimal. An error on read must not quote the item in the logs: inputs are hidden.
_STORED = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

# Formatting, unlike quantize, cannot fail on a stored value of any size.
StoredPrice = Annotated[
    Decimal, PlainSerializer(lambda price: f"{price:.2f}", return_type=str, when_used="json")
]


class StoredItem(BaseModel):
    model_config = _STORED

    sku: str
    quantity: int
    unit_price: StoredPrice


class StoredOrder(BaseModel):
    """An order plus what the store added."""

    model_config = _STORED

    order_id: str
    customer_id: str
    currency: str
    items: list[StoredItem]
    created_at: str
    region: str
    content_hash: str
