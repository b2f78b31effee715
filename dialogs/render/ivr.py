"""Render engine events as IVR prompt plans: what Asterisk plays, then what DTMF it collects.

A plan is data, not audio: `channels/ivr` turns each item into AGI commands (STREAM FILE for
each sound name `dialogs.render.ivr_speech.sounds` gives: a `Sound` is its own file, the typed
items are said with the platform's digit and number prompts; GET DATA for the collection) and
`aircharge prompts build` synthesises the sound files from `ivr_speech.prompt_set`
(`prompt_texts` and the speech sounds).

Messages become prompt items. A catalogue template is split at its placeholders: each spoken
literal part is a `Sound` named `<key>.<n>` (n counts the spoken literal parts of that
language's template from 0: `topup.confirm.0` is "为" in zh-CN and "Top up" in en). Sound files
live in one directory per language, as Asterisk's own prompts do, so one name may hold different
text per language. A part with nothing to say (only spaces or punctuation, like a final "?") is
left out and takes no number. Placeholders become typed items, by name and type as
`dialogs.catalogue.format_param` formats them for screens:

- `*_fen` ints → `SayAmount` (with its unit when the language's unit word follows: see
  "Decision" below); `msisdn` / `*_msisdn` strings → `SayDigits(national digits,
  telephone=True)` (Mandarin says 幺 for 1 in phone numbers; a number abroad is said as its
  country code and number, without the '+'); other ints → `SayNumber`; other strings →
  `SayDigits` when all ASCII digits (codes), else `Speak` (synthesised at call time: the
  platform's alphanumeric references land here). An empty value says nothing.

Decision — how an amount's unit is spoken once. Templates carry the unit as text around the
amount ("充值{amount_fen}元", "with CNY {amount_fen}"). Mandarin IVRs read money in 元, 角 and
分 (五十元五角, 五十元零五分), and that is the reading the IVR issue asks for; the unit words are
then part of the amount's reading, so the template's own 元 must not be said a second time.
The rule is per language (`AMOUNT_UNIT_WORDS`: only zh-CN has a unit word, 元): when the literal
right after a `*_fen` placeholder starts with the unit word (spaces aside), the word belongs to
the amount. The placeholder becomes `SayAmount(fen, unit=True)`, said with its units
(`dialogs.render.ivr_speech`: 5050 → 五十元五角), and the word is taken off the front of that
literal part, which is otherwise trimmed as a whole, as before: "元，确认吗？" becomes
"，确认吗？" (what follows the unit is kept as written, so the caller's transcript reads
"三十元，确认吗？"), and a part left with nothing to say ("元。" → "。") has no sound and takes
no number. The rule is applied alike by `render_ivr` and `prompt_texts`, so the prompt set
names exactly the sounds plans play. Templates write the unit once, in every medium; only the
IVR moves it into the amount, so no template is rewritten per medium.

Every other amount is `SayAmount(fen)`: a `*_fen` placeholder not followed by the unit word,
and every amount in a language without a unit word (English keeps "CNY" as its literal part:
"with CNY" then "fifty point five"). It is said in yuan as a decimal number without a unit: the
whole yuan, then, only when there are 角/分, "point"/"点" and the 角 and 分 digits one by one, a
final zero dropped (5050 → "fifty point five", 5005 → "fifty point zero five", 5000 → "fifty").
A negative amount is said with "minus"/负 first. `*_fen` values are ints (the engine's
amounts); another value is said as any other placeholder value, without the unit.

Menus. After the prompt, each choice is announced with the carrier message `ivr.press`
("{label}请按{digit}" / "For {label}, press {digit}."), whose `{label}` is replaced by the
choice's own message items and `{digit}` by the key's digit: the carrier owns the word order of
each language. A key is one DTMF digit, so a menu has at most `choices_per_menu_max` (9)
choices; more is a `ValueError` (`aircharge flows check` catches it before a call does).

Collection (Asterisk GET DATA: max digits, time-out, always ended early by '#'):
a menu collects 1 digit; an input collects at most `InputSpec.max_length` digits. Amounts are
typed in yuan with '*' as the decimal point ("50*5#" is ¥50.50): the channel maps '*' to '.'
before the engine reads the amount. Time-outs are named per input kind. A notice (the last
input was refused) is played before the prompt. `End` plays its message and hangs up, with no
collection. `RunOperation` is never rendered: the channel runs it and resumes the engine.
"""

