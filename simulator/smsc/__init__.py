"""The SMSC emulator: the operator's SMS gateway and USSD centre as an SMPP 3.4 server (2775).

`Smsc(accounts, config=SmscConfig(...), seed=0)`, `await smsc.start(host, port)`,
`await smsc.close()`. Handsets send MO with `smsc.send_sms(sender, text, to="1888")` and read MT
in `smsc.handset(msisdn).inbox`; USSD with `session = smsc.dial(msisdn, "*123#")`,
`await session.next_page()`, `session.reply(text)`, `session.abort()` (the abort form is in
`simulator.smsc.ussd`'s docstring). Typed events: `smsc.events.subscribe()` or
`smsc.events.add_callback(fn)`. Faults: `smsc.set_faults(Faults(..., seed=...))`,
`smsc.drop_links()`. Bench: `send_mo_at_rate`, `smsc.latency`, `measure_submit_rate`.
It speaks to the platform only over SMPP (the codec of `channels.smpp`, nothing else).
"""

from simulator.smsc.bench import LatencyRecorder, measure_submit_rate, send_mo_at_rate
from simulator.smsc.events import (
    Bound,
    Event,
    EventBus,
    FaultInjected,
    MoAcked,
    MoRedelivered,
    MoSent,
    MtReceived,
    ReceiptSent,
    Subscription,
    Unbound,
    UssdAborted,
    UssdEnded,
    UssdPageShown,
)
from simulator.smsc.faults import Faults
from simulator.smsc.handsets import Handset, InboxMessage, MoMessage
from simulator.smsc.server import (
    DEFAULT_PORT,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DEMO_SYSTEM_ID,
    Account,
    Smsc,
    SmscConfig,
)
from simulator.smsc.ussd import UssdPage, UssdSession

__all__ = [
    "DEFAULT_PORT",
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "DEMO_SYSTEM_ID",
    "Account",
    "Bound",
    "Event",
    "EventBus",
    "FaultInjected",
    "Faults",
    "Handset",
    "InboxMessage",
    "LatencyRecorder",
    "MoAcked",
    "MoMessage",
    "MoRedelivered",
    "MoSent",
    "MtReceived",
    "ReceiptSent",
    "Smsc",
    "SmscConfig",
    "Subscription",
    "Unbound",
    "UssdAborted",
    "UssdEnded",
    "UssdPage",
    "UssdPageShown",
    "UssdSession",
    "measure_submit_rate",
    "send_mo_at_rate",
]
