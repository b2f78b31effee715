"""Compile the agent flow into the SIM's menu program (`aircharge stk export`).

The agent service SIM carries `agent_main` (STK_FLOW): its first menu becomes SET UP MENU, and
each menu option becomes one block of the program (`channels.stk.program` documents the file):
the flow is walked from the option to its operation node, every node rendered by
`dialogs.render.stk` and encoded by `channels.stk.commands`:

- an input node is GET INPUT with the input kind's lengths and digit rule (a PIN is hidden
  digit entry); its answer gets the next placeholder number `{n}`;
- a confirm node is SELECT ITEM (1 yes, 2 no), its prompt rendered with each slot's
  placeholder in place of the value: the applet puts the typed text there at run time. Its
  "no" must reach an end node, whose text becomes the block's closing DISPLAY TEXT;
- a message node is DISPLAY TEXT;
- the operation node is SEND SHORT MESSAGE to the service number, alpha identifier = the menu
  option's label, and the plaintext template: the operation's SMS command (the flow's
  `commands:`) with its English keyword (`dialogs.grammar.ENGLISH_KEYWORDS`) and its fields in
  the grammar's order (`COMMAND_FIELDS`), each the placeholder of the input that filled the
  slot (a repeated field: of the input that must equal it) — `TOPUP {1} {2} {3}`.

Anything else on the way (a nested menu, a subflow, an end before the operation, an
operation without an SMS command, a slot no input filled) is a `CompileError` naming the node.
So is a command that would not fit 255 bytes *once filled in*: each placeholder is sized with
the widest answer its input allows, the SMS with the longest sealed text (160 characters),
and the filled template with the seal's plaintext limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from channels.stk.commands import (
    Command,
    DisplayText,
    GetInput,
    SelectItem,
    SendShortMessage,
    SetUpMenu,
    encode_command,
)
from channels.stk.program import fill, pack_program
from channels.stk.secure import plaintext_bytes_max, sms_chars_max
from channels.stk.tlv import StkError
from channels.stk.tpdu import SmsSubmit
from dialogs.catalogue import Catalogue
from dialogs.engine import CONFIRM_CHOICES
from dialogs.events import INPUTS, Ask, End, Message, Value
from dialogs.flow import ConfirmNode, EndNode, Flow, InputNode, MenuNode, MessageNode, OperationNode
from dialogs.grammar import COMMAND_FIELDS, ENGLISH_KEYWORDS, REPEATED_FIELDS
from dialogs.render import stk as render

STK_FLOW: Final = "agent_main"
LANGUAGE_TAGS: Final[Mapping[str, str]] = {"zh": "zh-CN", "zh-CN": "zh-CN", "en": "en"}
WIDEST_SEALED: Final = "S" * sms_chars_max
WIDE_CHARACTERS: Final = ("8", "€")  # a digit; the widest SMS-alphabet character (ESC + code)


@dataclass(frozen=True, slots=True)
class Problem:
    node: str
    detail: str

    def __str__(self) -> str:
        return f"node {self.node!r}: {self.detail}"


class CompileError(StkError):
    """The flow cannot become a SIM menu program; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


def _placeholder(n: int) -> str:
    return f"{{{n}}}"


@dataclass(slots=True)
class _Answers:
    by_slot: dict[str, int] = field(default_factory=dict)
    repeats: dict[str, int] = field(default_factory=dict)  # must_equal slot -> answer
    widest: list[list[str]] = field(default_factory=list)  # answer n-1 -> candidate values

    def placeholder(self, slot: str) -> str:
        return _placeholder(self.by_slot[slot])


def _from_dialogs(screen: render.StkScreen) -> Command:
    match screen:
        case render.SelectItem():
            return SelectItem(screen.title, screen.items)
        case render.GetInput():
            return GetInput(
                screen.text, screen.min_length, screen.max_length,
                digits_only=screen.digits_only, hidden=screen.hidden,
            )  # fmt: skip
        case render.DisplayText():
            return DisplayText(screen.text)


def _widest_variants(command: Command, answers: _Answers) -> list[Command]:
    """The command with its placeholders filled by the widest answers (one per character)."""
    if not answers.widest:
        return [command]
    variants: list[Command] = []
    for index in range(len(WIDE_CHARACTERS)):
        values = [w[min(index, len(w) - 1)] for w in answers.widest]
        match command:
            case SelectItem():
                variants.append(SelectItem(fill(command.title, values), command.items))
            case GetInput():
                variants.append(_replace_text(command, fill(command.text, values)))
            case DisplayText():
                variants.append(DisplayText(fill(command.text, values)))
            case _:
                variants.append(command)
    return variants


def _replace_text(command: GetInput, text: str) -> GetInput:
    return GetInput(
        text, command.min_length, command.max_length, command.digits_only, command.hidden
    )


