"""Scale factors as specs: shops × days × orders per shop per day (``generate_world`` takes the total)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date


@dataclass(frozen=True)
class Scale:
    name: str
    shops: int
    days: int
    orders_per_shop_day: int
    seed: int = 11
    start: date = date(2026, 10, 1)  # = the demo's; the DAGs' start_date is not later

    @property
    def orders_per_day(self) -> int:
        """``generate_world(orders_per_day=…)``: mean orders per day across ALL shops."""
        return self.shops * self.orders_per_shop_day

    @property
    def expected_orders(self) -> int:
        return self.orders_per_day * self.days

    def to_dict(self) -> dict:
        d = asdict(self)
        d["start"] = self.start.isoformat()
        d["orders_per_day"] = self.orders_per_day
        d["expected_orders"] = self.expected_orders
        return d


# The last day of every world is the "one more incremental day"; the full build covers the days before it.
SCALES: dict[str, Scale] = {
    "smoke": Scale("smoke", shops=2, days=2, orders_per_shop_day=10),
    "0.1": Scale("0.1", shops=2, days=30, orders_per_shop_day=300),
    "1": Scale("1", shops=2, days=30, orders_per_shop_day=3_000),
    "10": Scale("10", shops=2, days=30, orders_per_shop_day=30_000),
    "100": Scale("100", shops=2, days=365, orders_per_shop_day=15_000),
}
ALIASES = {"0.01": "smoke", "0": "smoke", "1.0": "1", "10.0": "10", "100.0": "100"}


def get(name: str) -> Scale:
    key = ALIASES.get(str(name), str(name))
    if key not in SCALES:
        raise ValueError(f"unknown scale factor {name!r}; use one of {', '.join(SCALES)} (or 0.01 for smoke)")
    return SCALES[key]
