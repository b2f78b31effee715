"""Which sound files say an IVR prompt item: spoken numbers, digits, amounts and spelled text.

`dialogs.render.ivr` plans a call as prompt items; `sounds(item, language)` turns one item into
the names of the sound files that say it, in order, and `channels/ivr` plays each with STREAM
FILE. A name has no extension and is relative to the platform's prompt folder (`PROMPT_FOLDER`)
in the call's Asterisk language directory: `num/5` is `sounds/zh/aircharge/num/5.wav` ("五")
and `sounds/en/aircharge/num/5.wav` ("five"). `speech_texts(language)` gives the text each
speech sound is synthesised from; `prompt_set` adds the catalogue's prompts (`<key>.<n>`, see
`dialogs.render.ivr`): together they are what `aircharge prompts build` synthesises.

Speech sounds (ASCII, lowercase, `/` for folders; each language has only the words it uses):

    name                                   zh-CN               en
    num/0 … num/9                          零 一 … 九          zero … nine
    num/yao                                幺 (1 in a phone number)
    num/liang                              两
    num/10                                 十                  ten
    num/11 … num/19                                            eleven … nineteen
    num/20, num/30 … num/90                                    twenty … ninety
    num/100 num/1000 num/10000 num/1e8     百 千 万 亿
    num/hundred num/thousand num/million num/billion           hundred … billion
    num/point  num/minus                   点  负              point  minus
    num/yuan num/jiao num/fen              元 角 分 (units of an amount said with its unit)
    letter/a … letter/z                    A … Z (letter names, as Chinese speakers say them)

How each item is said:

- `Sound(name)`: that one file.
- `SayDigits`: each digit on its own. In Mandarin a 1 is 幺 when `telephone` (phone numbers),
  一 otherwise (codes, the key of a menu choice). No sound is added between digit groups: each
  file's own lead-in and trailing silence sets the pace.
- `SayNumber`: a number as a number, "minus"/负 first when negative.
  Mandarin groups by 万 and 亿: 123456789 → 一亿两千三百四十五万六千七百八十九. A leading
  一十 is said 十 (十, 十五, 十万); inside a number it stays (一百一十). A run of zeros inside
  the number is one 零, trailing zeros are silent (1005 → 一千零五, 10050 → 一万零五十,
  100000001 → 一亿零一). Decision — 两 or 二: 两 for a 2 said before 百 or 千 (两百, 两千两百)
  and for a 2 that is a whole 万 or 亿 group (两万, 两亿); 二 before 十 and as a last digit
  (二十, 十二, 一百零二, 十二万), as people read numbers aloud. A number that is just 2 is 两,
  because every count in the catalogue is followed by its measure word (两分钟, 两笔).
  English: "one hundred twenty three" with thousand, million and billion, and no "and"
  (the American reading; it is also one sound fewer).
  Magnitudes above `number_max` (no message carries one) are said digit by digit.
- `SayAmount(fen, unit=True)` (Mandarin: the renderer took the template's 元 into the amount,
  see `dialogs.render.ivr`): 元, 角 and 分, as Chinese IVRs read money. The whole yuan as
  `SayNumber` says them, then 元; then the 角 digit and 角, then the 分 digit and 分, each only
  when not zero; 零 between 元 and 分 when there are no 角 (5005 → 五十元零五分). No 元 when
  there are no whole yuan (50 → 五角, 5 → 五分), and 0 is 零元; 负 first when negative.
  5000 → 五十元, 5050 → 五十元五角, 5055 → 五十元五角五分, 55 → 五角五分, 1000 → 十元.
  Decision — 两 or 二: a 2 before a unit is 两, as for any count before its measure word
  (200 → 两元, 20 → 两角, 2 → 两分, 222 → 两元两角两分); inside the yuan the `SayNumber` rules
  hold (1200 yuan → 一千两百元, 1200 fen → 十二元). A language with no unit sounds (English:
  the renderer never asks it for one) falls back to the reading without a unit below.
- `SayAmount(fen)`: the amount without a unit (the template says the unit, "with CNY
  {amount_fen}"): the whole yuan as a number, then, only when there are 角/分, "point"/点 and
  the decimal digits one by one (`SayAmount.decimals`); "minus"/负 first when negative. 5000 →
  fifty/五十, 5050 → fifty point five/五十点五, 5005 → fifty point zero five, 1 → zero point
  zero one, -250 → minus two point five/负二点五. The whole yuan follow `SayNumber` except
  before 点: a decimal reading says 二, not 两 (200 → 两, 250 → 二点五).
- `Speak(text)`: the fallback for free text (the platform's alphanumeric references): ASCII
  letters are spelled (`letter/x`) and ASCII digits said (1 as 一) one by one; anything else is
  skipped, so text with neither says nothing. The call's language picks the folder, as for every
  other item.

An unknown language reads the default one, as the renderer and the catalogue do. Every name
`sounds` returns is in `speech_texts` of that language or is the `Sound`'s own name.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Final, assert_never

from dialogs.catalogue import DEFAULT_LANGUAGE, LANGUAGES, Catalogue
from dialogs.render.ivr import (
    AMOUNT_UNIT_WORDS,
    PromptItem,
    SayAmount,
    SayDigits,
    SayNumber,
    Sound,
    Speak,
    prompt_texts,
)

PROMPT_FOLDER: Final = "aircharge"  # under each Asterisk language directory of sounds
# Catalogue language -> Asterisk language (agi_language, the folder of its sounds).
ASTERISK_LANGUAGES: Final[Mapping[str, str]] = {"zh-CN": "zh", "en": "en"}
assert set(ASTERISK_LANGUAGES) == set(LANGUAGES), "an Asterisk language for each catalogue one"

# A short silence: what GET DATA "plays" when the prompt has been played already (Asterisk
# needs a file to collect keys after). Its text is empty: the build writes silence, not speech.
SILENCE_SOUND: Final = "silence"
silence_ms: Final = 100

number_max: Final = 10**12 - 1  # 9999亿, 999 billion: larger magnitudes are said digit by digit

DIGITS: Final = tuple(f"num/{digit}" for digit in range(10))
YAO: Final = "num/yao"  # 幺: 1 in a Mandarin phone number
LIANG: Final = "num/liang"  # 两
TEN: Final = "num/10"
POINT: Final = "num/point"
MINUS: Final = "num/minus"
YUAN: Final = "num/yuan"  # 元
JIAO: Final = "num/jiao"  # 角
FEN: Final = "num/fen"  # 分
LETTERS: Final[Mapping[str, str]] = {char: f"letter/{char}" for char in string.ascii_lowercase}

_ZH_PLACES: Final = ("", TEN, "num/100", "num/1000")  # 十 百 千 inside a group of four digits
_ZH_GROUPS: Final = ("", "num/10000", "num/1e8")  # 万 亿 after a group
_ZH_GROUP_DIGITS: Final = 4
_ZH_UNITS: Final = (YUAN, JIAO, FEN)
# The languages whose amounts can be said with their unit: every language the renderer moves a
# template's unit word into the amount for.
_UNIT_LANGUAGES: Final = frozenset({"zh-CN"})
assert set(AMOUNT_UNIT_WORDS) <= _UNIT_LANGUAGES, "a unit reading for every unit word"
_EN_TEENS: Final = tuple(f"num/{value}" for value in range(10, 20))
_EN_TENS: Final = tuple(f"num/{value}" for value in range(0, 100, 10))  # [2] is num/20
_EN_HUNDRED: Final = "num/hundred"
_EN_SCALES: Final = ("", "num/thousand", "num/million", "num/billion")
_EN_GROUP: Final = 1000

assert 10 ** (_ZH_GROUP_DIGITS * len(_ZH_GROUPS)) > number_max, "亿 groups cover number_max"
assert _EN_GROUP ** len(_EN_SCALES) > number_max, "billions cover number_max"

_ZH_TEXTS: Final[Mapping[str, str]] = {
    **{DIGITS[digit]: "零一二三四五六七八九"[digit] for digit in range(10)},
    YAO: "幺",
    LIANG: "两",
    TEN: "十",
    "num/100": "百",
    "num/1000": "千",
    "num/10000": "万",
    "num/1e8": "亿",
    POINT: "点",
    MINUS: "负",
    YUAN: "元",
    JIAO: "角",
    FEN: "分",
    **{name: char.upper() for char, name in LETTERS.items()},
}
_EN_TEXTS: Final[Mapping[str, str]] = {
    "num/0": "zero", "num/1": "one", "num/2": "two", "num/3": "three", "num/4": "four",
    "num/5": "five", "num/6": "six", "num/7": "seven", "num/8": "eight", "num/9": "nine",
    "num/10": "ten", "num/11": "eleven", "num/12": "twelve", "num/13": "thirteen",
    "num/14": "fourteen", "num/15": "fifteen", "num/16": "sixteen", "num/17": "seventeen",
    "num/18": "eighteen", "num/19": "nineteen",
    "num/20": "twenty", "num/30": "thirty", "num/40": "forty", "num/50": "fifty",
    "num/60": "sixty", "num/70": "seventy", "num/80": "eighty", "num/90": "ninety",
    _EN_HUNDRED: "hundred", "num/thousand": "thousand", "num/million": "million",
    "num/billion": "billion",
    POINT: "point", MINUS: "minus",
    **{name: char.upper() for char, name in LETTERS.items()},
}  # fmt: skip
# Every name the readers below can say has a text (and nothing else does).
_SPELLED: Final = {*DIGITS, POINT, MINUS, *LETTERS.values()}
assert set(_ZH_TEXTS) == {
    *_SPELLED, YAO, LIANG, *_ZH_PLACES[1:], *_ZH_GROUPS[1:], *_ZH_UNITS
}  # fmt: skip
assert set(_EN_TEXTS) == {*_SPELLED, *_EN_TEENS, *_EN_TENS[2:], _EN_HUNDRED, *_EN_SCALES[1:]}
_TEXTS: Final[Mapping[str, Mapping[str, str]]] = {"zh-CN": _ZH_TEXTS, "en": _EN_TEXTS}
assert set(_TEXTS) == set(LANGUAGES), "speech texts for each catalogue language"

# Rough speaking rates of the synthesised prompts, for `estimated_ms` (fitted to espeak-ng's).
_MS_PER_CHAR: Final[Mapping[str, int]] = {"zh-CN": 280, "en": 75}  # ~3.6 and ~13 characters/s
speech_lead_ms: Final = 300  # the synthesiser's silence before and after the words
speech_ms_min: Final = 500  # one short word


def _resolve(language: str) -> str:
    """The catalogue's own fallback: an unknown language reads the default one."""
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


