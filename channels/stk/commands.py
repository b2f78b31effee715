"""The proactive commands, terminal responses and envelopes the SIM menu uses, as bytes
(ETSI TS 102 223; sans-IO: values in, bytes out, and back).

    proactive command  D0 len | 81 03 number type qualifier | 82 02 source destination | ...
    terminal response  81 03 number type qualifier | 82 02 82 81 | 83 01 result | ...
    MENU SELECTION     D3 len | 82 02 01 81 | 90 01 item

Per command (type, destination device, the data objects after the two headers):

- SET UP MENU (0x25, terminal 0x82): alpha identifier (title), then one item per entry
  (0x8F: identifier byte + alpha coding), identifiers 1..n in order (§6.6.7).
- SELECT ITEM (0x24, terminal 0x82): the same layout (§6.6.8).
- GET INPUT (0x23, terminal 0x82): text string, response length (0x91: min, max), optional
  default text (§6.6.3). Qualifier (§8.6): bit 1 = 0 digits only (0-9, *, #, +), 1 the SMS
  alphabet; bit 2 = 1 UCS-2 entry; bit 3 = 1 no echo (hidden); bit 4 = 1 SMS packed answer.
- DISPLAY TEXT (0x21, display 0x02): text string (§6.6.1). Qualifier bit 8 = 1: the text
  stays until the user clears it (we always set it: a closing text must be read).
- SEND SHORT MESSAGE (0x13, network 0x83): optional alpha identifier, optional address (0x86,
  the service centre; absent: the handset's default), SMS TPDU (0x8B, an SMS-SUBMIT) (§6.6.9).
  Qualifier 0: the TPDU is sent as is (the SIM packed it).

A TERMINAL RESPONSE (§6.8) echoes the command details, says terminal -> UICC, carries the
result (0x00 done, 0x10 terminated by the user, 0x11 backward move, 0x12 no response) and,
for SELECT ITEM, the item identifier (0x90), for GET INPUT the text string typed.

Decoding checks what the bytes must hold and raises `MalformedTlv` (tlv.py) with the reason;
encoding a command over 255 bytes raises `CommandTooLong`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from channels.stk import tlv
from channels.stk.text import (
    DCS_GSM_8BIT,
    DCS_GSM_PACKED,
    DCS_UCS2,
    decode_alpha,
    decode_text_string,
    encode_alpha,
    encode_text_string,
    gsm_or_none,
)
from channels.stk.tlv import MalformedTlv, StkError, Tlv
from channels.stk.tpdu import (
    TOA_INTERNATIONAL,
    SmsSubmit,
    decode_semi_octets,
    decode_sms_submit,
    encode_address,
    encode_sms_submit,
)

# Type of command (TS 102 223 §9.4)
SEND_SHORT_MESSAGE: Final = 0x13
DISPLAY_TEXT: Final = 0x21
GET_INPUT: Final = 0x23
SELECT_ITEM: Final = 0x24
SET_UP_MENU: Final = 0x25
COMMAND_NAMES: Final = {
    SEND_SHORT_MESSAGE: "SEND SHORT MESSAGE",
    DISPLAY_TEXT: "DISPLAY TEXT",
    GET_INPUT: "GET INPUT",
    SELECT_ITEM: "SELECT ITEM",
    SET_UP_MENU: "SET UP MENU",
}

# Device identities (§8.7)
KEYPAD: Final = 0x01
DISPLAY: Final = 0x02
UICC: Final = 0x81
TERMINAL: Final = 0x82
NETWORK: Final = 0x83
_DESTINATION: Final = {
    SEND_SHORT_MESSAGE: NETWORK,
    DISPLAY_TEXT: DISPLAY,
    GET_INPUT: TERMINAL,
    SELECT_ITEM: TERMINAL,
    SET_UP_MENU: TERMINAL,
}

# GET INPUT qualifier bits (§8.6)
ALPHABET: Final = 0x01  # clear: digits only
UCS2_ENTRY: Final = 0x02
NO_ECHO: Final = 0x04
PACKED: Final = 0x08
WAIT_FOR_USER: Final = 0x80  # DISPLAY TEXT: clear only on the user's action

# General result (§8.12)
OK: Final = 0x00
TERMINATED_BY_USER: Final = 0x10
BACKWARD_MOVE: Final = 0x11
NO_RESPONSE: Final = 0x12
RESULTS: Final = frozenset({OK, TERMINATED_BY_USER, BACKWARD_MOVE, NO_RESPONSE})

command_number_default: Final = 1


@dataclass(frozen=True, slots=True)
class SetUpMenu:
    title: str
    items: tuple[str, ...]  # item n has identifier n (from 1)
    number: int = command_number_default


@dataclass(frozen=True, slots=True)
class SelectItem:
    title: str
    items: tuple[str, ...]
    number: int = command_number_default


@dataclass(frozen=True, slots=True)
class GetInput:
    text: str
    min_length: int
    max_length: int
    digits_only: bool
    hidden: bool
    ucs2: bool = False  # the answer may be any UCS-2 text
    packed: bool = False  # the answer comes back packed 7-bit
    default_text: str | None = None
    number: int = command_number_default

    def __post_init__(self) -> None:
        if not 0 <= self.min_length <= self.max_length <= 0xFF:
            raise StkError(
                f"GET INPUT lengths 0 <= min <= max <= 255: {self.min_length}..{self.max_length}"
            )

    @property
    def qualifier(self) -> int:
        return (
            (0 if self.digits_only else ALPHABET)
            | (UCS2_ENTRY if self.ucs2 else 0)
            | (NO_ECHO if self.hidden else 0)
            | (PACKED if self.packed else 0)
        )


@dataclass(frozen=True, slots=True)
class DisplayText:
    text: str
    number: int = command_number_default


@dataclass(frozen=True, slots=True)
class SendShortMessage:
    tpdu: SmsSubmit
    alpha: str | None = None
    service_centre: str | None = None  # the address data object, digits ('+' international)
    number: int = command_number_default


Command = SetUpMenu | SelectItem | GetInput | DisplayText | SendShortMessage


@dataclass(frozen=True, slots=True)
class CommandDetails:
    number: int
    type: int
    qualifier: int


@dataclass(frozen=True, slots=True)
class TerminalResponse:
    details: CommandDetails  # as the command had them
    result: int = OK
    item: int | None = None  # SELECT ITEM: the identifier chosen
    text: str | None = None  # GET INPUT: what was typed
    dcs: int | None = None  # of `text`; None picks 04 or 08 (or 00 for a packed GET INPUT)


@dataclass(frozen=True, slots=True)
class MenuSelection:
    item: int


def _type_of(command: Command) -> int:
    match command:
        case SetUpMenu():
            return SET_UP_MENU
        case SelectItem():
            return SELECT_ITEM
        case GetInput():
            return GET_INPUT
        case DisplayText():
            return DISPLAY_TEXT
        case SendShortMessage():
            return SEND_SHORT_MESSAGE


def _qualifier(command: Command) -> int:
    match command:
        case GetInput():
            return command.qualifier
        case DisplayText():
            return WAIT_FOR_USER
    return 0


def details_of(command: Command) -> CommandDetails:
    return CommandDetails(command.number, _type_of(command), _qualifier(command))


def _items(items: tuple[str, ...]) -> list[bytes]:
    if not 0 < len(items) <= 0xFE:
        raise StkError(f"a menu has 1..254 items, got {len(items)}")
    return [
        tlv.simple(tlv.ITEM, bytes((n,)) + encode_alpha(text)) for n, text in enumerate(items, 1)
    ]


def encode_command(command: Command) -> bytes:
    """The proactive command's bytes (D0 ...); `CommandTooLong` when over 255 bytes."""
    if not 0 < command.number < 0xFF:
        raise StkError(f"a command number is 1..254, got {command.number}")
    kind = _type_of(command)
    objects = [
        tlv.simple(tlv.COMMAND_DETAILS, bytes((command.number, kind, _qualifier(command)))),
        tlv.simple(tlv.DEVICE_IDENTITIES, bytes((UICC, _DESTINATION[kind]))),
    ]
    match command:
        case SetUpMenu() | SelectItem():
            objects.append(tlv.simple(tlv.ALPHA_IDENTIFIER, encode_alpha(command.title)))
            objects += _items(command.items)
        case GetInput():
            objects.append(tlv.simple(tlv.TEXT_STRING, encode_text_string(command.text)))
            length = bytes((command.min_length, command.max_length))
            objects.append(tlv.simple(tlv.RESPONSE_LENGTH, length))
            if command.default_text is not None:
                objects.append(
                    tlv.simple(tlv.DEFAULT_TEXT, encode_text_string(command.default_text))
                )
        case DisplayText():
            objects.append(tlv.simple(tlv.TEXT_STRING, encode_text_string(command.text)))
        case SendShortMessage():
            if command.alpha is not None:
                objects.append(tlv.simple(tlv.ALPHA_IDENTIFIER, encode_alpha(command.alpha)))
            if command.service_centre is not None:
                digits = command.service_centre
                toa_and_digits = _address_value(digits)
                objects.append(tlv.simple(tlv.ADDRESS, toa_and_digits))
            objects.append(tlv.simple(tlv.SMS_TPDU, encode_sms_submit(command.tpdu)))
    return tlv.encode_ber(tlv.PROACTIVE_COMMAND, objects)


