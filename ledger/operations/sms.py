"""The platform's SMS link as operations see it: what they need sent to a subscriber's or an
agent's handset, whatever SMS gateway the composition root wires in. Without one, the
operations that can only answer by SMS (a transfer's confirmation code, the history list) say
they are not available rather than promise a message that will not come.

A notice is named, not worded: the ledger says which notice and with what values (amounts in
fen, numbers in E.164 digits) and the SMS channel words it in the recipient's language from
the dialog catalogue (`notice.<name>`). `notify` returns once the notice is queued durably;
delivery is the link's business and never fails the operation that asked for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, Protocol

from ledger.money import Msisdn
from ledger.operations.contract import Value

# Every notice an operation may ask for; the SMS channel has a text for each, in each language.
NOTICES: Final = frozenset(
    {
        "topup_credited",  # to the subscriber: msisdn, amount_fen, ref
        "billpay_credited",  # to the subscriber: msisdn, amount_fen, ref
        "transfer_credited",  # to the receiving subscriber: sender, amount_fen, ref
        "allot_credited",  # to the agent under: sender (the agent above), amount_fen, ref
        "allot_reclaimed",  # to the agent under, deposit taken back: sender, amount_fen, ref
        "history",  # to the agent: count, balance_fen, and items (kind, ref, msisdn, amount_fen,
        # state, time)
        "sale_settled",  # to the agent: a sale answered `pending` ended: kind, msisdn, amount_fen,
        # ref, state (posted | voided)
    }
)


class SmsLink(Protocol):
    async def send_code(self, msisdn: Msisdn, code: str) -> None:
        """Deliver a one-time confirmation `code` to `msisdn`; the code appears in no log."""
        ...

    async def notify(
        self,
        msisdn: Msisdn,
        notice: str,
        values: Mapping[str, Value],
        items: Sequence[Mapping[str, Value]] = (),
    ) -> None:
        """Queue `notice` (one of NOTICES) for `msisdn`, durably, in the recipient's language."""
        ...


__all__ = ["NOTICES", "SmsLink"]
