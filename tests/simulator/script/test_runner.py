"""The script runner against the real demo stack: how it fails, and what it reads once.

The happy paths of every channel are the shipped sessions (tests/aircharge/test_sim_cli.py);
here, the mismatches a flow author must be able to trust."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from simulator.boss.model import shanghai_now
from simulator.phones import Phones
from simulator.script import ScriptRun, StepResult, parse_script
from simulator.world import World


async def run(world: World, text: str) -> list[StepResult]:
    phones = Phones(world, shanghai_now)
    try:
        return await ScriptRun(parse_script(text, "t.yaml"), world, phones).run()
    finally:
        await phones.close()


def failure(results: list[StepResult]) -> tuple[int, str]:
    [failed] = [result for result in results if not result.ok]
    assert failed is results[-1], "the run stops at the first mismatch"
    return failed.step.line, failed.detail


async def test_an_sms_is_read_once_in_any_order(world: World) -> None:
    results = await run(
        world,
        """
steps:
  - phone: "13800000003"
    sms: YE 333333
  - sms: CX 333333
  - expect_sms: 最近0笔交易
  - expect_sms: 您的预存款余额500.00元
  - expect_sms: 您的预存款余额500.00元
    within_s: 0.5
""",
    )
    line, detail = failure(results)
    assert (line, len(results)) == (8, 5)
    assert detail == "no SMS with '您的预存款余额500.00元' within 0.5 s; unread: none"


async def test_what_came_before_the_script_is_not_its_to_read(world: World) -> None:
    first = await run(world, 'steps:\n  - phone: "13800000003"\n    sms: YE 333333\n')
    assert first[-1].ok
    await asyncio.sleep(0.5)  # the reply reaches the handset after the script ended
    assert world.smsc.handset("13800000003").received_total == 1
    second = await run(
        world, 'steps:\n  - phone: "13800000003"\n    expect_sms: 余额\n    within_s: 0.3\n'
    )
    assert failure(second) == (2, "no SMS with '余额' within 0.3 s; unread: none")


async def test_no_sms_fails_when_one_comes(world: World) -> None:
    results = await run(
        world,
        """
steps:
  - phone: "13800000003"
    sms: YE 333333
  - expect_no_sms: 5
""",
    )
    line, detail = failure(results)
    assert line == 5
    assert detail.startswith("an SMS came: '您的预存款余额500.00元")


async def test_a_balance_that_does_not_move_says_what_it_shows(world: World) -> None:
    results = await run(
        world,
        """
steps:
  - phone: "13800000003"
  - expect_boss: {number: "13900000001", balance_change_fen: 100, balance_fen: 1000}
    within_s: 0.3
""",
    )
    line, detail = failure(results)
    assert line == 4
    assert detail == "BOSS shows balance_change_fen 0 (expected 100) after 0.3 s"


async def test_an_unknown_number_is_a_mismatch_before_anything_runs(world: World) -> None:
    results = await run(
        world,
        """
steps:
  - phone: "13800000003"
    sms: CZ 13600000000 5 333333
  - expect_boss: {number: "13600000000", balance_change_fen: 500}
  - expect_ledger: {agent: "13900000001", deposit_change_fen: 0}
""",
    )
    assert len(results) == 1
    assert results[0].detail == "line 5: 13600000000 is not a BOSS subscriber"
    assert world.smsc.handset("13800000003").received_total == 0  # the SMS was not sent


async def test_ussd_and_ivr_steps_out_of_turn(world: World) -> None:
    answer = await run(world, 'steps:\n  - phone: "13800000003"\n    answer: "1"\n')
    assert failure(answer) == (2, "no USSD session open to answer (it is idle)")
    press = await run(world, 'steps:\n  - phone: "13800000003"\n    press: "1"\n')
    assert failure(press) == (2, "no call to press in (idle)")
    heard = await run(world, 'steps:\n  - phone: "13800000003"\n    expect_heard: 你好\n')
    assert failure(heard) == (2, "no call placed by this script on this phone")


async def test_a_call_that_ends_before_the_keys(world: World) -> None:
    results = await run(
        world,
        """
within_s: 3
steps:
  - phone: "13800000003"
    call: "1888"
  - hang_up: true
  - expect_call: caller hung up
  - press: "1"
""",
    )
    line, detail = failure(results)
    assert line == 8
    assert detail.startswith("no call to press in (ended: caller hung up")


async def test_a_saved_value_is_typed_later(world: World) -> None:
    results = await run(
        world,
        """
steps:
  - phone: "13900000005"
    sms: ZZ 13900000006 1
  - expect_sms: {regex: "(\\\\d{6})"}
    save: code
  - sms: Y ${code}
  - expect_sms: 转赠成功
""",
    )
    assert all(result.ok for result in results), results[-1].detail


async def test_wap_answers_the_page_refuses_say_why(world: World) -> None:
    wml = """
steps:
  - phone: "13800000003"
    wap: true
    browser: wml
  - wap_answer: "1"
  - wap_answer: 139abc
"""
    line, detail = failure(await run(world, wml))
    assert line == 7
    assert detail == (
        "the page refused '139abc': 'a' refused at position 4: format *N takes a digit there"
    )  # the WML page's format mask, as a handset's keypad
    choice = 'steps:\n  - phone: "13800000003"\n    wap: true\n  - wap_answer: "9"\n'
    line, detail = failure(await run(world, choice))
    assert (line, detail) == (4, "the page refused '9': '9' is not one of the choices"
                                 " (1, 2, 3, 4, 5, 6)")  # fmt: skip


async def test_wap_pages_that_are_not_what_the_script_expects(world: World) -> None:
    results = await run(
        world,
        """
steps:
  - phone: "13800000003"
    wap: true
  - expect_wap: 自助服务
    within_s: 0.3
""",
    )
    line, detail = failure(results)
    assert line == 5
    assert detail.startswith("the WAP page shows '空中充值\\n代理商服务\\n1. 话费充值")
    assert detail.endswith("(shown), without '自助服务'")
    follow = 'steps:\n  - phone: "13800000003"\n    wap: true\n  - wap_follow: 重新开始\n'
    assert failure(await run(world, follow)) == (
        4, "the page refused '重新开始': the page has no link '重新开始'"
    )  # fmt: skip
    ended = """
steps:
  - phone: "13800000003"
    wap: true
  - wap_answer: "4"
  - wap_answer: "333333"
  - expect_wap: 您的预存款余额500.00元
  - wap_answer: "1"
"""
    assert failure(await run(world, ended)) == (
        8, "the page refused '1': the page has no form to answer; its links: '重新开始'"
    )  # fmt: skip


async def test_a_world_without_a_wap_gateway(world: World) -> None:
    results = await run(
        replace(world, wap=None), 'steps:\n  - phone: "13800000003"\n    wap: true\n'
    )
    assert failure(results) == (2, "no WAP gateway in this world (is the platform's /wap/ on?)")
