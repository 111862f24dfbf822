"""The behaviour a generated data set follows: rates per campaign tier, multipliers per
mailbox provider, sending account, send hour, step and variant, and the plan of campaigns
and accounts drawn from the seed.

The numbers are plausible cold-outreach figures, chosen so analytics show clear
differences (a "star" campaign next to a "burned" list, a blacklisted mailbox with poor
deliverability, yahoo worse than gmail, morning sends better than night ones).
"""

from __future__ import annotations

import math
import random
from bisect import bisect
from dataclasses import dataclass, replace
from itertools import accumulate

from ..models.vocabulary import CampaignStatus, MailboxProvider
from .clock import DAY, HOUR, LocalCalendar
from .identifiers import GeneratedIds
from .texts import SENDER_DOMAINS, SENDER_NETWORKS, THEMES, Theme

SPAN_DAYS = 120  # data covers the 120 days before ``end``: 7/30/90-day windows all have data
LOOKAHEAD_DAYS = 45  # active campaigns keep scheduling past ``end``: those leads stay discovered


@dataclass(frozen=True, slots=True)
class Rates:
    """Base probabilities of a campaign: ``fail`` per attempt, ``bounce`` per sent message,
    ``click`` per human opener, the others per delivered message (replies are then made
    likelier by an open); ``reply_mix`` weighs interested/replied/not_interested."""

    fail: float
    bounce: float
    hard_share: float
    open: float
    click: float
    reply: float
    complaint: float
    unsubscribe: float
    reply_mix: tuple[float, float, float]


TIERS: dict[str, Rates] = {
    "star": Rates(0.006, 0.015, 0.45, 0.62, 0.14, 0.11, 0.0008, 0.004, (0.50, 0.30, 0.20)),
    "solid": Rates(0.010, 0.025, 0.50, 0.48, 0.10, 0.065, 0.0015, 0.007, (0.40, 0.32, 0.28)),
    "average": Rates(0.015, 0.040, 0.55, 0.38, 0.08, 0.035, 0.0025, 0.010, (0.32, 0.33, 0.35)),
    "weak": Rates(0.022, 0.065, 0.60, 0.25, 0.05, 0.016, 0.0050, 0.016, (0.22, 0.30, 0.48)),
    "burned": Rates(0.040, 0.120, 0.75, 0.16, 0.04, 0.007, 0.0090, 0.022, (0.14, 0.24, 0.62)),
}
# Any four campaigns already span the range; larger sets repeat the middle tiers.
TIER_ORDER = (
    "star", "weak", "solid", "burned", "average", "solid",
    "average", "weak", "star", "average", "solid", "weak",
)


@dataclass(frozen=True, slots=True)
class Effect:
    """Multipliers on the base rates."""

    fail: float = 1.0
    bounce: float = 1.0
    open: float = 1.0
    reply: float = 1.0
    complaint: float = 1.0


PROVIDER_EFFECTS: dict[str, Effect] = {
    MailboxProvider.GMAIL: Effect(bounce=0.7, open=1.05, reply=1.0, complaint=1.3),
    MailboxProvider.OUTLOOK: Effect(bounce=1.1, open=0.85, reply=0.9, complaint=1.0),
    MailboxProvider.YAHOO: Effect(bounce=1.7, open=0.65, reply=0.7, complaint=1.9),
    MailboxProvider.ICLOUD: Effect(bounce=0.9, open=0.9, reply=0.9, complaint=0.8),
    MailboxProvider.OTHER: Effect(bounce=1.35, open=1.0, reply=1.25, complaint=0.5),
}
BLACKLISTED_EFFECT = Effect(fail=2.0, bounce=2.3, open=0.55, reply=0.55, complaint=1.7)

# Privacy proxies and link scanners, by provider: the share of delivered messages that
# get an Apple MPP open, and the share whose links a gateway scanner clicks.
MPP_SHARE: dict[str, float] = {
    MailboxProvider.ICLOUD: 0.78, MailboxProvider.GMAIL: 0.04, MailboxProvider.OUTLOOK: 0.06,
    MailboxProvider.YAHOO: 0.05, MailboxProvider.OTHER: 0.14,
}
SCANNER_SHARE: dict[str, float] = {
    MailboxProvider.OUTLOOK: 0.05, MailboxProvider.OTHER: 0.09,
}

