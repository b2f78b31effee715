"""The SIM's menu program: the exported file the SIM (and the simulator's SIM) executes.

Layout (all offsets from the start of the file, integers big-endian):

    0      6   magic b"ACSTKP"
    6      1   format version, 1
    7      1   L, the length of the language tag
    8      L   the language tag, ASCII ("zh-CN", "en")
    8+L    1   n, the number of menu items
    9+L    4n  the index: for item i (1..n), the offset (2 bytes) and length (2 bytes) of its
               block
    ...        the SET UP MENU proactive command (BER-TLV 0xD0, self-delimiting)
    ...        block 1, block 2, ... block n, each a concatenation of proactive commands

A SIM finds item i's commands through the index entry i: the MENU SELECTION envelope's item
identifier i is the SET UP MENU's i-th item. A block is read command by command (each is a
BER-TLV: tag, length, value), and its shape is fixed (the loader checks it):

    steps             GET INPUT | SELECT ITEM (a confirmation: item 1 yes, item 2 no) |
                      DISPLAY TEXT (shown, then on), in the flow's order
    SEND SHORT MESSAGE  the answer SMS; its TPDU's text is the *plaintext template*
    [DISPLAY TEXT]    only when a step is a confirmation: shown when it is answered "no"

Running a block: issue the steps in order; the answers of the GET INPUTs are numbered 1, 2, …
in block order. A SELECT ITEM answered with item 2 jumps to the closing DISPLAY TEXT and ends.
At the SEND SHORT MESSAGE, the SIM fills the template, seals it (`channels.stk.secure`) and
issues a SEND SHORT MESSAGE with the sealed text instead (same alpha identifier and TP-DA,
unless the SIM's profile names another service number). A backward move (result 0x11) goes
to the previous step (from the first, back to the menu); terminated by the user (0x10) or no
response (0x12) ends the block and sends nothing.

Placeholders: `{n}` (n = 1, 2, … in decimal) in the text of a SELECT ITEM title, a GET INPUT or
DISPLAY TEXT text, or the SMS template stands for the n-th answer, exactly as typed. A
displayed text may only name answers given before it and never a hidden (PIN) answer; the
SMS template may name any. Braces are GSM extension characters, so a placeholder costs 2 + 2
bytes in a GSM text and survives every alpha and text coding.

This module is pure (bytes in, values out) and imports no flow machinery: the simulator's SIM
loads programs with it. `channels.stk.compiler` builds them from the flows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from channels.stk import tlv
from channels.stk.commands import (
    COMMAND_NAMES,
    Command,
    DisplayText,
    GetInput,
    SelectItem,
    SendShortMessage,
    SetUpMenu,
    decode_command,
    details_of,
)
from channels.stk.tlv import StkError

MAGIC: Final = b"ACSTKP"
VERSION: Final = 1
PLACEHOLDER: Final = re.compile(r"\{([1-9][0-9]*)\}")
confirm_yes: Final = 1
confirm_no: Final = 2


class ProgramError(StkError):
    """A program file that is not one: wrong magic, index or block shape (the file's fault)."""


def placeholders(text: str) -> list[int]:
    return [int(match) for match in PLACEHOLDER.findall(text)]


def fill(text: str, answers: list[str]) -> str:
    """`text` with `{n}` replaced by answer n (1-based); unknown numbers stay as they are."""

    def one(match: re.Match[str]) -> str:
        n = int(match[1])
        return answers[n - 1] if n <= len(answers) else match[0]

    return PLACEHOLDER.sub(one, text)


def split_commands(block: bytes) -> list[bytes]:
    """The proactive commands of a block, each its whole BER-TLV."""
    commands = []
    at = 0
    while at < len(block):
        if block[at] != tlv.PROACTIVE_COMMAND:
            raise ProgramError(f"offset {at}: 0x{block[at]:02X} is not a proactive command")
        length, start = tlv.read_length(block, at + 1)
        if start + length > len(block):
            raise ProgramError(f"offset {at}: the command runs past its block")
        commands.append(block[at : start + length])
        at = start + length
    return commands


@dataclass(frozen=True, slots=True)
class Item:
    """One menu item's block, decoded: the steps, the SMS template, the text for "no"."""

    steps: tuple[GetInput | SelectItem | DisplayText, ...]
    step_bytes: tuple[bytes, ...]
    sms: SendShortMessage
    sms_bytes: bytes
    cancelled: DisplayText | None
    cancelled_bytes: bytes | None

    @property
    def template(self) -> str:
        return self.sms.tpdu.text


@dataclass(frozen=True, slots=True)
class Program:
    language: str
    menu: SetUpMenu
    menu_bytes: bytes
    items: tuple[Item, ...]


def _texts(command: Command) -> list[str]:
    match command:
        case SelectItem() | SetUpMenu():
            return [command.title, *command.items]
        case GetInput():
            return [command.text]
        case DisplayText():
            return [command.text]
        case SendShortMessage():
            return [command.tpdu.text]


def _item(number: int, block: bytes) -> Item:
    where = f"item {number}"
    raw = split_commands(block)
    commands = [decode_command(data) for data in raw]
    sms_at = [i for i, c in enumerate(commands) if isinstance(c, SendShortMessage)]
    if len(sms_at) != 1:
        raise ProgramError(f"{where}: {len(sms_at)} SEND SHORT MESSAGE commands, expected 1")
    at = sms_at[0]
    steps, tail = commands[:at], commands[at + 1 :]
    answers = 0
    hidden: set[int] = set()
    confirms = 0
    for step in steps:
        if not isinstance(step, GetInput | SelectItem | DisplayText):
            raise ProgramError(f"{where}: a {COMMAND_NAMES[_type(step)]} among the steps")
        if isinstance(step, SelectItem):
            confirms += 1
            if len(step.items) != 2:
                raise ProgramError(f"{where}: a confirmation has 2 items, got {len(step.items)}")
        for n in (n for text in _texts(step) for n in placeholders(text)):
            if n > answers or n in hidden:
                raise ProgramError(f"{where}: {{{n}}} names no earlier visible answer")
        if isinstance(step, GetInput):
            answers += 1
            if step.hidden:
                hidden.add(answers)
    sms = commands[at]
    assert isinstance(sms, SendShortMessage)
    for n in placeholders(sms.tpdu.text):
        if n > answers:
            raise ProgramError(f"{where}: the SMS template names answer {n} of {answers}")
    if len(tail) > 1 or (tail and not isinstance(tail[0], DisplayText)):
        raise ProgramError(f"{where}: after the SMS only one DISPLAY TEXT may follow")
    if confirms and not tail:
        raise ProgramError(f"{where}: a confirmation without the text for 'no'")
    cancelled = tail[0] if tail else None
    assert cancelled is None or isinstance(cancelled, DisplayText)
    if cancelled is not None and placeholders(cancelled.text):
        raise ProgramError(f"{where}: the text for 'no' takes no answers")
    return Item(
        tuple(steps),  # type: ignore[arg-type]  # checked above
        tuple(raw[:at]),
        sms,
        raw[at],
        cancelled,
        raw[at + 1] if tail else None,
    )


def _type(command: Command) -> int:
    return details_of(command).type


def pack_program(language: str, menu: bytes, blocks: list[bytes]) -> bytes:
    """The file for a SET UP MENU command and one block per item (checked by loading it)."""
    tag = language.encode("ascii")
    head_length = len(MAGIC) + 2 + len(tag) + 1 + 4 * len(blocks)
    index = b""
    offset = head_length + len(menu)
    for block in blocks:
        index += offset.to_bytes(2, "big") + len(block).to_bytes(2, "big")
        offset += len(block)
    if offset > 0xFFFF:
        raise ProgramError(f"a program is at most 65535 bytes, this one {offset}")
    data = MAGIC + bytes((VERSION, len(tag))) + tag + bytes((len(blocks),)) + index
    data += menu + b"".join(blocks)
    load_program(data)
    return data


def load_program(data: bytes) -> Program:
    """A program file, every command decoded and every block's shape checked."""
    if not data.startswith(MAGIC):
        raise ProgramError("not a SIM menu program (no ACSTKP magic)")
    at = len(MAGIC)
    if len(data) < at + 2:
        raise ProgramError("truncated header")
    if data[at] != VERSION:
        raise ProgramError(f"format version {data[at]}, this reader knows {VERSION}")
    tag_length = data[at + 1]
    at += 2
    language = data[at : at + tag_length].decode("ascii", "replace")
    at += tag_length
    if len(data) < at + 1:
        raise ProgramError("truncated header")
    count = data[at]
    at += 1
    if len(data) < at + 4 * count:
        raise ProgramError("truncated index")
    spans = []
    for i in range(count):
        entry = data[at + 4 * i : at + 4 * i + 4]
        start, length = int.from_bytes(entry[:2], "big"), int.from_bytes(entry[2:], "big")
        if start + length > len(data):
            raise ProgramError(f"item {i + 1}'s block runs past the end of the file")
        spans.append((start, length))
    at += 4 * count
    try:
        menu_raw = split_commands(data[at : spans[0][0] if spans else len(data)])
        if len(menu_raw) != 1:
            raise ProgramError(f"{len(menu_raw)} commands before the blocks, expected SET UP MENU")
        menu = decode_command(menu_raw[0])
        if not isinstance(menu, SetUpMenu):
            raise ProgramError("the first command is not SET UP MENU")
        if len(menu.items) != count:
            raise ProgramError(f"the menu has {len(menu.items)} items, the index {count}")
        items = tuple(_item(i, data[s : s + n]) for i, (s, n) in enumerate(spans, 1))
    except ProgramError:
        raise
    except StkError as error:  # a malformed TLV, an unknown command type, a bad address
        raise ProgramError(f"a command in the program is malformed: {error}") from None
    return Program(language, menu, menu_raw[0], items)


def listing(data: bytes) -> str:
    """One line per command: offset, item, type, what it shows (decoded)."""
    program = load_program(data)
    lines = [
        f"# SIM menu program, {program.language}, {len(program.items)} item(s), {len(data)} bytes"
    ]
    at = data.index(program.menu_bytes)
    lines.append(_line(at, "menu", program.menu, len(program.menu_bytes)))
    at += len(program.menu_bytes)
    for number, item in enumerate(program.items, 1):
        sequence: list[tuple[Command, bytes]] = list(zip(item.steps, item.step_bytes, strict=True))
        sequence.append((item.sms, item.sms_bytes))
        if item.cancelled is not None and item.cancelled_bytes is not None:
            sequence.append((item.cancelled, item.cancelled_bytes))
        for command, raw in sequence:
            lines.append(_line(at, f"item {number}", command, len(raw)))
            at += len(raw)
    return "\n".join(lines) + "\n"


def _line(offset: int, where: str, command: Command, size: int) -> str:
    name = COMMAND_NAMES[_type(command)]
    match command:
        case SetUpMenu() | SelectItem():
            items = " | ".join(f"{n} {text}" for n, text in enumerate(command.items, 1))
            shown = f"{command.title!r} [{items}]"
        case GetInput():
            rules = "digits" if command.digits_only else "SMS alphabet"
            rules += ", hidden" if command.hidden else ""
            shown = f"{command.text!r} ({command.min_length}..{command.max_length}, {rules})"
        case DisplayText():
            shown = repr(command.text)
        case SendShortMessage():
            shown = f"to {command.tpdu.destination}: {command.tpdu.text!r} (template)"
    return f"{offset:05d}  {where:<8} {name:<18} {size:3d} B  {shown}"
