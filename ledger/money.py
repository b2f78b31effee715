"""Strong names for the values a mix-up would cost money on.

Amounts are integer fen (分) everywhere inside the platform; people type and read yuan.
MSISDNs are E.164 digits without '+', normalised at the edge (dialogs, channels) before
they reach the ledger; the ledger only checks their shape.
"""

from __future__ import annotations

import re
from typing import NewType

Fen = NewType("Fen", int)
Msisdn = NewType("Msisdn", str)
AccountId = NewType("AccountId", int)

CURRENCY = "CNY"
amount_fen_max = 10**12  # far above any single operation; guards against overflow and typos

_MSISDN_SHAPE = re.compile(r"^[1-9][0-9]{7,14}$")


def msisdn(value: str) -> Msisdn:
    """Accept an already-normalised E.164 number (digits, no '+'); refuse anything else."""
    if not _MSISDN_SHAPE.match(value):
        raise ValueError(f"not an E.164 MSISDN without '+': {value!r}")
    return Msisdn(value)


def fen(value: int) -> Fen:
    """Accept a positive integer amount in fen; bools and other types are programmer errors."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"amount must be an int of fen, got {type(value).__name__}")
    if not 0 < value <= amount_fen_max:
        raise ValueError(f"amount must be between 1 and {amount_fen_max} fen, got {value}")
    return Fen(value)