from __future__ import annotations

import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from dialogs.catalogue import DEFAULT_LANGUAGE, LANGUAGES, Catalogue
from dialogs.events import INPUTS, Ask, End, Event, InputSpec, Message, Value
from dialogs.flow import options_per_menu_max
from dialogs.inputs import national_number

PRESS_KEY: Final = "ivr.press"  # carrier: "{label}请按{digit}" / "For {label}, press {digit}."
PRESS_LABEL: Final = "label"
PRESS_DIGIT: Final = "digit"

choices_per_menu_max: Final = 9  # one DTMF key per choice, 1..9
menu_digits_max: Final = 1
choice_timeout_ms: Final = 5_000  # one key after a menu
input_timeout_ms: Final = 10_000  # a number, an amount, a PIN or a code: time to find each key
dtmf_timeout_ms_by_kind: Final[Mapping[str, int]] = {
    "choice": choice_timeout_ms,
    "msisdn": input_timeout_ms,
    "amount": input_timeout_ms,
    "pin": input_timeout_ms,
    "code": input_timeout_ms,
    "regex": input_timeout_ms,
}
DTMF_TERMINATOR: Final = "#"
DTMF_KEYS: Final = frozenset("0123456789*#ABCD")
yuan_fen: Final = 100  # fen in one yuan
jiao_fen: Final = 10  # fen in one jiao
AMOUNT_PLACEHOLDER_SUFFIX: Final = "_fen"
# The unit word a language's templates write right after an amount ("{amount_fen}元"): said as
# part of the amount (`SayAmount.unit`), not as the literal (module docstring, "Decision").
AMOUNT_UNIT_WORDS: Final[Mapping[str, str]] = {"zh-CN": "元"}
_LEADING_PAUSES: Final = ",，、;；:：.。!！?？"

assert set(dtmf_timeout_ms_by_kind) == set(INPUTS), "a DTMF time-out for every input kind"
assert options_per_menu_max <= choices_per_menu_max, "a flow menu must fit the keypad"
assert set(AMOUNT_UNIT_WORDS) <= set(LANGUAGES), "unit words of catalogue languages"


def _is_ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


@dataclass(frozen=True, slots=True)
class Sound:
    """A prompt file, by name without extension, from the call's language directory."""

    name: str

    def __post_init__(self) -> None:
        assert self.name, "a sound needs a name"


@dataclass(frozen=True, slots=True)
class SayDigits:
    """Digits one by one; `telephone`: a phone number (Mandarin says 幺 for 1)."""

    digits: str
    telephone: bool

    def __post_init__(self) -> None:
        assert _is_ascii_digits(self.digits), f"not digits: {self.digits!r}"


@dataclass(frozen=True, slots=True)
class SayNumber:
    """A whole number as a number ("五十三", "fifty-three"); "minus" first when negative."""

    value: int


@dataclass(frozen=True, slots=True)
class SayAmount:
    """An amount in fen, said in yuan (module docstring, "Decision"): with `unit`, in 元, 角 and
    分 (五十元五角); without, as a decimal number without a unit (五十点五, fifty point five)."""

    fen: int
    unit: bool = False

    @property
    def negative(self) -> bool:
        return self.fen < 0

    @property
    def yuan(self) -> int:
        """Whole yuan, said as a number."""
        return abs(self.fen) // yuan_fen

    @property
    def jiao(self) -> int:
        """The 角 digit: 5 for 5050, 0 for 5005."""
        return abs(self.fen) % yuan_fen // jiao_fen

    @property
    def fen_digit(self) -> int:
        """The 分 digit: 5 for 5005, 0 for 5050."""
        return abs(self.fen) % jiao_fen

    @property
    def decimals(self) -> str:
        """The 角 and 分 digits said after "point": "" for whole yuan, "5" for 5050, "05"."""
        return f"{self.jiao}{self.fen_digit}".rstrip("0")


