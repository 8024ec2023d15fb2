"""The day's back-office reports as canonical-name frames: live sessions, video stats, the traffic
funnel per product × channel (whose ``pays`` are the day's paid lines), and the Qianchuan ad report."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from douyin_sim.simulator.catalog import ADVERTISER_BASE, Catalog
from douyin_sim.simulator.content import DayContent
from douyin_sim.simulator.orders import ALLIANCE, CARD, CHANNEL_NAMES, LIVE, SEARCH, VIDEO

AD_COLUMNS = [
    "advertiser_id",
    "shop_id",
    "stat_date",
    "marketing_goal",
    "cost_fen",
    "show_cnt",
    "click_cnt",
    "pay_order_count",
    "pay_order_fen",
    "create_order_fen",
    "dy_follow",
    "total_play",
    "play_over_rate",
]


def _s(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.int64).astype(str)


def content_frames(cat: Catalog, c: DayContent, day: date) -> dict[str, pd.DataFrame]:
    """直播场次 (live_session) and 短视频数据 (short_video) frames of the day."""
    a_id = np.asarray(cat.a_id, np.int64)
    names = np.asarray(cat.a_name, dtype=object)
    r = c.room_report  # sessions that started today, with their true end (maybe after midnight)
    live = pd.DataFrame(
        {
            "room_id": _s(c.room_id[r]),
            "anchor_id": _s(a_id[c.room_anchor[r]]),
            "anchor_name": names[c.room_anchor[r]],
            "start_time": c.room_start[r],
            "end_time": c.room_true_end[r],
            "watch_pv": c.room_watch_pv[r],
            "viewers": c.room_viewers[r],
            "avg_watch_seconds": c.room_avg_watch[r],
            "new_followers": c.room_new_followers[r],
            "comments": c.room_comments[r],
            "shop_id": _s(cat.shop_ids[c.room_shop[r]]),
        }
    ).sort_values("room_id", kind="stable")
    video = pd.DataFrame(
        {
            "stat_date": [day] * len(c.vid_id),
            "video_id": _s(c.vid_id),
            "author_id": _s(a_id[c.vid_author]),
            "publish_time": c.vid_publish,
            "plays": c.vid_plays,
            "completed_plays": c.vid_completed,
            "likes": c.vid_likes,
            "comments": c.vid_comments,
            "shares": c.vid_shares,
            "shop_id": _s(cat.shop_ids[c.vid_shop]),
        }
    ).sort_values("video_id", kind="stable")
    return {"live_session": live.reset_index(drop=True), "short_video": video.reset_index(drop=True)}


def funnel_frame(rng: np.random.Generator, cat: Catalog, l: dict[str, np.ndarray], day: date) -> pd.DataFrame:
    """商品流量: exposures ≥ clicks ≥ add_to_carts ≥ orders (lines) ≥ pays (lines paid that day) per product × channel.

    ``l``: product, channel and paid of the day's funnel lines (``World._funnel_lines``)."""
    key = l["product"] * 8 + l["channel"]
    keys, inv = np.unique(key, return_inverse=True)
    lines = np.bincount(inv, minlength=len(keys)).astype(np.int64)
    pays = np.bincount(inv, weights=l["paid"], minlength=len(keys)).astype(np.int64)
    # product × channel pairs that were shown and clicked but sold nothing today
    k_extra = max(1, len(keys) // 4)
    extra = np.unique(rng.integers(0, len(cat.p_id), k_extra) * 8 + rng.choice([ALLIANCE, SEARCH, CARD], k_extra))
    extra = extra[~np.isin(extra, keys)]
    keys = np.concatenate([keys, extra])
    lines = np.concatenate([lines, np.zeros(len(extra), np.int64)])
    pays = np.concatenate([pays, np.zeros(len(extra), np.int64)])
    order = np.argsort(keys, kind="stable")
    keys, lines, pays = keys[order], lines[order], pays[order]
    atc = lines + rng.poisson(lines * 1.5 + 1)
    clicks = atc + rng.poisson(atc * 4.0 + 2)
    exposures = clicks + rng.poisson(clicks * 20.0 + 10)
    prod = keys // 8
    return pd.DataFrame(
        {
            "stat_date": [day] * len(keys),
            "product_id": _s(cat.p_id[prod]),
            "channel": CHANNEL_NAMES[keys % 8],
            "exposures": exposures,
            "clicks": clicks,
            "add_to_carts": atc,
            "orders": lines,
            "pays": pays,
            "shop_id": _s(cat.shop_ids[cat.p_shop[prod]]),
        }
    )


def ad_report_frame(
    rng: np.random.Generator, cat: Catalog, l: dict[str, np.ndarray], c: DayContent, day: date
) -> pd.DataFrame:
    """Qianchuan rows per advertiser (one per shop) × marketing goal; money in fen (SQL makes it yuan)."""
    rows = []
    for shop in range(cat.n_shops):
        for goal, ch, active in (
            ("LIVE_PROM_GOODS", LIVE, (c.room_shop == shop).any()),
            ("VIDEO_PROM_GOODS", VIDEO, (c.vid_shop == shop).any()),
        ):
            if not active:
                continue
            m = (l["shop"] == shop) & (l["channel"] == ch) & l["paid"]
            gmv, cnt = int(l["pay_amount"][m].sum()), int(m.sum())
            share = rng.uniform(0.3, 0.6)
            cost = int(gmv * rng.uniform(0.08, 0.2)) + int(rng.integers(5000, 20000))
            show = int(cost * rng.uniform(0.8, 2.0))
            clicks = int(show * rng.uniform(0.01, 0.04))
            plays = int(show * rng.uniform(0.5, 0.9)) if ch == VIDEO else 0
            rows.append(
                (
                    str(ADVERTISER_BASE + shop),
                    str(cat.shop_ids[shop]),
                    day,
                    goal,
                    cost,
                    show,
                    clicks,
                    int(cnt * share),
                    int(gmv * share),
                    int(gmv * share * rng.uniform(1.05, 1.2)),
                    int(clicks * rng.uniform(0.01, 0.05)),
                    plays,
                    round(float(rng.uniform(0.05, 0.35)), 4) if plays else 0.0,
                )
            )
    return pd.DataFrame(rows, columns=AD_COLUMNS)
