"""The scripted STK steps against the real demo stack: how they fail (the shipped session
tests/sessions/agent_topup_stk.yaml is the happy path)."""

from __future__ import annotations

from simulator.world import World
from tests.simulator.script.test_runner import failure, run


async def test_a_phone_without_a_service_sim(world: World) -> None:
    results = await run(world, 'steps:\n  - phone: "13900000001"\n    stk: true\n')
    line, detail = failure(results)
    assert line == 2
    assert detail.startswith("No service SIM in this phone (no profile for 8613900000001 in")


async def test_a_choice_not_on_the_menu_and_a_screen_not_shown(world: World) -> None:
    results = await run(
        world,
        """
within_s: 1
steps:
  - phone: "13800000003"
    stk: true
  - stk_select: 转账
""",
    )
    line, detail = failure(results)
    assert line == 6
    assert detail.startswith("no item has '转账' on the SIM's menu: 1 话费充值 | 2 缴费")
    menu = "代理商服务\\n1 话费充值\\n2 缴费\\n3 划拨\\n4 余额查询\\n5 最近交易\\n6 修改密码"
    assert detail.endswith(f"the SIM shows '{menu}'")
    results = await run(
        world,
        """
within_s: 1
steps:
  - phone: "13800000003"
    stk: true
  - stk_select: 4
  - expect_stk: 请输入6位密码
  - stk_enter: "333333"
  - expect_stk: 请输入6位密码
""",
    )
    line, detail = failure(results)
    assert line == 9  # the balance was asked: the SIM is back on its menu
    menu = "代理商服务\\n1 话费充值\\n2 缴费\\n3 划拨\\n4 余额查询\\n5 最近交易\\n6 修改密码"
    assert detail == f"the SIM shows '{menu}', without '请输入6位密码'"


async def test_a_step_out_of_turn_sends_nothing(world: World) -> None:
    results = await run(
        world,
        """
within_s: 1
steps:
  - phone: "13800000003"
    stk: true
  - stk_select: 1
  - stk_enter: "13900000001"
  - stk_enter: "50"
  - stk_enter: "333333"
  - stk_enter: "50"
""",
    )
    line, detail = failure(results)
    assert line == 10
    assert detail.startswith("no input on the SIM's list; the SIM shows '为13900000001充值50元")
    assert world.smsc.handset("13800000003").received_total == 0  # nothing was sent
