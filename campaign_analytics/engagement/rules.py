"""The engagement rules (``rules.toml``): which opens and clicks are machines, and why.

The rules are data, versioned in the file; this module reads and checks them and turns
them into the SQL expressions the refresh classifies with, so every open and click is
judged inside the one statement that counts it. Precedence (first match wins): a HEAD
request; the user-agent rules in file order; the network rules in file order; for clicks,
the timing rules (too fast after delivery, all links at once); else ``human`` (``person``)
when the event carries a user agent or an address, ``unknown`` (``no_client_data``) when
it carries neither.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

RULES_FILE = Path(__file__).with_name("rules.toml")
EVENT_TYPES = ("opened", "clicked")
# Reasons the precedence itself gives, with their verdicts; the file adds its own.
BUILT_IN = (("no_client_data", "unknown"), ("person", "human"), ("head_request", "machine"),
            ("too_fast", "machine"), ("all_links_at_once", "machine"))
# PostgreSQL's regular expressions (ARE) and Python's agree on this subset.
SAFE_PATTERN = re.compile(r"^(?:[\w .,;:/()\-+^$|]|\\[sSdDwW.()+/-])+$")
MAX_VERSION = 30  # with the content digest, it fits refresh_state.engagement_rules
MAX_SECONDS = 3600.0
IPV6_PREFIXES = (16, 32)  # matched by whole hextets (see engagement.sql)


class RulesError(ValueError):
    """The rules file is malformed: refuse it rather than classify with half of it."""


@dataclass(frozen=True)
class Rule:
    match: str  # a pattern, or a network
    verdict: str
    reason: str
    applies_to: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class Rules:
    version: str
    click_too_fast_seconds: float
    links_at_once_seconds: float
    agents: tuple[Rule, ...]
    networks: tuple[Rule, ...]
    digest: str = ""  # of the file's bytes: an edit without a new version still counts

    @property
    def fingerprint(self) -> str:
        """What rollups and verdicts record they were made with (``version#digest``)."""
        return f"{self.version}#{self.digest}"

    @property
    def reasons(self) -> tuple[tuple[str, str], ...]:
        """Every reason with its verdict; a reason's code is its position here."""
        seen = dict(BUILT_IN)
        for rule in self.agents + self.networks:
            seen.setdefault(rule.reason, rule.verdict)
        return tuple(seen.items())

    def code(self, reason: str) -> int:
        return [name for name, _ in self.reasons].index(reason)


def _rule(entry: dict[str, Any], key: str, where: str) -> Rule:
    try:
        rule = Rule(str(entry[key]), str(entry["verdict"]), str(entry["reason"]),
                    tuple(entry["applies_to"]), str(entry["source"]))
    except KeyError as missing:
        raise RulesError(f"{where}: missing {missing}") from None
    if rule.verdict not in ("human", "machine"):
        raise RulesError(f"{where}: verdict must be human or machine")
    if not rule.applies_to or set(rule.applies_to) - set(EVENT_TYPES):
        raise RulesError(f"{where}: applies_to must list opened and/or clicked")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", rule.reason):
        raise RulesError(f"{where}: reason must be snake_case, at most 40 characters")
    return rule


def _agent(entry: dict[str, Any], n: int) -> Rule:
    """A pattern both engines read alike, that compiles, and matches no empty text (an
    empty alternative would make every user agent match)."""
    rule = _rule(entry, "pattern", f"agents[{n}]")
    if not SAFE_PATTERN.match(rule.match):
        raise RulesError(f"agents[{n}]: pattern {rule.match!r} uses more than words, "
                         "spaces, punctuation, anchors and \\s \\d \\w \\. escapes")
    try:
        compiled = re.compile(rule.match, re.IGNORECASE)
    except re.error as exc:
        raise RulesError(f"agents[{n}]: pattern {rule.match!r}: {exc}") from None
    if compiled.search("") is not None:
        raise RulesError(f"agents[{n}]: pattern {rule.match!r} matches an empty user agent")
    return rule


def _network(entry: dict[str, Any], n: int) -> Rule:
    rule = _rule(entry, "cidr", f"networks[{n}]")
    try:
        network = ipaddress.ip_network(rule.match)
    except ValueError as exc:
        raise RulesError(f"networks[{n}]: {exc}") from None
    if network.version == 6 and network.prefixlen not in IPV6_PREFIXES:
        raise RulesError(f"networks[{n}]: IPv6 networks must be /16 or /32")
    return rule


def _seconds(timing: dict[str, Any], name: str) -> float:
    value = timing.get(name, 2)
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and 0 <= value <= MAX_SECONDS):
        raise RulesError(f"timing.{name} must be a number of seconds from 0 to {MAX_SECONDS:g}")
    return float(value)


def parse_rules(document: dict[str, Any], digest: str = "") -> Rules:
    timing = document.get("timing", {})
    rules = Rules(
        version=str(document.get("version", "")),
        click_too_fast_seconds=_seconds(timing, "click_too_fast_seconds"),
        links_at_once_seconds=_seconds(timing, "links_at_once_seconds"),
        agents=tuple(_agent(e, n) for n, e in enumerate(document.get("agents", []))),
        networks=tuple(_network(e, n) for n, e in enumerate(document.get("networks", []))),
        digest=digest,
    )
    if not 1 <= len(rules.version) <= MAX_VERSION:
        raise RulesError(f"the rules need a version of 1 to {MAX_VERSION} characters")
    verdicts: dict[str, str] = {}
    for reason, verdict in BUILT_IN + tuple((r.reason, r.verdict)
                                            for r in rules.agents + rules.networks):
        if verdicts.setdefault(reason, verdict) != verdict:
            raise RulesError(f"reason {reason!r} is given two verdicts")
    return rules


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Rules:
    content = path.read_bytes()
    return parse_rules(tomllib.loads(content.decode()), hashlib.sha256(content).hexdigest()[:8])
