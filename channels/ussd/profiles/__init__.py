"""USSD gateway profiles: how one HTTP gateway's wire form maps to a neutral `UssdTurn` and a
page back to its reply. Each profile is a sans-IO codec module with the same five functions:

- `parse_request(body) -> UssdTurn` (the platform; raises UssdProtocolError, 400)
- `render_reply(turn, text, end) -> Reply` and `render_error(status, reason) -> Reply`
- `encode_request(...) -> (body, content type)` and `decode_reply(status, body) -> (text, end)`
  (the gateway side: the simulator's emulator)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType, ModuleType
from typing import Final

from channels.ussd.profiles import africastalking, json_gateway
from channels.ussd.profiles._reply import Reply, UssdGatewayReplyError

PROFILES: Final[Mapping[str, ModuleType]] = MappingProxyType(
    {"africastalking": africastalking, "json": json_gateway}
)
DEFAULT_PROFILE: Final = "africastalking"

__all__ = ["DEFAULT_PROFILE", "PROFILES", "Reply", "UssdGatewayReplyError"]
