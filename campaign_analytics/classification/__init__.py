"""Reply auto-classification (seed 000): rules as data in ``rules.toml``.

No Flask, no Celery: ingestion, the API and the tasks all call :func:`classify_reply`.
"""

from .classifier import RulesError, Verdict, classify_reply, explain_reply, load_rules

__all__ = ["RulesError", "Verdict", "classify_reply", "explain_reply", "load_rules"]
