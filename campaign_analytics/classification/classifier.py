"""Reply auto-classification: the rules live in ``rules.toml``, this module only applies them.

Keeping the phrasings as data means a new language or idiom is a reviewable one-file change
(each rule has an ``id`` and a ``lang``) and the classifier code does not grow an ``if/elif``
per class. The rules are loaded and compiled once, on first use, not at import time.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from campaign_analytics.models.vocabulary import ReplyClass

RULES_PATH = Path(__file__).with_name("rules.toml")

Field = Literal["header", "subject", "body"]
FIELDS: tuple[Field, ...] = ("header", "subject", "body")
_RULE_KEYS = {"id", "lang", "pattern", "header", "negatable"}
_LANG = re.compile(r"any|[a-z]{2}")
_FLAGS = re.MULTILINE

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'"})
_COMBINING_MARKS = re.compile(r"[\u0300-\u036f]+")
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", _FLAGS)
_CLAUSE_BREAK = re.compile(r"[.!?;,:\n]")


class RulesError(ValueError):
    """The rules file is malformed; the message names the offending rule."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One pattern of one class, applied to a header value, the subject or the body."""

    id: str
    lang: str
    reply_class: ReplyClass
    field: Field
    pattern: str
    header: str | None = None
    negatable: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The class of a reply and the id of the rule that decided it (None: the fallback)."""

    reply_class: ReplyClass
    rule_id: str | None


def normalise(text: str | None) -> str:
    """Casefold, strip accents and unify apostrophes/line ends, as the patterns expect."""
    if not text:
        return ""
    text = text.casefold()
    if not text.isascii():
        text = text.translate(_APOSTROPHES)
        text = _COMBINING_MARKS.sub("", unicodedata.normalize("NFKD", text))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


class _Matcher:
    """Several rules as one alternation, so a text is scanned once per class and field."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = {f"r{i}": rule for i, rule in enumerate(rules)}
        joined = "|".join(f"(?P<{name}>{rule.pattern})" for name, rule in self.rules.items())
        # Only where a word starts: one cheap test rejects most positions before the branches.
        self.regex = re.compile(f"(?<!\\w)(?:{joined})", _FLAGS) if self.rules else None

    def first(self, text: str, negated: _Negation) -> Rule | None:
        """The first rule matching ``text`` whose match is not negated."""
        if self.regex is None or not text:
            return None
        for match in self.regex.finditer(text):
            rule = self.rules[match.lastgroup or ""]
            if not (rule.negatable and negated(text, match.start())):
                return rule
        return None


class _Negation:
    """Whether a negation word precedes a position in the same clause."""

    def __init__(self, patterns: Iterable[str], window: int) -> None:
        self.regex = re.compile("|".join(f"(?:{p})" for p in patterns) or r"(?!)")
        self.window = window

    def __call__(self, text: str, position: int) -> bool:
        clause = _CLAUSE_BREAK.split(text[max(0, position - self.window) : position])[-1]
        return self.regex.search(clause) is not None


@dataclass(frozen=True, slots=True)
class _ClassRules:
    reply_class: ReplyClass
    headers: tuple[Rule, ...]
    subject: _Matcher
    body: _Matcher


class RuleSet:
    """Compiled rules in precedence order; ``classify`` is the whole algorithm."""

    def __init__(
        self,
        rules: Iterable[Rule],
        precedence: Iterable[ReplyClass],
        fallback: ReplyClass,
        quote_separators: Iterable[str],
        negation: _Negation,
    ) -> None:
        rules = tuple(rules)
        self.rules = rules
        self.fallback = fallback
        self.negation = negation
        self.separator = re.compile(
            "|".join(f"(?:{p})" for p in quote_separators) or r"(?!)", _FLAGS
        )
        self.classes = tuple(_class_rules(cls, rules) for cls in precedence)

    def classify(
        self, subject: str | None, body: str | None, headers: Mapping[str, str] | None = None
    ) -> Verdict:
        """Apply the rules: per class in precedence order, headers, then subject, then body."""
        header_values = _normalised_headers(headers)
        subject_text = normalise(subject)
        body_text = self.strip_quotes(normalise(body))
        for rules in self.classes:
            rule = (
                _first_header_rule(rules.headers, header_values)
                or rules.subject.first(subject_text, self.negation)
                or rules.body.first(body_text, self.negation)
            )
            if rule is not None:
                return Verdict(rules.reply_class, rule.id)
        return Verdict(self.fallback, None)

    def strip_quotes(self, body: str) -> str:
        """Drop the quoted original: from the first reply separator on, and ``>`` lines.

        A bottom-posted reply (nothing above the separator) keeps its text, minus quotes.
        """
        match = self.separator.search(body)
        if match is not None and body[: match.start()].strip():
            body = body[: match.start()]
        if ">" in body:
            body = _QUOTED_LINE.sub("", body)
        return body


