"""The platform's side of the applet's answer SMS: `STK1` texts checked before they are stored.

`StkGate` is the SMS channel's sealed intake (`channels.sms.sealed.SealedIntake`): the SMS
channel hands it every MO whose text starts with `STK1 `, and the gate answers with the
command to run or the reason to refuse. Checks, in this order (docs/stk.md):

1. the text is well formed (`secure.parse`)               -> `stk_bad_format`
2. the SIM is known                                       -> `stk_unknown_sim`
   and active                                             -> `stk_retired_sim`
3. the sender is the SIM's number                         -> `stk_wrong_sender`
4. the MAC matches (constant time)                        -> `stk_bad_mac`
5. the counter is above the last accepted                 -> `stk_old_counter` (answered),
   unless it is this very text again                      -> `redelivery` (silent)
6. the body deciphers to text that parses as a command    -> `stk_bad_command`

The MAC comes before the counter, so a forger learns nothing from which refusal he gets; the
sender check before the MAC costs a forger nothing he could not read off the SIM's number.
Only an old counter from the SIM's own number is answered (a replay, or a SIM whose counter
went back): every other refusal may come from anyone, and an answer would make the platform
an SMS reflector. Refusals are logged with the reason, SIM id, counter and sender — never
the keys or the plaintext — and counted (`StkCounters`); nothing reaches the ledger.

A passed check is not yet acceptance: the SMS channel stores the MO and, in that same
transaction, `claim` advances the SIM's counter (`channels.stk.sims.claim`); two deliveries
racing past step 5 cannot both be accepted.
"""

from __future__ import annotations

import logging
from typing import Final

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from channels.counters import Counters, Observer
from channels.sms.contract import InboundSms
from channels.sms.sealed import Claim, Opened, Refused
from channels.stk import secure, sims
from dialogs.grammar import Command, mask_pins, parse_command

log = logging.getLogger(__name__)

CHANNEL: Final = "stk"
BAD_FORMAT: Final = "stk_bad_format"
UNKNOWN_SIM: Final = "stk_unknown_sim"
RETIRED_SIM: Final = sims.CLAIM_INACTIVE
WRONG_SENDER: Final = "stk_wrong_sender"
BAD_MAC: Final = "stk_bad_mac"
OLD_COUNTER: Final = sims.CLAIM_OLD_COUNTER
BAD_COMMAND: Final = "stk_bad_command"
REDELIVERY: Final = sims.CLAIM_REDELIVERY
REFUSALS: Final = (
    BAD_FORMAT,
    UNKNOWN_SIM,
    RETIRED_SIM,
    WRONG_SENDER,
    BAD_MAC,
    OLD_COUNTER,
    BAD_COMMAND,
)

STK_EVENTS: Final = (
    "answers_opened",  # checked and handed to the SMS channel to store and run
    "answers_redelivered",  # the same SMS again (its ack was lost): stored, not run
    *(f"refused_{reason.removeprefix('stk_')}" for reason in REFUSALS),
)


class StkCounters(Counters):
    def __init__(self, observer: Observer | None = None) -> None:
        super().__init__(STK_EVENTS, observer=observer)


def _event(reason: str) -> str:
    return f"refused_{reason.removeprefix('stk_')}"


class StkGate:
    def __init__(self, *, db: AsyncEngine, ring: sims.SimKeyRing, counters: StkCounters) -> None:
        self._db = db
        self._ring = ring
        self._counters = counters

    def is_sealed(self, text: str) -> bool:
        return secure.is_sealed_text(text)

    async def open(self, message: InboundSms, sender: str | None, digest: str) -> Opened | Refused:
        # What a malformed text is stored and logged as: its start, with any PIN masked.
        header = mask_pins(message.text[: len(secure.PREFIX) + 1 + secure.sim_id_chars + 14])
        try:
            sealed = secure.parse(message.text)
        except secure.SealError as error:
            return self._refuse(BAD_FORMAT, header, message, str(error))
        sim_id, counter = sealed.sim_id, sealed.counter
        header = f"{secure.PREFIX} {sim_id} {counter}"
        sim = await sims.find_sim(self._db, self._ring, sim_id)
        if sim is None:
            return self._refuse(UNKNOWN_SIM, header, message)
        if not sim.active:
            return self._refuse(RETIRED_SIM, header, message)
        if sender != sim.msisdn:
            return self._refuse(WRONG_SENDER, header, message, f"the SIM is {sim.msisdn}'s")
        plaintext: str | None = None
        try:
            plaintext = secure.open_sealed(sealed, sim.keys)
        except secure.BadMac:
            return self._refuse(BAD_MAC, header, message)
        except secure.SealError:
            plaintext = None  # refused below, once the counter is known to be new
        if counter <= sim.last_counter:
            if counter == sim.last_counter and digest == sim.last_digest:
                self._counters.add("answers_redelivered")
                log.info("stk %s: a re-delivery of the last accepted answer", header)
                return Refused(REDELIVERY, header, answer=False)
            why = f"the last accepted is {sim.last_counter}"
            return self._refuse(OLD_COUNTER, header, message, why, answer=True)
        parsed = None if plaintext is None else parse_command(plaintext)
        if not isinstance(parsed, Command):
            # The MAC proves the SIM sent it (an entry the menu let through, such as letters in
            # an amount): the agent is told, so nobody waits for a reply that never comes.
            why = "not a command of the grammar"
            return self._refuse(BAD_COMMAND, header, message, why, answer=True)
        self._counters.add("answers_opened")
        origin = f"{CHANNEL}:{sim_id}:{counter}"
        stored = f"{header} {mask_pins(plaintext or '')}"
        return Opened(sim.msisdn, parsed, origin, stored, Claim(sim_id, counter, digest))

    def claim(self, conn: Connection, claim: Claim) -> str | None:
        return sims.claim(conn, claim.sim_id, claim.counter, claim.digest)

    def refused_late(self, claim: Claim, outcome: str) -> None:
        header = f"{secure.PREFIX} {claim.sim_id} {claim.counter}"
        if outcome == REDELIVERY:
            self._counters.add("answers_redelivered")
            log.info("stk %s: a re-delivery, stored and not run", header)
        elif outcome in REFUSALS:
            self._counters.add(_event(outcome))
            log.warning("stk %s refused when stored: %s", header, outcome)

    def _refuse(
        self,
        reason: str,
        header: str,
        message: InboundSms,
        detail: str = "",
        *,
        answer: bool = False,
    ) -> Refused:
        self._counters.add(_event(reason))
        log.warning(
            "stk %s from %s refused: %s%s",
            header,
            message.sender,
            reason,
            f" ({detail})" if detail else "",
        )
        return Refused(reason, header, answer)


__all__ = ["CHANNEL", "REFUSALS", "STK_EVENTS", "StkCounters", "StkGate"]
