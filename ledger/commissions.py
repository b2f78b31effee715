"""Commissions on a posted sale: who earns what, in fen, from the commission plan.

The seller earns the seller rate; each agent above the seller earns its level's override.
Rates are integers in basis points (1 bp = 0.01 %), so a commission is `amount * bp // 10_000`:
rounded down to the fen, the remainder stays with the platform, and no float ever touches
money. The legs move money from the platform's commission expense account to each earner's
commission account, in the same transaction as the post (ARCHITECTURE.md, money rules); a
reversal sends the same legs back, found by their keys (`commission_key`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.agents import Agent, Level
from ledger.money import AccountId
from ledger.transfers import MetaValue, TransferRequest

basis_points_per_unit: Final = 10_000
rate_bp_max: Final = 2_000  # 20 %: a plan above this is a typo, not a plan


@dataclass(frozen=True, slots=True)
class CommissionPlan:
    """The demo plan by default: seller 2.0 %, level-2 override 0.5 %, level-1 override 0.3 %."""

    seller_bp: int = 200
    level1_override_bp: int = 30
    level2_override_bp: int = 50

    def __post_init__(self) -> None:
        for name in ("seller_bp", "level1_override_bp", "level2_override_bp"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} is an integer number of basis points")
            if not 0 <= value <= rate_bp_max:
                raise ValueError(f"{name} = {value}: expected 0..{rate_bp_max} basis points")

    def override_bp(self, level: Level) -> int:
        if level == Level.LEVEL_1:
            return self.level1_override_bp
        if level == Level.LEVEL_2:
            return self.level2_override_bp
        return 0  # merchants have nobody below them


DEMO_PLAN: Final = CommissionPlan()


@dataclass(frozen=True, slots=True)
class Share:
    agent: Agent
    amount: int  # fen


def shares(
    plan: CommissionPlan, seller: Agent, ancestors: Sequence[Agent], amount: int
) -> list[Share]:
    """What each earner gets on a sale of `amount` fen by `seller`, whose ancestors are given
    nearest first. Zero shares are left out."""
    earned = [Share(seller, amount * plan.seller_bp // basis_points_per_unit)]
    earned += [
        Share(agent, amount * plan.override_bp(agent.level) // basis_points_per_unit)
        for agent in ancestors
    ]
    return [share for share in earned if share.amount > 0]


def commission_key(ref: str, agent_id: int) -> str:
    return f"{ref}:commission:{agent_id}"


def commission_legs(
    ref: str, expense: AccountId, earned: Sequence[Share], meta: Mapping[str, MetaValue]
) -> tuple[TransferRequest, ...]:
    """The transfers paying `earned` for the sale `ref`, to ride in the post's transaction."""
    return tuple(
        TransferRequest.single(
            commission_key(ref, share.agent.id),
            expense,
            share.agent.commission_account_id,
            share.amount,
            reference=ref,
            meta={**meta, "op": "commission"},
        )
        for share in earned
    )


__all__ = ["DEMO_PLAN", "CommissionPlan", "Share", "commission_key", "commission_legs", "shares"]
