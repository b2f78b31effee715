"""Proactive commands, terminal responses and envelopes against bytes worked out by hand from
ETSI TS 102 223 (§6.6 command layouts, §6.8 terminal response, §7 envelopes, §8 data
objects); malformed TLVs refused; round trips; and the linter's byte count equal to the
codec's for every screen of every flow."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from channels.stk.commands import (
    BACKWARD_MOVE,
    Command,
    CommandDetails,
    DisplayText,
    GetInput,
    MenuSelection,
    SelectItem,
    SendShortMessage,
    SetUpMenu,
    TerminalResponse,
    decode_command,
    decode_envelope,
    decode_terminal_response,
    encode_command,
    encode_menu_selection,
    encode_terminal_response,
)
from channels.stk.tlv import CommandTooLong, MalformedTlv, StkError, UnknownRequiredTag
from channels.stk.tpdu import SmsSubmit
from dialogs import lint
from dialogs.catalogue import LANGUAGES, Catalogue
from dialogs.flow import FLOWS_DIR, load_flows
from dialogs.render import stk as render
from dialogs.render.stk_size import command_bytes

HEAD_MENU = "8103012500" + "82028182"  # details: no. 1, SET UP MENU, 0 | UICC -> terminal

COMMAND_FIXTURES: list[tuple[Command, str]] = [
    (
        SetUpMenu("Menu", ("Top up", "Balance")),
        # D0 22 (34 bytes follow) | 81 03 01 25 00 | 82 02 81 82
        # | 85 04 "Menu" | 8F 07 01 "Top up" | 8F 08 02 "Balance"
        "D022" + HEAD_MENU + "85044D656E75"
        + "8F0701" + "546F70207570" + "8F0802" + "42616C616E6365",
    ),
    (
        SelectItem("确认", ("是", "否")),
        # D0 1C | 81 03 01 24 00 | 82 02 81 82 | 85 05 80 786E 8BA4 (0x80 form)
        # | 8F 04 01 80 662F | 8F 04 02 80 5426 (one character: 0x80 is shorter than 0x81)
        "D01C" + "8103012400" + "82028182" + "850580786E8BA4"
        + "8F040180662F" + "8F0402805426",
    ),
    (
        SetUpMenu("Меню", ("가각간 1",)),
        # D0 1E (9 + 9 + 12) | headers | 85 07 81 04 08 9C B5 BD CE (0x81 form, base 0x0400)
        # | 8F 0A 01 82 05 AC00 80 81 84 20 31 (0x82 form, base 0xAC00)
        "D01E" + HEAD_MENU + "85078104089CB5BDCE" + "8F0A01" + "8205AC008081842031",
    ),
    (
        GetInput("Enter PIN", 6, 6, digits_only=True, hidden=True),
        # D0 19 | 81 03 01 23 04 (qualifier: digits, no echo) | 82 02 81 82
        # | 8D 0A 04 "Enter PIN" (DCS 04, 8-bit GSM) | 91 02 06 06 (min 6, max 6)
        "D019" + "8103012304" + "82028182" + "8D0A04" + "456E7465722050494E" + "91020606",
    ),
    (
        GetInput("Enter 12345", 5, 5, digits_only=True, hidden=False),
        # the command of the conformance test GET INPUT 1.1 (TS 31.124 §27.22.4.3.1):
        # D0 1B | 81 03 01 23 00 (digits, echo, unpacked) | 82 02 81 82
        # | 8D 0C 04 "Enter 12345" | 91 02 05 05
        "D01B" + "8103012300" + "82028182" + "8D0C04" + "456E746572203132333435" + "91020505",
    ),
    (
        GetInput("金额", 1, 10, digits_only=False, hidden=False),
        # D0 14 | 81 03 01 23 01 (SMS alphabet, echo) | 82 02 81 82
        # | 8D 05 08 91D1 989D (DCS 08, UCS-2) | 91 02 01 0A
        "D014" + "8103012301" + "82028182" + "8D050891D1989D" + "9102010A",
    ),
    (
        DisplayText("Done"),
        # D0 10 | 81 03 01 21 80 (wait for the user to clear) | 82 02 81 02 (to the display)
        # | 8D 05 04 "Done"
        "D010" + "8103012180" + "82028102" + "8D0504446F6E65",
    ),
    (
        SendShortMessage(SmsSubmit("1888", "BAL 123456"), alpha="Top up"),
        # D0 25 | 81 03 01 13 00 | 82 02 81 83 (to the network) | 85 06 "Top up"
        # | 8B 12 SMS-SUBMIT (see test_text): 01 00 04 81 8188 00 00 0A C2201314 93CD68351B
        "D025" + "8103011300" + "82028183" + "8506546F70207570"
        + "8B12" + "0100048181880000" + "0A" + "C220131493CD68351B",
    ),
    (
        SendShortMessage(SmsSubmit("1888", "Hi"), service_centre="+8613800100500"),
        # D0 20 (9 + 10 + 13) | headers | address 86 08: TON/NPI 91 (international, ISDN),
        # 86 13 80 01 00 50 0 -> 68 31 08 10 00 05 F0 | 8B 0B: 01 00 04 81 8188 00 00 02 C834
        "D020" + "8103011300" + "82028183" + "86089168310810" + "0005F0"
        + "8B0B" + "0100048181880000" + "02" + "C834",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("command", "coded"), COMMAND_FIXTURES)
def test_command_fixtures(command: Command, coded: str) -> None:
    assert encode_command(command).hex().upper() == coded
    assert decode_command(bytes.fromhex(coded)) == command


RESPONSE_FIXTURES = [
    (
        TerminalResponse(CommandDetails(1, 0x23, 0x04), text="123456"),
        # 81 03 01 23 04 (as the command had them) | 82 02 82 81 (terminal -> UICC)
        # | 83 01 00 (performed successfully) | 8D 07 04 "123456"
        "8103012304" + "82028281" + "830100" + "8D0704313233343536",
    ),
    (
        TerminalResponse(CommandDetails(1, 0x24, 0x00), item=2),
        # ... | 83 01 00 | 90 01 02 (item identifier 2)
        "8103012400" + "82028281" + "830100" + "900102",
    ),
    (
        TerminalResponse(CommandDetails(1, 0x23, 0x01), result=BACKWARD_MOVE),
        # ... | 83 01 11 (backward move requested by the user)
        "8103012301" + "82028281" + "830111",
    ),
]


@pytest.mark.parametrize(("response", "coded"), RESPONSE_FIXTURES)
def test_terminal_response_fixtures(response: TerminalResponse, coded: str) -> None:
    assert encode_terminal_response(response).hex().upper() == coded
    decoded = decode_terminal_response(bytes.fromhex(coded))
    assert (decoded.details, decoded.result, decoded.item, decoded.text) == (
        response.details, response.result, response.item, response.text,
    )  # fmt: skip


def test_menu_selection_envelope() -> None:
    # D3 07 | 82 02 01 81 (keypad -> UICC) | 90 01 03 (item 3)
    coded = "D307" + "82020181" + "900103"
    assert encode_menu_selection(MenuSelection(3)).hex().upper() == coded
    assert decode_envelope(bytes.fromhex(coded)) == MenuSelection(3)


@pytest.mark.parametrize(
    ("coded", "error", "reason"),
    [
        ("D00581030121", MalformedTlv, "truncated"),  # says 5, 4 follow
        ("D0088103012180", MalformedTlv, "truncated"),
        ("D01081050121808202", MalformedTlv, "truncated"),  # inner length overruns
        ("D0821000", MalformedTlv, "only 00..7F or 81 nn"),  # 0x82: two length bytes
        ("D0811081030121808202810282058D0504446F6E65", MalformedTlv, "minimal"),
        ("D0108103012180820281028D0504446F6E65FF", MalformedTlv, "after the BER-TLV"),
        ("D1108103012180820281028D0504446F6E65", MalformedTlv, "tag 0xD1"),
        ("D00B820281028D0504446F6E65", MalformedTlv, "command details"),
        ("D00D8103012180820281028D0504", MalformedTlv, "truncated"),
        # an unknown tag (0x7E) with the comprehension-required bit: FE 01 00
        ("D0138103012180820281028D0504446F6E65FE0100", UnknownRequiredTag,
         "unknown comprehension-required tag 0xFE"),
        ("D0138103012180820281028D0504446F6E650001FF", MalformedTlv, "not a COMPREHENSION-TLV tag"),
        ("D0108103012180820281818D0504446F6E65", MalformedTlv, "devices 81 -> 81"),
        ("D0108103012280820281828D0504446F6E65", StkError, "0x22 is not one"),
    ],
)  # fmt: skip
def test_malformed_commands_refused(coded: str, error: type[Exception], reason: str) -> None:
    with pytest.raises(error, match=reason):
        decode_command(bytes.fromhex(coded))


def test_unknown_tag_without_the_cr_bit_is_skipped() -> None:
    # the DISPLAY TEXT above with 7E 01 00 added: tag 0x7E unknown, CR clear -> ignored
    coded = "D0138103012180820281028D0504446F6E65" + "7E0100"
    assert decode_command(bytes.fromhex(coded)) == DisplayText("Done")
    # and a known tag without CR reads like with it (tags 0x01/0x81 are the same object)
    plain = "D010" + "0103012180" + "02028102" + "0D0504446F6E65"
    assert decode_command(bytes.fromhex(plain)) == DisplayText("Done")


def test_malformed_responses_and_envelopes_refused() -> None:
    with pytest.raises(MalformedTlv, match="result"):
        decode_terminal_response(bytes.fromhex("8103012400" + "82028281"))
    with pytest.raises(MalformedTlv, match="82 -> 81"):
        decode_terminal_response(bytes.fromhex("8103012400" + "82028182" + "830100"))
    with pytest.raises(MalformedTlv, match="item identifier"):
        decode_envelope(bytes.fromhex("D00482020181"[0:0] + "D30482020181"))
    with pytest.raises(MalformedTlv, match="tag 0xD0"):
        decode_envelope(bytes.fromhex("D00782020181900103"))


def test_a_command_fits_255_bytes_or_is_refused() -> None:
    # D0 81 FC | 9 header bytes | 8D 81 F0 | 04 + 239 characters = 3 + 252 = 255
    assert len(encode_command(DisplayText("a" * 239))) == 255
    with pytest.raises(CommandTooLong, match="256 bytes > 255"):
        encode_command(DisplayText("a" * 240))
    with pytest.raises(CommandTooLong):
        encode_command(SetUpMenu("服务" * 20, tuple("充值话费" * 5 for _ in range(9))))


_texts = st.text(
    st.characters(
        min_codepoint=0x20, max_codepoint=0xFFFE, categories=("L", "M", "N", "P", "S", "Zs")
    ),
    max_size=20,
)
_commands = st.one_of(
    st.builds(SetUpMenu, _texts, st.lists(_texts, min_size=1, max_size=5).map(tuple)),
    st.builds(SelectItem, _texts, st.lists(_texts, min_size=1, max_size=5).map(tuple)),
    st.builds(
        lambda text, n, digits, hidden: GetInput(text, min(n), max(n), digits, hidden),
        _texts, st.tuples(st.integers(0, 255), st.integers(0, 255)), st.booleans(), st.booleans(),
    ),
    st.builds(DisplayText, _texts),
    st.builds(
        lambda number, text, alpha: SendShortMessage(SmsSubmit(number, text), alpha),
        st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True), st.text(max_size=30), st.none() | _texts,
    ),
)  # fmt: skip


@given(_commands, st.integers(1, 254))
def test_command_round_trip(command: Command, number: int) -> None:
    from dataclasses import replace

    command = replace(command, number=number)
    try:
        coded = encode_command(command)
    except StkError:
        return  # too long for one command or one SMS: refused
    assert decode_command(coded) == command
    assert len(coded) <= 255


@given(st.sampled_from([0x21, 0x23, 0x24, 0x25]), st.sampled_from([0x00, 0x10, 0x11, 0x12]),
       st.none() | st.integers(1, 9), st.none() | _texts)  # fmt: skip
def test_terminal_response_round_trip(
    kind: int, result: int, item: int | None, text: str | None
) -> None:
    response = TerminalResponse(CommandDetails(7, kind, 0), result, item, text)
    decoded = decode_terminal_response(encode_terminal_response(response))
    assert (decoded.details, decoded.result, decoded.item) == (response.details, result, item)
    assert decoded.text == text


def _as_codec(screen: render.StkScreen | render.SetUpMenu) -> Command:
    match screen:
        case render.SetUpMenu():
            return SetUpMenu(screen.title, screen.items)
        case render.SelectItem():
            return SelectItem(screen.title, screen.items)
        case render.GetInput():
            return GetInput(
                screen.text, screen.min_length, screen.max_length, screen.digits_only, screen.hidden
            )
        case render.DisplayText():
            return DisplayText(screen.text)


def test_the_linters_count_is_the_codecs_length_for_every_screen_of_every_flow() -> None:
    """`flows check` proves the 255-byte limit with `command_bytes`: it must be exact."""
    catalogue = Catalogue.load()
    compared = 0
    for flow in load_flows(sorted(Path(FLOWS_DIR).glob("*.yaml"))).values():
        for node in flow.nodes.values():
            for event in lint._screens(node, catalogue):  # the screens the linter measures
                for language in LANGUAGES:
                    screen = render.render_stk(event, catalogue, language)
                    assert len(encode_command(_as_codec(screen))) == command_bytes(screen), screen
                    compared += 1
    assert compared > 50
