"""Settlement (结算), reversals, fund flows and alliance commissions of one creation day's lines,
with the injected finance anomalies, and the per-line reconciliation truth (contract rules).

Fees: ``fee_of(base, bp)`` is ``douyin_etl.money.rate_of`` vectorised for non-negative bases
(round half up of base × bp / 10000); a test checks the two agree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TypeVar

import numpy as np

from douyin_sim.simulator.behaviour import Behaviour
from douyin_sim.simulator.orders import ALLIANCE, D, DayOrders, H

SETTLE_DELAY_DAYS = 7
GRACE_DAYS = 3
ROUNDING_TOLERANCE_FEN = 1  # |settled − expected| up to this is rounding, not a fee mismatch
SHANGHAI_OFFSET = 8 * H


def fee_of(base: np.ndarray, bp: np.ndarray) -> np.ndarray:
    """round_half_up(base × bp / 10000) for base ≥ 0 (same as money.rate_of)."""
    return (base.astype(np.int64) * bp.astype(np.int64) + 5000) // 10000


def _iso(day_number: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=int(day_number))).isoformat()


_UnixTimes = TypeVar("_UnixTimes", np.ndarray, np.int64)


def day_no(t: _UnixTimes) -> _UnixTimes:
    """Days since 1970-01-01 of the Asia/Shanghai business day of unix time ``t`` (an array or one time)."""
    return (t + SHANGHAI_OFFSET) // D


# Injected kinds drawn per eligible line, mutually exclusive.
LINE_KINDS = (
    "missing_settlement",
    "fee_mismatch",
    "duplicate_settlement",
    "refund_after_settlement",
    "refund_not_reversed",
)


@dataclass
class AnomalyLog:
    """Injected anomalies so far (kind, key, detail) and how many of each kind."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    count: dict[str, int] = field(default_factory=dict)
    natural: dict[str, int] = field(default_factory=dict)  # natural discrepancies so far (not anomalies)

    def add(self, kind: str, keys: np.ndarray, details: list[str]) -> None:
        for k, d in zip(keys, details):
            self.rows.append((kind, str(k), d))
        self.count[kind] = self.count.get(kind, 0) + len(keys)


def pick(
    rng: np.random.Generator,
    eligible: np.ndarray,
    rate: float,
    kind: str,
    log: AnomalyLog,
    taken: np.ndarray,
    fallback: np.ndarray | None = None,
) -> np.ndarray:
    """Mask of lines chosen for ``kind`` among ``eligible`` & not ``taken``; at least one per world
    (the first day with an eligible line — else a ``fallback`` line — gets one), so short worlds show
    every kind."""
    free = eligible & ~taken
    chosen = free & (rng.random(len(free)) < rate)
    if log.count.get(kind, 0) == 0 and not chosen.any():
        pool = free if free.any() else (fallback & ~taken if fallback is not None else free)
        if pool.any():
            chosen[rng.choice(np.flatnonzero(pool))] = True
    taken |= chosen
    return chosen