# Local send pattern: office hours peak, quiet nights, few weekend sends.
HOUR_WEIGHTS = (
    0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.8, 2.0, 5.0, 8.0, 8.5, 7.5,
    5.0, 6.0, 7.5, 6.5, 5.0, 3.0, 1.8, 1.2, 0.9, 0.6, 0.4, 0.25,
)
HOUR_CUMULATIVE = tuple(accumulate(HOUR_WEIGHTS))
WEEKDAY_WEIGHTS = (1.0, 1.1, 1.05, 1.0, 0.75, 0.1, 0.07)  # Monday .. Sunday
# Engagement by the local hour the message was sent in, and on weekends.
HOUR_EFFECT = (
    0.55, 0.5, 0.5, 0.5, 0.55, 0.65, 0.8, 1.0, 1.2, 1.25, 1.2, 1.1,
    0.95, 1.0, 1.05, 1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7, 0.6, 0.55,
)
WEEKEND_EFFECT = 0.8
# Follow-ups: (open, reply) multipliers per step.
STEP_EFFECT = ((1.0, 1.0), (0.85, 0.8), (0.7, 0.6))


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    subject: str
    effect: float  # on opens and replies


@dataclass(frozen=True, slots=True)
class AccountPlan:
    id: str
    email: str
    domain: str
    ip_address: str
    blacklisted: bool
    checked_at: int | None
    created_at: int
    effect: Effect


