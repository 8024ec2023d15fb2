"""The platform's own fee and commission schedules: what the simulated Douyin actually charges.

The merchant's ``dbt_project/seeds/platform_fee_rates.csv`` is only what the merchant *expects*; the
simulator never reads it. Its categories and starting rates agree with the seed (so a world with
every quirk off settles at the expected rates), and ``FeeSchedule`` adds the announced changes: one
category's platform service fee rate changes on an effective day (by settlement day: the bill of a
line settled on or after that day uses the new rate). ``campaigns`` gives creators a different
commission rate during a campaign window; 精选联盟 orders carry the rate in force at payment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

# first_cid -> (name, platform service fee rate in basis points) as the platform charged it at the start.
PLATFORM_RATES_BP: dict[int, tuple[str, int]] = {
    20000: ("服饰内衣", 500),
    20001: ("美妆个护", 500),
    20002: ("食品饮料", 300),
    20003: ("家居日用", 400),
    20004: ("数码家电", 200),
    20005: ("母婴宠物", 400),
}


@dataclass(frozen=True)
class RateChange:
    first_cid: int
    effective: date  # first settlement day at the new rate
    old_bp: int
    new_bp: int


@dataclass
class FeeSchedule:
    """Platform service fee rate per category and settlement day (``rate_bp``)."""

    base: dict[int, int]
    changes: list[RateChange] = field(default_factory=list)

    @classmethod
    def build(cls, start: date, days: int, change_bp: int) -> FeeSchedule:
        """The start rates, and (``change_bp`` ≠ 0) the rate of the first shop's main category (the one
        selling most: a short world still settles some of it) changed by ``change_bp`` from the day at ¾ of
        the world (settlements start ~9 days in, so a two-week world sees the change)."""
        base = {cid: bp for cid, (_, bp) in PLATFORM_RATES_BP.items()}
        changes = []
        if change_bp and days >= 4:
            cid = min(base)
            changes.append(RateChange(cid, start + timedelta(days=(3 * days) // 4), base[cid], base[cid] + change_bp))
        return cls(base, changes)

    def rate_bp(self, first_cid: np.ndarray, settle_day_no: np.ndarray) -> np.ndarray:
        """Rate per line from its category and settlement business day (days since 1970-01-01)."""
        out = np.array([self.base[int(c)] for c in first_cid], dtype=np.int64) if len(first_cid) else np.zeros(0, int)
        for ch in self.changes:
            eff = (ch.effective - date(1970, 1, 1)).days
            out = np.where((first_cid == ch.first_cid) & (settle_day_no >= eff), ch.new_bp, out)
        return out.astype(np.int64)

    def as_rows(self) -> list[dict]:
        return [
            {
                "first_cid": str(c.first_cid),
                "effective_date": c.effective.isoformat(),
                "old_rate_bp": c.old_bp,
                "new_rate_bp": c.new_bp,
            }
            for c in self.changes
        ]


@dataclass(frozen=True)
class Campaign:
    """A creator's commission rate during ``[start, end]`` (pay days, inclusive)."""

    author: int  # author index in the catalogue
    start: date
    end: date
    rate_bp: int


def draw_campaigns(
    rng: np.random.Generator, creators: list[int], base_bp: list[int], start: date, days: int, share: float
) -> list[Campaign]:
    """A ``share`` of the creators run a campaign of 3–7 days somewhere in the world at +500 or −500 bp."""
    out: list[Campaign] = []
    if share <= 0 or days < 2:
        return out
    for a in creators:
        if rng.random() >= share:
            continue
        length = int(rng.integers(3, 8))
        first = int(rng.integers(0, max(1, days - 2)))
        delta = int(rng.choice([500, -500]))
        rate = max(500, base_bp[a] + delta)
        if rate == base_bp[a]:
            continue
        out.append(Campaign(a, start + timedelta(days=first), start + timedelta(days=first + length - 1), rate))
    return out


def commission_bp(author: np.ndarray, base_bp: np.ndarray, pay_day: date, campaigns: list[Campaign]) -> np.ndarray:
    """Commission rate per line (author index, −1 none) on a pay day: the campaign rate where one runs."""
    out = np.where(author >= 0, base_bp[np.maximum(author, 0)], 0).astype(np.int64)
    for c in campaigns:
        if c.start <= pay_day <= c.end:
            out = np.where(author == c.author, c.rate_bp, out)
    return out
