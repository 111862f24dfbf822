"""The chances of every outcome for one campaign, mailbox provider, sending account and
variant, and the encoded details (user agents with their addresses, link URLs, bounce and
failure reasons) the resulting events carry.

Details are encoded as COPY text once per data set and drawn from small pools, so the hot
path never formats a user agent or a reason.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from ..models.vocabulary import EventType, MailboxProvider
from . import texts
from .copytext import NULL_DETAIL, event_detail
from .model import (
    MPP_SHARE,
    PROVIDER_EFFECTS,
    SCANNER_SHARE,
    AccountPlan,
    CampaignPlan,
    Plan,
    Variant,
)

POOL_SIZE = 48  # encoded details per pool
LINKS_PER_MESSAGE = 2  # a message links the first two of its campaign's URLs
Weighted = tuple[tuple[str, ...], tuple[float, ...]]  # details and cumulative weights


@dataclass(frozen=True, slots=True)
class Odds:
    """A campaign's rates for one provider, account and variant, with the event details
    that fit them."""

    fail: float
    bounce: float
    hard_share: float
    open: float
    click: float
    reply: float
    complaint: float
    unsubscribe: float
    mpp: float
    scanner: float
    reply_cumulative: tuple[float, ...]
    hard_reasons: Weighted
    soft_reasons: Weighted
    open_details: tuple[str, ...]
    click_details: tuple[str, ...]
    scanner_details: tuple[tuple[str, ...], ...]


class DetailPools:
    """Encoded event details drawn once per data set: user agents with the addresses they
    come from, link URLs, bounce and failure reasons."""

    def __init__(self, rng: random.Random, plan: Plan) -> None:
        self.rng = rng
        self.mpp = self._agents((texts.APPLE_MPP_AGENT,), texts.APPLE_PROXY_NETWORKS)
        self.opens = {provider: self._open_details(provider) for provider in PROVIDER_EFFECTS}
        self.clicks = {c.id: self._click_details(c) for c in plan.campaigns}
        self.scanners = {c.id: self._scanner_details(c) for c in plan.campaigns}
        self.soft_reasons = _weighted("soft", texts.SOFT_BOUNCE_REASONS)
        self.failures = tuple(
            event_detail(reason=reason)
            for reason, weight in texts.FAILURE_REASONS
            for _ in range(round(weight * 20))
        )

    def odds(
        self, campaign: CampaignPlan, account: AccountPlan, provider: str, variant: Variant
    ) -> Odds:
        """The chances for leads of ``campaign`` at ``provider``, sent by ``account``."""
        rates, by_provider, by_account = campaign.rates, PROVIDER_EFFECTS[provider], account.effect
        return Odds(
            fail=rates.fail * by_account.fail,
            bounce=rates.bounce * by_provider.bounce * by_account.bounce,
            hard_share=rates.hard_share,
            open=min(0.95, rates.open * by_provider.open * by_account.open * variant.effect),
            click=rates.click,
            reply=rates.reply * by_provider.reply * by_account.reply * variant.effect,
            complaint=rates.complaint * by_provider.complaint * by_account.complaint,
            unsubscribe=rates.unsubscribe,
            mpp=MPP_SHARE[provider],
            scanner=SCANNER_SHARE.get(provider, 0.0),
            reply_cumulative=tuple(accumulate(rates.reply_mix)),
            hard_reasons=self._hard_reasons(provider, account.blacklisted),
            soft_reasons=self.soft_reasons,
            open_details=self.opens[provider],
            click_details=self.clicks[campaign.id],
            scanner_details=self.scanners[campaign.id],
        )

    @staticmethod
    def _hard_reasons(provider: str, blacklisted: bool) -> Weighted:
        """Only business domains can vanish; only a blacklisted sender is blocked for it."""
        reasons = list(texts.HARD_BOUNCE_REASONS)
        if provider == MailboxProvider.OTHER:
            reasons.append((texts.DOMAIN_NOT_FOUND, 0.25))
        if blacklisted:
            reasons.append((texts.BLOCKLIST_REASON, 0.6))
        return _weighted("hard", reasons)

    def _ip(self, network: str) -> str:
        octets = [str(self.rng.randint(1, 254)) for _ in range(4 - network.count("."))]
        return network + ".".join(octets)

    def _agents(
        self,
        agents: tuple[str, ...],
        networks: tuple[str, ...],
        url: str | None = None,
        size: int = POOL_SIZE,
    ) -> tuple[str, ...]:
        """``size`` details of clients drawn from ``agents``, each from an address in one of
        ``networks``."""
        rng = self.rng
        return tuple(
            event_detail(url=url, user_agent=rng.choice(agents), ip=self._ip(rng.choice(networks)))
            for _ in range(size)
        )

    def _open_details(self, provider: str) -> tuple[str, ...]:
        """Gmail and Yahoo fetch images through their proxies (a person did open); others
        open in mail apps and browsers."""
        people = texts.MAIL_CLIENTS + texts.DESKTOP_BROWSERS + texts.MOBILE_BROWSERS
        own = self._agents(people, texts.PEOPLE_NETWORKS, size=POOL_SIZE // 4)
        if provider == MailboxProvider.GMAIL:
            return self._agents((texts.GMAIL_PROXY_AGENT,), texts.GOOGLE_PROXY_NETWORKS) + own
        if provider == MailboxProvider.YAHOO:
            return self._agents((texts.YAHOO_PROXY_AGENT,), texts.YAHOO_PROXY_NETWORKS) + own
        if provider == MailboxProvider.ICLOUD:
            return self._agents((texts.IPHONE_MAIL, texts.IPHONE_SAFARI), texts.PEOPLE_NETWORKS)
        return self._agents(people, texts.PEOPLE_NETWORKS)

    def _click_details(self, campaign: CampaignPlan) -> tuple[str, ...]:
        browsers = texts.DESKTOP_BROWSERS + texts.MOBILE_BROWSERS
        return tuple(
            detail
            for url in campaign.urls[:LINKS_PER_MESSAGE]
            for detail in self._agents(browsers, texts.PEOPLE_NETWORKS, url, POOL_SIZE // 4)
        )

    def _scanner_details(self, campaign: CampaignPlan) -> tuple[tuple[str, ...], ...]:
        """Each scanner clicks every link of the message from one address at once."""
        rng = self.rng
        sets = []
        for _ in range(8):
            agent = rng.choice(texts.SCANNER_AGENTS)
            ip = self._ip(rng.choice(texts.SCANNER_NETWORKS))
            links = campaign.urls[:LINKS_PER_MESSAGE]
            sets.append(tuple(event_detail(url=url, user_agent=agent, ip=ip) for url in links))
        return tuple(sets)

    def orphan_detail(self, kind: str, campaign: CampaignPlan) -> str:
        """A detail fitting an event of ``kind`` whose message is unknown."""
        rng = self.rng
        if kind == EventType.OPENED:
            return rng.choice(self.opens[rng.choice(tuple(self.opens))])
        if kind == EventType.CLICKED:
            return rng.choice(self.clicks[campaign.id])
        if kind == EventType.BOUNCED:
            return event_detail("soft", texts.SOFT_BOUNCE_REASONS[0][0])
        return NULL_DETAIL


def _weighted(bounce_type: str, reasons: Iterable[tuple[str, float]]) -> Weighted:
    """Encoded bounce details and their cumulative weights, for ``bisect``."""
    rows = list(reasons)
    details = tuple(event_detail(bounce_type, reason) for reason, _ in rows)
    return details, tuple(accumulate(weight for _, weight in rows))
