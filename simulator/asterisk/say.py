"""Which sound files Asterisk plays for SAY DIGITS and SAY NUMBER (`main/say.c`, English rules).

`digit_sounds("138")` is `digits/1 digits/3 digits/8` (`*` star, `#` pound, `-` minus; other
characters are skipped). `number_sounds(123)` follows `ast_say_number_full_en`: `digits/1
digits/hundred digits/20 digits/3`; a number of a billion or more cannot be said (None).
"""

from __future__ import annotations

from typing import Final

number_max: Final = 999_999_999  # ast_say_number_full_en: "Number is too big for me"
_DIGIT_SOUNDS: Final = {"*": "digits/star", "#": "digits/pound", "-": "digits/minus"}
_TWENTY: Final = 20  # below it, a number has a sound of its own (the teens)
_HUNDRED: Final = 100
_THOUSAND: Final = 1_000
_MILLION: Final = 1_000_000


def digit_sounds(text: str) -> list[str]:
    names = []
    for char in text:
        if "0" <= char <= "9":
            names.append(f"digits/{char}")
        elif char in _DIGIT_SOUNDS:
            names.append(_DIGIT_SOUNDS[char])
    return names


def number_sounds(number: int) -> list[str] | None:
    if abs(number) > number_max:
        return None
    if number == 0:
        return ["digits/0"]
    names = ["digits/minus"] if number < 0 else []
    number = abs(number)
    for unit, word in ((_MILLION, "digits/million"), (_THOUSAND, "digits/thousand")):
        if number >= unit:
            names += [*_below_thousand(number // unit), word]
            number %= unit
    return names + _below_thousand(number)


def _below_thousand(number: int) -> list[str]:
    names = []
    if number >= _HUNDRED:
        names += [f"digits/{number // _HUNDRED}", "digits/hundred"]
        number %= _HUNDRED
    if number >= _TWENTY:
        names.append(f"digits/{number // 10 * 10}")
        number %= 10
    if number:
        names.append(f"digits/{number}")
    return names


__all__ = ["digit_sounds", "number_max", "number_sounds"]
