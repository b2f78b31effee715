"""Limits on what an agent sells and a subscriber receives, per Asia/Shanghai business day.

Three kinds, as the operator sets them:
- per operation: the smallest and the largest amount;
- per agent and day: the amount sold and the number of sales;
- per subscriber and day: the amount received.

Operation and agent limits come per level (`limit_rules` scope `level:<n>`) with per-agent
overrides (`agent:<id>`); a rule's NULL inherits: the agent's own rule, then its level's, then
the configured default (`LimitDefaults`).

Daily usage lives in `usage_counters`. A sale's reservation adds to the agent's and the
subscriber's counters *in the reservation's own commit*, under caps the commit checks
(`ledger.transfers.RecordAdd`): two concurrent sales cannot both take the last of an
allowance, on any number of writers. A reservation that is voided gives its share back in the
void's commit; one whose outcome is unknown keeps counting until it is resolved. The check
before the reservation (`refusal`) only words the answer; the commit is what enforces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from ledger.agents import Agent
from ledger.schema import limit_rules, usage_counters
from ledger.transfers import RecordAdd

AGENT_DAILY: Final = "agent_daily"
SUBSCRIBER_DAILY: Final = "subscriber_daily"


@dataclass(frozen=True, slots=True)
class LimitDefaults:
    """What applies where no rule says otherwise (configuration `[limits]`)."""

    op_min_fen: int = 100  # ¥1.00
    op_max_fen: int = 50_000  # ¥500.00
    daily_amount_fen: int = 2_000_000  # ¥20,000.00 sold per agent and day
    daily_count: int = 500  # sales per agent and day
    subscriber_daily_fen: int = 200_000  # ¥2,000.00 received per subscriber and day
    reversal_window_s: int = 1_800  # how long after a sale its seller may reverse it
    selling_levels: tuple[int, ...] = (1, 2, 3)  # agent levels that may sell (3: merchants)
    transfer_code_ttl_s: int = 300  # a subscriber transfer's confirmation code lives this long
    transfer_code_attempts_max: int = 3  # wrong tries before that code is spent

    def __post_init__(self) -> None:
        for name in (
            "op_min_fen",
            "op_max_fen",
            "daily_amount_fen",
            "daily_count",
            "subscriber_daily_fen",
            "reversal_window_s",
            "transfer_code_ttl_s",
            "transfer_code_attempts_max",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} = {value!r}: expected a positive integer")
        if not self.selling_levels or not set(self.selling_levels) <= {1, 2, 3}:
            raise ValueError(f"selling_levels = {self.selling_levels!r}: levels 1, 2 or 3")
        if self.op_min_fen > self.op_max_fen:
            raise ValueError("op_min_fen must not exceed op_max_fen")


@dataclass(frozen=True, slots=True)
class Rule:
    """The limits that apply to one agent."""

    op_min_fen: int
    op_max_fen: int
    daily_amount_fen: int
    daily_count: int


@dataclass(frozen=True, slots=True)
class Usage:
    amount: int = 0
    count: int = 0


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str  # an operation outcome code
    values: dict[str, int]


def agent_subject(agent: Agent) -> str:
    return f"agent:{agent.id}"


def subscriber_subject(msisdn: str) -> str:
    return f"msisdn:{msisdn}"


async def rule_for(conn: AsyncConnection, agent: Agent, defaults: LimitDefaults) -> Rule:
    scopes = (f"agent:{agent.id}", f"level:{int(agent.level)}")
    rows = {
        row.scope: row
        for row in await conn.execute(select(limit_rules).where(limit_rules.c.scope.in_(scopes)))
    }

    def pick(column: str) -> int:
        for scope in scopes:
            row = rows.get(scope)
            if row is not None and getattr(row, column) is not None:
                return int(getattr(row, column))
        return int(getattr(defaults, column))

    return Rule(
        pick("op_min_fen"), pick("op_max_fen"), pick("daily_amount_fen"), pick("daily_count")
    )


async def usage(conn: AsyncConnection, subject: str, day: date) -> Usage:
    row = (
        await conn.execute(
            select(usage_counters.c.amount, usage_counters.c.count).where(
                usage_counters.c.subject == subject, usage_counters.c.day == day
            )
        )
    ).first()
    return Usage() if row is None else Usage(row[0], row[1])


def refusal(
    rule: Rule, amount: int, sold: Usage, received: Usage, subscriber_daily_fen: int
) -> Refusal | None:
    """Which limit `amount` would break, worded for the seller; None when all hold (as of
    the reads: the reservation's commit checks the daily ones again)."""
    if amount < rule.op_min_fen:
        return Refusal("amount_below_min", _range(rule))
    if amount > rule.op_max_fen:
        return Refusal("amount_above_max", _range(rule))
    if sold.count + 1 > rule.daily_count:
        return Refusal("daily_count_reached", {"limit_count": rule.daily_count})
    if sold.amount + amount > rule.daily_amount_fen:
        return daily_amount_refusal(rule, sold)
    if received.amount + amount > subscriber_daily_fen:
        return Refusal("subscriber_daily_reached", {"limit_fen": subscriber_daily_fen})
    return None


def daily_amount_refusal(rule: Rule, sold: Usage) -> Refusal:
    left = max(0, rule.daily_amount_fen - sold.amount)
    return Refusal("daily_amount_reached", {"limit_fen": rule.daily_amount_fen, "left_fen": left})


def _range(rule: Rule) -> dict[str, int]:
    return {"min_fen": rule.op_min_fen, "max_fen": rule.op_max_fen}


def take(
    rule: Rule, agent: Agent, msisdn: str, amount: int, day: date, subscriber_daily_fen: int
) -> tuple[RecordAdd, RecordAdd]:
    """The counters a reservation adds to, capped, in its own commit."""
    return (
        RecordAdd(
            usage_counters,
            {"subject": agent_subject(agent), "day": day},
            {"amount": amount, "count": 1},
            {"amount": rule.daily_amount_fen, "count": rule.daily_count},
            AGENT_DAILY,
        ),
        RecordAdd(
            usage_counters,
            {"subject": subscriber_subject(msisdn), "day": day},
            {"amount": amount, "count": 1},
            {"amount": subscriber_daily_fen},
            SUBSCRIBER_DAILY,
        ),
    )


def give_back(agent: Agent, msisdn: str, amount: int, day: date) -> tuple[RecordAdd, RecordAdd]:
    """What a voided reservation returns to the day it was taken from (uncapped)."""
    return (
        RecordAdd(
            usage_counters,
            {"subject": agent_subject(agent), "day": day},
            {"amount": -amount, "count": -1},
            {},
            AGENT_DAILY,
        ),
        RecordAdd(
            usage_counters,
            {"subject": subscriber_subject(msisdn), "day": day},
            {"amount": -amount, "count": -1},
            {},
            SUBSCRIBER_DAILY,
        ),
    )


__all__ = [
    "LimitDefaults",
    "Refusal",
    "Rule",
    "Usage",
    "give_back",
    "refusal",
    "rule_for",
    "take",
    "usage",
]