@dataclass(frozen=True, slots=True)
class CampaignPlan:
    id: str
    name: str
    description: str
    keywords: tuple[str, ...]
    status: str
    created_at: int
    updated_at: int
    first_day: int  # local days of its sending window; the last may lie past ``end``
    last_day: int
    intensity: float  # leads a day, relative to other campaigns, before the weekday effect
    tier: str
    rates: Rates
    followups: int
    variants: tuple[Variant, ...]
    accounts: tuple[AccountPlan, ...]
    urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DayPlan:
    """One local day: its share of all leads and the campaigns that start leads on it."""

    day: int
    weight: float
    campaigns: tuple[CampaignPlan, ...]
    cumulative: tuple[float, ...]

    def campaign(self, rng: random.Random) -> CampaignPlan:
        return self.campaigns[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass(frozen=True)
class Plan:
    """Everything drawn before the first lead: calendar, campaigns and accounts."""

    calendar: LocalCalendar
    end: int
    end_day: int
    start: int
    campaigns: tuple[CampaignPlan, ...]
    accounts: tuple[AccountPlan, ...]
    days: tuple[DayPlan, ...]  # every day some campaign sends on, past ``end`` included

    @property
    def past_days(self) -> tuple[DayPlan, ...]:
        return tuple(day for day in self.days if day.day <= self.end_day)

    @property
    def future_days(self) -> tuple[DayPlan, ...]:
        return tuple(day for day in self.days if day.day > self.end_day)


def campaign_count(events: int) -> int:
    """4 campaigns for a thousand events, two more per factor ten, at most 12."""
    return max(4, min(12, 4 + round(2 * math.log10(max(events, 1000) / 1000))))


def local_hour(rng: random.Random) -> int:
    return bisect(HOUR_CUMULATIVE, rng.random() * HOUR_CUMULATIVE[-1])


def make_plan(
    rng: random.Random, ids: GeneratedIds, calendar: LocalCalendar, end: int, events: int
) -> Plan:
    end_day = calendar.day_of(end)
    accounts = _plan_accounts(rng, ids, end, 4 + campaign_count(events) // 3)
    tiers = list(TIER_ORDER[: campaign_count(events)])
    rng.shuffle(tiers)
    themes = rng.sample(THEMES, len(tiers))
    campaigns = tuple(
        _plan_campaign(rng, ids, calendar, end, end_day, number, tier, theme, accounts)
        for number, (tier, theme) in enumerate(zip(tiers, themes, strict=True))
    )
    start = calendar.instant(end_day - SPAN_DAYS + 1, 0, 0)
    return Plan(calendar, end, end_day, start, campaigns, accounts, _days(calendar, campaigns))


def _days(calendar: LocalCalendar, campaigns: tuple[CampaignPlan, ...]) -> tuple[DayPlan, ...]:
    """Weekdays carry far more leads than weekends; bigger campaigns more than small ones."""
    days = []
    for day in range(min(c.first_day for c in campaigns), max(c.last_day for c in campaigns) + 1):
        sending = tuple(c for c in campaigns if c.first_day <= day <= c.last_day)
        if sending:
            weights = [c.intensity * WEEKDAY_WEIGHTS[calendar.weekdays[day]] for c in sending]
            days.append(DayPlan(day, sum(weights), sending, tuple(accumulate(weights))))
    return tuple(days)


def _plan_accounts(
    rng: random.Random, ids: GeneratedIds, end: int, count: int
) -> tuple[AccountPlan, ...]:
    """``count`` mailboxes; the last one is blacklisted."""
    names = rng.sample(
        ["alex", "jamie", "morgan", "taylor", "casey", "jordan", "riley", "sasha", "robin"], count
    )
    accounts = []
    for number, name in enumerate(names):
        blacklisted = number == count - 1
        domain = SENDER_DOMAINS[number % len(SENDER_DOMAINS)]
        checked = end - rng.randint(HOUR, 3 * DAY) if blacklisted or rng.random() < 0.6 else None
        effect = BLACKLISTED_EFFECT if blacklisted else Effect(bounce=rng.uniform(0.8, 1.2))
        accounts.append(
            AccountPlan(
                id=ids.key("acct", number),
                email=f"{name}.g{ids.seed}@{domain}",
                domain=domain,
                ip_address=rng.choice(SENDER_NETWORKS) + str(rng.randint(2, 254)),
                blacklisted=blacklisted,
                checked_at=checked,
                created_at=end - (SPAN_DAYS + rng.randint(10, 60)) * DAY,
                effect=effect,
            )
        )
    return tuple(accounts)


def _plan_campaign(
    rng: random.Random,
    ids: GeneratedIds,
    calendar: LocalCalendar,
    end: int,
    end_day: int,
    number: int,
    tier: str,
    theme: Theme,
    accounts: tuple[AccountPlan, ...],
) -> CampaignPlan:
    first_day, last_day = _window(rng, end_day, number)
    created_at = calendar.instant(first_day, 9, 0) - rng.randint(1, 7) * DAY
    status = _status(rng, end_day, last_day)
    touched = calendar.instant(min(last_day, end_day), 18, 0)
    sender, paths = rng.choice(SENDER_DOMAINS), theme.landing_paths
    return CampaignPlan(
        id=ids.key("cmp", number),
        name=theme.name,
        description=f"Generated data set (seed {ids.seed}): {tier} performance",
        keywords=theme.keywords,
        status=status,
        created_at=created_at,
        updated_at=min(max(touched, created_at), end),
        first_day=first_day,
        last_day=last_day,
        intensity=rng.lognormvariate(0, 0.5),
        tier=tier,
        rates=_jitter(rng, TIERS[tier]),
        followups=rng.choice((1, 2, 2)),
        variants=_variants(rng, theme),
        accounts=_campaign_accounts(rng, tier, accounts),
        urls=tuple(f"https://{sender}{path}?utm_campaign=c{number}" for path in paths),
    )


def _window(rng: random.Random, end_day: int, number: int) -> tuple[int, int]:
    """Even-numbered campaigns are still sending at ``end`` (the first from the start of the
    span); odd ones stopped before it."""
    earliest = end_day - SPAN_DAYS + 1
    if number == 0:
        return earliest, end_day + rng.randint(4, 21)
    if number % 2 == 0:
        return rng.randint(earliest, end_day - 30), end_day + rng.randint(4, 21)
    first = rng.randint(earliest, end_day - 50)
    return first, rng.randint(first + 25, end_day - 1)


def _status(rng: random.Random, end_day: int, last_day: int) -> str:
    if last_day >= end_day:
        return CampaignStatus.ACTIVE
    if end_day - last_day <= 14:
        return CampaignStatus.PAUSED
    return CampaignStatus.ARCHIVED if rng.random() < 0.25 else CampaignStatus.FINISHED


def _jitter(rng: random.Random, rates: Rates) -> Rates:
    """The tier's rates, each moved by up to ±15 %, so no two campaigns are identical."""
    def nudge(value: float) -> float:
        return value * rng.uniform(0.85, 1.15)

    return replace(
        rates,
        fail=nudge(rates.fail),
        bounce=nudge(rates.bounce),
        open=nudge(rates.open),
        click=nudge(rates.click),
        reply=nudge(rates.reply),
        complaint=nudge(rates.complaint),
        unsubscribe=nudge(rates.unsubscribe),
    )


def _variants(rng: random.Random, theme: Theme) -> tuple[Variant, ...]:
    """A/B (sometimes A/B/C) subjects; variant A is the reference, the others differ."""
    count = 3 if rng.random() < 0.3 else 2
    return tuple(
        Variant("ABC"[i], theme.subjects[i], 1.0 if i == 0 else rng.uniform(0.75, 1.3))
        for i in range(count)
    )


def _campaign_accounts(
    rng: random.Random, tier: str, accounts: tuple[AccountPlan, ...]
) -> tuple[AccountPlan, ...]:
    """One to three healthy mailboxes; weak and burned campaigns also use the blacklisted one."""
    healthy = [account for account in accounts if not account.blacklisted]
    chosen = rng.sample(healthy, rng.randint(1, min(3, len(healthy))))
    if tier in ("weak", "burned"):
        chosen.append(accounts[-1])
    return tuple(chosen)
