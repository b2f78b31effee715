"""How many bytes a proactive command takes as BER-TLV (ETSI TS 102 223), so `flows check`
can prove every screen fits the 255 bytes a whole command may take. The bytes themselves are
`channels/stk`'s job; this counts them the same way:

- the command: tag 0xD0 and its length, then command details (5 bytes: 81 03 number type
  qualifier) and device identities (4 bytes: 82 02 source destination);
- an alpha identifier (0x85) or item (0x8F, plus its 1-byte identifier) holds its text in the
  SIM alpha coding: the GSM default alphabet unpacked, one byte a character (two for the
  extension table), else the shortest UCS-2 form of TS 102 221 annex A: 0x80 (1 + 2 bytes a
  UTF-16 unit), or, when every non-GSM character lies in one 128-character window of the BMP,
  0x81 (3 + 1 byte a character; the window starts at a multiple of 128 below 0x8000) or 0x82
  (4 + 1 byte a character; any window);
- a text string (0x8D) holds a DCS byte and the text: 8-bit GSM (one byte a character) or
  UCS-2 (two bytes a character);
- GET INPUT adds a response length (0x91: 4 bytes);
- every TLV length above 127 takes two bytes (0x81 n).
"""

from __future__ import annotations

from typing import Final

from dialogs.gsm import septet_costs, ucs2_units
from dialogs.render.stk import DisplayText, GetInput, SelectItem, SetUpMenu

command_bytes_max: Final = 255
COMMAND_HEADER_BYTES: Final = 5 + 4  # command details + device identities
RESPONSE_LENGTH_BYTES: Final = 4


def _tlv(value_bytes: int) -> int:
    return 1 + (1 if value_bytes <= 127 else 2) + value_bytes


WINDOW: Final = 128  # characters a 0x81 / 0x82 base pointer reaches
_ucs2_81_max: Final = 0x7FFF  # the 0x81 base pointer's bit 16 is zero
_items_max: Final = 255  # the 0x81 / 0x82 forms count characters in one byte


def _windowed_bytes(text: str) -> int | None:
    """Bytes of the 0x81 or 0x82 form (the shorter that applies), or None."""
    if len(text) > _items_max:
        return None
    wide = [ord(char) for char in text if septet_costs(char) != [1]]
    if not wide or max(wide) > 0xFFFF or any(0xD800 <= o <= 0xDFFF for o in wide):
        return None
    low, high = min(wide), max(wide)
    if high - low >= WINDOW:
        return None
    if low <= _ucs2_81_max and high - (low & ~(WINDOW - 1)) < WINDOW:
        return 3 + len(text)
    return 4 + len(text)


def alpha_bytes(text: str) -> int:
    costs = septet_costs(text)
    if costs is not None:
        return sum(costs)
    ucs2 = 1 + 2 * ucs2_units(text)
    windowed = _windowed_bytes(text)
    return ucs2 if windowed is None else min(ucs2, windowed)


def text_string_bytes(text: str) -> int:
    costs = septet_costs(text)
    return 1 + (sum(costs) if costs is not None else 2 * ucs2_units(text))


def command_bytes(command: SetUpMenu | SelectItem | GetInput | DisplayText) -> int:
    """The whole command, tag and length included."""
    match command:
        case SetUpMenu() | SelectItem():
            body = _tlv(alpha_bytes(command.title))
            body += sum(_tlv(1 + alpha_bytes(item)) for item in command.items)
        case GetInput():
            body = _tlv(text_string_bytes(command.text)) + RESPONSE_LENGTH_BYTES
        case DisplayText():
            body = _tlv(text_string_bytes(command.text))
    return _tlv(COMMAND_HEADER_BYTES + body)
