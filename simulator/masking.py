"""PINs masked in everything the simulator shows: SMS commands, USSD inputs, IVR keys.

The platform masks PINs in its own logs; the simulator's consoles show raw traffic, so they
mask it again. A PIN is a run of exactly six digits, whatever separates it from the rest
(`CZ 13900000001 50 333333`, `YE 333333`, `MM 111111 222222 222222`, the USSD input
`1*13900000001*50*333333`): nothing else in the grammar has six digits alone, since phone
numbers have eleven and more and amounts at most three before the decimals (a six-digit
confirmation code `Y <code>` is masked too: masking too much is the safe side).
"""

from __future__ import annotations

import re
from typing import Final

MASK: Final = "******"
_PIN: Final = re.compile(r"(?<![0-9０-９])[0-9０-９]{6}(?![0-9０-９])")


def mask_pins(text: str) -> str:
    """`text` with every six-digit run replaced by `******`."""
    return _PIN.sub(MASK, text)


__all__ = ["MASK", "mask_pins"]
