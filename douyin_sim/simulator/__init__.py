"""Seeded simulator of a Douyin merchant's world (platform tables, file drops, ground truth).

``generate_world(out, seed, start, days, shops, orders_per_day) -> WorldSummary``; layout and columns
in docs/sources.md. Behaviour rates (anomalies included) live in ``behaviour.Behaviour``.
"""

from douyin_sim.simulator.behaviour import DEFAULT, Behaviour
from douyin_sim.simulator.world import WorldSummary, generate_world

__all__ = ["Behaviour", "DEFAULT", "WorldSummary", "generate_world"]
