"""Price tables and the cost expression: what a logged call cost, in USD.

Only loading a price file happens here; no other I/O. See docs/pricing.md.
"""

from __future__ import annotations

from genailog.pricing.cost import with_cost
from genailog.pricing.table import (
    ModelPrice,
    PriceTable,
    default_prices,
    load_prices,
    price_table_from_json,
)

__all__ = [
    "ModelPrice",
    "PriceTable",
    "default_prices",
    "load_prices",
    "price_table_from_json",
    "with_cost",
]
