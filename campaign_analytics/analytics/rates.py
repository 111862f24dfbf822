"""Rates, scores and statistics, each defined once (SPEC §7 "Rates", §11.12, §11.14).

Rates are percentages rounded half up to 2 decimals from exact fractions, 0 when the
denominator is 0; comparisons and scores use the unrounded fractions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from scipy.stats import chi2_contingency

Z_95 = 1.959963984540054

# The eight rates: numerator and denominator counters (see ``Totals``).
RATES: dict[str, tuple[str, str]] = {
    "delivery_rate": ("delivered", "sent"),
    "open_rate": ("opened", "delivered"),
    "click_rate": ("clicked", "delivered"),
    "click_to_open_rate": ("clicked", "opened"),
    "reply_rate": ("replied", "delivered"),
    "bounce_rate": ("bounced", "sent"),
    "spam_rate": ("spam_complaints", "delivered"),
    "unsubscribe_rate": ("unsubscribes", "delivered"),
}
LOWER_IS_BETTER = frozenset({"bounce_rate", "spam_rate", "unsubscribe_rate"})


def fraction(numerator: int, denominator: int) -> Fraction:
    return Fraction(int(numerator), int(denominator)) if denominator else Fraction(0)


def round_half_up(value: Fraction | float, places: int = 2) -> float:
    exact = Decimal(value.numerator) / Decimal(value.denominator) \
        if isinstance(value, Fraction) else Decimal(str(value))
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def percent(numerator: int, denominator: int) -> float:
    return round_half_up(fraction(numerator, denominator) * 100)


def rates(counts: Mapping[str, int], names: Sequence[str] = tuple(RATES)) -> dict[str, float]:
    return {name: percent(counts[RATES[name][0]], counts[RATES[name][1]]) for name in names}


def health_score(sent: int, hard: int, soft: int, spam: int) -> int | None:
    """100 - 6·hard% - 2·soft% - 100·spam% (all per sent), floored at 0; None if no sends."""
    if not sent:
        return None
    score = 100 - 6 * fraction(hard * 100, sent) - 2 * fraction(soft * 100, sent) \
        - 100 * fraction(spam * 100, sent)
    return max(0, int(round_half_up(score, 0)))


def delivery_health(sent: int, failed: int) -> str | None:
    """healthy above 95 %, moderate 80-95 % inclusive, low below 80 %; None if no attempt."""
    if not sent + failed:
        return None
    share = fraction(sent * 100, sent + failed)
    return "healthy" if share > 95 else "moderate" if share >= 80 else "low"


@dataclass(frozen=True)
class Interval:
    lower: float
    upper: float


def wilson(successes: int, trials: int) -> Interval:
    """The 95 % Wilson score interval, in percent."""
    if not trials:
        return Interval(0.0, 0.0)
    p = successes / trials
    z2 = Z_95 * Z_95
    centre = (p + z2 / (2 * trials)) / (1 + z2 / trials)
    spread = Z_95 * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) \
        / (1 + z2 / trials)
    return Interval(round_half_up(max(0.0, centre - spread) * 100),
                    round_half_up(min(1.0, centre + spread) * 100))


def chi_square_p(samples: Sequence[tuple[int, int]]) -> float | None:
    """Pearson's test of homogeneity over (successes, trials) with trials > 0, no
    continuity correction; None when undefined (fewer than two samples, or no successes
    or no failures at all)."""
    table = [(s, n - s) for s, n in samples if n > 0]
    if len(table) < 2 or not sum(s for s, _ in table) or not sum(f for _, f in table):
        return None
    return float(chi2_contingency(table, correction=False).pvalue)