def _class_rules(reply_class: ReplyClass, rules: tuple[Rule, ...]) -> _ClassRules:
    def of(field: Field) -> tuple[Rule, ...]:
        return tuple(r for r in rules if r.reply_class is reply_class and r.field == field)

    return _ClassRules(reply_class, of("header"), _Matcher(of("subject")), _Matcher(of("body")))


def _normalised_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if not headers:
        return {}
    return {str(name).strip().casefold(): normalise(str(value)) for name, value in headers.items()}


def _first_header_rule(rules: tuple[Rule, ...], headers: dict[str, str]) -> Rule | None:
    if not headers:
        return None
    for rule in rules:
        value = headers.get(rule.header or "")
        if value is not None and re.search(rule.pattern, value, _FLAGS):
            return rule
    return None


# --- loading -------------------------------------------------------------------------------


def load_rules(path: Path = RULES_PATH) -> RuleSet:
    """Read and validate a rules file; raises RulesError naming the first bad rule."""
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    precedence = [_reply_class(name, "precedence") for name in data.get("precedence", [])]
    fallback = _reply_class(data.get("fallback", ""), "fallback")
    if fallback in precedence or len(set(precedence)) != len(precedence):
        raise RulesError("precedence must list each class once, without the fallback")
    rules = [rule for cls in precedence for rule in _class_section(data, cls)]
    separators = [
        _checked(item, "quote_separator")["pattern"] for item in data.get("quote_separator", [])
    ]
    negations = [_checked(item, "negation")["pattern"] for item in data.get("negation", [])]
    _check_unique_ids([*rules, *data.get("quote_separator", []), *data.get("negation", [])])
    window = data.get("negation_window", 40)
    return RuleSet(rules, precedence, fallback, separators, _Negation(negations, window))


def _reply_class(name: str, where: str) -> ReplyClass:
    try:
        return ReplyClass(name)
    except ValueError:
        raise RulesError(f"{where}: unknown reply class {name!r}") from None


def _class_section(data: dict[str, Any], reply_class: ReplyClass) -> list[Rule]:
    section = data.get(reply_class.value, {})
    unknown = set(section) - set(FIELDS)
    if unknown:
        raise RulesError(f"{reply_class}: unknown fields {sorted(unknown)}")
    return [
        _rule(
            _checked(item, f"{reply_class}.{field}", header=field == "header"), reply_class, field
        )
        for field in FIELDS
        for item in section.get(field, [])
    ]


def _checked(item: dict[str, Any], where: str, header: bool = False) -> dict[str, Any]:
    """A rule table with its required keys, a known lang and a pattern that compiles."""
    rule_id = item.get("id", "?")
    required = {"id", "lang", "pattern"} | ({"header"} if header else set())
    if missing := required - set(item):
        raise RulesError(f"{where} rule {rule_id}: missing {sorted(missing)}")
    if unknown := set(item) - _RULE_KEYS:
        raise RulesError(f"{where} rule {rule_id}: unknown keys {sorted(unknown)}")
    if not _LANG.fullmatch(str(item["lang"])):
        raise RulesError(f"{where} rule {rule_id}: lang must be 'any' or a 2-letter code")
    try:
        re.compile(item["pattern"], _FLAGS)
    except re.error as exc:
        raise RulesError(f"{where} rule {rule_id}: bad pattern: {exc}") from None
    return item


def _rule(item: dict[str, Any], reply_class: ReplyClass, field: Field) -> Rule:
    header = item.get("header")
    return Rule(
        id=item["id"],
        lang=item["lang"],
        reply_class=reply_class,
        field=field,
        pattern=item["pattern"],
        header=str(header).casefold() if header else None,
        negatable=bool(item.get("negatable", False)),
    )


def _check_unique_ids(items: Iterable[Rule | dict[str, Any]]) -> None:
    seen: set[str] = set()
    for item in items:
        rule_id = item.id if isinstance(item, Rule) else item["id"]
        if rule_id in seen:
            raise RulesError(f"duplicate rule id {rule_id!r}")
        seen.add(rule_id)


# --- public API ----------------------------------------------------------------------------


@cache
def default_rules() -> RuleSet:
    """The packaged rules, compiled on first use and shared by every caller."""
    return load_rules()


def explain_reply(
    subject: str | None, body: str | None, headers: Mapping[str, str] | None = None
) -> Verdict:
    """Like :func:`classify_reply`, plus the id of the deciding rule (for review and tests)."""
    return default_rules().classify(subject, body, headers)


def classify_reply(
    subject: str | None, body: str | None, headers: Mapping[str, str] | None = None
) -> ReplyClass:
    """Classify one reply as interested, not_interested, out_of_office or replied.

    Deterministic and pure; ``None`` or empty inputs are fine (they classify as replied).
    """
    return default_rules().classify(subject, body, headers).reply_class
