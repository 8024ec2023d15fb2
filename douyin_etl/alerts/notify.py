"""Send alerts to every configured channel; silent (nothing sent, one debug line) when none is.

A channel that fails is logged (its connection id and the reason, never a URL or a secret) and the
others still get the message; alerting never fails the pipeline step that calls it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from douyin_etl.alerts import channels
from douyin_etl.alerts.message import Alert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    conn_id: str
    kind: str
    shop: str | None
    ok: bool
    error: str | None = None


def send(alerts: Iterable[Alert], targets: Sequence[channels.Channel] | None = None) -> list[Delivery]:
    """Each alert to each channel (``targets``, default: the configured ones); returns what happened."""
    alerts = list(alerts)
    if not alerts:
        return []
    if targets is None:
        try:
            targets = channels.configured()
        except Exception as exc:  # a malformed connection: say which, send nothing, do not fail the step
            log.error("alerts not sent: %s", exc)
            return [Delivery("config", a.kind, a.shop, False, str(exc)) for a in alerts]
    if not targets:
        log.debug("no alert channel configured (%s): %d alert(s) not sent", ", ".join(channels.CONN_IDS), len(alerts))
        return []
    out = []
    secrets = channels.known_secrets(targets)
    for alert in alerts:
        for channel in targets:
            try:
                channel.send(alert, secrets)
            except Exception as exc:
                log.warning("alert %s for shop %s not sent to %s: %s", alert.kind, alert.shop, channel.conn_id, exc)
                out.append(Delivery(channel.conn_id, alert.kind, alert.shop, False, str(exc)))
            else:
                out.append(Delivery(channel.conn_id, alert.kind, alert.shop, True))
    sent = sum(d.ok for d in out)
    log.info("alerts: %d of %d message(s) delivered", sent, len(out))
    return out
