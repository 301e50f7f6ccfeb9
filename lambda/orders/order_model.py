"""The order as clients send it, and as it is read back from the table."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

ORDER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"

Identifier = Annotated[str, Field(min_length=1, max_length=64)]

# Quantizing makes 12.5 and 12.50 the same stored value and the same content hash.
CENTS = Decimal("0.01")


class OrderItem(BaseModel):
    # Strict: a JSON "3", 3.0 or true is not a quantity; prices may come as JSON numbers or strings.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    sku: Identifier
    quantity: Annotated[int, Field(ge=1, le=1000)]
    unit_price: Annotated[Decimal, Field(gt=0, decimal_places=2)]

    @field_validator("unit_price")
    @classmethod
    def _to_cents(cls, price: Decimal) -> Decimal:
        return price.quantize(CENTS)


class Order(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    order_id: Annotated[str, Field(pattern=ORDER_ID_PATTERN)]
    customer_id: Identifier
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    items: Annotated[list[OrderItem], Field(min_length=1, max_length=100)]

    def canonical_hash(self) -> str:
        """sha256 of the canonical JSON: tells a retry from a different order with the same id."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class StoredOrder(Order):
    """An order plus what the store added. Validate with strict=False: DynamoDB returns numbers as Decimal."""

    # Attributes added to the table later must not break the read path a DR drill depends on.
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    created_at: str
    region: str
    content_hash: str
