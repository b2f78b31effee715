"""Counts an operator can act on. Channels do not import the composition root: `aircharge`
passes an observer that feeds its Prometheus counters, as it does for the other services."""

from __future__ import annotations

from typing import Final

from channels.counters import Counters, Observer

SMS_EVENTS: Final = (
    "mo_received",  # every MO accepted (stored)
    "mo_ignored",  # stored, never processed: short code, alphanumeric, not our number
    "mo_redeliveries",  # the SMSC sent an MO again (its ack was lost): stored, not processed
    "mo_duplicates",  # a repeat inside the duplicate window: answered with a code
    "mo_confirmed",  # a repeat confirmed with `Y <code>` and run
    "mt_queued",
    "mt_submitted",
    "mt_retried",  # a temporary submit failure, tried again later
    "mt_failed",  # given up: permanent failure, attempts spent, or a code lost in a restart
    "receipt_delivered",  # a part's receipt said DELIVRD
    "receipt_failed",  # a part's receipt said UNDELIV, EXPIRED, REJECTD, ...
    "receipt_unmatched",  # a receipt for no known part (purged, or never asked)
    "replies_capped",  # a reply not sent: the number reached its daily cap
)


class SmsCounters(Counters):
    def __init__(self, observer: Observer | None = None) -> None:
        super().__init__(SMS_EVENTS, observer=observer)


__all__ = ["SMS_EVENTS", "Observer", "SmsCounters"]
