"""The WML `format` mask of an `<input>` (WML 1.3, section 11.6.3), enforced as a handset's
keypad does: a key the mask does not allow at that position is refused (the handset beeps),
and the entry cannot be accepted until every fixed position is filled.

    A  an upper-case letter, symbol or punctuation    a  the same, lower-case
    N  a digit                                        n  a digit, symbol or punctuation
    X  upper-case letter, digit, symbol, punctuation  x  the same, lower-case
    M  any character (upper-case first)               m  any character (lower-case first)
    \\c the character c itself
    *f any number of f, at the end only               nf up to n (1-9) of f, at the end only

Letters without case (Chinese) count as neither upper- nor lower-case: `A` and `a` both take
them, as a Chinese handset's input method types into such a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from simulator.wap_browser.errors import EntryRefused, PageError

_CODES: Final = "AaNnXxMm"
_DIGITS: Final = "0123456789"
_WHAT: Final = {
    "A": "an upper-case letter, symbol or punctuation",
    "a": "a lower-case letter, symbol or punctuation",
    "N": "a digit",
    "n": "a digit, symbol or punctuation",
    "X": "an upper-case letter, digit, symbol or punctuation",
    "x": "a lower-case letter, digit, symbol or punctuation",
    "M": "any character",
    "m": "any character",
}


def _allowed(code: str, char: str) -> bool:
    digit = char in _DIGITS
    match code:
        case "N":
            return digit
        case "A":
            return not digit and not char.islower()
        case "a":
            return not digit and not char.isupper()
        case "n":
            return digit or not char.isalnum()
        case "X":
            return not char.islower()
        case "x":
            return not char.isupper()
        case "M" | "m":
            return True
    # a literal, written \c
    return char == code[1:]


@dataclass(frozen=True, slots=True)
class FormatMask:
    """A parsed mask: the fixed positions, then what may follow (`tail`, up to `tail_max`
    characters; None: any number)."""

    text: str
    fixed: tuple[str, ...]  # a code letter, or "\\c" for the literal c
    tail: str | None = None
    tail_max: int | None = None

    @property
    def max_length(self) -> int | None:
        if self.tail is None:
            return len(self.fixed)
        return None if self.tail_max is None else len(self.fixed) + self.tail_max

    def _code_at(self, position: int) -> str | None:
        if position < len(self.fixed):
            return self.fixed[position]
        if self.tail is None:
            return None
        if self.tail_max is None or position < len(self.fixed) + self.tail_max:
            return self.tail
        return None

    def check(self, value: str) -> None:
        """Each character of `value` allowed where it stands; raises `EntryRefused` at the
        first one that is not."""
        for position, char in enumerate(value):
            code = self._code_at(position)
            if code is None:
                raise EntryRefused(
                    f"{char!r} refused: format {self.text} takes at most {position} characters"
                )
            if not _allowed(code, char):
                wanted = _WHAT.get(code) or f"the character {code[1:]!r}"
                raise EntryRefused(
                    f"{char!r} refused at position {position + 1}: format {self.text} takes"
                    f" {wanted} there"
                )

    def check_complete(self, value: str) -> None:
        """`value` may be accepted: allowed everywhere and every fixed position filled."""
        self.check(value)
        if len(value) < len(self.fixed):
            raise EntryRefused(
                f"incomplete: format {self.text} needs {len(self.fixed)} characters,"
                f" {len(value)} typed"
            )


def parse_format(text: str) -> FormatMask:
    """Parse a `format` attribute; a mask WML does not allow is the page's fault."""
    fixed: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char in _CODES:
            fixed.append(char)
            position += 1
        elif char == "\\" and position + 1 < len(text):
            fixed.append(text[position : position + 2])
            position += 2
        elif char == "*" or char in "123456789":
            rest = text[position + 1 :]
            if len(rest) != 1 or rest not in _CODES:
                raise PageError(
                    f"input format {text!r}: {char!r} must be followed by one format code,"
                    " at the end of the mask"
                )
            tail_max = None if char == "*" else int(char)
            return FormatMask(text, tuple(fixed), rest, tail_max)
        else:
            raise PageError(f"input format {text!r}: {char!r} is not a WML format code")
    if not fixed:
        raise PageError("input format is empty")
    return FormatMask(text, tuple(fixed))


__all__ = ["FormatMask", "parse_format"]
