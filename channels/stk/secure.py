"""The SIM applet's answer SMS, `STK1`: sealed by the SIM, opened by the platform (sans-IO).

Modelled on ETSI TS 102 225 secured packets (a ciphering key KIc, a key for the
cryptographic checksum KID, a counter against replay), reduced to what one text SMS carries:

    STK1 <sim_id> <counter> <body>

- `sim_id`: 16 lowercase hex digits (64 random bits), given when the SIM is provisioned.
- `counter`: decimal, 1 .. 2**40 - 1, no leading zeros; every message of a SIM carries a
  counter greater than the one before (the platform keeps the last one it accepted).
- `body`: base64url without padding (RFC 4648 §5: `A-Z a-z 0-9 - _`, all in the GSM default
  alphabet, so the SMS goes as 7-bit text) of `ciphertext || mac`.
- `ciphertext`: AES-128-CTR under KIc of the plaintext (UTF-8), the initial counter block being
  the counter as 8 bytes big-endian followed by 8 zero bytes. Keys are per SIM and a SIM never
  repeats a counter, so no keystream is used twice.
- `mac`: the first 8 bytes of AES-CMAC under KID over `b"STK1" || sim_id || counter (8 bytes
  big-endian) || ciphertext`: the header is authenticated, so a counter or SIM id changed in
  transit fails the MAC like a changed body does.
- plaintext: the command as the SMS grammar reads it, English keyword and single spaces
  (`TOPUP 8613900000001 50 123456`), at most `plaintext_bytes_max` bytes so the text stays
  within one 160-character SMS.

The platform's order of checks (`channels/stk` does the I/O): `parse` the text, look up the
SIM, `open_sealed` (MAC, compared in constant time, then decryption), and only then the
counter: a forger learns nothing from a refusal. Everything here is pure: no clock, no
database, no asyncio; the same functions seal on the simulator's SIM and open on the platform.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

PREFIX: Final = "STK1"
key_bytes: Final = 16  # AES-128
mac_bytes: Final = 8
sim_id_chars: Final = 16
counter_max: Final = 2**40 - 1
sms_chars_max: Final = 160
# 160 - "STK1 " - sim id - " " - 13-digit counter - " " = 124 base64url chars = 93 bytes,
# of which 8 are the MAC.
plaintext_bytes_max: Final = 85

_TEXT: Final = re.compile(
    rf"{PREFIX} (?P<sim>[0-9a-f]{{{sim_id_chars}}}) (?P<counter>[1-9][0-9]{{0,12}}) "
    r"(?P<body>[A-Za-z0-9_-]+)"
)
_SIM_ID: Final = re.compile(rf"[0-9a-f]{{{sim_id_chars}}}")


class SealError(ValueError):
    """A message that is not a well-formed `STK1` text, or a plaintext that cannot be sealed.
    When it comes from the network, it is the sender's fault: the message is refused."""


class BadMac(SealError):
    """The MAC does not match: tampered with, or sealed under other keys."""


def is_sealed_text(text: str) -> bool:
    """Whether an SMS text is meant as an applet answer (and must never reach the grammar)."""
    return text.startswith(PREFIX + " ")


@dataclass(frozen=True, slots=True)
class SimKeys:
    """A SIM's two keys: KIc ciphers, KID authenticates."""

    kic: bytes
    kid: bytes

    def __post_init__(self) -> None:
        if len(self.kic) != key_bytes or len(self.kid) != key_bytes:
            raise ValueError(f"SIM keys are {key_bytes} bytes each (AES-128)")
        if self.kic == self.kid:
            raise ValueError("KIc and KID must differ")

    def __repr__(self) -> str:  # keys never reach a log through a repr
        return "SimKeys(<hidden>)"


@dataclass(frozen=True, slots=True)
class SealedAnswer:
    """A parsed `STK1` text, not yet authenticated."""

    sim_id: str
    counter: int
    ciphertext: bytes
    mac: bytes


def _check_header(sim_id: str, counter: int) -> None:
    if not _SIM_ID.fullmatch(sim_id):
        raise SealError(f"a SIM id is {sim_id_chars} lowercase hex digits, got {sim_id!r}")
    if not 0 < counter <= counter_max:
        raise SealError(f"a counter is 1..{counter_max}, got {counter}")


def _keystream_cipher(kic: bytes, counter: int) -> Cipher[modes.CTR]:
    return Cipher(algorithms.AES(kic), modes.CTR(counter.to_bytes(8, "big") + bytes(8)))


def _mac(kid: bytes, sim_id: str, counter: int, ciphertext: bytes) -> bytes:
    cmac = CMAC(algorithms.AES(kid))
    cmac.update(PREFIX.encode() + sim_id.encode() + counter.to_bytes(8, "big") + ciphertext)
    return cmac.finalize()[:mac_bytes]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as error:
        raise SealError(f"the body is not base64url: {error}") from None


def protect(plaintext: str, sim_id: str, counter: int, keys: SimKeys) -> str:
    """The SMS text a SIM sends for `plaintext` with this counter (the SIM's side)."""
    _check_header(sim_id, counter)
    data = plaintext.encode("utf-8")
    if not data:
        raise SealError("nothing to seal")
    if len(data) > plaintext_bytes_max:
        raise SealError(f"a sealed command holds {plaintext_bytes_max} bytes, got {len(data)}")
    encryptor = _keystream_cipher(keys.kic, counter).encryptor()
    ciphertext = encryptor.update(data) + encryptor.finalize()
    body = _b64encode(ciphertext + _mac(keys.kid, sim_id, counter, ciphertext))
    text = f"{PREFIX} {sim_id} {counter} {body}"
    assert len(text) <= sms_chars_max, "plaintext_bytes_max keeps the text in one SMS"
    return text


def parse(text: str) -> SealedAnswer:
    """Split an `STK1` text into its parts; SealError when it is not one."""
    if len(text) > sms_chars_max:
        raise SealError(f"an applet answer is one SMS, got {len(text)} characters")
    match = _TEXT.fullmatch(text)
    if match is None:
        raise SealError("not `STK1 <sim id> <counter> <body>`")
    counter = int(match["counter"])
    _check_header(match["sim"], counter)
    body = _b64decode(match["body"])
    if _b64encode(body) != match["body"]:  # unused low bits set: one answer, many texts
        raise SealError("the body is not canonical base64url")
    if len(body) <= mac_bytes:
        raise SealError("the body is shorter than its MAC")
    return SealedAnswer(match["sim"], counter, body[:-mac_bytes], body[-mac_bytes:])


def open_sealed(sealed: SealedAnswer, keys: SimKeys) -> str:
    """The plaintext, once the MAC proves the SIM sealed it: BadMac otherwise, SealError when
    the deciphered bytes are not UTF-8 text."""
    expected = _mac(keys.kid, sealed.sim_id, sealed.counter, sealed.ciphertext)
    if not hmac.compare_digest(expected, sealed.mac):
        raise BadMac(f"SIM {sealed.sim_id} counter {sealed.counter}: MAC does not match")
    decryptor = _keystream_cipher(keys.kic, sealed.counter).decryptor()
    data = decryptor.update(sealed.ciphertext) + decryptor.finalize()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SealError(f"SIM {sealed.sim_id}: the command is not UTF-8 text") from None