class _Compiler:
    def __init__(self, flow: Flow, catalogue: Catalogue, language: str, service_number: str):
        self.flow = flow
        self.catalogue = catalogue
        self.language = language
        self.service_number = service_number
        self.problems: list[Problem] = []

    def encode(self, node: str, command: Command, answers: _Answers | None = None) -> bytes:
        try:
            data = encode_command(command)
            for variant in _widest_variants(command, answers or _Answers()):
                encode_command(variant)
        except StkError as error:
            self.problems.append(Problem(node, f"{self.language}: {error}"))
            return b""
        return data

    def message(self, key: str, answers: _Answers, node: str) -> Message | None:
        """The message with each slot it shows as its answer's placeholder `{n}`."""
        params: dict[str, Value] = {}
        for name in self.catalogue.placeholders(key):
            if name not in answers.by_slot:
                self.problems.append(Problem(node, f"{key!r} shows {{{name}}}, no input fills it"))
                return None
            params[name] = answers.placeholder(name)
        return Message(key, params)

    def screen(self, event: Ask | End) -> Command:
        return _from_dialogs(render.render_stk(event, self.catalogue, self.language))

    def block(self, option_label: str, start: str) -> bytes:
        answers = _Answers()
        steps: list[bytes] = []
        cancelled = b""
        node_id = start
        seen: set[str] = set()
        while True:
            if node_id in seen:
                self.problems.append(Problem(node_id, "the item loops before its operation"))
                return b""
            seen.add(node_id)
            node = self.flow.nodes[node_id]
            match node:
                case InputNode():
                    message = self.message(node.prompt, answers, node.id)
                    if message is None:
                        return b""
                    spec = INPUTS[node.kind]
                    steps.append(
                        self.encode(node.id, self.screen(Ask(message, input=spec)), answers)
                    )
                    answers.widest.append(
                        [
                            c * spec.max_length
                            for c in WIDE_CHARACTERS[: 1 if spec.digits_only else 2]
                        ]
                    )
                    n = len(answers.widest)
                    answers.by_slot[node.slot] = n
                    if node.must_equal is not None:
                        answers.repeats[node.must_equal] = n
                    node_id = node.next
                case ConfirmNode():
                    message = self.message(node.prompt, answers, node.id)
                    if message is None:
                        return b""
                    confirm = self.screen(Ask(message, CONFIRM_CHOICES))
                    steps.append(self.encode(node.id, confirm, answers))
                    cancelled = self.cancel_text(node)
                    node_id = node.yes
                case MessageNode():
                    message = self.message(node.message, answers, node.id)
                    if message is None:
                        return b""
                    steps.append(self.encode(node.id, self.screen(End(message)), answers))
                    node_id = node.next
                case OperationNode():
                    sms = self.sms(node, option_label, answers)
                    return b"".join(steps) + sms + cancelled
                case _:
                    kind = type(node).__name__
                    self.problems.append(
                        Problem(node_id, f"a {kind} cannot be on a SIM menu item's way")
                    )
                    return b""

    def cancel_text(self, node: ConfirmNode) -> bytes:
        end = self.flow.nodes[node.no]
        if not isinstance(end, EndNode):
            self.problems.append(Problem(node.id, "its 'no' must lead to an end node"))
            return b""
        return self.encode(end.id, self.screen(End(Message(end.message))))

    def sms(self, node: OperationNode, label: str, answers: _Answers) -> bytes:
        kinds = [kind for kind, target in self.flow.commands.items() if target == node.id]
        if not kinds:
            self.problems.append(Problem(node.id, "no SMS command runs this operation"))
            return b""
        kind = kinds[0]
        fields = []
        for name in COMMAND_FIELDS[kind]:
            if name in REPEATED_FIELDS and REPEATED_FIELDS[name] in answers.repeats:
                fields.append(_placeholder(answers.repeats[REPEATED_FIELDS[name]]))
            elif name in answers.by_slot:
                fields.append(answers.placeholder(name))
            else:
                self.problems.append(Problem(node.id, f"no input fills the SMS field {name!r}"))
                return b""
        template = " ".join([ENGLISH_KEYWORDS[kind], *fields])
        widest = fill(template, [max(w, key=len) for w in answers.widest])
        if len(widest.encode()) > plaintext_bytes_max:
            self.problems.append(
                Problem(node.id, f"{widest!r} is over the seal's {plaintext_bytes_max} bytes")
            )
        command = SendShortMessage(SmsSubmit(self.service_number, template), alpha=label)
        data = self.encode(node.id, command)
        self.encode(node.id, SendShortMessage(SmsSubmit(self.service_number, WIDEST_SEALED), label))
        return data


def compile_program(flow: Flow, catalogue: Catalogue, language: str, service_number: str) -> bytes:
    """The program file for `flow` in `language` ("zh-CN"/"zh" or "en"); CompileError lists
    every problem found."""
    tag = LANGUAGE_TAGS.get(language)
    if tag is None:
        raise ValueError(f"language {language!r} is none of {sorted(LANGUAGE_TAGS)}")
    compiler = _Compiler(flow, catalogue, tag, service_number)
    start = flow.nodes[flow.start]
    if not isinstance(start, MenuNode):
        raise CompileError([Problem(flow.start, "a SIM menu program starts with a menu")])
    ask = Ask(Message(start.prompt), tuple(Message(o.label) for o in start.options))
    try:
        menu = render.render_stk_menu(ask, catalogue, tag)
    except ValueError as error:
        raise CompileError([Problem(start.id, str(error))]) from None
    menu_bytes = compiler.encode(start.id, SetUpMenu(menu.title, menu.items))
    blocks = [
        compiler.block(label, option.next)
        for label, option in zip(menu.items, start.options, strict=True)
    ]
    if compiler.problems:
        raise CompileError(compiler.problems)
    return pack_program(tag, menu_bytes, blocks)
