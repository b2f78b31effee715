"""The emulated SIM runs the exported program and the handset drives it like a phone: a whole
top-up from the menu to the sealed SMS, which the platform's `open_sealed` reads back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from channels.stk.commands import (
    OK,
    CommandDetails,
    GetInput,
    MenuSelection,
    TerminalResponse,
    decode_command,
    encode_menu_selection,
    encode_terminal_response,
)
from channels.stk.compiler import STK_FLOW, compile_program
from channels.stk.program import load_program
from channels.stk.secure import SimKeys, open_sealed, parse
from channels.stk.tlv import MalformedTlv
from dialogs.catalogue import Catalogue
from dialogs.flow import load_flows
from simulator.stk import (
    Handset,
    HandsetError,
    InputScreen,
    ListScreen,
    MenuScreen,
    Screen,
    SimCard,
    SimProfile,
    TextScreen,
    load_profile,
    save_profile,
)
from simulator.stk.card import CardError
from simulator.stk.profile import ProfileError

KIC = "000102030405060708090a0b0c0d0e0f"
KID = "101112131415161718191a1b1c1d1e1f"
KEYS = SimKeys(bytes.fromhex(KIC), bytes.fromhex(KID))
SIM_ID = "0123456789abcdef"
AGENT = "8613800000001"


def _profile(language: str = "en", counter: int = 0) -> SimProfile:
    return SimProfile(SIM_ID, AGENT, "1888", KIC, KID, counter, language)


@pytest.fixture(scope="module")
def programs() -> dict[str, bytes]:
    flow = load_flows()[STK_FLOW]
    catalogue = Catalogue.load()
    return {lang: compile_program(flow, catalogue, lang, "1888") for lang in ("en", "zh-CN")}


def _input(screen: Screen) -> InputScreen:
    assert isinstance(screen, InputScreen), screen
    return screen


def _notice(screen: Screen) -> str | None:
    assert not isinstance(screen, TextScreen), screen
    return screen.notice


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def __call__(self, destination: str, text: str) -> None:
        self.sent.append((destination, text))


def _phone(
    programs: dict[str, bytes], language: str = "en"
) -> tuple[Handset, Outbox, list[SimProfile]]:
    saved: list[SimProfile] = []
    sim = SimCard(load_program(programs[language]), _profile(language), saved.append)
    outbox = Outbox()
    return Handset(sim, outbox), outbox, saved


async def _top_up(phone: Handset) -> None:
    assert isinstance(await phone.select(1), InputScreen)  # Top up
    await phone.enter("13900000001")
    await phone.enter("50")
    pin = await phone.enter("123456")
    assert isinstance(pin, ListScreen)
    assert pin.title == "Top up 13900000001 with CNY 50?"  # the typed values filled in
    assert pin.items == ("Confirm", "Cancel")
    assert isinstance(await phone.select(1), MenuScreen)  # sent; back on the menu


async def test_a_whole_top_up_ends_in_a_sealed_sms_the_platform_opens(
    programs: dict[str, bytes],
) -> None:
    phone, outbox, saved = _phone(programs)
    assert phone.screen == MenuScreen(
        "Agent services",
        ("Top up", "Pay a bill", "Allot deposit", "Balance", "Recent transactions", "Change PIN"),
    )
    first = await phone.select(1)
    assert first == InputScreen("Enter the number to top up", 11, 15, True, False)
    await phone.enter("13900000001")
    amount = await phone.enter("50")
    assert isinstance(amount, InputScreen)
    assert amount.hidden
    assert amount.digits_only
    assert amount.echo("1234") == "****"
    await phone.enter("123456")
    await phone.select(1)
    [(destination, text)] = outbox.sent
    assert destination == "1888"
    sealed = parse(text)
    assert (sealed.sim_id, sealed.counter) == (SIM_ID, 1)
    assert open_sealed(sealed, KEYS) == "TOPUP 13900000001 50 123456"
    assert [p.counter for p in saved] == [1]
    assert "123456" not in text.split()[-1]  # the PIN travels ciphered only


async def test_the_counter_increases_across_runs_and_persists(
    programs: dict[str, bytes], tmp_path: Path
) -> None:
    program_path, profile_path = tmp_path / "agent.stk", tmp_path / "sim.json"
    program_path.write_bytes(programs["en"])
    save_profile(profile_path, _profile())
    outbox = Outbox()
    phone = Handset(SimCard.from_files(program_path, profile_path), outbox)
    await _top_up(phone)
    await _top_up(phone)
    assert [parse(text).counter for _, text in outbox.sent] == [1, 2]
    assert load_profile(profile_path).counter == 2
    # a SIM started again from the files carries on from 2
    again = Handset(SimCard.from_files(program_path, profile_path), outbox)
    await _top_up(again)
    assert parse(outbox.sent[-1][1]).counter == 3
    assert json.loads(profile_path.read_text())["counter"] == 3


async def test_bad_entries_are_refused_like_a_phone_does(programs: dict[str, bytes]) -> None:
    phone, outbox, _ = _phone(programs)
    await phone.select(1)
    refused = await phone.enter("1390000000a")
    assert isinstance(refused, InputScreen)
    assert refused.notice == "Digits only"
    short = await phone.enter("139")
    assert isinstance(short, InputScreen)
    assert short.notice == "Enter at least 11 characters"
    long = await phone.enter("1" * 16)
    assert isinstance(long, InputScreen)
    assert long.notice == "At most 15 characters"
    assert _input(await phone.enter("13900000001")).text == "Enter the amount (CNY)"
    assert _notice(await phone.enter("5€0")) is None  # the SMS alphabet: the platform judges
    assert _input(await phone.back()).text == "Enter the amount (CNY)"
    assert _notice(await phone.enter("金")) == "Character not allowed"
    assert outbox.sent == []


async def test_refusals_in_chinese(programs: dict[str, bytes]) -> None:
    phone, _, _ = _phone(programs, "zh-CN")
    assert isinstance(phone.screen, MenuScreen)
    assert phone.screen.title == "代理商服务"
    await phone.select(4)  # 余额查询: the PIN
    assert _notice(await phone.enter("12a456")) == "只能输入数字"
    assert _notice(await phone.enter("12345")) == "请至少输入6位"


async def test_cancel_mid_way_and_no_at_the_confirmation_send_nothing(
    programs: dict[str, bytes],
) -> None:
    phone, outbox, saved = _phone(programs)
    await phone.select(1)
    await phone.enter("13900000001")
    assert isinstance(await phone.cancel(), MenuScreen)
    await phone.select(1)
    await phone.enter("13900000001")
    await phone.enter("50")
    await phone.enter("123456")
    closing = await phone.select(2)  # Cancel
    assert closing == TextScreen("Cancelled. Thank you.")
    assert isinstance(await phone.ok(), MenuScreen)
    assert outbox.sent == []
    assert saved == []


async def test_back_goes_to_the_previous_screen_and_forgets_its_answer(
    programs: dict[str, bytes],
) -> None:
    phone, outbox, _ = _phone(programs)
    await phone.select(1)
    await phone.enter("13900000001")
    await phone.enter("50")
    assert _input(await phone.back()).text == "Enter the amount (CNY)"
    assert _input(await phone.back()).text == "Enter the number to top up"
    await phone.enter("13900000002")
    await phone.enter("70")
    await phone.enter("654321")
    await phone.select(1)
    assert open_sealed(parse(outbox.sent[0][1]), KEYS) == "TOPUP 13900000002 70 654321"
    await phone.select(4)
    assert isinstance(await phone.back(), MenuScreen)  # back from the first step: the menu


async def test_change_pin_sends_the_new_pin_twice(programs: dict[str, bytes]) -> None:
    phone, outbox, _ = _phone(programs)
    await phone.select(6)
    for pin in ("111111", "246810", "246810"):
        await phone.enter(pin)
    assert open_sealed(parse(outbox.sent[0][1]), KEYS) == "PIN 111111 246810 246810"


async def test_a_failed_send_leaves_the_phone_on_the_menu(programs: dict[str, bytes]) -> None:
    async def broken(destination: str, text: str) -> None:
        raise ConnectionError("no network")

    phone = Handset(SimCard(load_program(programs["en"]), _profile()), broken)
    await phone.select(4)
    with pytest.raises(ConnectionError):
        await phone.enter("123456")
    assert isinstance(phone.screen, MenuScreen)
    assert not phone.sim.busy


async def test_the_card_refuses_what_a_terminal_should_not_send(programs: dict[str, bytes]) -> None:
    card = SimCard(load_program(programs["en"]), _profile())
    with pytest.raises(CardError, match="no command is pending"):
        card.terminal_response(
            encode_terminal_response(TerminalResponse(CommandDetails(1, 0x23, 0)))
        )
    with pytest.raises(CardError, match="no item 9"):
        card.envelope(encode_menu_selection(MenuSelection(9)))
    first = decode_command(card.envelope(encode_menu_selection(MenuSelection(4))))
    assert isinstance(first, GetInput)
    assert first.hidden
    other = TerminalResponse(CommandDetails(1, 0x24, 0), OK, item=1)
    with pytest.raises(MalformedTlv, match="not CommandDetails"):
        card.terminal_response(encode_terminal_response(other))
    details = CommandDetails(1, 0x23, 0x04)
    with pytest.raises(MalformedTlv, match="5 characters"):
        card.terminal_response(
            encode_terminal_response(TerminalResponse(details, OK, text="12345"))
        )


async def test_screens_refuse_actions_they_do_not_offer(programs: dict[str, bytes]) -> None:
    phone, _, _ = _phone(programs)
    with pytest.raises(HandsetError):
        await phone.enter("1")
    with pytest.raises(HandsetError):
        await phone.ok()
    assert _notice(await phone.select(7)) == "No such item"


def test_profiles_are_checked() -> None:
    with pytest.raises(ProfileError, match="sim_id"):
        SimProfile("XYZ", AGENT, "1888", KIC, KID, 0)
    with pytest.raises(ProfileError, match="kic/kid"):
        SimProfile(SIM_ID, AGENT, "1888", KIC, KIC, 0)
    with pytest.raises(ProfileError, match="needs"):
        SimProfile.from_json({"sim_id": SIM_ID})
    assert KIC not in repr(_profile())


async def test_listeners_hear_every_screen_change(programs: dict[str, bytes]) -> None:
    phone, _, _ = _phone(programs)
    seen: list[Screen] = []
    phone.on_change.append(lambda: seen.append(phone.screen))
    await phone.select(4)
    await phone.enter("12")  # refused: the notice is a change too
    await phone.enter("123456")
    assert [type(screen) for screen in seen] == [InputScreen, InputScreen, MenuScreen]
    assert _notice(seen[1]) == "Enter at least 6 characters"
