"""A SIM's personalisation, as the platform provisions it (JSON, /docs/stk.md):

    {"sim_id": "0123456789abcdef", "msisdn": "8613800000001", "service_number": "1888",
     "kic": "<32 hex>", "kid": "<32 hex>", "counter": 0, "language": "zh-CN"}

`counter` is the last counter the SIM used (0: none yet); the SIM writes it back after every
increment, before the message leaves, so a crash can skip a counter but never reuse one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any, Final

from channels.stk.secure import SimKeys, counter_max, sim_id_chars

FIELDS: Final = ("sim_id", "msisdn", "service_number", "kic", "kid", "counter", "language")


class ProfileError(ValueError):
    """A SIM profile that is not one (the file's fault)."""


@dataclass(frozen=True, slots=True)
class SimProfile:
    sim_id: str
    msisdn: str
    service_number: str
    kic: str  # 32 hex digits
    kid: str
    counter: int
    language: str = "zh-CN"

    def __post_init__(self) -> None:
        if len(self.sim_id) != sim_id_chars or any(
            c not in "0123456789abcdef" for c in self.sim_id
        ):
            raise ProfileError(
                f"sim_id is {sim_id_chars} lowercase hex digits, got {self.sim_id!r}"
            )
        for name in ("msisdn", "service_number"):
            value = getattr(self, name)
            if not (isinstance(value, str) and value.isascii() and value.isdigit()):
                raise ProfileError(f"{name} is digits, got {value!r}")
        if not (isinstance(self.counter, int) and 0 <= self.counter < counter_max):
            raise ProfileError(f"counter is 0..{counter_max - 1}, got {self.counter!r}")
        try:
            self.keys()
        except ValueError as error:
            raise ProfileError(f"kic/kid: {error}") from None

    def keys(self) -> SimKeys:
        return SimKeys(bytes.fromhex(self.kic), bytes.fromhex(self.kid))

    def next_counter(self) -> SimProfile:
        return replace(self, counter=self.counter + 1)

    def __repr__(self) -> str:  # the keys never reach a log
        return f"SimProfile(sim_id={self.sim_id!r}, msisdn={self.msisdn!r}, counter={self.counter})"

    @classmethod
    def from_json(cls, document: Any) -> SimProfile:
        if not isinstance(document, dict):
            raise ProfileError("a SIM profile is a JSON object")
        missing = [name for name in FIELDS[:-1] if name not in document]
        if missing:
            raise ProfileError(f"a SIM profile needs {missing}")
        try:
            return cls(**{name: document[name] for name in FIELDS if name in document})
        except TypeError as error:
            raise ProfileError(str(error)) from None

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def load_profile(path: Path) -> SimProfile:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise ProfileError(f"{path}: {error}") from None
    return SimProfile.from_json(document)


def save_profile(path: Path, profile: SimProfile) -> None:
    """Written whole to a temporary file readable by its owner only (the file holds the clear
    keys, as `aircharge stk provision` writes it), synced, then moved over the old one: a
    counter once used is never found lower after a crash or a power loss."""
    temporary = path.with_name(path.name + ".tmp")
    data = (json.dumps(profile.to_json(), indent=2) + "\n").encode("utf-8")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)  # a leftover temporary file would keep its old mode
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)
