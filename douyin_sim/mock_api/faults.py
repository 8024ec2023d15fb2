"""Fault injection of the mock Open API: described by ``FaultConfig``, decided deterministically.

Spec string (CLI ``serve-mock --faults``), all off by default::

    rate_limit=0.1,server_error=0.05,slow=0.1,slow_ms=200,latency_ms=50,qps=20,
    duplicates=0.1,mutate=0.05,token_ttl=604800,seed=1

- ``rate_limit``  share of requests answered with the platform's rate-limit error envelope
- ``qps``         a real QPS limit (token bucket, one second of burst); excess requests get the same error
- ``server_error`` share of requests answered with HTTP 500/502/503
- ``slow`` / ``slow_ms`` share of requests delayed by ``slow_ms`` (``slow`` defaults to 0.1 when only
  ``slow_ms`` is given)
- ``latency_ms``  fixed latency added to every request
- ``duplicates``  share of pages (after the first) that repeat the previous page's last record
- ``mutate``      share of pages that also carry an older version of a record that belongs to a later
  page (lower update time, one field changed): the record is seen twice, the later version is the
  latest, as when a record changes between page fetches
- ``token_ttl``   access-token lifetime in seconds (default 7 days, as the platform)
- ``refresh_ttl`` refresh-token lifetime in seconds (default 14 days, the mock's choice)
- ``code_ttl``    authorization-code lifetime in seconds (default 600, as the platform)
- ``max_depth``   page × size limit of order.searchList / afterSale.List (default 50,000, as the platform;
  lower it to test window narrowing on a small world)
- ``seed``        every decision is a pure function of (seed, fault, request, attempt number), so a
  run is reproducible whatever the thread interleaving
"""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from dataclasses import dataclass, fields

from douyin_etl.errors import UsageError


class FaultSpecError(UsageError):
    """A malformed ``--faults`` spec (names the item and the valid keys)."""


@dataclass(frozen=True)
class FaultConfig:
    rate_limit: float = 0.0
    server_error: float = 0.0
    slow: float = 0.0
    slow_ms: int = 0
    latency_ms: int = 0
    qps: float = 0.0
    duplicates: float = 0.0
    mutate: float = 0.0
    token_ttl: int = 7 * 86400
    refresh_ttl: int = 14 * 86400
    code_ttl: int = 600
    max_depth: int = 50_000
    seed: int = 0

    @classmethod
    def from_spec(cls, spec: str | None) -> FaultConfig:
        """Parse 'rate_limit=0.1,slow_ms=200,seed=1' (empty -> no faults). Unknown keys are an error."""
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, float | int] = {}
        for item in (spec or "").replace(";", ",").split(","):
            item = item.strip()
            if not item:
                continue
            name, sep, raw = item.partition("=")
            name = name.strip()
            if not sep or name not in known:
                raise FaultSpecError(
                    f"bad fault {item!r} in --faults {spec!r}: use key=value[,key=value…] with keys "
                    f"{', '.join(known)} (e.g. 'rate_limit=0.1,slow_ms=50')"
                )
            try:
                values[name] = int(raw) if known[name] in ("int", int) else float(raw)
            except ValueError:
                kind = "a whole number" if known[name] in ("int", int) else "a number"
                raise FaultSpecError(f"fault {name!r} in --faults {spec!r} needs {kind}, got {raw.strip()!r}") from None
        if values.get("slow_ms") and "slow" not in values:
            values["slow"] = 0.1
        cfg = cls(**values)  # type: ignore[arg-type]
        for name in ("rate_limit", "server_error", "slow", "duplicates", "mutate"):
            p = getattr(cfg, name)
            if not 0 <= p <= 1:
                raise FaultSpecError(f"fault {name!r} in --faults is a probability in [0, 1], got {p}")
        for name in ("slow_ms", "latency_ms", "qps", "token_ttl", "refresh_ttl", "code_ttl", "max_depth"):
            v = getattr(cfg, name)
            if not v >= 0 or v == float("inf"):
                raise FaultSpecError(f"fault {name!r} in --faults must be a finite number ≥ 0, got {v}")
        return cfg

    @property
    def any(self) -> bool:
        return any(
            getattr(self, n)
            for n in ("rate_limit", "server_error", "slow", "latency_ms", "qps", "duplicates", "mutate")
        )


class FaultDice:
    """Deterministic decisions: ``roll(kind, key, attempt)`` depends only on the seed and its arguments."""

    def __init__(self, cfg: FaultConfig) -> None:
        self.cfg = cfg
        self._attempts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def attempt(self, request_key: str) -> int:
        """How many times this exact request was seen before (0 the first time)."""
        with self._lock:
            n = self._attempts[request_key]
            self._attempts[request_key] += 1
            return n

    def _digest(self, kind: str, key: str, attempt: int) -> bytes:
        return hashlib.sha256(f"{self.cfg.seed}|{kind}|{key}|{attempt}".encode()).digest()

    def rng(self, kind: str, key: str, attempt: int = 0) -> random.Random:
        return random.Random(int.from_bytes(self._digest(kind, key, attempt)[:8], "big"))

    def hit(self, kind: str, p: float, key: str, attempt: int = 0) -> bool:
        """True with probability ``p``: a uniform draw from a hash of (seed, kind, key, attempt)."""
        return p > 0 and int.from_bytes(self._digest(kind, key, attempt)[:8], "big") / 2**64 < p
