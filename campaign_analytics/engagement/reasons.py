"""The numbers stored verdicts are kept as (``verdict_reasons``)."""

from __future__ import annotations

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from ..models import VerdictReason
from .rules import Rules


def reason_ids(conn: Connection, rules: Rules) -> tuple[int, ...]:
    """The number of each reason of ``rules`` with its verdict, in code order; a pair new
    to the table is numbered first. Run in a transaction of its own, committed before the
    refresh's snapshot: a pair another refresh numbers meanwhile is then visible to it."""
    pairs = [(verdict, reason) for reason, verdict in rules.reasons]
    conn.execute(insert(VerdictReason).values([{"verdict": v, "reason": r} for v, r in pairs])
                 .on_conflict_do_nothing(index_elements=["verdict", "reason"]))
    pair = tuple_(VerdictReason.verdict, VerdictReason.reason)
    numbers = {(row.verdict, row.reason): row.id for row in conn.execute(
        select(VerdictReason.id, VerdictReason.verdict, VerdictReason.reason)
        .where(pair.in_(pairs)))}
    return tuple(numbers[pair] for pair in pairs)
