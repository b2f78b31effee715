"""Counts an operator can act on, per SMPP link. Channels do not import the composition root:
`aircharge` passes an observer that feeds its metrics, as for `channels.sms.counters`.

`SMPP_EVENTS` are counters (the observer gets the increment); `up` is a gauge (the observer
gets its new value, 1 bound or 0 not)."""

from __future__ import annotations

from typing import Final

from channels.counters import Counters, Observer

SMPP_EVENTS: Final = (
    "binds",  # bind answered ESME_ROK
    "bind_failures",  # refused, no answer, or no TCP connection
    "reconnects",  # a connection attempt after a dropped link or a failed bind
    "link_drops",  # a bound link lost (peer closed, fatal framing, enquire_link unanswered)
    "submits_ok",  # submit_sm answered ESME_ROK (one per part)
    "submits_failed",  # a part answered with an error, not answered, or the link was down
    "submits_throttled",  # ESME_RTHROTTLED / ESME_RMSGQFUL: slowed down and resubmitted
    "window_full_waits",  # a part waited for room in the window
    "mo_received",  # an MO (whole message) handed to the receiver and acknowledged
    "mo_rejected",  # an MO answered with an error (undecodable: ESME_RINVDCS; accept failed)
    "receipts",  # delivery receipts handed to the receiver
    "ussd_received",  # USSD indications handed to the USSD handler
    "enquire_link_timeouts",  # enquire_link not answered: the link is dropped
    "peer_errors",  # malformed or unexpected PDUs from the SMSC, answered
)
SMPP_GAUGES: Final = ("up",)


class SmppCounters(Counters):
    def __init__(self, observer: Observer | None = None) -> None:
        super().__init__(SMPP_EVENTS, SMPP_GAUGES, observer)


__all__ = ["SMPP_EVENTS", "SMPP_GAUGES", "Observer", "SmppCounters"]
