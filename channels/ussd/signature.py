"""The shared-secret signature of USSD callbacks, sans-IO.

The scheme of the bank's deposit notifications, with our own header: a gateway signs every
callback with `X-Aircharge-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` over the bytes
`"<t>." + <raw body>` under the shared secret. The platform refuses (401) a missing, malformed,
wrong or stale one before anything runs. The secret never appears in a message or a log.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Final

from channels.ussd.turn import UssdProtocolError

SIGNATURE_HEADER: Final = "X-Aircharge-Signature"
signature_tolerance_s: Final = 300  # the default; `ussd.signature_tolerance_s` sets it
signature_header_length_max: Final = 256
_SIGNATURE: Final = re.compile(r"t=([0-9]{1,12}),v1=([0-9a-f]{64})")


class SignatureRefused(UssdProtocolError):
    """Missing, malformed, wrong or stale signature: HTTP 401."""

    http_status = 401


def _mac(secret: bytes, timestamp: int, body: bytes) -> str:
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: bytes, body: bytes, now_s: float) -> str:
    """The header value that signs `body` at `now_s`."""
    assert secret, "signing needs a secret"
    timestamp = int(now_s)
    return f"t={timestamp},v1={_mac(secret, timestamp, body)}"


def verify_signature(
    secret: bytes, header: str | None, body: bytes, now_s: float, tolerance_s: int
) -> None:
    """Raise `SignatureRefused` unless `header` signs `body` under `secret`, made within
    `tolerance_s` of `now_s`. The MAC is compared in constant time."""
    if header is None:
        raise SignatureRefused(f"missing {SIGNATURE_HEADER}")
    match = _SIGNATURE.fullmatch(header.strip()[:signature_header_length_max])
    if match is None:
        raise SignatureRefused(f"{SIGNATURE_HEADER} is not t=<unix seconds>,v1=<64 hex>")
    timestamp, offered = int(match[1]), match[2]
    if not hmac.compare_digest(_mac(secret, timestamp, body), offered):
        raise SignatureRefused("signature does not match")
    if abs(now_s - timestamp) > tolerance_s:
        raise SignatureRefused(f"signature timestamp {timestamp} is outside ±{tolerance_s} s")
