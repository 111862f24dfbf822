"""Opening the database for a CLI command, with errors a person can act on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import OperationalError, ProgrammingError

from campaign_analytics.db import Database
from campaign_analytics.errors import DomainError, ValidationFailed
from campaign_analytics.settings import get_settings

from .errors import CommandFailed, UsageProblem
from .stack import resolve_database_url


def describe(error: DomainError) -> str:
    if not isinstance(error, ValidationFailed) or not error.details:
        return error.message
    fields = "; ".join(f"{field}: {', '.join(messages)}"
                       for field, messages in error.details.items())
    return f"{error.message} ({fields})"


@contextmanager
def command_database() -> Iterator[Database]:
    """DATABASE_URL, else the running dev stack's; domain and connection errors become
    exit codes 2 (the user's input) and 1 (the environment)."""
    db = Database.connect(resolve_database_url(get_settings()), pool_size=1)
    try:
        yield db
    except DomainError as exc:
        raise UsageProblem(describe(exc)) from exc
    except OperationalError as exc:
        raise CommandFailed(f"Cannot reach the database: {exc.orig}") from exc
    except ProgrammingError as exc:
        raise CommandFailed(
            f"The database is not ready ({exc.orig}); `campaign-analytics up` migrates it"
        ) from exc
    finally:
        db.engine.dispose()
