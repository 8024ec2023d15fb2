"""Errors a user fixes by changing an argument or a setting: the CLI prints them as one line, exit 2.

``UsageError`` is the base of the project's own usage errors (a bad ``--faults`` spec, SQL that DuckDB
refuses, a missing world or warehouse, a missing or malformed setting: ``config.ConfigError``);
``is_usage_error`` also recognises a port already in use. Everything else is a bug or an outage and
keeps its traceback.
"""

from __future__ import annotations

import errno


class UsageError(ValueError):
    """A wrong argument or setting; the message names it and says what to do next."""


class MissingInput(UsageError, FileNotFoundError):
    """A file or directory the command needs does not exist (a world, the published warehouse …)."""


def _port_taken(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL)


def is_usage_error(exc: BaseException) -> bool:
    """True for errors the user fixes with an argument or a setting (print one line, exit 2):
    ``UsageError``s (``config.ConfigError`` included) and a port already in use."""
    return isinstance(exc, UsageError) or _port_taken(exc)


def one_line(exc: BaseException) -> str:
    """The error's message on one line (first line kept whole, later lines joined)."""
    if _port_taken(exc):
        return f"cannot listen: {exc.strerror} (errno {exc.errno}); pick another --port or stop what uses it"  # type: ignore[attr-defined]
    text = " ".join(part.strip() for part in str(exc).splitlines() if part.strip())
    return text or type(exc).__name__