def settle_day(
    rng: np.random.Generator,
    day: DayOrders,
    beh: Behaviour,
    now: int,
    last_day_no: int,
    platform_bp: np.ndarray,
    commission_bp: np.ndarray,
    log: AnomalyLog,
) -> dict[str, dict[str, np.ndarray]]:
    """Settlement rows, fund-flow rows, alliance orders and reconciliation truth for the day's lines.

    Mutates ``day.l`` for injected refunds after settlement (after-sale fields) and returns tables
    (dicts of arrays): ``settlement``, ``fund_flow``, ``alliance``, ``recon``.
    """
    l = day.l
    n = len(l["line_id"])
    alliance = l["channel"] == ALLIANCE
    comm_bp = np.where(alliance, commission_bp, 0)
    colonel_bp = np.where(alliance & (rng.random(n) < beh.colonel_rate), rng.choice([100, 150, 200, 300], n), 0)
    # settlement timing: due 7 days after confirm receipt, paid early that business day
    has_confirm = l["confirm"] > 0
    due_day = np.where(has_confirm, day_no(l["confirm"]) + SETTLE_DELAY_DAYS, 0)
    settle_t = np.where(has_confirm, due_day * D - SHANGHAI_OFFSET + rng.integers(1 * H, 6 * H, n), 0)
    # natural: some settlements come 1..GRACE_DAYS days after the due day (late, never overdue)
    nat = np.random.default_rng(rng.integers(2**62))
    late_settle = has_confirm & (nat.random(n) < beh.late_settlement_rate)
    delay = np.where(late_settle, nat.integers(1, GRACE_DAYS + 1, n) * D, 0)
    # a short world still shows one: the first line that can settle a day late does
    room = has_confirm & ~l["full_refund"] & l["paid"] & (l["as_type"] < 0) & (settle_t + D < now)
    forced_late = np.zeros(n, dtype=bool)  # kept clear of the injected anomalies below
    if beh.late_settlement_rate > 0 and not log.natural.get("late_settlement") and not (late_settle & room).any():
        if room.any():
            k = int(nat.choice(np.flatnonzero(room)))
            late_settle[k], delay[k], forced_late[k] = True, D, True
    settle_t = settle_t + delay
    settleable = has_confirm & ~l["full_refund"] & l["paid"]
    settled = settleable & (settle_t < now)
    overdue = settleable & (due_day + GRACE_DAYS < last_day_no)
    # partial refunds that succeeded before settlement reduce the base: price protection (type 6) and
    # returns / refunds of k of n units (types 0, 1); a full refund means no settlement at all
    partial_ok = ((l["as_type"] == 6) | l["part_units"]) & (l["refund_time"] > 0)
    refund_before = np.where(partial_ok, l["refund_amount"], 0)
    base = l["pay_amount"] - refund_before
    f_plat, f_comm, f_col = fee_of(base, platform_bp), fee_of(base, comm_bp), fee_of(base, colonel_bp)
    expected = base + l["p_plat"] + l["p_tal"] - f_plat - f_comm - f_col

    # -- injected anomalies (disjoint; only observable ones) -----------------------------------
    taken = forced_late.copy()
    clean = settled & (l["as_type"] < 0)
    # missing settlements are injected where they are observable (overdue); a world too short for any
    # overdue line still gets one due-but-unsettled line (reconciled as pending)
    missing = pick(rng, clean & overdue, beh.missing_settlement_rate, "missing_settlement", log, taken, fallback=clean)
    mismatch = pick(rng, clean, beh.fee_mismatch_rate, "fee_mismatch", log, taken)
    dup = pick(rng, clean, beh.duplicate_settlement_rate, "duplicate_settlement", log, taken)
    ras = pick(rng, clean, beh.refund_after_settlement_rate, "refund_after_settlement", log, taken)
    rnr = pick(rng, clean, beh.refund_not_reversed_rate, "refund_not_reversed", log, taken)
    late_refund = ras | rnr
    if late_refund.any():  # a refund-only (type 1, full), a return (type 0) or price protection (type 6)
        idx = np.flatnonzero(late_refund)
        st = settle_t[idx]
        span = np.minimum(now - st, 6 * D)
        apply = st + (span * rng.uniform(0.1, 0.6, len(idx))).astype(np.int64)
        done = apply + np.minimum(((now - apply) * rng.uniform(0.2, 0.9, len(idx))).astype(np.int64), 3 * D)
        typ = np.where(rng.random(len(idx)) < 0.7, 1, 6)
        typ = np.where((typ == 1) & (rng.random(len(idx)) < 0.5), 0, typ)  # half of them a return (退货退款)
        amount = np.where(
            typ != 6,
            l["pay_amount"][idx],
            # 价保: the unit price difference (10-30 % of the unit's paid price) for every unit
            np.maximum(1, np.rint(l["pay_amount"][idx] / l["item_num"][idx] * rng.uniform(0.1, 0.3, len(idx)))).astype(
                np.int64
            )
            * l["item_num"][idx],
        )
        l["as_type"][idx], l["as_apply"][idx], l["as_done"][idx], l["as_update"][idx] = typ, apply, done, done
        l["as_status"][idx], l["refund_status"][idx], l["refund_amount"][idx], l["refund_time"][idx] = (
            12,
            3,
            amount,
            done,
        )
        l["as_success"][idx] = True
        l["as_num"][idx] = l["item_num"][idx]
        l["promo_back"][idx] = np.where(typ != 6, l["p_plat"][idx] + l["p_tal"][idx], 0)
    refund_after = np.where(late_refund, l["refund_amount"], 0)
    reversal_t = reversal_time(rng, l["refund_time"], ras, beh, now)
    fee_delta = np.where(mismatch, rng.choice([-300, -100, 100, 200, 500], n), 0)
    # an overcharge or an undercharge, but never a negative fee (the platform never pays fees out)
    fee_delta = np.where(f_plat + fee_delta < 0, -fee_delta, fee_delta)

    # -- settlement rows: normal (k=1), duplicate (k=2), reversal (k=3) ------------------------
    normal = settled & ~missing
    # natural: the platform's own rounding leaves the fee 1 fen off on a few lines (within tolerance)
    rounding = normal & ~taken & (f_plat > 0) & (nat.random(n) < beh.fee_rounding_rate)
    free = normal & ~taken & (f_plat > 0) & ~late_settle
    if beh.fee_rounding_rate > 0 and not log.natural.get("fee_rounding") and not rounding.any() and free.any():
        rounding[int(nat.choice(np.flatnonzero(free)))] = True
    plat_fee_row = f_plat + fee_delta + np.where(rounding, nat.choice([-1, 1], n), 0)
    rows = []
    for k, mask, t in (
        (1, normal, settle_t),
        (2, dup, np.minimum(settle_t + rng.integers(60, 3600, n), now - 1)),
        (3, ras, reversal_t),
    ):
        idx = np.flatnonzero(mask)
        rows.append((np.full(len(idx), k), idx, t[idx]))
    kk = np.concatenate([r[0] for r in rows]).astype(np.int64)
    li = np.concatenate([r[1] for r in rows]).astype(np.int64)
    tt = np.concatenate([r[2] for r in rows]).astype(np.int64)
    rev = kk == 3
    z = np.zeros(len(li), dtype=np.int64)

    def col(a: np.ndarray) -> np.ndarray:
        return np.where(rev, 0, a[li])

    total_income = col(l["pay_amount"] - refund_before + l["p_plat"] + l["p_tal"])
    total_outcome = col(plat_fee_row + f_comm + f_col)
    settlement = dict(
        line=li,
        k=kk,
        settle_time=tt,
        real_pay_amount=col(l["pay_amount"]),
        refund_before_settle=col(refund_before),
        platform_coupon=col(l["p_plat"]),
        author_coupon=col(l["p_tal"]),
        platform_service_fee=col(plat_fee_row),
        commission=col(f_comm),
        colonel_service_fee=col(f_col),
        total_income=total_income,
        total_outcome=total_outcome,
        settle_amount=np.where(rev, -l["refund_amount"][li], total_income - total_outcome),
        zero=z,
        flow_type=np.where(alliance[li], 3, 4),
    )
    # -- fund flows: credits for settlements, debits for reversals, shipping-insurance deductions
    ins = normal & (rng.random(n) < beh.shipping_insurance_rate) & (settle_t + 3600 < now)
    ins_idx = np.flatnonzero(ins)
    ff_k = np.concatenate([kk, np.full(len(ins_idx), 4)])
    ff_li = np.concatenate([li, ins_idx])
    ff_t = np.concatenate([np.minimum(tt + np.where(rev, 60, 30), now - 1), settle_t[ins_idx] + 3600]).astype(np.int64)
    n_ins = len(ins_idx)
    fund_flow = dict(
        line=ff_li,
        k=ff_k,
        bill_time=ff_t,
        direction=np.concatenate([np.where(rev, 1, 0), np.ones(n_ins, np.int64)]),
        account_amount=np.concatenate([np.abs(settlement["settle_amount"]), rng.choice([50, 80, 120, 180], n_ins)]),
        tag=np.concatenate([np.where(rev, 2, 3), np.full(n_ins, 20)]),
        pay_amount=np.concatenate([settlement["real_pay_amount"], np.zeros(n_ins, np.int64)]),
        promotion_amount=np.concatenate(
            [settlement["platform_coupon"] + settlement["author_coupon"], np.zeros(n_ins, np.int64)]
        ),
        refund_amount=np.concatenate(
            [np.where(rev, l["refund_amount"][li], settlement["refund_before_settle"]), np.zeros(n_ins, np.int64)]
        ),
        platform_service_fee=np.concatenate([settlement["platform_service_fee"], np.zeros(n_ins, np.int64)]),
        commission=np.concatenate([settlement["commission"], np.zeros(n_ins, np.int64)]),
        colonel_service_fee=np.concatenate([settlement["colonel_service_fee"], np.zeros(n_ins, np.int64)]),
    )
    # -- alliance orders ------------------------------------------------------------------------
    a_idx = np.flatnonzero(alliance & l["paid"])
    a_settle = np.where(normal, settle_t, 0)[a_idx]
    a_refunded = (l["full_refund"] | (late_refund & np.isin(l["as_type"], (0, 1))))[a_idx]
    a_status = np.where(
        a_refunded, "REFUND", np.where(a_settle > 0, "SETTLE", np.where(l["confirm"][a_idx] > 0, "CONFIRM", "PAY_SUCC"))
    )
    a_update = np.maximum.reduce([l["pay"][a_idx], l["confirm"][a_idx], a_settle, l["refund_time"][a_idx]])
    alliance_t = dict(
        line=a_idx,
        commission_rate_bp=comm_bp[a_idx],
        colonel_service_rate_bp=colonel_bp[a_idx],
        estimated_comission=fee_of(l["pay_amount"][a_idx], comm_bp[a_idx]),
        real_comission=np.where(a_settle > 0, f_comm[a_idx], 0),
        settle_time=a_settle,
        order_status=a_status,
        update_time=a_update,
    )
    # -- reconciliation truth (contract rules, first match wins) --------------------------------
    p = np.flatnonzero(l["paid"])
    settled_fen = np.zeros(n, dtype=np.int64)
    np.add.at(settled_fen, li, settlement["settle_amount"])
    n_settle_rows = np.bincount(li, minlength=n)
    has_rows = n_settle_rows > 0
    refunded = l["full_refund"] & ~has_rows
    exp_settle = np.where(refunded, 0, expected)
    exp_net = exp_settle - refund_after
    status = np.full(n, "pending", dtype=object)
    reason = np.full(n, None, dtype=object)
    rules = [
        (refunded, "refunded", None),
        (dup, "discrepancy", "duplicate_settlement"),
        (rnr, "discrepancy", "refund_not_reversed"),
        (has_rows & (np.abs(settled_fen - exp_net) > ROUNDING_TOLERANCE_FEN), "discrepancy", "fee_mismatch"),
        (has_rows, "settled", None),
        (~has_rows & overdue, "discrepancy", "missing_settlement"),
    ]
    decided = np.zeros(n, dtype=bool)
    for mask, s, r in rules:
        hit = mask & ~decided
        status[hit] = s
        reason[hit] = r
        decided |= hit
    # natural discrepancies of the line (legitimate: never a reason to flag it)
    natural = np.full(n, None, dtype=object)
    natural[late_settle & normal & (status == "settled")] = "late_settlement"
    natural[rounding & (status == "settled")] = "fee_rounding"
    for kind in ("late_settlement", "fee_rounding"):
        log.natural[kind] = log.natural.get(kind, 0) + int((natural == kind).sum())
    recon = dict(
        line=p,
        expected_settle_fen=exp_settle[p],
        settled_fen=settled_fen[p],
        status=status[p],
        reason=reason[p],
        natural=natural[p],
    )
    # anomaly details
    ids = l["line_id"]
    log.add(
        "missing_settlement",
        ids[missing],
        [f"due {_iso(d)}, overdue={bool(o)}" for d, o in zip(due_day[missing], overdue[missing])],
    )
    log.add("fee_mismatch", ids[mismatch], [f"platform_service_fee off by {int(x)} fen" for x in fee_delta[mismatch]])
    log.add("duplicate_settlement", ids[dup], ["settlement row written twice (two request_no)"] * int(dup.sum()))
    log.add(
        "refund_after_settlement",
        ids[ras],
        [f"refund {int(x)} fen after settlement, reversed" for x in l["refund_amount"][ras]],
    )
    log.add(
        "refund_not_reversed",
        ids[rnr],
        [f"refund {int(x)} fen after settlement, no reversal row" for x in l["refund_amount"][rnr]],
    )
    l["reversal_time"] = np.where(ras, reversal_t, 0)
    return dict(
        settlement=settlement,
        fund_flow=fund_flow,
        alliance=alliance_t,
        recon=recon,
        line_extra=dict(due_day=due_day, settle_time=np.where(normal, settle_t, 0)),
    )


