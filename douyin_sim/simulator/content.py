"""Content that sells: live sessions (直播场次) and short videos (短视频) per shop and day.

Order lines of the live / video channels reference the room ids and video ids made here.

Live sessions can cross midnight (``cross_midnight_rate`` of the evening sessions start 21:30–23:00
and run 2–4 h): the session is reported once, on its start day, with its true end; the orders of the
part after midnight are created on the next day (a continuation of the same room that day, not
reported again), so their pay day is the next day while their session is the start day's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from douyin_sim.simulator.catalog import ROOM_BASE, VIDEO_BASE, Catalog

VIDEO_ACTIVE_DAYS = 7  # a video sells and is reported for this many days after publication


@dataclass
class DayContent:
    # live sessions of the day (one element per session)
    room_id: np.ndarray
    room_shop: np.ndarray
    room_anchor: np.ndarray  # author index
    room_start: np.ndarray
    room_end: np.ndarray
    room_viewers: np.ndarray
    room_watch_pv: np.ndarray
    room_avg_watch: np.ndarray
    room_new_followers: np.ndarray
    room_comments: np.ndarray
    room_true_end: np.ndarray  # the session's real end (may be after midnight)
    room_report: np.ndarray  # bool: reported today (False: yesterday's session continuing after midnight)
    # videos that can sell today (published on earlier days, still active)
    vid_id: np.ndarray
    vid_shop: np.ndarray
    vid_author: np.ndarray
    vid_publish: np.ndarray
    vid_plays: np.ndarray  # today's plays
    vid_completed: np.ndarray
    vid_likes: np.ndarray
    vid_comments: np.ndarray
    vid_shares: np.ndarray


@dataclass
class ContentState:
    cat: Catalog
    room_seq: int = 0
    video_seq: int = 0
    # published videos still within their active window
    v_id: list[int] = field(default_factory=list)
    v_shop: list[int] = field(default_factory=list)
    v_author: list[int] = field(default_factory=list)
    v_publish: list[int] = field(default_factory=list)
    v_day: list[int] = field(default_factory=list)  # day index of publication
    v_base: list[float] = field(default_factory=list)
    cross_midnight_rate: float = 0.0
    # sessions of the previous day still live after midnight: (room_id, shop, anchor, start, end, viewers)
    carry: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)

    def publish(self, rng: np.random.Generator, day_idx: int, day_start: int) -> None:
        for shop in range(self.cat.n_shops):
            own, creators = self.cat.authors_of(shop, False), self.cat.authors_of(shop, True)
            for _ in range(int(rng.poisson(2.5))):
                author = (
                    int(rng.choice(own)) if (rng.random() < 0.6 or len(creators) == 0) else int(rng.choice(creators))
                )
                self.video_seq += 1
                self.v_id.append(VIDEO_BASE + self.video_seq * 97)
                self.v_shop.append(shop)
                self.v_author.append(author)
                self.v_publish.append(day_start + int(rng.integers(8 * 3600, 22 * 3600)))
                self.v_day.append(day_idx)
                self.v_base.append(float(rng.lognormal(9.0, 1.0)))

    def day(self, rng: np.random.Generator, day_idx: int, day_start: int) -> DayContent:
        # expire old videos, then today's live sessions, then today's video stats, then new videos
        keep = [i for i, d in enumerate(self.v_day) if day_idx - d <= VIDEO_ACTIVE_DAYS]
        for name in ("v_id", "v_shop", "v_author", "v_publish", "v_day", "v_base"):
            setattr(self, name, [getattr(self, name)[i] for i in keep])
        rooms: list[tuple[int, int, int, int]] = []  # shop, anchor, start, end
        xr = np.random.default_rng(rng.integers(2**62))  # crossing decisions: their own stream
        for shop in range(self.cat.n_shops):
            own, creators = self.cat.authors_of(shop, False), self.cat.authors_of(shop, True)
            if rng.random() < 0.85:
                s = day_start + 19 * 3600 + int(rng.integers(0, 3600))
                length = int(rng.integers(2 * 3600, 4 * 3600))
                if xr.random() < self.cross_midnight_rate:  # a late show that runs past midnight
                    s = day_start + 21 * 3600 + 1800 + int(xr.integers(0, 5400))
                rooms.append((shop, int(own[0]), s, s + length))
            if rng.random() < 0.3:
                s = day_start + 10 * 3600 + int(rng.integers(0, 1800))
                rooms.append((shop, int(own[-1]), s, s + int(rng.integers(3600, 3 * 3600))))
            for _ in range(int(rng.poisson(0.8)) if len(creators) else 0):
                s = day_start + 12 * 3600 + int(rng.integers(0, 8 * 3600))
                rooms.append((shop, int(rng.choice(creators)), s, s + int(rng.integers(3600, 3 * 3600))))
        n = len(rooms)
        arr = np.array(rooms, dtype=np.int64).reshape(n, 4)
        ids = ROOM_BASE + (self.room_seq + 1 + np.arange(n, dtype=np.int64)) * 31
        self.room_seq += n
        viewers = (rng.lognormal(8.5, 0.9, n)).astype(np.int64) + 50
        watch_pv = (viewers * rng.uniform(1.2, 2.5, n)).astype(np.int64)
        ages = day_idx - np.array(self.v_day, dtype=np.int64)
        active = ages >= 1
        base = np.array(self.v_base)
        plays = (base * np.power(0.55, np.maximum(ages - 1, 0)) * rng.uniform(0.7, 1.3, len(base))).astype(np.int64) + 1
        completed = (plays * rng.uniform(0.08, 0.45, len(base))).astype(np.int64)
        likes = (plays * rng.uniform(0.01, 0.08, len(base))).astype(np.int64)
        avg_watch = rng.integers(40, 400, n).astype(np.int64)
        new_followers = (viewers * rng.uniform(0.002, 0.03, n)).astype(np.int64)
        comments = (watch_pv * rng.uniform(0.02, 0.2, n)).astype(np.int64)
        day_end = day_start + 86400 - 60
        # yesterday's sessions still live after midnight sell today (same room, not reported again)
        k = len(self.carry)
        cr = np.array(self.carry, dtype=np.int64).reshape(k, 6)
        c_view = np.maximum(1, cr[:, 5] * (cr[:, 4] - day_start) // np.maximum(1, cr[:, 4] - cr[:, 3]))
        cross = arr[:, 3] > day_start + 86400
        self.carry = [
            (int(ids[j]), int(arr[j, 0]), int(arr[j, 1]), int(arr[j, 2]), int(arr[j, 3]), int(viewers[j]))
            for j in np.flatnonzero(cross)
        ]
        zk = np.zeros(k, np.int64)
        content = DayContent(
            room_id=np.concatenate([cr[:, 0], ids]),
            room_shop=np.concatenate([cr[:, 1], arr[:, 0]]),
            room_anchor=np.concatenate([cr[:, 2], arr[:, 1]]),
            room_start=np.concatenate([np.full(k, day_start, np.int64), arr[:, 2]]),
            room_end=np.minimum(np.concatenate([cr[:, 4], arr[:, 3]]), day_end),
            room_viewers=np.concatenate([c_view, viewers]),
            room_watch_pv=np.concatenate([zk, watch_pv]),
            room_avg_watch=np.concatenate([zk, avg_watch]),
            room_new_followers=np.concatenate([zk, new_followers]),
            room_comments=np.concatenate([zk, comments]),
            room_true_end=np.concatenate([cr[:, 4], arr[:, 3]]),
            room_report=np.concatenate([np.zeros(k, bool), np.ones(n, bool)]),
            vid_id=np.array(self.v_id, dtype=np.int64)[active],
            vid_shop=np.array(self.v_shop, dtype=np.int64)[active],
            vid_author=np.array(self.v_author, dtype=np.int64)[active],
            vid_publish=np.array(self.v_publish, dtype=np.int64)[active],
            vid_plays=plays[active],
            vid_completed=completed[active],
            vid_likes=likes[active],
            vid_comments=(likes * rng.uniform(0.05, 0.3, len(base))).astype(np.int64)[active],
            vid_shares=(likes * rng.uniform(0.02, 0.2, len(base))).astype(np.int64)[active],
        )
        self.publish(rng, day_idx, day_start)
        return content
