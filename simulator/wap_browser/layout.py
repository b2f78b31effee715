"""A screen as text on a 128-pixel-wide handset display, for tests and the terminal UI.

`screen_columns` (18) is what a 128-pixel display shows in its small font: about 7 pixels a
Latin character, twice that for a Chinese one, so a CJK (East Asian wide or full-width)
character counts two columns and a combining mark none. Lines wrap at spaces; Chinese wraps
between any two characters, except that closing punctuation (`，。）…`) never starts a line
(the character before it moves down with it) and an opening bracket never ends one; a word
wider than the screen is cut.

    空中充值             the title, then a rule
    ------------------
    代理商服务           text
    (*) 1. 话费充值      a choice: (*) selected, ( ) not (WML numbers its options)
    [******]             an entry (a password masked)
    > 帮助               a link
    [ 确定 ]             the form's submit (WML: the accept soft key)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Final

from simulator.wap_browser.screen import Choice, Entry, Link, Screen, Text

screen_columns: Final = 18  # a 128-pixel-wide display
MASK_CHAR: Final = "*"  # one per character of a password
_NO_LINE_START: Final = frozenset("，。、；：？！）》」』】〕…—,.;:?!)]}%")
_NO_LINE_END: Final = frozenset("（《「『【〔([{")
_CONTINUATION: Final = "    "  # under a choice's marker


def char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def text_width(text: str) -> int:
    return sum(char_width(char) for char in text)


def _tokens(text: str) -> list[tuple[str, bool]]:
    """(token, a space before it): words of narrow characters, each wide character alone."""
    tokens: list[tuple[str, bool]] = []
    word, space = "", False
    for char in text:
        if char.isspace():
            if word:
                tokens.append((word, space))
                word = ""
            space = bool(tokens)
        elif char_width(char) == 2 or (char in _NO_LINE_START and not word):
            if word:
                tokens.append((word, space))
                word, space = "", False
            tokens.append((char, space))
            space = False
        else:
            word += char
    if word:
        tokens.append((word, space))
    return tokens


def _cut(word: str, columns: int) -> list[str]:
    pieces, piece = [], ""
    for char in word:
        if piece and text_width(piece + char) > columns:
            pieces.append(piece)
            piece = ""
        piece += char
    return [*pieces, piece] if piece else pieces


def _carried(line: list[str], token: str, columns: int) -> list[str]:
    """What moves down from `line` with `token`, which starts the next one: the character
    before a closing punctuation mark, and an opening bracket left at the end of the line;
    nothing when that would not fit either."""
    count = 1 if token in _NO_LINE_START else 0
    while count < len(line) - 1 and line[-1 - count].strip() in _NO_LINE_END:
        count += 1
    if count == 0 or count >= len(line):
        return []
    carried = [piece.lstrip() for piece in line[-count:]]
    if text_width("".join(carried)) + text_width(token) > columns:
        return []
    del line[-count:]
    return carried


def wrap(text: str, columns: int = screen_columns) -> list[str]:
    """`text` in lines of at most `columns` columns."""
    assert columns >= 2, "a line holds at least one Chinese character"
    lines: list[list[str]] = [[]]
    width = 0
    for token, space in _tokens(text):
        line = lines[-1]
        gap = " " if space and line else ""
        if width + len(gap) + text_width(token) <= columns:
            line.append(gap + token)
            width += len(gap) + text_width(token)
            continue
        carried = _carried(line, token, columns)
        pieces = _cut(token, columns) if text_width(token) > columns else [token]
        if line:
            lines.append([])
        lines[-1].extend(carried)
        for piece in pieces[:-1]:
            lines[-1].append(piece)
            lines.append([])
        lines[-1].append(pieces[-1])
        width = text_width("".join(lines[-1]))
    return ["".join(line) for line in lines if line]


def _choice(choice: Choice, selected: str | None, numbered: bool, columns: int) -> list[str]:
    lines = []
    for number, option in enumerate(choice.options, start=1):
        marker = "(*)" if option.value == selected else "( )"
        label = f"{number}. {option.label}" if numbered else option.label
        wrapped = wrap(label, columns - len(_CONTINUATION))
        lines.append(f"{marker} {wrapped[0]}")
        lines.extend(_CONTINUATION + line for line in wrapped[1:])
    return lines


def shown_value(entry: Entry, value: str) -> str:
    """What the display shows of an entry: a password as one `*` per character."""
    return MASK_CHAR * len(value) if entry.password else value


def render(screen: Screen, values: Mapping[str, str], columns: int = screen_columns) -> list[str]:
    """The screen's lines, with the fields showing `values` (the browser's)."""
    lines: list[str] = []
    if screen.title:
        lines.extend(wrap(screen.title, columns))
        lines.append("-" * columns)
    for block in screen.blocks:
        match block:
            case Text():
                lines.extend(wrap(block.text, columns))
            case Link():
                lines.extend(wrap(f"> {block.label}", columns))
            case Choice():
                numbered = screen.flavour == "wml"
                lines.extend(_choice(block, values.get(block.name), numbered, columns))
            case Entry():
                shown = shown_value(block, values.get(block.name, ""))
                lines.extend(_cut(f"[{shown}]", columns))
    if screen.form is not None:
        lines.extend(wrap(f"[ {screen.form.submit_label} ]", columns))
    return lines


__all__ = [
    "MASK_CHAR",
    "char_width",
    "render",
    "screen_columns",
    "shown_value",
    "text_width",
    "wrap",
]