@dataclass(frozen=True, slots=True)
class Speak:
    """Text with no prompt file, synthesised at call time (a fallback, not the rule)."""

    text: str
    language: str

    def __post_init__(self) -> None:
        assert self.text.strip(), "nothing to speak"


PromptItem = Sound | SayDigits | SayNumber | SayAmount | Speak


@dataclass(frozen=True, slots=True)
class DtmfCollect:
    """GET DATA: at most `max_digits` keys, `timeout_ms` of silence ends it, so does `#`."""

    max_digits: int
    timeout_ms: int
    terminator: str = DTMF_TERMINATOR

    def __post_init__(self) -> None:
        assert self.max_digits > 0, self
        assert self.timeout_ms > 0, self
        assert self.terminator in DTMF_KEYS, self


@dataclass(frozen=True, slots=True)
class PromptPlan:
    """Play `items` in order; then collect DTMF (`collect`) or hang up (`hangup`)."""

    items: tuple[PromptItem, ...]
    collect: DtmfCollect | None
    hangup: bool

    def __post_init__(self) -> None:
        assert self.hangup != (self.collect is not None), "either collect or hang up"


@dataclass(frozen=True, slots=True)
class _Literal:
    sound: str
    text: str


@dataclass(frozen=True, slots=True)
class _Placeholder:
    name: str
    unit: bool  # an amount said with its unit: the unit word after it was taken off the literal


