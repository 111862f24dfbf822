"""The CLI's errors: click prints ``Error: <message>`` on stderr and exits with the code."""

from __future__ import annotations

import click


class CommandFailed(click.ClickException):
    """The command could not do its work (exit code 1)."""


class UsageProblem(CommandFailed):
    """Something the user must fix in the invocation or configuration (exit code 2, like
    click's own usage errors)."""

    exit_code = 2