def _address_value(number: str) -> bytes:
    """The address data object (§8.1): TON/NPI byte, then the digits as semi-octets."""
    return encode_address(number)[1:]  # the same layout, without TP-DA's digit count


def _decode_address(value: bytes) -> str:
    if not value:
        raise MalformedTlv("address: no type of number")
    digits_bytes = value[1:]
    count = len(digits_bytes) * 2 - (1 if digits_bytes and digits_bytes[-1] >> 4 == 0xF else 0)
    digits = decode_semi_octets(digits_bytes, count, "address")
    return ("+" if value[0] == TOA_INTERNATIONAL else "") + digits


def _details(objects: list[Tlv]) -> CommandDetails:
    value = tlv.need(objects, tlv.COMMAND_DETAILS, "command details")
    if len(value) != 3:
        raise MalformedTlv(f"command details hold 3 bytes, got {len(value)}")
    return CommandDetails(value[0], value[1], value[2])


def _devices(objects: list[Tlv]) -> tuple[int, int]:
    value = tlv.need(objects, tlv.DEVICE_IDENTITIES, "device identities")
    if len(value) != 2:
        raise MalformedTlv(f"device identities hold 2 bytes, got {len(value)}")
    return value[0], value[1]


def _decode_items(objects: list[Tlv]) -> tuple[str, ...]:
    items = []
    for n, item in enumerate((o for o in objects if o.tag == tlv.ITEM), 1):
        if not item.value:
            raise MalformedTlv(f"item {n}: no identifier")
        if item.value[0] != n:
            raise MalformedTlv(f"item {n} has identifier {item.value[0]}; expected 1..n in order")
        items.append(decode_alpha(item.value[1:], f"item {n}"))
    if not items:
        raise MalformedTlv("a menu without items")
    return tuple(items)


