"""The SIM menu program: compiled from the shipped agent flow, its file layout read back by
hand, the loader's refusals, the compiler's refusals (over-long menus and confirmations once
filled in, shapes a SIM item cannot take), `flows check` catching an over-long root menu, and
`aircharge stk export`."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml

from aircharge.cli import main
from channels.stk.commands import (
    DisplayText,
    GetInput,
    SelectItem,
    SendShortMessage,
    SetUpMenu,
    encode_command,
)
from channels.stk.compiler import STK_FLOW, CompileError, compile_program
from channels.stk.program import (
    MAGIC,
    ProgramError,
    fill,
    listing,
    load_program,
    pack_program,
    split_commands,
)
from channels.stk.tpdu import SmsSubmit
from dialogs.catalogue import MESSAGES_DIR, Catalogue
from dialogs.flow import FLOWS_DIR, Flow, load_flows, parse_flow
from dialogs.lint import LintContext, check_files
from ledger.operations import OPERATION_NAMES, OUTCOME_CODES

TEMPLATES = [
    "TOPUP {1} {2} {3}",
    "PAY {1} {2} {3}",
    "ALLOT {1} {2} {3}",
    "BAL {1}",
    "HIST {1}",
    "PIN {1} {2} {3}",
]


def _flow() -> Flow:
    return load_flows()[STK_FLOW]


def _texts() -> dict[str, dict[str, str]]:
    return {
        language: yaml.safe_load((MESSAGES_DIR / f"{language}.yaml").read_text("utf-8"))
        for language in ("zh-CN", "en")
    }


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_agent_program(language: str) -> None:
    data = compile_program(_flow(), Catalogue.load(), language, "1888")
    program = load_program(data)
    assert program.language == language
    assert len(program.menu.items) == len(program.items) == 6
    assert [item.template for item in program.items] == TEMPLATES
    top_up = program.items[0]
    kinds = [type(step) for step in top_up.steps]
    assert kinds == [GetInput, GetInput, GetInput, SelectItem]
    number, amount, pin, confirm = top_up.steps
    assert isinstance(number, GetInput)
    assert (number.digits_only, number.hidden, number.min_length, number.max_length) == (
        True, False, 11, 15,
    )  # fmt: skip
    assert isinstance(amount, GetInput)
    assert not amount.digits_only
    assert isinstance(pin, GetInput)
    assert (pin.digits_only, pin.hidden, pin.min_length, pin.max_length) == (True, True, 6, 6)
    assert isinstance(confirm, SelectItem)
    assert "{1}" in confirm.title
    assert "{2}" in confirm.title
    assert "{3}" not in confirm.title  # never the PIN
    assert top_up.sms.tpdu.destination == "1888"
    assert top_up.sms.alpha == program.menu.items[0]
    assert isinstance(top_up.cancelled, DisplayText)
    assert program.items[3].cancelled is None  # balance: no confirmation, no "no"


def test_the_file_layout_read_by_hand() -> None:
    data = compile_program(_flow(), Catalogue.load(), "en", "1888")
    assert data[:6] == MAGIC == b"ACSTKP"
    assert data[6] == 1  # version
    assert data[7] == 2  # "en"
    assert data[8:10] == b"en"
    assert data[10] == 6  # items
    index = [
        (
            int.from_bytes(data[11 + 4 * i : 13 + 4 * i]),
            int.from_bytes(data[13 + 4 * i : 15 + 4 * i]),
        )
        for i in range(6)
    ]
    menu_at = 11 + 4 * 6
    assert data[menu_at] == 0xD0  # SET UP MENU follows the index
    assert data[menu_at + 5] == 0x25
    assert index[0][0] == menu_at + 2 + data[menu_at + 1]  # block 1 right after the menu
    for (start, length), (next_start, _) in itertools.pairwise(index):
        assert start + length == next_start  # blocks back to back
    assert index[-1][0] + index[-1][1] == len(data)
    start, length = index[3]  # Balance: GET INPUT (PIN), SEND SHORT MESSAGE
    commands = split_commands(data[start : start + length])
    assert [command[5] for command in commands] == [0x23, 0x13]
    assert commands[0][6] == 0x04  # no echo, digits only


def test_the_listing_has_a_line_per_command() -> None:
    data = compile_program(_flow(), Catalogue.load(), "en", "1888")
    lines = listing(data).splitlines()
    assert lines[0].startswith("# SIM menu program, en, 6 item(s)")
    assert len(lines) == 1 + 27  # the menu and 26 commands in the six blocks
    assert "SET UP MENU" in lines[1]
    assert any("'TOPUP {1} {2} {3}' (template)" in line for line in lines)
    offsets = [int(line.split()[0]) for line in lines[1:]]
    assert all(data[offset] == 0xD0 for offset in offsets)  # each offset is a command


def test_fill_substitutes_once() -> None:
    assert fill("TOPUP {1} {2} {3}", ["139", "{3}", "111111"]) == "TOPUP 139 {3} 111111"
    assert fill("{4} left", ["a"]) == "{4} left"


def _menu(n: int = 1) -> bytes:
    return encode_command(SetUpMenu("M", tuple(f"i{k}" for k in range(1, n + 1))))


def _sms(text: str = "BAL {1}") -> bytes:
    return encode_command(SendShortMessage(SmsSubmit("1888", text), "i1"))


PIN = encode_command(GetInput("PIN", 6, 6, digits_only=True, hidden=True))
NUMBER = encode_command(GetInput("Number", 11, 15, digits_only=True, hidden=False))


@pytest.mark.parametrize(
    ("blocks", "reason"),
    [
        ([PIN], "0 SEND SHORT MESSAGE"),
        ([PIN + _sms() + _sms()], "2 SEND SHORT MESSAGE"),
        ([_sms("BAL {2}")], "names answer 2 of 0"),
        ([PIN + encode_command(DisplayText("PIN {1}")) + _sms()], "no earlier visible answer"),
        ([NUMBER + encode_command(SelectItem("{1}?", ("y", "n"))) + _sms()], "text for 'no'"),
        ([NUMBER + encode_command(SelectItem("{1}?", ("y", "n", "m"))) + _sms()], "2 items"),
        ([PIN + _sms() + PIN], "only one DISPLAY TEXT"),
        (  # the closing text could show the PIN typed
            [
                PIN
                + encode_command(SelectItem("OK?", ("y", "n")))
                + _sms()
                + encode_command(DisplayText("no {1}"))
            ],
            "text for 'no' takes no answers",
        ),
    ],
)
def test_the_loader_refuses_a_block_a_sim_cannot_run(blocks: list[bytes], reason: str) -> None:
    with pytest.raises(ProgramError, match=reason):
        pack_program("en", _menu(len(blocks)), blocks)


def test_the_loader_refuses_broken_files() -> None:
    good = pack_program("en", _menu(), [PIN + _sms()])
    assert load_program(good).items[0].template == "BAL {1}"
    with pytest.raises(ProgramError, match="magic"):
        load_program(b"XX" + good[2:])
    with pytest.raises(ProgramError, match="version 2"):
        load_program(good[:6] + b"\x02" + good[7:])
    with pytest.raises(ProgramError, match="past the end"):
        load_program(good[:-1])
    with pytest.raises(ProgramError, match="the menu has 2 items, the index 1"):
        pack_program("en", _menu(2), [PIN + _sms()])
    broken = bytearray(good)
    broken[len(good) - len(_sms()) + 1] += 1  # the SMS's length one too many
    with pytest.raises(ProgramError, match="runs past"):
        load_program(bytes(broken))
    unknown = bytearray(good)
    unknown[len(good) - len(_sms()) + 5] = 0x7F  # the SMS's type of command: none known
    with pytest.raises(ProgramError, match="malformed"):
        load_program(bytes(unknown))


def _catalogue(**changes: tuple[str, str]) -> Catalogue:
    texts = _texts()
    for key, (zh, en) in changes.items():
        texts["zh-CN"][key.replace("__", ".")] = zh
        texts["en"][key.replace("__", ".")] = en
    return Catalogue(texts)


def test_an_over_long_menu_does_not_compile() -> None:
    catalogue = _catalogue(agent__menu__topup=("充值话费" * 25, "Top up"))
    with pytest.raises(CompileError) as caught:
        compile_program(_flow(), catalogue, "zh-CN", "1888")
    [menu] = [p for p in caught.value.problems if p.node == "menu"]
    assert menu.detail.startswith("zh-CN: tag 0xD0: the whole is ")
    assert menu.detail.endswith(" bytes > 255")
    compile_program(_flow(), catalogue, "en", "1888")  # fine in English


def test_a_confirmation_too_long_once_filled_in_does_not_compile() -> None:
    # 100 GSM characters + the two placeholders fit as written (4 + 4 bytes), not with a
    # 15-digit number and 10 SMS-alphabet characters of 2 bytes each in their place.
    long_confirm = (
        "为{msisdn}充值{amount_fen}元" + "确" * 100,
        "x" * 200 + " {msisdn} {amount_fen}",
    )
    catalogue = _catalogue(topup__confirm=long_confirm)
    with pytest.raises(CompileError) as caught:
        compile_program(_flow(), catalogue, "en", "1888")
    assert [p.node for p in caught.value.problems] == ["topup_confirm"]


def _flow_with(**nodes: Any) -> Flow:
    document = yaml.safe_load((FLOWS_DIR / "agent_main.yaml").read_text("utf-8"))
    document["nodes"].update(nodes)
    return parse_flow(document, "test")


def test_shapes_a_sim_item_cannot_take_are_named() -> None:
    nested = _flow_with(
        topup_msisdn={"type": "menu", "prompt": "agent.menu",
                      "options": [{"label": "agent.menu.topup", "next": "topup_amount"}]},
    )  # fmt: skip
    with pytest.raises(CompileError, match="'topup_msisdn': a MenuNode"):
        compile_program(nested, Catalogue.load(), "en", "1888")
    document = yaml.safe_load((FLOWS_DIR / "agent_main.yaml").read_text("utf-8"))
    del document["commands"]["balance"]
    with pytest.raises(CompileError, match="'balance_run': no SMS command"):
        compile_program(parse_flow(document, "test"), Catalogue.load(), "en", "1888")


def test_flows_check_catches_an_over_long_root_menu(tmp_path: Path) -> None:
    catalogue = _catalogue(agent__menu=("代理商服务" * 20, "Agent services"))
    findings = check_files(
        [FLOWS_DIR / "agent_main.yaml"], LintContext(catalogue, OUTCOME_CODES, OPERATION_NAMES)
    )
    menu = [f for f in findings if "SET UP MENU" in f.detail]
    assert [f.rule for f in menu] == ["stk-command-too-long"]
    assert menu[0].detail.startswith("zh-CN: SET UP MENU of ")
    assert menu[0].where.endswith("agent_main.yaml:16")


def test_flows_check_runs_the_compiler_on_the_shipped_flows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["flows", "check"])
    assert exited.value.code == 0
    assert "all good" in capsys.readouterr().err


def test_export_writes_the_program_and_its_listing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "agent.stk"
    with pytest.raises(SystemExit) as exited:
        main(["stk", "export", str(target), "--lang", "en", "--service-number", "10086"])
    assert exited.value.code == 0
    assert target.read_bytes() == compile_program(_flow(), Catalogue.load(), "en", "10086")
    assert (tmp_path / "agent.stk.txt").read_text("utf-8") == listing(target.read_bytes())
    out = capsys.readouterr()
    assert f"wrote {target}" in out.out
    assert "27 proactive commands" in out.out
    assert "compiling agent_main (en) for service number 10086" in out.err


def test_export_defaults_to_chinese_and_the_configured_service_number(tmp_path: Path) -> None:
    target = tmp_path / "agent.stk"
    with pytest.raises(SystemExit) as exited:
        main(["stk", "export", str(target)])
    assert exited.value.code == 0
    program = load_program(target.read_bytes())
    assert program.language == "zh-CN"
    assert program.items[0].sms.tpdu.destination == "1888"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--service-number", "18a8"], "3 to 20 digits"),
        (["--service-number", "12"], "3 to 20 digits"),
        (["--lang", "fr"], "invalid choice"),
    ],
)
def test_export_refuses_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["stk", "export", str(tmp_path / "x.stk"), *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.stk").exists()


def test_export_refuses_a_missing_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["stk", "export", str(tmp_path / "nowhere" / "x.stk")])
    assert exited.value.code == 2
    assert "no directory" in capsys.readouterr().err


def test_flows_check_reports_a_compiled_command_too_long_at_its_node() -> None:
    from aircharge.flows_cli import _stk_program_findings

    long_confirm = ("为{msisdn}充值{amount_fen}元", "x" * 200 + " {msisdn} {amount_fen}")
    path = FLOWS_DIR / "agent_main.yaml"
    findings = _stk_program_findings([path], _catalogue(topup__confirm=long_confirm))
    assert [(f.rule, f.where) for f in findings] == [
        ("stk-program", f"{path}:{_flow().lines['topup_confirm']}")
    ]
    assert findings[0].detail.startswith("en: ")
    assert _stk_program_findings([path], Catalogue.load()) == []
