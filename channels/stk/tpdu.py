"""SMS-SUBMIT TPDUs (3GPP TS 23.040 §9.2.2.2), as SEND SHORT MESSAGE carries them (sans-IO).

    octet 1   first octet: TP-MTI bits 1-0 = 01 (SMS-SUBMIT), TP-RD bit 2, TP-VPF bits 4-3
              (00: no validity period), TP-SRR bit 5, TP-UDHI bit 6, TP-RP bit 7
    octet 2   TP-MR, the message reference (the handset sets it; 0 in the program)
    TP-DA     §9.1.2.5: the number of useful semi-octets (digits), the type of address
              (0x91 international when the number is written with '+', else 0x81: type
              unknown, ISDN/telephone numbering plan), then the digits two to an octet, low
              nibble first, an odd count padded with 0xF in the last high nibble
    TP-PID    0x00
    TP-DCS    0x00 GSM default alphabet packed 7-bit, or 0x08 UCS-2 (TS 23.038 §4)
    TP-VP     absent (TP-VPF = 00)
    TP-UDL    septets for 7-bit (extension characters count two), octets for UCS-2
    TP-UD     the septets packed (TS 23.038 §6.1.2.1.1, zero fill bits), or UTF-16-BE

One SMS: at most 160 septets or 140 octets of UCS-2. We encode exactly this layout; decoding
also skips a validity period in any TP-VPF form. A user-data header (TP-UDHI) is refused:
the applet's answer never needs one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from channels.smpp.coding import gsm_decode, pack_septets, unpack_septets
from channels.stk.text import gsm_or_none
from channels.stk.tlv import MalformedTlv, StkError

MTI_SUBMIT: Final = 0x01
TOA_INTERNATIONAL: Final = 0x91
TOA_UNKNOWN: Final = 0x81
DCS_GSM7: Final = 0x00
DCS_UCS2: Final = 0x08
septets_max: Final = 160
ucs2_octets_max: Final = 140
address_digits_max: Final = 20
_VP_OCTETS: Final = {0b00: 0, 0b10: 1, 0b01: 7, 0b11: 7}  # TP-VPF -> TP-VP length


@dataclass(frozen=True, slots=True)
class SmsSubmit:
    """An SMS-SUBMIT: `destination` digits (a leading '+' for international), `text`."""

    destination: str
    text: str
    reference: int = 0

    def __post_init__(self) -> None:
        digits = self.destination.removeprefix("+")
        if not (digits.isascii() and digits.isdigit()) or len(digits) > address_digits_max:
            raise StkError(
                f"an SMS destination is 1..{address_digits_max} digits, got {self.destination!r}"
            )
        if not 0 <= self.reference <= 0xFF:
            raise StkError(f"TP-MR is one octet, got {self.reference}")


def encode_semi_octets(digits: str) -> bytes:
    """Digits two to an octet, low nibble first; an odd count ends in 0xF."""
    padded = digits + ("F" if len(digits) % 2 else "")
    return bytes(int(padded[i + 1], 16) << 4 | int(padded[i]) for i in range(0, len(padded), 2))


def decode_semi_octets(data: bytes, count: int, what: str) -> str:
    digits: list[str] = []
    for octet in data:
        for nibble in (octet & 0x0F, octet >> 4):
            if len(digits) < count:
                if nibble > 9:
                    raise MalformedTlv(f"{what}: semi-octet 0x{nibble:X} is not a digit")
                digits.append(str(nibble))
    if len(digits) != count:
        raise MalformedTlv(f"{what}: {count} digits announced, {len(digits)} present")
    return "".join(digits)


def encode_address(number: str) -> bytes:
    """TP-DA (§9.1.2.5): digit count, type of address, semi-octets."""
    digits = number.removeprefix("+")
    toa = TOA_INTERNATIONAL if number.startswith("+") else TOA_UNKNOWN
    return bytes((len(digits), toa)) + encode_semi_octets(digits)


def encode_sms_submit(sms: SmsSubmit) -> bytes:
    gsm = gsm_or_none(sms.text)
    if gsm is not None:
        if len(gsm) > septets_max:
            raise StkError(f"one SMS holds {septets_max} septets, the text takes {len(gsm)}")
        # pack_septets fills 7 spare bits with CR (the USSD rule); an SMS fills with zeros,
        # so pad with a zero septet ('@') the TP-UDL leaves out.
        packed = pack_septets(gsm + b"\0" if len(gsm) % 8 == 7 else gsm)
        dcs, udl, user_data = DCS_GSM7, len(gsm), packed
    else:
        user_data = sms.text.encode("utf-16-be", "surrogatepass")
        if len(user_data) > ucs2_octets_max:
            raise StkError(f"one SMS holds {ucs2_octets_max} UCS-2 octets, got {len(user_data)}")
        dcs, udl = DCS_UCS2, len(user_data)
    return (
        bytes((MTI_SUBMIT, sms.reference))
        + encode_address(sms.destination)
        + bytes((0x00, dcs, udl))
        + user_data
    )


def decode_sms_submit(data: bytes) -> SmsSubmit:
    """An SMS-SUBMIT TPDU; `MalformedTlv` for anything else or a truncated one."""
    what = "SMS-SUBMIT"
    if len(data) < 2:
        raise MalformedTlv(f"{what}: truncated before TP-MR")
    first, reference = data[0], data[1]
    if first & 0x03 != MTI_SUBMIT:
        raise MalformedTlv(f"{what}: TP-MTI {first & 0x03} is not SMS-SUBMIT (1)")
    if first & 0x40:
        raise MalformedTlv(f"{what}: a user-data header (TP-UDHI) is not supported")
    if len(data) < 4:
        raise MalformedTlv(f"{what}: truncated in TP-DA")
    count, toa = data[2], data[3]
    if count > address_digits_max:
        raise MalformedTlv(f"{what}: TP-DA of {count} digits > {address_digits_max}")
    at = 4 + (count + 1) // 2
    if len(data) < at:
        raise MalformedTlv(f"{what}: truncated in TP-DA")
    digits = decode_semi_octets(data[4:at], count, f"{what} TP-DA")
    vp = _VP_OCTETS[(first >> 3) & 0x03]
    if len(data) < at + 3 + vp:
        raise MalformedTlv(f"{what}: truncated before TP-UDL")
    dcs, udl = data[at + 1], data[at + 2 + vp]
    user_data = data[at + 3 + vp :]
    if dcs == DCS_GSM7:
        octets = (udl * 7 + 7) // 8
        if udl > septets_max or len(user_data) != octets:
            raise MalformedTlv(
                f"{what}: TP-UDL {udl} septets need {octets} octets, got {len(user_data)}"
            )
        text = gsm_decode(unpack_septets(user_data, udl))
    elif dcs == DCS_UCS2:
        if udl > ucs2_octets_max or udl % 2 or len(user_data) != udl:
            raise MalformedTlv(f"{what}: TP-UDL {udl} does not match {len(user_data)} UCS-2 octets")
        try:
            text = user_data.decode("utf-16-be")
        except UnicodeDecodeError as error:
            raise MalformedTlv(f"{what}: not UCS-2: {error.reason}") from None
    else:
        raise MalformedTlv(f"{what}: TP-DCS 0x{dcs:02X} is neither 00 (GSM 7-bit) nor 08 (UCS-2)")
    plus = "+" if toa == TOA_INTERNATIONAL else ""
    return SmsSubmit(plus + digits, text, reference)