def _text(objects: list[Tlv], tag: int, what: str) -> str:
    return decode_text_string(tlv.need(objects, tag, what), what)[0]


def decode_command(data: bytes) -> Command:
    """A proactive command from its bytes; `MalformedTlv` says what is wrong with them."""
    _, value = tlv.decode_ber(data, (tlv.PROACTIVE_COMMAND,))
    objects = tlv.decode_comprehension(value)
    details = _details(objects)
    source, destination = _devices(objects)
    kind = details.type
    if kind not in _DESTINATION:
        raise StkError(f"type of command 0x{kind:02X} is not one this SIM menu uses")
    if source != UICC or destination != _DESTINATION[kind]:
        raise MalformedTlv(
            f"{COMMAND_NAMES[kind]}: devices {source:02X} -> {destination:02X}, expected"
            f" {UICC:02X} -> {_DESTINATION[kind]:02X}"
        )
    number, qualifier = details.number, details.qualifier
    if kind in (SET_UP_MENU, SELECT_ITEM):
        title = decode_alpha(tlv.need(objects, tlv.ALPHA_IDENTIFIER, "alpha identifier"))
        items = _decode_items(objects)
        return (SetUpMenu if kind == SET_UP_MENU else SelectItem)(title, items, number)
    if kind == GET_INPUT:
        text = _text(objects, tlv.TEXT_STRING, "text string")
        length = tlv.need(objects, tlv.RESPONSE_LENGTH, "response length")
        if len(length) != 2 or length[0] > length[1]:
            raise MalformedTlv(f"response length {length.hex()}: expected min <= max")
        default = tlv.find(objects, tlv.DEFAULT_TEXT)
        default_text = None
        if default is not None:
            default_text = decode_text_string(default.value, "default text")[0]
        return GetInput(
            text, length[0], length[1],
            digits_only=not qualifier & ALPHABET, hidden=bool(qualifier & NO_ECHO),
            ucs2=bool(qualifier & UCS2_ENTRY), packed=bool(qualifier & PACKED),
            default_text=default_text, number=number,
        )  # fmt: skip
    if kind == DISPLAY_TEXT:
        return DisplayText(_text(objects, tlv.TEXT_STRING, "text string"), number)
    alpha = tlv.find(objects, tlv.ALPHA_IDENTIFIER)
    address = tlv.find(objects, tlv.ADDRESS)
    tpdu = decode_sms_submit(tlv.need(objects, tlv.SMS_TPDU, "SMS TPDU"))
    return SendShortMessage(
        tpdu,
        None if alpha is None else decode_alpha(alpha.value),
        None if address is None else _decode_address(address.value),
        number,
    )


