from simulator.tui.ussd_console import describe_callback
from simulator.ussd_gateway.events import CallbackFailed, Exchanged


def test_a_callback_line_shortens_long_pages() -> None:
    page = "为13900000001充值50.00元，确认吗？\n1. 确认\n2. 取消" + "。" * 80
    line = describe_callback(
        Exchanged("emu-ab12-7", "8613800000003", "continue", "333333", 200, page, False, 12.4)
    )
    assert line.startswith("#7 13800000003 continue 333333 → 200 CON 为13900000001充值50.00元")
    assert "⏎ 1. 确认 ⏎ 2. 取消" in line
    assert line.endswith("… (12 ms)")


def test_a_failed_callback_says_why() -> None:
    failed = CallbackFailed("emu-ab12-8", "8613900000001", "begin", "*123#", "403 Forbidden")
    assert describe_callback(failed) == "#8 13900000001 begin *123# → failed: 403 Forbidden"
