"""The life of one lead: its contact details and scores, the messages of its sequence (first
e-mail, follow-ups, a retry after a failed attempt), every event they cause, its reply, and
the status, qualification and suppression that ingestion and people would give it.

This is the hot path of generation (millions of events), hence instants as ``int``,
events as ``(instant, type, detail)`` tuples whose detail columns are encoded in advance,
and ``seq[int(random() * len(seq))]`` instead of ``Random.choice``.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import accumulate

from ..models.vocabulary import EventType, LeadStatus, MessageState, Qualification, ReplyClass
from ..providers import mailbox_provider
from . import texts
from .clock import DAY, HOUR, MINUTE, to_datetime
from .copytext import NULL_DETAIL
from .identifiers import GeneratedIds
from .model import (
    HOUR_EFFECT,
    STEP_EFFECT,
    WEEKEND_EFFECT,
    AccountPlan,
    CampaignPlan,
    DayPlan,
    Plan,
    Variant,
    local_hour,
)
from .odds import DetailPools, Odds

Event = tuple[int, str, str]  # (instant, type, encoded detail columns)
NEVER = 2**62

HARD_BOUNCE = "hard_bounce"  # a lead move's trigger, not an event type
# Automatic lead moves of SPEC 11.19: trigger -> (statuses it applies to, new status).
# Moves only go forward; out_of_office and soft bounces move nothing.
LEAD_MOVES: dict[str, tuple[frozenset[str], str]] = {
    EventType.SENT: (frozenset({LeadStatus.DISCOVERED}), LeadStatus.CONTACTED),
    HARD_BOUNCE: (frozenset({LeadStatus.CONTACTED}), LeadStatus.BOUNCED),
    ReplyClass.INTERESTED: (frozenset({LeadStatus.CONTACTED}), LeadStatus.REPLIED),
    ReplyClass.REPLIED: (frozenset({LeadStatus.CONTACTED}), LeadStatus.REPLIED),
    ReplyClass.NOT_INTERESTED: (
        frozenset({LeadStatus.CONTACTED, LeadStatus.REPLIED}), LeadStatus.LOST
    ),
}
REAL_REPLIES = (ReplyClass.INTERESTED, ReplyClass.REPLIED, ReplyClass.NOT_INTERESTED)
# After a real reply of this class: (share qualified, share disqualified) by a person.
QUALIFICATION_ODDS: dict[str, tuple[float, float]] = {
    ReplyClass.INTERESTED: (0.62, 0.08),
    ReplyClass.REPLIED: (0.30, 0.12),
    ReplyClass.NOT_INTERESTED: (0.0, 0.05),
}
PRE_DISQUALIFIED = 0.04  # screened out before any e-mail
PLACED_SHARE = 0.55  # of qualified replied leads
RETRY_SHARE = 0.6  # failed attempts retried once, hours later
NO_REPORT = 0.004  # sent, then neither delivered nor bounced
REPEAT_OPEN = 0.35
REPEAT_CLICK = 0.25
OUT_OF_OFFICE = 0.02
REPLY_IF_OPENED, REPLY_IF_UNOPENED = 1.7, 0.35
FOLLOW_UP_GAPS = ((2, 4), (3, 5))  # business days after the previous step
ORPHAN_KINDS = (
    EventType.OPENED, EventType.OPENED, EventType.CLICKED, EventType.DELIVERED, EventType.BOUNCED
)
WEBHOOK_BEFORE_SENT = 0.01  # the second event is written (ingested) before the ``sent``


@dataclass(slots=True)
class ReplyRecord:
    id: str
    received_at: int
    classification: str
    subject: str
    body: str


@dataclass(slots=True)
class MessageRecord:
    id: str
    sender_id: str
    step: int
    variant: str
    subject: str
    sent_at: int
    state: str
    events: list[Event]
    reply: ReplyRecord | None = None
    hard_bounced_at: int | None = None
    stop_at: int = NEVER  # when the sequence must stop: a reply, unsubscribe, complaint, bounce


@dataclass(slots=True)
class LeadRecord:
    id: str
    campaign: CampaignPlan
    account: AccountPlan
    email: str
    provider: str
    website_url: str
    website_title: str
    quality: float
    relevance: float
    likelihood: float
    source: str
    created_at: int
    status: str = LeadStatus.DISCOVERED
    qualification: str = Qualification.PENDING
    qualified_at: int | None = None
    placed_at: int | None = None
    updated_at: int = 0
    suppressed_at: int | None = None
    messages: list[MessageRecord] = field(default_factory=list)

    @property
    def event_count(self) -> int:
        return sum(len(message.events) for message in self.messages)


@dataclass(frozen=True, slots=True)
class Orphan:
    """An event for a message whose ``sent`` never arrives (SPEC 11.18)."""

    campaign_id: str
    message_id: str
    kind: str
    instant: int
    detail: str


@dataclass(slots=True)
class _Thread:
    """A lead's sequence in progress: what already happened limits what may come next."""

    lead: LeadRecord
    odds: Odds
    variant: Variant
    subject: str
    delivered_before: bool = False  # hard bounces only hit addresses never delivered to
    may_reply: bool = True  # one real reply per lead
    may_auto_reply: bool = True  # one out-of-office reply per lead
    stop_at: int = NEVER  # no follow-up from here on

    def record(self, message: MessageRecord) -> None:
        self.delivered_before = self.delivered_before or message.state == MessageState.DELIVERED
        if message.reply is not None:
            auto = message.reply.classification == ReplyClass.OUT_OF_OFFICE
            self.may_reply = self.may_reply and auto
            self.may_auto_reply = self.may_auto_reply and not auto
        self.stop_at = min(self.stop_at, message.stop_at)


