"""Reply auto-classification (seed 000), checked against a hand-labelled corpus of replies.

The corpus (``corpus.jsonl``) was written as an outreach inbox receives mail, before the
rules; it is the independent check of ``rules.toml``. Run with ``-s`` to see the table.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from campaign_analytics.classification import (
    RulesError,
    classify_reply,
    explain_reply,
    load_rules,
)
from campaign_analytics.classification.classifier import RULES_PATH
from campaign_analytics.models.vocabulary import ReplyClass

CORPUS = Path(__file__).with_name("corpus.jsonl")
CLASSES = list(ReplyClass)
MIN_ACCURACY = 0.92
MIN_RECALL = 0.85

INTERESTED = ReplyClass.INTERESTED
NOT_INTERESTED = ReplyClass.NOT_INTERESTED
OUT_OF_OFFICE = ReplyClass.OUT_OF_OFFICE
REPLIED = ReplyClass.REPLIED


@dataclass(frozen=True)
class Sample:
    label: ReplyClass
    lang: str
    subject: str | None
    body: str | None
    headers: Mapping[str, str] | None


def load_corpus() -> list[Sample]:
    samples = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            samples.append(
                Sample(
                    ReplyClass(row["label"]),
                    row["lang"],
                    row.get("subject"),
                    row.get("body"),
                    row.get("headers"),
                )
            )
    return samples


@dataclass
class Scores:
    """Confusion counts of (label, predicted) pairs, and the misses to show a reviewer."""

    confusion: Counter[tuple[ReplyClass, ReplyClass]] = field(default_factory=Counter)
    by_lang: Counter[tuple[str, bool]] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)
    fired: Counter[str] = field(default_factory=Counter)

    def add(self, sample: Sample) -> None:
        verdict = explain_reply(sample.subject, sample.body, sample.headers)
        self.confusion[sample.label, verdict.reply_class] += 1
        self.by_lang[sample.lang, verdict.reply_class is sample.label] += 1
        self.fired[verdict.rule_id or "(fallback)"] += 1
        if verdict.reply_class is not sample.label:
            text = " ".join(f"{sample.subject or ''} | {sample.body or ''}".split())[:110]
            self.misses.append(
                f"[{sample.lang}] {sample.label} -> {verdict.reply_class} "
                f"({verdict.rule_id}): {text}"
            )

    @property
    def total(self) -> int:
        return sum(self.confusion.values())

    @property
    def accuracy(self) -> float:
        return sum(self.confusion[c, c] for c in CLASSES) / self.total

    def recall(self, cls: ReplyClass) -> float:
        actual = sum(self.confusion[cls, p] for p in CLASSES)
        return self.confusion[cls, cls] / actual if actual else 1.0

    def precision(self, cls: ReplyClass) -> float:
        predicted = sum(self.confusion[a, cls] for a in CLASSES)
        return self.confusion[cls, cls] / predicted if predicted else 1.0

    def report(self) -> str:
        """Per-class precision/recall, per-language accuracy, confusion matrix and misses."""
        lines = [f"{'class':<16}{'n':>5}{'precision':>11}{'recall':>8}"]
        for cls in CLASSES:
            n = sum(self.confusion[cls, p] for p in CLASSES)
            lines.append(f"{cls:<16}{n:>5}{self.precision(cls):>11.3f}{self.recall(cls):>8.3f}")
        correct = sum(self.confusion[c, c] for c in CLASSES)
        lines.append(f"accuracy {self.accuracy:.3f} ({correct}/{self.total})")
        langs = sorted({lang for lang, _ in self.by_lang})
        right = {lang: self.by_lang[lang, True] for lang in langs}
        lines.append(
            "accuracy by language: "
            + ", ".join(
                f"{lang} {right[lang]}/{right[lang] + self.by_lang[lang, False]}" for lang in langs
            )
        )
        lines.append("")
        lines.append("confusion (rows: label, columns: predicted)")
        lines.append(" " * 16 + "".join(f"{c:>16}" for c in CLASSES))
        for actual in CLASSES:
            lines.append(
                f"{actual:<16}" + "".join(f"{self.confusion[actual, p]:>16}" for p in CLASSES)
            )
        lines.append("")
        lines.append(f"misclassified ({len(self.misses)}):")
        lines.extend(f"  {miss}" for miss in self.misses)
        unused = sorted(r.id for r in load_rules().rules if r.id not in self.fired)
        lines.append(f"rules that decided no corpus reply ({len(unused)}): {', '.join(unused)}")
        return "\n".join(lines)


@pytest.fixture(scope="module")
def corpus() -> list[Sample]:
    return load_corpus()


# --- the corpus -----------------------------------------------------------------------------


def test_the_corpus_covers_every_class_and_language(corpus: list[Sample]) -> None:
    per_class = Counter(s.label for s in corpus)
    per_lang = Counter(s.lang for s in corpus)
    per_lang_class = Counter((s.lang, s.label) for s in corpus)
    assert len(corpus) >= 240
    assert all(per_class[cls] >= 45 for cls in CLASSES), per_class
    assert set(per_lang) == {"en", "de", "fr", "es"}, per_lang
    for lang in ("de", "fr", "es"):
        assert per_lang[lang] >= 20, per_lang
        assert per_lang_class[lang, OUT_OF_OFFICE] > 0 and per_lang_class[lang, NOT_INTERESTED] > 0


def test_the_corpus_is_classified_accurately(corpus: list[Sample]) -> None:
    scores = Scores()
    for sample in corpus:
        scores.add(sample)
    report = scores.report()
    print("\n" + report)
    assert scores.accuracy >= MIN_ACCURACY, report
    assert all(scores.recall(cls) >= MIN_RECALL for cls in CLASSES), report


# --- focused behaviour ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"auto-submitted": "Auto-Generated"},
        {"X-Autoreply": "yes"},
        {"X-Autorespond": "1"},
        {"Precedence": "auto_reply"},
    ],
)
def test_auto_reply_headers_alone_mean_out_of_office(headers: dict[str, str]) -> None:
    assert classify_reply(None, None, headers) is OUT_OF_OFFICE
    assert classify_reply("Re: Guest post", "Yes, send me a draft.", headers) is OUT_OF_OFFICE


@pytest.mark.parametrize(
    "headers", [{"Auto-Submitted": "no"}, {"Precedence": "bulk"}, {"X-Mailer": "Outlook 16.0"}]
)
def test_ordinary_headers_leave_a_human_reply_alone(headers: dict[str, str]) -> None:
    assert classify_reply("Re: Guest post", "Who are you?", headers) is REPLIED


QUOTED_OUTREACH = [
    "On Mon, 3 Nov 2025 at 09:15, Alex <alex@agency.example> wrote:\n"
    "> Would you be interested in a guest post? Sounds good? Happy to send a draft!",
    "On Mon, Nov 3, 2025 at 9:15 AM Alex Morgan <\nalex@agency.example> wrote:\n\n"
    "Would you be interested in a guest post? Yes, it's free.",
    "Am Mo., 3. Nov. 2025 um 09:15 Uhr schrieb Lena <lena@agentur.example>:\n"
    "Hätten Sie Interesse an einem Gastbeitrag? Sehr gerne schicke ich einen Entwurf.",
    "Le lun. 3 nov. 2025 à 09:15, Claire <claire@agence.example> a écrit :\n"
    "Seriez-vous intéressé par un article invité ? Avec plaisir !",
    "El lun, 3 nov 2025 a las 9:15, Javier (<javier@agencia.example>) escribió:\n"
    "¿Te interesaría un artículo? ¡De acuerdo, hablemos!",
    "-----Original Message-----\nFrom: Alex\nSent: Monday\n\nInterested? Let's talk!",
    "________________________________\nFrom: Alex <alex@agency.example>\n"
    "Sent: Monday, November 3, 2025 9:15 AM\n\nWould you be interested? Sounds good?",
    "From: Alex <alex@agency.example>\nSent: Monday, November 3, 2025\n\nInterested? Yes?",
    "De : Claire <claire@agence.example>\nEnvoyé : lundi 3 novembre 2025\n\nIntéressé ?",
    "> Would you be interested in a guest post?\n> Happy to write it, sounds good?",
]


@pytest.mark.parametrize("quoted", QUOTED_OUTREACH)
def test_quoted_original_outreach_does_not_flip_the_class(quoted: str) -> None:
    assert classify_reply("Re: Guest post", f"Who are you?\n\n{quoted}") is REPLIED
    assert classify_reply("Re: Guest post", f"Not right now.\n\n{quoted}") is NOT_INTERESTED


def test_a_bottom_posted_reply_is_still_read() -> None:
    body = "> Would you be interested in a guest post?\n\nYes, send me the draft."
    assert classify_reply("Re: Guest post", body) is INTERESTED


@pytest.mark.parametrize(
    "body",
    [
        "not interested",
        "I'm not really interested, thanks.",
        "We are no longer interested.",
        "We wouldn't be interested, sorry.",
        "we dont think we'd be interested",
        "Ich bin nicht interessiert.",
        "Daran sind wir nicht interessiert.",
        "Pas intéressé.",
        "Je ne suis pas intéressée.",
        "Ça ne m'intéresse pas.",
        "No estoy interesado.",
        "No estoy interesada.",
        "No me interesa.",
        "No nos interesa, gracias.",
    ],
)
def test_negated_interest_is_a_decline(body: str) -> None:
    assert classify_reply("Re: Guest post", body) is NOT_INTERESTED


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("No problem, send it over.", INTERESTED),
        ("I don't see why not. Send me the draft.", INTERESTED),
        ("Thank you for your interest, but we must decline.", NOT_INTERESTED),
        ("Yes, please remove me from your list.", NOT_INTERESTED),
        ("I'm back from vacation now. What was this about?", REPLIED),
        ("I'm not sure this is for us, but tell me more.", REPLIED),
        ("Our client is interested, what are the next steps?", INTERESTED),
        ("Nous sommes intéressés, envoyez la proposition.", INTERESTED),
        ("We dont want it, not interested", NOT_INTERESTED),
        ("I'm really not that interested", NOT_INTERESTED),
    ],
)
def test_phrases_that_look_like_another_class(body: str, expected: ReplyClass) -> None:
    assert classify_reply("Re: Guest post", body) is expected


@pytest.mark.parametrize(
    "subject",
    [
        "RÉPONSE AUTOMATIQUE : Article",
        "Reponse automatique : Article",
        "ABWESENHEITSNOTIZ",
        "Respuesta automática: Colaboración",
        "respuesta automatica",
        "Automatic reply: hi",
    ],
)
def test_matching_ignores_case_and_accents(subject: str) -> None:
    assert classify_reply(subject, "") is OUT_OF_OFFICE


def test_out_of_office_wins_over_words_of_other_classes() -> None:
    body = "I am out of the office until Monday. Not interested in newsletters? Unsubscribe below."
    assert classify_reply("Automatic reply: Would you be interested?", body) is OUT_OF_OFFICE


@pytest.mark.parametrize(
    ("subject", "body", "headers"),
    [(None, None, None), ("", "", None), ("", "", {}), (None, "   \n ", None), ("Re:", "", None)],
)
def test_empty_or_missing_input_is_replied(
    subject: str | None, body: str | None, headers: dict[str, str] | None
) -> None:
    assert classify_reply(subject, body, headers) is REPLIED


def test_explain_reply_names_the_deciding_rule() -> None:
    verdict = explain_reply(None, None, {"Auto-Submitted": "auto-replied"})
    assert verdict.reply_class is OUT_OF_OFFICE
    assert verdict.rule_id == "any-ooo-header-auto-submitted"
    assert explain_reply("Re: hi", "Who are you?").rule_id is None


# --- the rules file -------------------------------------------------------------------------


def test_every_rule_has_a_unique_id_and_a_language() -> None:
    rules = load_rules().rules
    ids = [rule.id for rule in rules]
    assert len(ids) == len(set(ids))
    assert all(rule.lang for rule in rules)
    assert {rule.reply_class for rule in rules} == {INTERESTED, NOT_INTERESTED, OUT_OF_OFFICE}


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('precedence = ["interested"]\nfallback = "maybe"\n', "unknown reply class"),
        ('precedence = ["replied"]\nfallback = "replied"\n', "precedence"),
        (
            'precedence = ["interested"]\nfallback = "replied"\n'
            '[[interested.body]]\nid = "x"\nlang = "en"\n',
            "missing",
        ),
        (
            'precedence = ["interested"]\nfallback = "replied"\n'
            '[[interested.body]]\nid = "x"\nlang = "en"\npattern = "("\n',
            "bad pattern",
        ),
        (
            'precedence = ["interested"]\nfallback = "replied"\n'
            '[[interested.body]]\nid = "x"\nlang = "en"\npattern = "a"\n'
            '[[interested.body]]\nid = "x"\nlang = "en"\npattern = "b"\n',
            "duplicate",
        ),
        (
            'precedence = ["interested"]\nfallback = "replied"\n'
            '[[interested.body]]\nid = "x"\nlang = "english"\npattern = "a"\n',
            "lang",
        ),
    ],
)
def test_a_malformed_rules_file_is_refused(tmp_path: Path, toml: str, message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(toml)
    with pytest.raises(RulesError, match=message):
        load_rules(path)


def test_the_packaged_rules_file_sits_next_to_the_classifier() -> None:
    assert RULES_PATH.is_file()