def command_details(data: bytes) -> CommandDetails:
    """The command details of a proactive command (to answer it)."""
    _, value = tlv.decode_ber(data, (tlv.PROACTIVE_COMMAND,))
    return _details(tlv.decode_comprehension(value))


def _response_dcs(response: TerminalResponse, text: str) -> int | None:
    if response.dcs is not None:
        return response.dcs
    if response.details.type == GET_INPUT:
        if response.details.qualifier & UCS2_ENTRY or gsm_or_none(text) is None:
            return DCS_UCS2
        if response.details.qualifier & PACKED:
            return DCS_GSM_PACKED
        return DCS_GSM_8BIT
    return None


def encode_terminal_response(response: TerminalResponse) -> bytes:
    """The TERMINAL RESPONSE's data objects (no outer tag, §6.8)."""
    if response.result not in RESULTS:
        raise StkError(f"result 0x{response.result:02X} is not one of {sorted(RESULTS)}")
    d = response.details
    objects = [
        tlv.simple(tlv.COMMAND_DETAILS, bytes((d.number, d.type, d.qualifier))),
        tlv.simple(tlv.DEVICE_IDENTITIES, bytes((TERMINAL, UICC))),
        tlv.simple(tlv.RESULT, bytes((response.result,))),
    ]
    if response.item is not None:
        objects.append(tlv.simple(tlv.ITEM_IDENTIFIER, bytes((response.item,))))
    if response.text is not None:
        text_string = encode_text_string(response.text, _response_dcs(response, response.text))
        objects.append(tlv.simple(tlv.TEXT_STRING, text_string))
    data = b"".join(objects)
    if len(data) > tlv.length_max:
        raise tlv.CommandTooLong(f"a terminal response of {len(data)} bytes > {tlv.length_max}")
    return data


def decode_terminal_response(data: bytes) -> TerminalResponse:
    objects = tlv.decode_comprehension(data)
    details = _details(objects)
    source, destination = _devices(objects)
    if (source, destination) != (TERMINAL, UICC):
        raise MalformedTlv(
            f"terminal response devices {source:02X} -> {destination:02X}, expected 82 -> 81"
        )
    result = tlv.need(objects, tlv.RESULT, "result")
    if not result:
        raise MalformedTlv("result: no general result byte")
    item = tlv.find(objects, tlv.ITEM_IDENTIFIER)
    if item is not None and len(item.value) != 1:
        raise MalformedTlv(f"item identifier holds 1 byte, got {len(item.value)}")
    text = tlv.find(objects, tlv.TEXT_STRING)
    typed, dcs = (None, None) if text is None else decode_text_string(text.value)
    return TerminalResponse(details, result[0], None if item is None else item.value[0], typed, dcs)


def encode_menu_selection(selection: MenuSelection) -> bytes:
    if not 0 < selection.item <= 0xFF:
        raise StkError(f"an item identifier is 1..255, got {selection.item}")
    return tlv.encode_ber(
        tlv.MENU_SELECTION,
        [
            tlv.simple(tlv.DEVICE_IDENTITIES, bytes((KEYPAD, UICC))),
            tlv.simple(tlv.ITEM_IDENTIFIER, bytes((selection.item,))),
        ],
    )


def decode_envelope(data: bytes) -> MenuSelection:
    """A MENU SELECTION envelope (the only one the SIM menu takes)."""
    _, value = tlv.decode_ber(data, (tlv.MENU_SELECTION,))
    objects = tlv.decode_comprehension(value)
    source, destination = _devices(objects)
    if (source, destination) != (KEYPAD, UICC):
        raise MalformedTlv(
            f"menu selection devices {source:02X} -> {destination:02X}, expected 01 -> 81"
        )
    item = tlv.need(objects, tlv.ITEM_IDENTIFIER, "item identifier")
    if len(item) != 1:
        raise MalformedTlv(f"item identifier holds 1 byte, got {len(item)}")
    return MenuSelection(item[0])
