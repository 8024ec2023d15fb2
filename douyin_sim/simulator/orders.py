"""One creation day of orders, vectorised: shop orders, SKU lines, their whole lifecycle and after-sales.

Every future event of an order is decided the day it is created (fulfilment, after-sales, settlement)
and then cut at the world's "now" (end of the last day): what has not happened by then does not exist.
All arrays are numpy; times are unix seconds (0 = not happened), money is integer fen.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from douyin_sim.simulator.behaviour import Behaviour
from douyin_sim.simulator.catalog import ORDER_BASE, PROVINCE_W, PROVINCES, Catalog
from douyin_sim.simulator.content import DayContent

H = 3600
D = 86400
ALLIANCE, LIVE, VIDEO, SEARCH, CARD = range(5)
CHANNEL_NAMES = np.array(["alliance", "live", "video", "search", "card"])
# diurnal profile of order creation (share per local hour)
_HOURS = np.array([2, 1, 1, 0.5, 0.5, 0.5, 1, 2, 3, 4, 5, 5, 5, 4.5, 4, 4, 4, 4.5, 5, 6, 7.5, 8, 7, 4], dtype=float)
_HOURS /= _HOURS.sum()


def uni(rng: np.random.Generator, lo: float, hi: float, n: int) -> np.ndarray:
    return rng.uniform(lo, hi, n)


@dataclass
class DayOrders:
    """Arrays of one creation day. ``o_*``: one element per shop order; ``l_*``: per SKU line."""

    o: dict[str, np.ndarray]
    l: dict[str, np.ndarray]


def generate_orders(
    rng: np.random.Generator,
    cat: Catalog,
    content: DayContent,
    beh: Behaviour,
    day_start: int,
    now: int,
    orders_mean: float,
    seq0: int,
    qrng: np.random.Generator | None = None,
) -> DayOrders:
    """Orders created on the day starting at ``day_start``; ``seq0`` continues the global order sequence.

    ``qrng`` draws the lifecycle quirks (presale, partial-unit refunds, 运费险 claims; ``Behaviour``) from a
    stream of its own, so switching a quirk off leaves every other draw of the day as it was.
    """
    qrng = qrng if qrng is not None else np.random.default_rng(seq0)
    n_shops = cat.n_shops
    shop_w = 1.0 / np.sqrt(np.arange(1, n_shops + 1))
    m = int(rng.poisson(orders_mean))
    shop = rng.choice(n_shops, m, p=shop_w / shop_w.sum()).astype(np.int64)
    hour = rng.choice(24, m, p=_HOURS)
    create = day_start + hour * H + rng.integers(0, H, m)
    channel = rng.choice(5, m, p=np.array(beh.channel_weights) / sum(beh.channel_weights)).astype(np.int64)
    author = np.full(m, -1, dtype=np.int64)
    room = np.zeros(m, dtype=np.int64)
    video = np.zeros(m, dtype=np.int64)
    is_creator = np.asarray(cat.a_is_creator, dtype=bool)
    for s in range(n_shops):
        own_rooms = np.flatnonzero((content.room_shop == s) & ~is_creator[content.room_anchor])
        creator_rooms = np.flatnonzero((content.room_shop == s) & is_creator[content.room_anchor])
        vids = np.flatnonzero(content.vid_shop == s)
        creators = cat.authors_of(s, True)
        # live orders happen inside one of the shop's own live sessions
        idx = np.flatnonzero((shop == s) & (channel == LIVE))
        if len(own_rooms) == 0:
            channel[idx] = CARD
        elif len(idx):
            w = content.room_viewers[own_rooms].astype(float)
            r = own_rooms[rng.choice(len(own_rooms), len(idx), p=w / w.sum())]
            room[idx] = content.room_id[r]
            author[idx] = content.room_anchor[r]
            create[idx] = content.room_start[r] + (
                rng.random(len(idx)) * (content.room_end[r] - content.room_start[r])
            ).astype(np.int64)
        idx = np.flatnonzero((shop == s) & (channel == VIDEO))
        if len(vids) == 0:
            channel[idx] = CARD
        elif len(idx):
            w = content.vid_plays[vids].astype(float)
            v = vids[rng.choice(len(vids), len(idx), p=w / w.sum())]
            video[idx] = content.vid_id[v]
            author[idx] = content.vid_author[v]
        # alliance (精选联盟) orders: a creator's live room (half the time, when one is on) or showcase
        idx = np.flatnonzero((shop == s) & (channel == ALLIANCE))
        if len(idx):
            author[idx] = rng.choice(creators, len(idx))
            if len(creator_rooms):
                in_room = idx[rng.random(len(idx)) < 0.5]
                r = creator_rooms[rng.integers(0, len(creator_rooms), len(in_room))]
                room[in_room] = content.room_id[r]
                author[in_room] = content.room_anchor[r]
                create[in_room] = content.room_start[r] + (
                    rng.random(len(in_room)) * (content.room_end[r] - content.room_start[r])
                ).astype(np.int64)
    create = np.minimum(create, day_start + D - 120)
    order_id = ORDER_BASE + (seq0 + np.arange(m, dtype=np.int64)) * 16
    paid = rng.random(m) < beh.pay_rate
    pay_t = create + rng.integers(5, beh.pay_timeout_s, m)
    if not beh.pay_after_midnight:  # the simple world: every order paid on its creation day
        pay_t = np.minimum(pay_t, day_start + D - 1)
    paid &= pay_t < now  # an order created just before "now" may still be awaiting payment (待支付)
    pay = np.where(paid, pay_t, 0)
    expired = ~paid & (create + beh.pay_timeout_s < now)
    expired = expired if beh.unpaid_expire else np.zeros(m, dtype=bool)
    cancel = np.where(expired, create + beh.pay_timeout_s, 0)
    pool = max(50, int(orders_mean / max(1, n_shops) * 25))
    buyer = shop * 1_000_000_000 + (pool * rng.random(m) ** 1.6).astype(np.int64)
    province = rng.choice(len(PROVINCES), m, p=PROVINCE_W / PROVINCE_W.sum()).astype(np.int64)
    post_amount = np.where(rng.random(m) < beh.post_amount_rate, rng.choice([500, 800, 1000], m), 0).astype(np.int64)

    # -- lines -----------------------------------------------------------------------------------
    nl = np.minimum(rng.geometric(1 - beh.extra_line_rate, m), 4).astype(np.int64)
    lo = np.repeat(np.arange(m), nl)  # line -> order index
    first = np.concatenate([[0], np.cumsum(nl)[:-1]]) if m else np.zeros(0, np.int64)
    pos = np.arange(len(lo)) - np.repeat(first, nl)
    n = len(lo)
    line_id = order_id[lo] + 1 + pos
    sku = np.zeros(n, dtype=np.int64)
    l_shop = shop[lo]
    for s in range(n_shops):
        idx = np.flatnonzero(l_shop == s)
        cands = np.flatnonzero(cat.s_shop == s)
        w = cat.s_popularity[cands]
        sku[idx] = cands[rng.choice(len(cands), len(idx), p=w / w.sum())]
    item_num = (1 + (rng.random(n) < 0.15) + (rng.random(n) < 0.05)).astype(np.int64)
    unit_price = cat.s_price[sku].copy()
    origin = unit_price * item_num
    creator_line = (channel[lo] == ALLIANCE) | ((author[lo] >= 0) & is_creator[np.maximum(author[lo], 0)])
    p_shop = np.where(rng.random(n) < beh.shop_promo_rate, np.rint(origin * uni(rng, 0.05, 0.15, n)), 0).astype(
        np.int64
    )
    p_plat = np.where(rng.random(n) < beh.platform_promo_rate, np.rint(origin * uni(rng, 0.03, 0.10, n)), 0).astype(
        np.int64
    )
    p_tal = np.where(
        creator_line & (rng.random(n) < beh.talent_promo_rate), np.rint(origin * uni(rng, 0.02, 0.08, n)), 0
    ).astype(np.int64)
    promo = p_shop + p_plat + p_tal
    l_pay_amount = origin - promo
    l_paid = paid[lo]
    l_pay = pay[lo]

    # -- fulfilment (per shop order) --------------------------------------------------------------
    sla = paid & (rng.random(m) < beh.sla_miss_rate)
    delay = np.where(sla, uni(rng, 49, 72, m), uni(rng, 1, 46, m)) * H
    # presale (预售, full payment): a promised ship time days or weeks after payment; shipped by it
    # (or, for an SLA miss, 1-24 h after it)
    presale = paid & (qrng.random(m) < beh.presale_rate)
    lo_d, hi_d = beh.presale_days
    promised = pay + (qrng.uniform(lo_d, hi_d, m) * D).astype(np.int64)
    exp_ship_o = np.where(presale, promised, np.where(paid, pay + 48 * H, 0))
    delay = np.where(presale, promised - pay + np.where(sla, uni(qrng, 1, 24, m), -uni(qrng, 1, 72, m)) * H, delay)
    ship_plan = np.where(paid, pay + delay.astype(np.int64), 0)
    receipt_plan = ship_plan + (uni(rng, 18, 96, m) * H).astype(np.int64)
    fast = rng.random(m) < 0.45  # buyers who confirm the day they receive
    confirm_plan = receipt_plan + np.where(fast, uni(rng, 0.5, 8, m) * H, uni(rng, 1, 7, m) * D).astype(np.int64)

    # -- after-sales (per paid line; one at most) ------------------------------------------------
    rates = np.cumsum(
        [
            beh.refund_before_ship_rate,
            beh.return_refund_rate,
            beh.refund_after_ship_rate,
            beh.exchange_rate,
            beh.price_protect_rate,
            beh.resend_rate,
        ]
    )
    kinds = np.array([2, 0, 1, 3, 6, 7])
    u = rng.random(n)
    k = np.searchsorted(rates, u, side="right")
    as_type = np.where(l_paid & (k < len(kinds)), kinds[np.minimum(k, len(kinds) - 1)], -1)
    success = rng.random(n) < beh.aftersale_success_rate
    sp, rp, cp = ship_plan[lo], receipt_plan[lo], confirm_plan[lo]
    apply = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=np.int64)
    f1, f2 = rng.random(n), rng.random(n)
    t = as_type == 2
    apply[t] = l_pay[t] + ((sp[t] - l_pay[t]) * (0.05 + 0.5 * f1[t])).astype(np.int64)
    done[t] = apply[t] + ((sp[t] - apply[t]) * (0.2 + 0.7 * f2[t])).astype(np.int64)
    t = np.isin(as_type, (0, 3, 7))
    apply[t] = rp[t] + ((cp[t] - rp[t]) * (0.1 + 0.8 * f1[t])).astype(np.int64)
    done[t] = apply[t] + ((2 + 5 * f2[t]) * D).astype(np.int64)
    t = as_type == 1
    apply[t] = sp[t] + ((cp[t] - sp[t]) * (0.1 + 0.8 * f1[t])).astype(np.int64)
    done[t] = apply[t] + ((1 + 2 * f2[t]) * D).astype(np.int64)
    t = as_type == 6
    apply[t] = l_pay[t] + ((0.5 + 3.5 * f1[t]) * D).astype(np.int64)
    done[t] = apply[t] + ((2 + 34 * f2[t]) * H).astype(np.int64)
    exists = (as_type >= 0) & (apply < now)
    as_type = np.where(exists, as_type, -1)
    closed = exists & (done < now)
    money = np.isin(as_type, (0, 1, 2, 6))
    # a return or refund after shipping of a multi-unit line may take back k of its n units
    part_units = np.isin(as_type, (0, 1)) & (item_num >= 2) & (qrng.random(n) < beh.partial_unit_refund_rate)
    as_num = np.where(part_units, qrng.integers(1, np.maximum(item_num, 2)), item_num)
    full = np.isin(as_type, (0, 1, 2)) & ~part_units
    refunded_ok = closed & success & money
    part_ratio = uni(rng, 0.10, 0.30, n)
    # 价保: the unit price difference (10-30 % of the unit's paid price) refunded for every unit
    protect = np.rint(l_pay_amount / item_num * part_ratio).astype(np.int64) * item_num
    refund_amount = np.where(
        money,
        np.where(
            full,
            l_pay_amount,
            np.where(part_units, (l_pay_amount * as_num * 2 + item_num) // (2 * item_num), protect),
        ),
        0,
    )
    # 运费险: a successful return's freight is paid to the buyer by the insurer (not by the shop)
    claim = np.where(
        refunded_ok & (as_type == 0) & (qrng.random(n) < beh.return_insurance_claim_rate),
        qrng.choice([800, 1000, 1200, 1500], n),
        0,
    )
    # pro rata k / n, rounded half up (as every amount of the platform)
    promo_back = np.where(
        full, p_plat + p_tal, np.where(part_units, ((p_plat + p_tal) * as_num * 2 + item_num) // (2 * item_num), 0)
    ).astype(np.int64)
    refund_time = np.where(refunded_ok, done, 0)
    full_refund = refunded_ok & full  # line closed by a full refund (before any settlement)

    # -- line timeline, cut at now --------------------------------------------------------------
    l_ship = np.where(l_paid & ~((as_type == 2) & success) & (sp < now), sp, 0)
    l_ship = np.where((as_type == 2) & success & ~closed & (sp < now), 0, l_ship)  # refund pending: held
    l_receipt = np.where((l_ship > 0) & (rp < now), rp, 0)
    after_close = np.where(np.isin(as_type, (0, 1, 3, 7)), np.maximum(cp, done + H), cp)
    l_confirm = np.where(
        (l_receipt > 0) & ~full_refund & (after_close < now) & ~(np.isin(as_type, (0, 1, 3, 7)) & ~closed),
        after_close,
        0,
    )
    l_finish = np.where(full_refund, refund_time, l_confirm)
    status = np.where(
        ~l_paid,
        np.where(cancel[lo] > 0, 4, 1),
        np.where(full_refund, 4, np.where(l_confirm > 0, 5, np.where(l_ship > 0, 3, 2))),
    )
    mid = apply + (done - apply) // 3
    as_status = np.where(
        closed,
        np.where(success, 12, np.where(f1 < 0.5, 27, 28)),
        np.where(mid < now, np.where(as_type == 0, 7, np.where(money, 11, 6)), 6),
    )
    refund_status = np.where(money, np.where(closed, np.where(success, 3, 4), np.where(as_status == 11, 2, 1)), 1)
    as_update = np.where(closed, done, np.where(mid < now, mid, apply))
    as_update = np.where(exists, as_update, 0)
    apply = np.where(exists, apply, 0)

    l = dict(
        line_id=line_id,
        parent_id=order_id[lo],
        order_idx=lo,
        shop=l_shop,
        sku=sku,
        product=cat.s_product[sku],
        item_num=item_num,
        unit_price=unit_price,
        origin=origin,
        p_shop=p_shop,
        p_plat=p_plat,
        p_tal=p_tal,
        promo=promo,
        pay_amount=l_pay_amount,
        paid=l_paid,
        create=create[lo],
        pay=l_pay,
        ship=l_ship,
        exp_ship=exp_ship_o[lo],
        presale=presale[lo],
        receipt=l_receipt,
        confirm=l_confirm,
        finish=l_finish,
        status=status,
        channel=channel[lo],
        author=author[lo],
        room=room[lo],
        video=video[lo],
        as_type=as_type,
        as_apply=apply,
        as_done=np.where(closed, done, 0),
        as_update=as_update,
        as_status=np.where(exists, as_status, 0),
        refund_status=np.where(exists, refund_status, 0),
        refund_amount=np.where(exists, refund_amount, 0),
        refund_time=refund_time,
        full_refund=full_refund,
        as_success=success & closed,
        as_num=np.where(exists, as_num, 0),
        part_units=exists & part_units,
        claim=np.where(exists, claim, 0),
        promo_back=np.where(exists, promo_back, 0),
    )
    o = dict(
        order_id=order_id,
        shop=shop,
        create=create,
        pay=pay,
        paid=paid,
        cancel=cancel,
        buyer=buyer,
        province=province,
        post_amount=post_amount,
        channel=channel,
        sla=sla,
    )
    return DayOrders(o=o, l=l)


def order_rollup(day: DayOrders) -> None:
    """Shop-order fields from their lines: money sums, status, ship/finish/update times (in place)."""
    o, l = day.o, day.l
    m = len(o["order_id"])
    lo = l["order_idx"]

    def ssum(a: np.ndarray) -> np.ndarray:
        return np.bincount(lo, weights=a, minlength=m).astype(np.int64)

    def smax(a: np.ndarray) -> np.ndarray:
        out = np.zeros(m, dtype=np.int64)
        np.maximum.at(out, lo, a)
        return out

    o["order_amount"] = ssum(l["origin"])
    o["promotion_amount"] = ssum(l["promo"])
    o["promotion_shop_amount"] = ssum(l["p_shop"])
    o["promotion_platform_amount"] = ssum(l["p_plat"])
    o["promotion_talent_amount"] = ssum(l["p_tal"])
    o["pay_amount"] = ssum(l["pay_amount"]) + o["post_amount"]
    o["ship"] = smax(l["ship"])
    n_lines = np.bincount(lo, minlength=m)
    st = l["status"]
    n4, n5 = np.bincount(lo, weights=st == 4, minlength=m), np.bincount(lo, weights=st == 5, minlength=m)
    n2 = np.bincount(lo, weights=st == 2, minlength=m)
    live = n_lines - n4
    status = np.where(
        ~o["paid"],
        np.where(o["cancel"] > 0, 4, 1),
        np.where(live == 0, 4, np.where(n5 == live, 5, np.where(n2 == live, 2, np.where(n2 > 0, 101, 3)))),
    )
    o["status"] = status
    o["finish"] = np.where(np.isin(status, (4, 5)) & o["paid"], smax(l["finish"]), 0)
    o["exp_ship"] = smax(l["exp_ship"])  # pay + 48 h, or a presale order's promised ship time
    last = np.maximum.reduce(
        [
            o["create"],
            o["pay"],
            o["cancel"],
            smax(l["ship"]),
            smax(l["receipt"]),
            smax(l["confirm"]),
            smax(l["finish"]),
            smax(l["as_apply"]),
            smax(l["as_update"]),
        ]
    )
    o["last_event"] = last
    o["update"] = last.copy()
