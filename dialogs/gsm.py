"""The GSM 03.38 default alphabet: which texts travel as 7-bit septets, and how many.

SMS and USSD both send GSM 7-bit when every character is in the default alphabet (the
extension table's characters cost two septets: an escape and the character) and fall back to
UCS-2 otherwise. Page and part sizes follow from that: 182 septets per USSD page (160 octets
packed) or 80 UCS-2 characters; 160 / 153 septets per SMS part, 70 / 67 UCS-2 characters.
"""

from __future__ import annotations

from typing import Final

# 3GPP TS 23.038, 6.2.1: the 128 characters of the default alphabet (position = code).
DEFAULT_ALPHABET: Final = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# 6.2.1.1: the extension table, each sent as ESC + one septet.
EXTENSION: Final = "\f^{}\\[~]|€"

_SINGLE: Final = frozenset(DEFAULT_ALPHABET) - {"\x1b"}
_DOUBLE: Final = frozenset(EXTENSION)

assert len(DEFAULT_ALPHABET) == 128, "the default alphabet has 128 positions"
assert not set(DEFAULT_ALPHABET) & set(EXTENSION), "the tables are disjoint"


def septet_costs(text: str) -> list[int] | None:
    """Each character's septets (1, or 2 for the extension table), or None for UCS-2."""
    costs = []
    for char in text:
        if char in _SINGLE:
            costs.append(1)
        elif char in _DOUBLE:
            costs.append(2)
        else:
            return None
    return costs


def septets(text: str) -> int | None:
    """Septets `text` takes in the GSM default alphabet, or None when it needs UCS-2."""
    count = 0
    for char in text:
        if char in _SINGLE:
            count += 1
        elif char in _DOUBLE:
            count += 2
        else:
            return None
    return count


def ucs2_units(text: str) -> int:
    """UTF-16 code units (characters outside the BMP take two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