class LeadSimulator:
    """Draws leads one after the other from one ``random.Random``: same seed, same leads."""

    def __init__(self, rng: random.Random, ids: GeneratedIds, plan: Plan) -> None:
        self.rng = rng
        self.ids = ids
        self.plan = plan
        self.provider_cumulative = tuple(accumulate(texts.PROVIDER_SHARES.values()))
        self.providers = tuple(texts.PROVIDER_SHARES)
        self.source_cumulative = tuple(accumulate(share for _, share in texts.LEAD_SOURCES))
        self.pools = DetailPools(rng, plan)
        self.odds: dict[tuple[str, str, str, str], Odds] = {}
        self.next_lead = 0
        self.next_message = 0
        self.next_reply = 0
        self.next_orphan = 0

    # -- leads -------------------------------------------------------------------------

    def lead(self, day_plan: DayPlan) -> LeadRecord:
        """The next lead, due for its first e-mail on ``day_plan``'s day, with its whole
        history up to ``end``."""
        rng, plan = self.rng, self.plan
        campaign = day_plan.campaign(rng)
        lead = self._new_lead(campaign)
        day, hour = day_plan.day, local_hour(rng)
        first = plan.calendar.instant(day, hour, int(rng.random() * HOUR))
        if rng.random() < PRE_DISQUALIFIED:
            lead.qualification = Qualification.DISQUALIFIED
            return self._uncontacted(lead, min(first, plan.end))
        if day > plan.end_day or first > plan.end:
            return self._uncontacted(lead, plan.end)
        lead.created_at = max(campaign.created_at, first - rng.randint(2 * HOUR, 12 * DAY))
        variant = campaign.variants[int(rng.random() * len(campaign.variants))]
        self._sequence(lead, variant, day, hour, first)
        self._settle(lead)
        return lead

    def _new_lead(self, campaign: CampaignPlan) -> LeadRecord:
        rng = self.rng
        rand = rng.random
        words = texts.SITE_WORDS
        first_word, second_word = words[int(rand() * len(words))], words[int(rand() * len(words))]
        kind = texts.SITE_KINDS[int(rand() * len(texts.SITE_KINDS))]
        tld = texts.SITE_TLDS[int(rand() * len(texts.SITE_TLDS))]
        site = f"{first_word}{second_word}{kind}.{tld}"
        email = self._email(site)
        number = self.next_lead
        self.next_lead += 1
        return LeadRecord(
            id=self.ids.key("lead", number),
            campaign=campaign,
            account=campaign.accounts[int(rand() * len(campaign.accounts))],
            email=email,
            provider=mailbox_provider(email).value,
            website_url=f"https://www.{site}/",
            website_title=f"{first_word.title()} {second_word.title()} {kind.title()}",
            quality=rng.betavariate(2.2, 2.0),
            relevance=rng.betavariate(2.0, 2.0),
            likelihood=rng.betavariate(1.5, 3.0),
            source=texts.LEAD_SOURCES[
                bisect(self.source_cumulative, rand() * self.source_cumulative[-1])
            ][0],
            created_at=0,
        )

    def _email(self, site: str) -> str:
        rand = self.rng.random
        provider = self.providers[bisect(self.provider_cumulative, rand())]
        domains = texts.PROVIDER_DOMAINS.get(provider)
        if domains is None:  # a business address on the site's own domain
            return f"{texts.EDITOR_MAILBOXES[int(rand() * len(texts.EDITOR_MAILBOXES))]}@{site}"
        first = texts.FIRST_NAMES[int(rand() * len(texts.FIRST_NAMES))]
        last = texts.LAST_NAMES[int(rand() * len(texts.LAST_NAMES))]
        return f"{first}.{last}{int(rand() * 100)}@{domains[int(rand() * len(domains))]}"

    def _uncontacted(self, lead: LeadRecord, before: int) -> LeadRecord:
        """A lead found but not e-mailed: screened out, or due after ``end``."""
        start = max(lead.campaign.created_at, before - 20 * DAY)
        lead.created_at = lead.updated_at = self.rng.randint(start, before)
        return lead

    # -- the sequence --------------------------------------------------------------------

    def _sequence(self, lead: LeadRecord, variant: Variant, day: int, hour: int, at: int) -> None:
        """Step 0, then follow-ups on later business days until a reply, a bounce, an
        unsubscribe or a complaint, the campaign's last step, or ``end``."""
        rng, plan = self.rng, self.plan
        thread = _Thread(lead, self._odds(lead, variant), variant,
                         variant.subject.format(site=lead.website_title))
        step, retried = 0, False
        while True:
            weekend = plan.calendar.weekdays[day] >= 5
            message = self._attempt(thread, step, at, HOUR_EFFECT[hour] * (
                WEEKEND_EFFECT if weekend else 1.0))
            lead.messages.append(message)
            if message.state == MessageState.FAILED:
                at += rng.randint(30 * MINUTE, 6 * HOUR)
                if retried or at > plan.end or rng.random() >= RETRY_SHARE:
                    return
                retried = True
                continue
            retried = False
            thread.record(message)
            if step >= lead.campaign.followups:
                return
            day = self._business_days_after(day, rng.randint(*FOLLOW_UP_GAPS[step]))
            if day > plan.end_day:
                return
            hour = local_hour(rng)
            at = plan.calendar.instant(day, hour, int(rng.random() * HOUR))
            if at > plan.end or at >= thread.stop_at:
                return
            step += 1

    def _business_days_after(self, day: int, count: int) -> int:
        """Sequencers wait in business days, so follow-ups skip weekends."""
        weekdays = self.plan.calendar.weekdays
        while count > 0 and day + 1 < len(weekdays):
            day += 1
            count -= weekdays[day] < 5
        return day + count

    def _attempt(self, thread: _Thread, step: int, at: int, effect: float) -> MessageRecord:
        """One message and its events; events after ``end`` have not happened yet.
        ``effect`` is the engagement multiplier of the local send hour and weekday."""
        rng, odds = self.rng, thread.odds
        number = self.next_message
        self.next_message += 1
        subject = thread.subject if step == 0 else f"Re: {thread.subject}"
        message = MessageRecord(
            self.ids.key("msg", number), self.ids.sender_message_id(number), step,
            thread.variant.name, subject, at, MessageState.SENT, [],
        )
        if rng.random() < odds.fail:
            failures = self.pools.failures
            detail = failures[int(rng.random() * len(failures))]
            message.events.append((at, EventType.FAILED, detail))
            message.state = MessageState.FAILED
            return message
        message.events.append((at, EventType.SENT, NULL_DETAIL))
        draw = rng.random()
        if draw < odds.bounce:
            self._bounce(message, odds, at, not thread.delivered_before)
        elif draw >= odds.bounce + NO_REPORT:
            delivered = at + 1 + int(rng.expovariate(0.2))
            message.events.append((delivered, EventType.DELIVERED, NULL_DETAIL))
            message.state = MessageState.DELIVERED
            self._engage(thread, message, delivered, effect)
        self._until_end(message)
        if len(message.events) > 1 and rng.random() < WEBHOOK_BEFORE_SENT:
            message.events[0], message.events[1] = message.events[1], message.events[0]
        return message

    def _bounce(self, message: MessageRecord, odds: Odds, at: int, first_delivery: bool) -> None:
        """Hard bounces come back in seconds and only for an address never delivered to;
        soft ones after the sender's retries, minutes to a day later."""
        rng = self.rng
        hard = first_delivery and rng.random() < odds.hard_share
        details, cumulative = odds.hard_reasons if hard else odds.soft_reasons
        detail = details[bisect(cumulative, rng.random() * cumulative[-1])]
        bounced = at + rng.randint(2, 45) if hard else at + int(rng.lognormvariate(8.0, 1.4))
        message.events.append((bounced, EventType.BOUNCED, detail))
        message.state = MessageState.BOUNCED
        if hard:
            message.hard_bounced_at = message.stop_at = bounced

    def _engage(
        self, thread: _Thread, message: MessageRecord, delivered: int, effect: float
    ) -> None:
        """What follows a delivery: machine opens and scanner clicks, human opens and clicks,
        then at most one of complaint, unsubscribe, reply or out-of-office reply."""
        rng, odds, lead = self.rng, thread.odds, thread.lead
        rand = rng.random
        events = message.events
        if rand() < odds.mpp:
            mpp = self.pools.mpp
            events.append((delivered + rng.randint(20, 90 * MINUTE), EventType.OPENED,
                           mpp[int(rand() * len(mpp))]))
        if rand() < odds.scanner:
            scanned = delivered + rng.randint(1, 3)
            links = odds.scanner_details[int(rand() * len(odds.scanner_details))]
            events.extend((scanned, EventType.CLICKED, detail) for detail in links)
        open_effect, reply_effect = STEP_EFFECT[message.step]
        opened = None
        if rand() < odds.open * effect * open_effect:
            opened = self._opens(events, odds, delivered)
        if rand() < odds.complaint:
            at = delivered + int(rng.lognormvariate(9.5, 1.2))
            events.append((at, EventType.SPAM_COMPLAINT, NULL_DETAIL))
            message.stop_at = at
        elif rand() < odds.unsubscribe:
            at = (opened or delivered) + rng.randint(20, 2 * HOUR)
            events.append((at, EventType.UNSUBSCRIBED, NULL_DETAIL))
            message.stop_at = at
        elif thread.may_reply and rand() < odds.reply * effect * reply_effect * (
            0.45 + 1.1 * lead.relevance
        ) * (REPLY_IF_OPENED if opened else REPLY_IF_UNOPENED):
            classification = REAL_REPLIES[bisect(odds.reply_cumulative, rand())]
            base = opened if opened else delivered + HOUR
            self._reply(lead, message, classification, base + int(rng.lognormvariate(8.6, 1.3)))
        elif thread.may_auto_reply and rand() < OUT_OF_OFFICE:
            at = delivered + rng.randint(5, 15 * MINUTE)
            self._reply(lead, message, ReplyClass.OUT_OF_OFFICE, at)

    def _opens(self, events: list[Event], odds: Odds, delivered: int) -> int:
        """Human opens: most within hours, some days late, some repeated; some lead to
        clicks. Returns the first open."""
        rng = self.rng
        rand = rng.random
        details = odds.open_details
        draw = rand()
        if draw < 0.55:
            first = delivered + 20 + int(rng.expovariate(1 / 2400))
        elif draw < 0.85:
            first = delivered + rng.randint(2 * HOUR, DAY)
        else:
            first = delivered + rng.randint(DAY, 9 * DAY)
        at = first
        events.append((at, EventType.OPENED, details[int(rand() * len(details))]))
        while rand() < REPEAT_OPEN:
            at += int(rng.lognormvariate(9.3, 1.4))
            events.append((at, EventType.OPENED, details[int(rand() * len(details))]))
        if rand() < odds.click:
            clicks = odds.click_details
            at = first + rng.randint(3, 15 * MINUTE)
            events.append((at, EventType.CLICKED, clicks[int(rand() * len(clicks))]))
            if rand() < REPEAT_CLICK:
                at += rng.randint(5, 30 * MINUTE)
                events.append((at, EventType.CLICKED, clicks[int(rand() * len(clicks))]))
        return first

    def _reply(
        self, lead: LeadRecord, message: MessageRecord, classification: str, at: int
    ) -> None:
        rng = self.rng
        bodies = texts.REPLY_TEXTS[ReplyClass(classification)]
        body = bodies[int(rng.random() * len(bodies))].format(
            name=lead.email.split("@", 1)[0].split(".", 1)[0].title(),
            sender=lead.account.email.split(".", 1)[0].title(),
            site=lead.website_title,
            date=(to_datetime(at) + timedelta(days=rng.randint(3, 14))).strftime("%d %B"),
        )
        prefix = "Automatic reply: " if classification == ReplyClass.OUT_OF_OFFICE else "Re: "
        number = self.next_reply
        self.next_reply += 1
        message.reply = ReplyRecord(
            self.ids.key("rpl", number), at, classification, prefix + message.subject, body
        )
        message.events.append((at, EventType.REPLIED, NULL_DETAIL))
        if classification != ReplyClass.OUT_OF_OFFICE:
            message.stop_at = min(message.stop_at, at)

    def _until_end(self, message: MessageRecord) -> None:
        """Drops what would happen after ``end``, and the message state and reply with it."""
        end = self.plan.end
        events = message.events
        events.sort()
        if events[-1][0] <= end:
            return
        while events[-1][0] > end:
            events.pop()
        kinds = {kind for _, kind, _ in events}
        if EventType.REPLIED not in kinds:
            message.reply = None
        if message.hard_bounced_at is not None and message.hard_bounced_at > end:
            message.hard_bounced_at = None
        for state in (MessageState.BOUNCED, MessageState.DELIVERED, MessageState.SENT):
            if state in kinds:
                message.state = state
                return

    # -- status ------------------------------------------------------------------------

    def _settle(self, lead: LeadRecord) -> None:
        """Status from the lead's happenings in time order (SPEC 11.19), then what people
        did after a reply: qualify or disqualify, place."""
        moves: list[tuple[int, str]] = []
        reply: ReplyRecord | None = None
        for message in lead.messages:
            if message.state == MessageState.FAILED:
                continue
            moves.append((message.sent_at, EventType.SENT))
            if message.hard_bounced_at is not None:
                moves.append((message.hard_bounced_at, HARD_BOUNCE))
            if message.reply is not None:
                moves.append((message.reply.received_at, message.reply.classification))
                if message.reply.classification != ReplyClass.OUT_OF_OFFICE:
                    reply = message.reply
        moves.sort()
        lead.updated_at = lead.created_at
        for at, trigger in moves:
            rule = LEAD_MOVES.get(trigger)
            if rule is not None and lead.status in rule[0]:
                lead.status, lead.updated_at = rule[1], at
        if reply is not None:
            self._after_reply(lead, reply)

    def _after_reply(self, lead: LeadRecord, reply: ReplyRecord) -> None:
        rng, end = self.rng, self.plan.end
        if reply.classification == ReplyClass.NOT_INTERESTED:
            lead.suppressed_at = reply.received_at
        qualified, disqualified = QUALIFICATION_ODDS[reply.classification]
        draw = rng.random()
        decided = reply.received_at + rng.randint(HOUR, 4 * DAY)
        if draw >= qualified + disqualified or decided > end:
            return
        lead.updated_at = max(lead.updated_at, decided)
        if draw >= qualified:
            lead.qualification = Qualification.DISQUALIFIED
            return
        lead.qualification, lead.qualified_at = Qualification.QUALIFIED, decided
        placed = decided + rng.randint(2 * DAY, 25 * DAY)
        if lead.status == LeadStatus.REPLIED and placed <= end and rng.random() < PLACED_SHARE:
            lead.status, lead.placed_at, lead.updated_at = LeadStatus.PLACED, placed, placed

    # -- rates -------------------------------------------------------------------------

    def _odds(self, lead: LeadRecord, variant: Variant) -> Odds:
        key = (lead.campaign.id, lead.account.id, lead.provider, variant.name)
        odds = self.odds.get(key)
        if odds is None:
            odds = self.odds[key] = self.pools.odds(lead.campaign, lead.account, lead.provider,
                                                    variant)
        return odds

    def orphan(self, near: LeadRecord) -> Orphan:
        """An open, click, delivery or bounce for a message id no ``sent`` will ever have,
        in the campaign and days of a lead just simulated."""
        rng = self.rng
        number = self.next_orphan
        self.next_orphan += 1
        kind = ORPHAN_KINDS[int(rng.random() * len(ORPHAN_KINDS))]
        return Orphan(
            near.campaign.id,
            self.ids.orphan_message_id(number),
            kind,
            min(near.created_at + rng.randint(HOUR, 10 * DAY), self.plan.end),
            self.pools.orphan_detail(kind, near.campaign),
        )
