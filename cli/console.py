"""Terminal output shared by ``up`` and the threads relaying its children's lines."""

from __future__ import annotations

import contextlib
import threading

import click

_LOCK = threading.Lock()


def say(message: str, *, err: bool = False) -> None:
    """Print one whole line, flushed: lines from several threads never interleave, and a
    reader of a pipe (a script waiting for "API listening") sees it at once.

    Best effort: a closed terminal or pipe must not keep ``up`` from stopping its children.
    """
    with _LOCK, contextlib.suppress(OSError, ValueError):
        click.echo(message, err=err)
