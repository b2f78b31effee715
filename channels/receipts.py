"""The actor's receipt by SMS, when a USSD session or an IVR call ends after an operation.

A USSD page or a spoken prompt is gone a moment later, so a flow's `end` names the receipt
the actor keeps (`notify: {to: actor, …}`), and the channel queues it on the SMS channel
(`SmsNotices.send_message`, which stores it in the outbox before it returns). Notices to the
other party (the subscriber credited) are the ledger's own (`SmsLink`): they are not sent
again here. Over SMS the reply itself is the receipt, so the SMS channel sends none of these.
"""

from __future__ import annotations

import logging
from typing import Protocol

from dialogs.events import End, Message
from dialogs.flow import ACTOR
from ledger.money import Msisdn

log = logging.getLogger(__name__)


class FlowNotifier(Protocol):
    """Sends a flow's end notification by SMS (the SMS channel implements it)."""

    async def send_message(self, msisdn: Msisdn, message: Message) -> None: ...


async def send_receipts(notifier: FlowNotifier | None, actor: Msisdn, end: End, where: str) -> int:
    """Queue the actor's notifications of `end`; how many were queued. `where` names the
    session or call in the log when there is no SMS channel to queue them on."""
    queued = 0
    for notification in end.notifications:
        if notification.to != ACTOR:
            continue
        if notifier is None:
            log.info("%s: no SMS channel, receipt %s not sent", where, notification.message.key)
            continue
        await notifier.send_message(actor, notification.message)
        queued += 1
    return queued


__all__ = ["FlowNotifier", "send_receipts"]
