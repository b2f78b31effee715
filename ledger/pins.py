"""Agent PINs: how they are stored, checked, sealed between dialog steps, and judged weak.

Stored: `v2$<key id>$<salt>$<mac>`, the MAC being HMAC-SHA256 under the platform PIN key
named by the id, over a per-agent random salt, the agent's number and the PIN. Six digits
are a million guesses, so a slow hash alone would not protect a stolen table; a key kept
outside the database does (as payment systems keep PINs under a key), the salt makes every
agent's entry its own problem even to someone who has the key, and the key id lets the
operator rotate keys: old ones stay in the key ring to check, and a PIN checked under an old
key is stored again under the current one. Entries of the first scheme (`v1$<mac>`, no salt,
under the current key) are still checked, and upgraded the same way.

Sealed: a PIN typed in one dialog step is needed in a later one (a top-up asks for the PIN,
then for confirmation), and the dialog session is stored. The channel keeps it sealed with
AES-SIV (`cryptography`) under a key derived from the current PIN key, bound to the agent's
number: authenticated, so a forged or moved seal is refused; deterministic, so "enter the new
PIN again" can compare two seals without opening them. A seal does not survive a key
rotation; that costs a session in flight one "wrong PIN" answer, and counts as no attempt.

Weak: on change, a PIN of one repeated digit or an ascending or descending run (`123456`,
`987654`, `890123`) is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV

PIN_LENGTH: Final = 6
SEAL_PREFIX: Final = "pinseal:v2:"
salt_bytes: Final = 8
key_id_length_max: Final = 16
_PIN_SHAPE = re.compile(rf"[0-9]{{{PIN_LENGTH}}}")
_KEY_ID_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{1,{key_id_length_max}}}")


@dataclass(frozen=True, slots=True)
class PinKeys:
    """The key ring: the current key (by id) and the retired ones still accepted."""

    current_id: str
    keys: Mapping[str, bytes]
    _siv: AESSIV = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if not _KEY_ID_SHAPE.fullmatch(key_id):
                raise ValueError(f"a PIN key id is 1..{key_id_length_max} of A-Z a-z 0-9 _ -")
            if not key:
                raise ValueError(f"PIN key {key_id!r} is empty")
        if self.current_id not in self.keys:
            raise ValueError(f"the current PIN key id {self.current_id!r} has no key")
        seal_key = hmac.new(self.current, b"aircharge pin seal v2", hashlib.sha512).digest()
        object.__setattr__(self, "_siv", AESSIV(seal_key))  # 512 bits: AES-256-SIV

    @classmethod
    def single(cls, key: bytes, key_id: str = "k1") -> PinKeys:
        return cls(key_id, {key_id: key})

    @property
    def current(self) -> bytes:
        return self.keys[self.current_id]


@dataclass(frozen=True, slots=True)
class PinPolicy:
    """Wrong PINs: how many lock an agent, for how long; how many from one source are
    checked in a window (ledger.operations.auth)."""

    attempts_max: int = 3
    lockout_minutes: int = 30
    source_failures_max: int = 10
    source_window_minutes: int = 10

    def __post_init__(self) -> None:
        for name in self.__slots__:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} = {value!r}: expected a positive integer")


def is_pin(text: str) -> bool:
    return bool(_PIN_SHAPE.fullmatch(text))


def is_weak(pin: str) -> bool:
    """One repeated digit, or a run up or down (wrapping 9 → 0 and 0 → 9)."""
    digits = [int(c) for c in pin]
    steps = {(b - a) % 10 for a, b in itertools.pairwise(digits)}
    return len(steps) == 1 and steps <= {0, 1, 9}


def _mac(key: bytes, salt: str, msisdn: str, pin: str) -> str:
    return hmac.new(key, f"pin:v2:{salt}:{msisdn}:{pin}".encode(), hashlib.sha256).hexdigest()


def _mac_v1(key: bytes, msisdn: str, pin: str) -> str:
    return hmac.new(key, f"pin:v1:{msisdn}:{pin}".encode(), hashlib.sha256).hexdigest()


def hash_pin(keys: PinKeys, msisdn: str, pin: str) -> str:
    """What is stored for `pin`: under the current key, with a fresh salt."""
    if not is_pin(pin):
        raise ValueError(f"a PIN is {PIN_LENGTH} digits")
    salt = secrets.token_hex(salt_bytes)
    return f"v2${keys.current_id}${salt}${_mac(keys.current, salt, msisdn, pin)}"


@dataclass(frozen=True, slots=True)
class Checked:
    ok: bool
    rehash: bool = False  # right, but stored under an old key or scheme


def check_pin(keys: PinKeys, msisdn: str, stored: str, pin: str) -> Checked:
    """Whether `pin` is the one `stored` for the agent `msisdn` (constant time in the PIN)."""
    if not is_pin(pin):
        return Checked(False)
    scheme, _, rest = stored.partition("$")
    if scheme == "v1":
        return Checked(hmac.compare_digest(_mac_v1(keys.current, msisdn, pin), rest), True)
    if scheme != "v2":
        return Checked(False)
    key_id, salt, mac = [*rest.split("$"), "", "", ""][:3]
    key = keys.keys.get(key_id)
    if key is None:
        return Checked(False)  # a retired key no longer in the ring: the PIN must be reset
    ok = hmac.compare_digest(_mac(key, salt, msisdn, pin), mac)
    return Checked(ok, ok and key_id != keys.current_id)


def seal(keys: PinKeys, msisdn: str, pin: str) -> str:
    """A PIN as a dialog session may keep it (see the module docstring)."""
    sealed = keys._siv.encrypt(pin.encode(), [msisdn.encode()])
    return SEAL_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def unseal(keys: PinKeys, msisdn: str, credential: str) -> str | None:
    """The PIN inside a seal made for `msisdn` under the current key; a PIN typed as such is
    answered as it is; None for anything else (a forged, moved or outdated seal)."""
    if not credential.startswith(SEAL_PREFIX):
        return credential if is_pin(credential) else None
    body = credential.removeprefix(SEAL_PREFIX)
    try:
        sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        pin = keys._siv.decrypt(sealed, [msisdn.encode()]).decode()
    except (ValueError, InvalidTag, UnicodeDecodeError):
        return None
    return pin if is_pin(pin) else None


__all__ = [
    "PIN_LENGTH",
    "SEAL_PREFIX",
    "Checked",
    "PinKeys",
    "PinPolicy",
    "check_pin",
    "hash_pin",
    "is_pin",
    "is_weak",
    "seal",
    "unseal",
]