def _resolve(language: str) -> str:
    """The catalogue's own fallback: an unknown language reads the default one."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def _template(catalogue: Catalogue, language: str, key: str) -> str:
    return catalogue.template(_resolve(language), key)


def _is_spoken(text: str) -> bool:
    return any(char.isalnum() for char in text)


def _is_amount(name: str) -> bool:
    return name.endswith(AMOUNT_PLACEHOLDER_SUFFIX)


def _segments(key: str, template: str, language: str) -> Iterator[_Literal | _Placeholder]:
    """The template's spoken literal parts (named `<key>.<n>`) and placeholders, in order.

    A part's text loses surrounding spaces and leading pause marks (", press" → "press"): the
    gap between two sound files is the pause. Closing marks stay for the intonation ("吗？").
    The language's unit word right after an amount placeholder is the amount's (module
    docstring, "Decision"): it is taken off the part, which keeps what follows as written.
    """
    unit_word = AMOUNT_UNIT_WORDS.get(language, "")  # "": the language has none
    parsed = [(literal, name) for literal, name, _spec, _conv in string.Formatter().parse(template)]
    index = 0
    unit_taken = False  # the placeholder before this part took its unit word
    for position, (literal, name) in enumerate(parsed):
        text = literal.strip()
        if unit_taken:
            text = text.removeprefix(unit_word).strip()  # "元，确认吗？" → "，确认吗？"
        else:
            text = text.lstrip(_LEADING_PAUSES).strip()
        if _is_spoken(text):
            yield _Literal(f"{key}.{index}", text)
            index += 1
        following = parsed[position + 1][0].strip() if position + 1 < len(parsed) else ""
        unit_taken = bool(
            name and unit_word and _is_amount(name) and following.startswith(unit_word)
        )
        if name:
            yield _Placeholder(name, unit_taken)


def _param_items(name: str, value: Value, language: str, *, unit: bool) -> tuple[PromptItem, ...]:
    """One placeholder's value as typed items (rules in the module docstring); `unit`: an
    amount is said with its unit (the template's unit word was taken off the next part)."""
    if isinstance(value, int):
        return (SayAmount(value, unit=unit),) if _is_amount(name) else (SayNumber(value),)
    if name == "msisdn" or name.endswith("_msisdn"):
        shown = national_number(value)
        digits = shown.removeprefix("+")
        if _is_ascii_digits(digits):
            return (SayDigits(digits, telephone=True),)
        value = shown
    if _is_ascii_digits(value):
        return (SayDigits(value, telephone=False),)
    if not value.strip():
        return ()
    return (Speak(value, language),)


def _message_items(
    catalogue: Catalogue,
    language: str,
    message: Message,
    inserts: Mapping[str, tuple[PromptItem, ...]] | None = None,
) -> tuple[PromptItem, ...]:
    """A message as prompt items; `inserts` stand for placeholders (the carrier's label)."""
    inserts = inserts or {}
    items: list[PromptItem] = []
    template = _template(catalogue, language, message.key)
    for segment in _segments(message.key, template, language):
        if isinstance(segment, _Literal):
            items.append(Sound(segment.sound))
        elif segment.name in inserts:
            items.extend(inserts[segment.name])
        elif segment.name in message.params:
            value = message.params[segment.name]
            items.extend(_param_items(segment.name, value, language, unit=segment.unit))
        else:
            raise KeyError(f"message {message.key!r} needs {segment.name!r}")
    return tuple(items)


def _menu_items(
    catalogue: Catalogue, language: str, choices: tuple[Message, ...]
) -> tuple[PromptItem, ...]:
    """Each choice as the `ivr.press` carrier ("<label> press <n>") in its word order."""
    if len(choices) > choices_per_menu_max:
        raise ValueError(
            f"an IVR menu has at most {choices_per_menu_max} choices, got {len(choices)}"
        )
    items: list[PromptItem] = []
    for digit, choice in enumerate(choices, start=1):
        inserts = {
            PRESS_LABEL: _message_items(catalogue, language, choice),
            PRESS_DIGIT: (SayDigits(str(digit), telephone=False),),
        }
        items.extend(_message_items(catalogue, language, Message(PRESS_KEY), inserts))
    return tuple(items)


def _collect(choices: tuple[Message, ...], spec: InputSpec) -> DtmfCollect:
    """A menu takes one key; an input up to its longest entry ('*' for a decimal point)."""
    if choices:
        return DtmfCollect(menu_digits_max, dtmf_timeout_ms_by_kind["choice"])
    return DtmfCollect(spec.max_length, dtmf_timeout_ms_by_kind.get(spec.kind, input_timeout_ms))


def render_ivr(event: Event, catalogue: Catalogue, language: str) -> PromptPlan:
    """The prompt plan for one engine event (`Ask` or `End`) in `language`."""
    language = _resolve(language)
    match event:
        case Ask():
            menu = _menu_items(catalogue, language, event.choices)
            notice: tuple[PromptItem, ...] = ()
            if event.notice is not None:
                notice = _message_items(catalogue, language, event.notice)
            prompt = _message_items(catalogue, language, event.prompt)
            collect = _collect(event.choices, event.input)
            return PromptPlan((*notice, *prompt, *menu), collect, hangup=False)
        case End():
            items = _message_items(catalogue, language, event.message)
            return PromptPlan(items, collect=None, hangup=True)
        case _:
            raise TypeError(f"an IVR prompt plan cannot play {type(event).__name__}")


def prompt_texts(catalogue: Catalogue, language: str) -> dict[str, str]:
    """Every sound a plan in `language` may name, with the text to synthesise for it."""
    language = _resolve(language)
    texts: dict[str, str] = {}
    for key in sorted(catalogue.keys()):
        for segment in _segments(key, _template(catalogue, language, key), language):
            if isinstance(segment, _Literal):
                texts[segment.sound] = segment.text
    return texts


__all__ = [
    "AMOUNT_UNIT_WORDS",
    "DTMF_TERMINATOR",
    "PRESS_KEY",
    "DtmfCollect",
    "PromptItem",
    "PromptPlan",
    "SayAmount",
    "SayDigits",
    "SayNumber",
    "Sound",
    "Speak",
    "choice_timeout_ms",
    "choices_per_menu_max",
    "dtmf_timeout_ms_by_kind",
    "input_timeout_ms",
    "prompt_texts",
    "render_ivr",
]