def _say_digits(digits: str, language: str, *, telephone: bool) -> list[str]:
    yao = telephone and language == "zh-CN"
    return [YAO if yao and digit == "1" else DIGITS[int(digit)] for digit in digits]


def _zh_whole(value: int, *, measure: bool) -> list[str]:
    """0 <= value <= number_max in Mandarin; `measure`: a lone 2 is 两 (a count, whole yuan)."""
    assert 0 <= value <= number_max, value
    if value == 0:
        return [DIGITS[0]]
    if value == 2 and measure:
        return [LIANG]
    said: list[str] = []
    text = str(value)
    zero_pending = False  # a zero (or a run) after something said: one 零 before the next digit
    for index, char in enumerate(text):
        group, place = divmod(len(text) - 1 - index, _ZH_GROUP_DIGITS)
        group_value = value // 10 ** (_ZH_GROUP_DIGITS * group) % 10**_ZH_GROUP_DIGITS
        digit = int(char)
        if digit == 0:
            zero_pending = zero_pending or bool(said)
        else:
            if zero_pending:
                said.append(DIGITS[0])
                zero_pending = False
            whole_group_two = place == 0 and group > 0 and group_value == 2
            said.append(LIANG if digit == 2 and (place >= 2 or whole_group_two) else DIGITS[digit])
            if place:
                said.append(_ZH_PLACES[place])
        if place == 0 and group > 0 and group_value:
            said.append(_ZH_GROUPS[group])
            zero_pending = False  # 十万五千: the group's own last zero is not read
    if said[:2] == [DIGITS[1], TEN]:
        del said[0]  # 十五, 十万: a leading 一十 is said 十
    return said


