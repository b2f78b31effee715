"""Everything a sale checks before its reservation, read in one statement.

A sale used to read, one statement (and through aiosqlite, one thread hop) at a time: the
operation under its idempotency key, the agent, the wrong-PIN count of its source, the
agent's limit rules, the day's usage of the agent and of the subscriber, and after BOSS
answered, the agent's ancestors for the commissions. Each read costs about 0.6 ms of hand-offs
on SQLite whatever it reads, so now they are one SELECT over one row of outer joins, as of
one snapshot. Nothing is cached between operations: the agent's status, lock and PIN are
read fresh by every sale, so a suspension, a lockout or a PIN change made by any process is
seen by the very next operation of every process (docs/performance.md, "bench ops").

What each read means is unchanged: `auth.decide` takes the agent and the source's count as
`authenticate` would have read them, `limits.refusal` the rule and the usage, and a stored
operation under the key answers the replay before anything else is looked at.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import Connection, Date, Integer, Select, String, bindparam, cast, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import FromClause

from ledger import limits
from ledger.agents import Agent, agent_from_row
from ledger.limits import LimitDefaults, Rule, Usage
from ledger.money import Msisdn
from ledger.operations.auth import SourceCount
from ledger.schema import agents, limit_rules, operations, pin_throttle, usage_counters

_RULE_COLUMNS = ("op_min_fen", "op_max_fen", "daily_amount_fen", "daily_count")


@dataclass(frozen=True, slots=True)
class SaleReads:
    replay: bool  # an operation is stored under the request's key (read it with find_by_key)
    agent: Agent | None
    above: tuple[Agent, ...]  # the agent's ancestors, nearest first
    source: SourceCount | None
    rule: Rule | None  # None without an agent
    sold: Usage
    received: Usage


def _labelled(alias: FromClause, prefix: str) -> list[Any]:
    return [column.label(f"{prefix}_{column.name}") for column in alias.c]


# (column, label) of the agents' columns under each alias's prefix, worked out once: a sale
# decodes three agents, and walking `agents.c` and formatting labels each time cost more
# than the read's own decoding.
_AGENT_LABELS: Final = {
    prefix: tuple((column.name, f"{prefix}_{column.name}") for column in agents.c)
    for prefix in ("a", "p", "g")
}


def _agent_of(row: Any, prefix: str) -> Agent | None:
    if getattr(row, f"{prefix}_id") is None:
        return None
    return agent_from_row({name: getattr(row, label) for name, label in _AGENT_LABELS[prefix]})


def _query() -> Select[Any]:
    """Built once (aliases and labels cost milliseconds to build); the request's values are
    bound parameters."""
    seller, parent, grand = agents.alias("a"), agents.alias("p"), agents.alias("g")
    own_rule, level_rule = limit_rules.alias("ra"), limit_rules.alias("rl")
    sold, received = usage_counters.alias("ua"), usage_counters.alias("us")
    throttle, stored = pin_throttle.alias("t"), operations.alias("o")
    one = select(literal(1, Integer).label("one")).subquery("one")
    seller_scope = literal("agent:", String) + cast(seller.c.id, String)
    level_scope = literal("level:", String) + cast(seller.c.level, String)
    day = bindparam("day", type_=Date)
    joined = (
        one.outerjoin(seller, seller.c.msisdn == bindparam("actor", type_=String))
        .outerjoin(parent, parent.c.id == seller.c.parent_id)
        .outerjoin(grand, grand.c.id == parent.c.parent_id)
        .outerjoin(own_rule, own_rule.c.scope == seller_scope)
        .outerjoin(level_rule, level_rule.c.scope == level_scope)
        .outerjoin(sold, (sold.c.subject == seller_scope) & (sold.c.day == day))
        .outerjoin(
            received,
            (received.c.subject == bindparam("subscriber", type_=String)) & (received.c.day == day),
        )
        .outerjoin(throttle, throttle.c.source == bindparam("source", type_=String))
        .outerjoin(stored, stored.c.key == bindparam("key", type_=String))
    )
    return select(
        *_labelled(seller, "a"),
        *_labelled(parent, "p"),
        *_labelled(grand, "g"),
        *(own_rule.c[name].label(f"ra_{name}") for name in _RULE_COLUMNS),
        *(level_rule.c[name].label(f"rl_{name}") for name in _RULE_COLUMNS),
        sold.c.amount.label("ua_amount"),
        sold.c.count.label("ua_count"),
        received.c.amount.label("us_amount"),
        received.c.count.label("us_count"),
        throttle.c.failures.label("t_failures"),
        throttle.c.window_start.label("t_window_start"),
        stored.c.id.label("o_id"),
    ).select_from(joined)


_QUERY: Final = _query()


@dataclass(frozen=True, slots=True)
class SaleAsk:
    """What a sale reads by: its key, agent, source, subscriber and business day."""

    key: str
    actor: Msisdn
    source: str
    target: Msisdn
    day: date

    def params(self) -> dict[str, object]:
        return {
            "actor": self.actor,
            "day": self.day,
            "subscriber": limits.subscriber_subject(self.target),
            "source": self.source[:64],
            "key": self.key,
        }


async def read_for_sale(conn: AsyncConnection, ask: SaleAsk, defaults: LimitDefaults) -> SaleReads:
    row = (await conn.execute(_QUERY, ask.params())).one()
    return _decode(row, defaults)


def read_for_sale_now(conn: Connection, ask: SaleAsk, defaults: LimitDefaults) -> SaleReads:
    """The same read on a synchronous connection (`ledger.sqlite.LoopReader`)."""
    return _decode(conn.execute(_QUERY, ask.params()).one(), defaults)


def _decode(row: Any, defaults: LimitDefaults) -> SaleReads:
    agent = _agent_of(row, "a")
    above = tuple(found for found in (_agent_of(row, "p"), _agent_of(row, "g")) if found)
    source_count = (
        None
        if row.t_failures is None
        else SourceCount(failures=row.t_failures, window_start=row.t_window_start)
    )
    return SaleReads(
        replay=row.o_id is not None,
        agent=agent,
        above=above,
        source=source_count,
        rule=None if agent is None else _rule(row, defaults),
        sold=_usage(row.ua_amount, row.ua_count),
        received=_usage(row.us_amount, row.us_count),
    )


def _rule(row: Any, defaults: LimitDefaults) -> Rule:
    """As `limits.rule_for`: the agent's own rule, then its level's, then the default."""

    def pick(column: str) -> int:
        for prefix in ("ra", "rl"):
            value = getattr(row, f"{prefix}_{column}")
            if value is not None:
                return int(value)
        return int(getattr(defaults, column))

    return Rule(*(pick(column) for column in _RULE_COLUMNS))


def _usage(amount: int | None, count: int | None) -> Usage:
    return Usage() if amount is None else Usage(amount, count or 0)


__all__ = ["SaleAsk", "SaleReads", "read_for_sale", "read_for_sale_now"]
