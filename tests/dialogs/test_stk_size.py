"""Proactive command sizes, worked out by hand from ETSI TS 102 223's TLV layout."""

from __future__ import annotations

from pathlib import Path

import yaml

from dialogs.catalogue import MESSAGES_DIR, Catalogue
from dialogs.lint import LintContext, check_files
from dialogs.render.stk import DisplayText, GetInput, SelectItem
from dialogs.render.stk_size import alpha_bytes, command_bytes, text_string_bytes
from ledger.operations import OPERATION_NAMES, OUTCOME_CODES


def test_alpha_and_text_coding() -> None:
    assert alpha_bytes("Top up") == 6  # GSM default alphabet, unpacked
    assert alpha_bytes("€") == 2  # the extension table: escape + character
    assert alpha_bytes("话费充值") == 1 + 8  # 0x80 + UCS-2
    assert text_string_bytes("Hello") == 1 + 5  # DCS + 8-bit GSM
    assert text_string_bytes("你好") == 1 + 4  # DCS + UCS-2


def test_whole_commands() -> None:
    # D0 len | 81 03 .. | 82 02 .. | 8D 06 04 'Hello'
    assert command_bytes(DisplayText("Hello")) == 2 + 5 + 4 + 8
    # ... | 8D 0A 04 'Enter PIN' | 91 02 06 06
    assert command_bytes(GetInput("Enter PIN", 6, 6, True, True)) == 2 + 5 + 4 + 12 + 4
    # ... | 85 0B 80 'Choose'(UCS-2 5 chars) | 8F 05 01 80 '充值' | 8F 03 02 'OK'
    menu = SelectItem("请选择业务", ("充值", "OK"))
    assert command_bytes(menu) == 2 + 5 + 4 + (2 + 11) + (2 + 1 + 5) + (2 + 1 + 2)


def test_a_long_body_takes_a_two_byte_length() -> None:
    text = "x" * 200  # text string 201 bytes: 8D 81 C9 ...; the command over 127 too
    assert command_bytes(DisplayText(text)) == 3 + 5 + 4 + (3 + 201)


def test_flows_check_catches_a_menu_too_big_for_one_command(tmp_path: Path) -> None:
    texts = {
        language: yaml.safe_load((MESSAGES_DIR / f"{language}.yaml").read_text("utf-8"))
        for language in ("zh-CN", "en")
    }
    for i in range(9):
        texts["zh-CN"][f"long.{i}"] = f"第{i}个非常长的菜单选项名称啊啊啊"  # 15 characters
        texts["en"][f"long.{i}"] = f"Option {i}"
    flow = tmp_path / "big_menu.yaml"
    options = "\n".join(f"      - {{label: long.{i}, next: bye}}" for i in range(9))
    flow.write_text(
        "id: big_menu\nstart: menu\nnodes:\n  menu:\n    type: menu\n    prompt: agent.menu\n"
        f"    options:\n{options}\n  bye:\n    type: end\n    message: common.cancelled\n",
        encoding="utf-8",
    )
    context = LintContext(Catalogue(texts), OUTCOME_CODES, OPERATION_NAMES)
    findings = [f for f in check_files([flow], context) if f.rule == "stk-command-too-long"]
    assert findings
    assert findings[0].detail.startswith("zh-CN: ")