def _en_below_thousand(value: int) -> list[str]:
    assert 0 < value < _EN_GROUP, value
    said: list[str] = []
    hundreds, rest = divmod(value, 100)
    if hundreds:
        said += [DIGITS[hundreds], _EN_HUNDRED]
    if 10 <= rest < 20:
        said.append(_EN_TEENS[rest - 10])
    else:
        tens, ones = divmod(rest, 10)
        if tens:
            said.append(_EN_TENS[tens])
        if ones:
            said.append(DIGITS[ones])
    return said


def _en_whole(value: int) -> list[str]:
    """0 <= value <= number_max in English: "one hundred twenty three thousand four"."""
    assert 0 <= value <= number_max, value
    if value == 0:
        return [DIGITS[0]]
    said: list[str] = []
    for scale in reversed(range(len(_EN_SCALES))):
        chunk = value // _EN_GROUP**scale % _EN_GROUP
        if chunk:
            said += _en_below_thousand(chunk)
            if scale:
                said.append(_EN_SCALES[scale])
    return said


def _whole(value: int, language: str, *, measure: bool) -> list[str]:
    if value > number_max:
        return _say_digits(str(value), language, telephone=False)
    if language == "zh-CN":
        return _zh_whole(value, measure=measure)
    return _en_whole(value)


