"""Property: whatever the sequence of calls and replays, money is neither created nor lost.

sum(prepaid balances) - sum(bills due) always equals the demo total plus the credits of the
operations the test saw applied (each reference once), minus what their reversals took back.
The test reckons those credits from its own requests, not from the state's records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from simulator.boss import BossState, Fen, Msisdn, Outcome, Ref, seed_demo_subscribers
from simulator.boss.model import Event
from tests.simulator.boss.helpers import B1, B2, P1, P2, UNKNOWN

Call = tuple[Any, ...]

NUMBERS = [P1, P2, Msisdn("8613900000003"), B1, B2, UNKNOWN]

# A reference is a fresh one, or one used before (a replay or a conflict, by content).
refs = st.tuples(st.sampled_from(["fresh", "fresh", "used"]), st.integers(0, 1000))
numbers = st.sampled_from(NUMBERS)
amounts = st.integers(min_value=1, max_value=1500)
calls = st.one_of(
    st.tuples(st.just("recharge"), refs, numbers, amounts),
    st.tuples(st.just("billpay"), refs, numbers, amounts),
    st.tuples(st.just("transfer"), refs, numbers, numbers, amounts),
    # the original: one the test saw applied (even pick) or any reference used (odd pick)
    st.tuples(st.just("reversal"), refs, st.integers(0, 1000)),
    st.tuples(st.just("cancel"), refs),
    st.tuples(st.just("replay"), st.integers(0, 1000)),
)


@dataclass
class ListSink:
    events: list[Event] = field(default_factory=list)

    def append(self, event: Event) -> None:
        self.events.append(event)

    def close(self) -> None:
        pass


@dataclass
class Model:
    """What the test knows from its own requests and the answers it got."""

    calls: list[Call] = field(default_factory=list)  # every call made, resolved
    first_call: dict[Ref, Call] = field(default_factory=dict)  # decided refs
    credits: dict[Ref, int] = field(default_factory=dict)  # applied refs -> credit
    cancelled: set[Ref] = field(default_factory=set)
    reversed_originals: set[Ref] = field(default_factory=set)

    def resolve(self, step: Call) -> Call | None:
        """The concrete call for a drawn step (refs picked now), None for nothing to replay."""
        if step[0] == "replay":
            return self.calls[step[1] % len(self.calls)] if self.calls else None
        kind, (freshness, pick), *rest = step
        used = [call[1] for call in self.calls]
        ref = (
            Ref(f"r{len(self.calls)}")
            if freshness == "fresh" or not used
            else used[pick % len(used)]
        )
        if kind == "reversal":
            pool = sorted(self.credits) if rest[0] % 2 == 0 else used
            pool = pool or [Ref("nowhere")]
            rest = [pool[rest[0] // 2 % len(pool)]]
        return (kind, ref, *rest)

    def credit(self, call: Call) -> int:
        """The credit an applied call makes, from the request alone."""
        kind = call[0]
        if kind in ("recharge", "billpay"):
            return int(call[3])
        if kind == "transfer":
            return 0
        original = call[2]
        assert original in self.credits, f"reversal {call[1]} applied over unapplied {original}"
        assert original not in self.reversed_originals, f"{original} reversed twice"
        assert self.first_call[original][0] != "reversal", f"reversal {original} reversed"
        self.reversed_originals.add(original)
        return -self.credits[original]


def _run(state: BossState, call: Call) -> Outcome | str:
    kind = call[0]
    if kind == "recharge":
        return state.recharge(call[1], call[2], Fen(call[3]))
    if kind == "billpay":
        return state.billpay(call[1], call[2], Fen(call[3]))
    if kind == "transfer":
        return state.transfer(call[1], call[2], call[3], Fen(call[4]))
    if kind == "reversal":
        return state.reversal(call[1], call[2])
    return state.cancel(call[1]).status


def _check(model: Model, call: Call, outcome: Outcome | str) -> None:
    """The answer is what at-most-once, conflicts and cancels demand; updates the model."""
    ref = call[1]
    if isinstance(outcome, str):  # a cancel
        if ref not in model.first_call:
            model.cancelled.add(ref)
        decided = "applied" if ref in model.credits else "failed"
        assert outcome == ("cancelled" if ref in model.cancelled else decided)
    elif ref in model.cancelled:
        assert outcome.status == "cancelled"
    elif ref in model.first_call:
        same = model.first_call[ref] == call
        assert outcome.replayed == same
        assert (outcome.status == "conflict") == (not same)
    else:
        model.first_call[ref] = call
        assert not outcome.replayed
        if outcome.status == "applied":
            model.credits[ref] = model.credit(call)


@settings(max_examples=300, deadline=None)
@given(st.lists(calls, min_size=10, max_size=60))
def test_replays_neither_create_nor_lose_money(steps):
    sink = ListSink()
    state = BossState(sink=sink)
    seed_demo_subscribers(state)
    initial = state.net_fen()
    model = Model()

    for step in steps:
        call = model.resolve(step)
        if call is None:
            continue
        net_before = state.net_fen()
        outcome = _run(state, call)
        model.calls.append(call)
        _check(model, call, outcome)
        if isinstance(outcome, str) or outcome.status != "applied" or outcome.replayed:
            assert state.net_fen() == net_before
        assert state.net_fen() == initial + sum(model.credits.values())
        assert all(s.balance_fen >= 0 for s in state.subscribers())

    seen = {call[1] for call in model.calls}
    assert {ref for ref in seen if state.status(ref).status == "applied"} == set(model.credits)
    replayed = BossState.replay(sink.events)
    assert replayed.subscribers() == state.subscribers()
    assert [replayed.status(ref) for ref in sorted(seen)] == [
        state.status(ref) for ref in sorted(seen)
    ]
