"""Render engine events and command-parse errors as SMS reply texts, and count SMS parts.

Replies travel GSM 7-bit when every character is in the GSM 03.38 default alphabet, UCS-2
otherwise (any Chinese character), and are concatenated when long (ARCHITECTURE.md, "SMS").
`sms_segments` counts the parts a text costs: GSM 7-bit holds 160 septets in one part, 153 per
part once concatenated (the user-data header takes the rest); the extension table's characters
(`€ ^ { } [ ] ~ | \\` and form feed) cost two septets, an escape and the character, and a
segmenter never splits that pair. UCS-2 holds 70 characters, 67 per concatenated part; a
character outside the BMP (an emoji) takes two UTF-16 units, never split either. The
alphabet itself is `dialogs.gsm`'s (shared with USSD page sizes).
Links whose `data_coding` means GBK count differently; that is the SMS channel's mapping.

- `render_sms`: `End` → its message. `Ask` → notice, prompt and numbered choices one per line,
  as a USSD page shows them; a prompt the catalogue words apart for SMS (`<key>.sms`, e.g. the
  transfer code's "reply Y <code>") takes that wording. `RunOperation` is never
  rendered.
- `sms_help`: a parse error is answered with help (`dialogs.grammar`). When the keyword was
  recognised (`error.kind`), the reply is that command's own usage line with an example,
  `sms.usage.<kind>`: the sender knows what they want and needs only the form. Otherwise (no
  keyword, an empty or over-long text, or the help command itself) it is the general help,
  `sms.help`, a compact list of every command. So `sms.help` is the help command's usage line
  and there is no `sms.usage.help`. Every usage line fits one SMS part in both languages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from dialogs.catalogue import Catalogue
from dialogs.events import Ask, End, Event, Message
from dialogs.grammar import COMMAND_KINDS, ParseError
from dialogs.gsm import septet_costs

HELP_KEY: Final = "sms.help"
SMS_VARIANT_SUFFIX: Final = ".sms"  # `transfer.ask_code.sms`: that prompt's wording over SMS
USAGE_KEYS: Final[Mapping[str, str]] = {
    kind: HELP_KEY if kind == "help" else f"sms.usage.{kind}" for kind in sorted(COMMAND_KINDS)
}

septets_per_part_max: Final = 160  # one GSM 7-bit part (140 octets)
septets_per_concatenated_part_max: Final = 153  # 140 octets less the 6-octet UDH
ucs2_units_per_part_max: Final = 70  # one UCS-2 part, in UTF-16 code units
ucs2_units_per_concatenated_part_max: Final = 67


@dataclass(frozen=True, slots=True)
class SmsReply:
    text: str

    @property
    def segments(self) -> int:
        return sms_segments(self.text)


def _parts(costs: list[int], single_max: int, concatenated_max: int) -> int:
    """Parts for units of these costs, never splitting one unit across two parts."""
    if sum(costs) <= single_max:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > concatenated_max:
            parts, used = parts + 1, 0
        used += cost
    return parts


def sms_segments(text: str) -> int:
    """How many SMS parts `text` is sent in (an empty text is still one message)."""
    costs = septet_costs(text)
    if costs is not None:
        return _parts(costs, septets_per_part_max, septets_per_concatenated_part_max)
    costs = [2 if ord(char) > 0xFFFF else 1 for char in text]  # UTF-16 surrogate pairs
    return _parts(costs, ucs2_units_per_part_max, ucs2_units_per_concatenated_part_max)


def render_sms(event: Event, catalogue: Catalogue, language: str) -> SmsReply:
    """The reply text for one engine event (`End`, or an `Ask` for completeness)."""
    match event:
        case Ask():
            lines = [catalogue.text(language, _over_sms(catalogue, event.prompt))]
            if event.notice is not None:
                lines.insert(0, catalogue.text(language, event.notice))
            lines.extend(
                f"{number}. {catalogue.text(language, choice)}"
                for number, choice in enumerate(event.choices, start=1)
            )
            return SmsReply("\n".join(lines))
        case End():
            return SmsReply(catalogue.text(language, event.message))
        case _:
            raise TypeError(f"an SMS reply cannot show {type(event).__name__}")


def _over_sms(catalogue: Catalogue, message: Message) -> Message:
    """`<key>.sms` where the catalogue words a prompt apart for SMS: an SMS conversation keeps
    no session, so what a screen asks to type is answered over SMS with a command."""
    key = f"{message.key}{SMS_VARIANT_SUFFIX}"
    known = catalogue.keys()
    return Message(key, message.params) if key in known else message


def sms_help(error: ParseError | None, catalogue: Catalogue, language: str) -> SmsReply:
    """Help for a text that is not a command: its command's usage line, or the general help."""
    key = HELP_KEY if error is None or error.kind is None else USAGE_KEYS[error.kind]
    return SmsReply(catalogue.text(language, Message(key)))


__all__ = [
    "HELP_KEY",
    "USAGE_KEYS",
    "SmsReply",
    "render_sms",
    "septets_per_concatenated_part_max",
    "septets_per_part_max",
    "sms_help",
    "sms_segments",
    "ucs2_units_per_concatenated_part_max",
    "ucs2_units_per_part_max",
]