def _say_number(value: int, language: str) -> list[str]:
    if value < 0:
        return [MINUS, *_whole(-value, language, measure=False)]
    return _whole(value, language, measure=True)


def _zh_amount_with_units(amount: SayAmount) -> list[str]:
    """元, 角 and 分: 五十元五角, 五十元零五分, 五角; a 2 before a unit is 两."""
    said = [MINUS] if amount.negative else []
    if amount.fen == 0:
        return [DIGITS[0], YUAN]
    if amount.yuan:
        said += [*_whole(amount.yuan, "zh-CN", measure=True), YUAN]
    if amount.jiao:
        said += [LIANG if amount.jiao == 2 else DIGITS[amount.jiao], JIAO]
    if amount.fen_digit:
        if amount.yuan and not amount.jiao:
            said.append(DIGITS[0])  # 五十元零五分
        said += [LIANG if amount.fen_digit == 2 else DIGITS[amount.fen_digit], FEN]
    return said


def _say_amount(amount: SayAmount, language: str) -> list[str]:
    if amount.unit and language in _UNIT_LANGUAGES:
        return _zh_amount_with_units(amount)
    said = [MINUS] if amount.negative else []
    decimals = amount.decimals
    said += _whole(amount.yuan, language, measure=not decimals)
    if decimals:
        said += [POINT, *_say_digits(decimals, language, telephone=False)]
    return said


def _spell(text: str, language: str) -> list[str]:
    said: list[str] = []
    for char in text:
        if not char.isascii():
            continue
        if char.isdigit():
            said.append(DIGITS[int(char)])
        elif char.isalpha():
            said.append(LETTERS[char.lower()])
    return said


def sounds(item: PromptItem, language: str) -> tuple[str, ...]:
    """The sound names, in order, that say `item` in `language` (rules in the module doc)."""
    language = _resolve(language)
    match item:
        case Sound(name=name):
            return (name,)
        case SayDigits(digits=digits, telephone=telephone):
            return tuple(_say_digits(digits, language, telephone=telephone))
        case SayNumber(value=value):
            return tuple(_say_number(value, language))
        case SayAmount():
            return tuple(_say_amount(item, language))
        case Speak(text=text):
            return tuple(_spell(text, language))
        case _:
            assert_never(item)


def speech_texts(language: str) -> dict[str, str]:
    """Every speech sound of `language` (numbers, digits, letters) with the text to synthesise."""
    return dict(sorted(_TEXTS[_resolve(language)].items()))


def prompt_set(catalogue: Catalogue, language: str) -> dict[str, str]:
    """The platform's whole prompt set of `language`: the catalogue's prompts, the speech
    sounds and the silence (text ""), by name, with the text to synthesise for each."""
    catalogue_texts = prompt_texts(catalogue, language)
    speech = speech_texts(language)
    clashes = sorted(catalogue_texts.keys() & speech.keys())
    assert not clashes, f"catalogue prompts named like speech sounds: {clashes}"
    assert SILENCE_SOUND not in catalogue_texts, "a catalogue prompt named like the silence"
    return dict(sorted({**catalogue_texts, **speech, SILENCE_SOUND: ""}.items()))


def asterisk_language(language: str) -> str:
    """The Asterisk language (its sounds folder, agi_language) of a catalogue language."""
    return ASTERISK_LANGUAGES[_resolve(language)]


def estimated_ms(text: str, language: str) -> int:
    """A rough playing time of `text`, for showing a prompt when no built set says: the
    synthesiser's lead-in and tail (`speech_lead_ms`), then ~3.6 characters/s in zh-CN
    (letters, digits and ideographs; punctuation is not counted) or ~13 characters/s in en
    (spaces counted once), never below `speech_ms_min`."""
    language = _resolve(language)
    if language == "zh-CN":
        length = sum(1 for char in text if char.isalnum())
    else:
        length = len(" ".join(text.split()))
    return max(speech_ms_min, speech_lead_ms + length * _MS_PER_CHAR[language])


__all__ = [
    "ASTERISK_LANGUAGES",
    "DIGITS",
    "FEN",
    "JIAO",
    "LETTERS",
    "LIANG",
    "MINUS",
    "POINT",
    "PROMPT_FOLDER",
    "SILENCE_SOUND",
    "YAO",
    "YUAN",
    "asterisk_language",
    "estimated_ms",
    "number_max",
    "prompt_set",
    "silence_ms",
    "sounds",
    "speech_lead_ms",
    "speech_ms_min",
    "speech_texts",
]
