"""Over random sequences of MOs — new commands, deliberate repeats, SMSC re-deliveries,
confirmations (right, reused, wrong) — the top-ups applied equal the distinct commands plus
the confirmed repeats, and the books verify."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.verify import verify
from tests.channels.sms.rig import MERCHANT, open_rig
from tests.conftest import migrated_engine

AMOUNTS = (1, 2, 3)  # yuan: three distinct commands
steps = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from(AMOUNTS)),
        st.tuples(st.just("redeliver"), st.just(0)),
        st.tuples(st.just("confirm"), st.sampled_from(["last", "wrong"])),
    ),
    max_size=8,
)


async def _run(plan: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        async with migrated_engine("sqlite", Path(directory)) as engine, open_rig(engine) as rig:
            sent: set[int] = set()
            expected, last_mo, codes = 0, None, []
            for action, arg in plan:
                if action == "send":
                    assert isinstance(arg, int)
                    last_mo = rig.mo(f"CZ 13900000001 {arg} 333333")
                    await rig.service.accept(last_mo)
                    await rig.service.idle()
                    if arg not in sent:
                        sent.add(arg)
                        expected += arg * 100
                    else:
                        found = re.search(r"Y (\d{6})", rig.link.to(MERCHANT)[-1])
                        assert found is not None
                        codes.append((found.group(1), arg))
                elif action == "redeliver" and last_mo is not None:
                    await rig.service.accept(last_mo)
                    await rig.service.idle()
                elif action == "confirm":
                    if arg == "wrong" or not codes:
                        await rig.send("Y 000000")  # (a real code is 000000 once in 10^6)
                    else:
                        code, amount = codes.pop()
                        await rig.send(f"Y {code}")
                        expected += amount * 100
            assert rig.world.boss_balance("8613900000001") - 1000 == expected
            report = await verify(engine)
            assert report.ok, report.problems


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=steps)
def test_applied_topups_are_distinct_commands_plus_confirmed_repeats(
    plan: list[tuple[str, object]],
) -> None:
    asyncio.run(_run(plan))
