"""The AGI environment an emulated call sends first, in Asterisk's order (`res_agi.c`).

FastAGI (`launch_netscript`) starts with `agi_network: yes` and `agi_network_script: <path>`;
then, for both FastAGI and classic AGI, `setup_env`: request, channel, language, type,
uniqueid, version, caller ID (number and name, `unknown` when there is none), presentation,
ANI2, type of number, transit network, DNID, RDNIS, context, extension, priority, enhanced,
account code, thread id, then `agi_arg_1`... and the blank line (`format_environment`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

ASTERISK_VERSION: Final = "18.20.2"
UNKNOWN: Final = "unknown"
PRES_ALLOWED: Final = 0  # AST_PRES_ALLOWED_USER_NUMBER_NOT_SCREENED
PRES_NUMBER_NOT_AVAILABLE: Final = 67  # AST_PRES_NUMBER_NOT_AVAILABLE: no caller ID at all
CHANNEL_TECH: Final = "SIP"


@dataclass(frozen=True, slots=True)
class Dialplan:
    """Where the call lands: `exten => 1888,1,AGI(agi://host:port/path)` in `context`,
    arriving from the SIP peer `peer` (the channel is `SIP/<peer>-0000000a`)."""

    context: str = "default"
    extension: str = "1888"
    peer: str = "carrier"
    accountcode: str = ""


@dataclass(frozen=True, slots=True)
class CallIdentity:
    """What makes one call's channel unique on the emulated Asterisk."""

    uniqueid: str  # "<epoch>.<n>"
    channel: str  # "SIP/carrier-0000000a"
    threadid: int


def call_identity(epoch: int, number: int, peer: str) -> CallIdentity:
    return CallIdentity(
        uniqueid=f"{epoch}.{number}",
        channel=f"{CHANNEL_TECH}/{peer}-{number:08x}",
        threadid=139_800_000_000_000 + number * 4096,  # the shape of a pthread_t
    )


def agi_environment(
    *,
    request: str,
    network_script: str | None,
    identity: CallIdentity,
    language: str,
    caller: str | None,
    caller_name: str | None,
    dialplan: Dialplan,
    arguments: Sequence[str] = (),
) -> dict[str, str]:
    """The variables (names without `agi_`) in the order Asterisk sends them;
    `network_script` None for classic AGI (no `agi_network` lines)."""
    variables: dict[str, str] = {}
    if network_script is not None:
        variables["network"] = "yes"
        if network_script:
            variables["network_script"] = network_script
    variables |= {
        "request": request,
        "channel": identity.channel,
        "language": language,
        "type": CHANNEL_TECH,
        "uniqueid": identity.uniqueid,
        "version": ASTERISK_VERSION,
        "callerid": caller or UNKNOWN,
        "calleridname": caller_name or UNKNOWN,
        "callingpres": str(PRES_ALLOWED if caller else PRES_NUMBER_NOT_AVAILABLE),
        "callingani2": "0",
        "callington": "0",
        "callingtns": "0",
        "dnid": dialplan.extension,
        "rdnis": UNKNOWN,
        "context": dialplan.context,
        "extension": dialplan.extension,
        "priority": "1",
        "enhanced": "0.0",
        "accountcode": dialplan.accountcode,
        "threadid": str(identity.threadid),
    }
    for number, argument in enumerate(arguments, start=1):
        variables[f"arg_{number}"] = argument
    return variables


def channel_variables(
    identity: CallIdentity, language: str, caller: str | None, dialplan: Dialplan
) -> dict[str, str]:
    """What GET VARIABLE finds on a fresh channel (a few of Asterisk's built-ins)."""
    return {
        "CHANNEL": identity.channel,
        "UNIQUEID": identity.uniqueid,
        "CONTEXT": dialplan.context,
        "EXTEN": dialplan.extension,
        "PRIORITY": "1",
        "CHANNEL(language)": language,
        "CALLERID(num)": caller or "",
    }


__all__ = [
    "ASTERISK_VERSION",
    "CallIdentity",
    "Dialplan",
    "agi_environment",
    "call_identity",
    "channel_variables",
]