ADJUSTMENT_TAG, COMPENSATION_TAG = 30, 31  # fund-flow account_bill_desc_tag of 调账 and 平台赔付


def reversal_time(
    rng: np.random.Generator, refund_t: np.ndarray, ras: np.ndarray, beh: Behaviour, now: int
) -> np.ndarray:
    """When the reversal row (结算后退款) of a refund after settlement is posted: ``late_reversal_days`` after
    the refund (a later bill), or, when that is past the world's end, some time before it (never in flight
    here: a reversal still missing at the end is the ``refund_not_reversed`` anomaly). 0 where ``ras`` is false."""
    lo, hi = beh.late_reversal_days
    lag = (rng.uniform(lo, hi, len(refund_t)) * D).astype(np.int64)
    room = np.maximum(now - 1 - refund_t, 0)
    lag = np.where(refund_t + lag < now, lag, (room * rng.random(len(refund_t))).astype(np.int64))
    return np.where(ras, refund_t + lag, 0)


def compensation_flows(
    rng: np.random.Generator, l: dict[str, np.ndarray], beh: Behaviour, now: int
) -> dict[str, np.ndarray]:
    """平台赔付: the platform compensates the shop for a share of refunds after shipping (types 0, 1: a
    fast refund whose goods never came back, a carrier's fault) 1-5 days after the refund, 10-50 % of it.
    Fund-flow rows (tag 31, 入账, k = 6) shaped like ``settle_day``'s ``fund_flow``; only those before now."""
    n = len(l["line_id"])
    ok = (l["refund_time"] > 0) & np.isin(l["as_type"], (0, 1)) & (l["ship"] > 0)
    t = l["refund_time"] + (rng.uniform(1, 5, n) * D).astype(np.int64)
    chosen = ok & (rng.random(n) < beh.platform_compensation_rate) & (t < now)
    amount = np.maximum(100, np.rint(l["refund_amount"] * rng.uniform(0.1, 0.5, n)).astype(np.int64) // 100 * 100)
    idx = np.flatnonzero(chosen)
    z = np.zeros(len(idx), np.int64)
    return dict(
        line=idx,
        k=np.full(len(idx), 6, np.int64),
        bill_time=t[idx],
        direction=z.copy(),
        account_amount=amount[idx],
        tag=np.full(len(idx), COMPENSATION_TAG, np.int64),
        pay_amount=z.copy(),
        promotion_amount=z.copy(),
        refund_amount=z.copy(),
        platform_service_fee=z.copy(),
        commission=z.copy(),
        colonel_service_fee=z.copy(),
    )


def adjustment_flows(
    rng: np.random.Generator, day: DayOrders, settle_time: np.ndarray, now: int, rate: float, force: bool = False
) -> dict[str, np.ndarray]:
    """调账: fund-flow rows (k=5, tag 30) that adjust a settled line 2–10 days after its settlement (or
    within the world when it ends sooner), positive (the platform pays more) or negative; they never
    touch the settlement bill. ``force``: at least one today when a settled line can take it."""
    l = day.l
    n = len(l["line_id"])
    t = settle_time + rng.integers(2 * D, 10 * D, n)
    t = np.where(t >= now, settle_time + (now - settle_time) // 2, t)
    ok = (settle_time > 0) & (t < now) & (t > settle_time)
    pick_ = ok & (rng.random(n) < rate)
    if force and rate > 0 and not pick_.any() and ok.any():
        pick_[int(rng.choice(np.flatnonzero(ok)))] = True
    idx = np.flatnonzero(pick_)
    k = len(idx)
    z = np.zeros(k, np.int64)
    return dict(
        line=idx,
        k=np.full(k, 5, np.int64),
        bill_time=t[idx].astype(np.int64),
        direction=(rng.random(k) < 0.4).astype(np.int64),  # 1 out (the platform takes back), 0 in
        account_amount=rng.choice([100, 250, 500, 1200, 3000], k).astype(np.int64),
        tag=np.full(k, ADJUSTMENT_TAG, np.int64),
        pay_amount=z,
        promotion_amount=z,
        refund_amount=z,
        platform_service_fee=z,
        commission=z,
        colonel_service_fee=z,
    )


def concat_flows(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two fund-flow tables (same keys) as one."""
    return {key: np.concatenate([a[key], b[key]]).astype(np.asarray(a[key]).dtype) for key in a}


@dataclass(frozen=True)
class DepositEvent:
    """One 保证金 movement of a shop: top-up, penalty deduction (违规扣款) or refund (退还 to the shop account)."""

    shop: int
    day: int  # day index in the world
    kind: str  # deposit_topup | deposit_deduction | deposit_refund
    amount: int  # fen


DEPOSIT_TAGS = {"deposit_topup": 40, "deposit_deduction": 41, "deposit_refund": 42}


def deposit_plan(rng: np.random.Generator, shops: int, days: int) -> list[DepositEvent]:
    """Each shop tops its deposit up on the first day, is fined 1–3 times (at least once, on day 2 or
    later when the world has one) and gets part of the deposit back at ¾ of the world."""
    out = []
    for s in range(shops):
        deposit = int(rng.choice([2_000_000, 5_000_000]))
        out.append(DepositEvent(s, 0, "deposit_topup", deposit))
        fined = 0
        for d in sorted({int(x) for x in rng.integers(min(2, days - 1), days, int(rng.integers(1, 4)))}):
            amount = int(rng.choice([5_000, 10_000, 20_000, 50_000]))
            out.append(DepositEvent(s, d, "deposit_deduction", amount))
            fined += amount
        if days >= 4:
            out.append(DepositEvent(s, (3 * days) // 4, "deposit_refund", (deposit - fined) // 10 // 100 * 100))
    return out
