"""The numbers stored verdicts are kept as (``verdict_reasons``)."""

from __future__ import annotations

from sqlalchemy import Connection, select, tuple_
from sqlalchemy.dialects.postgresql import insert

from ..models import VerdictReason
from .rules import Rules


def reason_ids(conn: Connection, rules: Rules) -> tuple[int, ...]:
    """The number of each reason of ``rules`` with its verdict, in code order; a pair new
    to the table is numbered first. Only missing pairs are inserted: an identity value is
    drawn for every row an ``INSERT`` tries, conflicting or not, and two bytes of numbers
    would not outlast a few thousand refreshes. Run in a transaction of its own,
    committed before the refresh's snapshot, so a pair another refresh numbers meanwhile
    is visible to it."""
    pairs = [(verdict, reason) for reason, verdict in rules.reasons]
    numbers = _numbers(conn, pairs)
    missing = [pair for pair in pairs if pair not in numbers]
    if missing:
        conn.execute(insert(VerdictReason)
                     .values([{"verdict": v, "reason": r} for v, r in missing])
                     .on_conflict_do_nothing(index_elements=["verdict", "reason"]))
        numbers = _numbers(conn, pairs)
    return tuple(numbers[pair] for pair in pairs)


def _numbers(conn: Connection, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    pair = tuple_(VerdictReason.verdict, VerdictReason.reason)
    return {(row.verdict, row.reason): row.id for row in conn.execute(
        select(VerdictReason.id, VerdictReason.verdict, VerdictReason.reason)
        .where(pair.in_(pairs)))}
