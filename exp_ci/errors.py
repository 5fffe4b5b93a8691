"""The one error type for user mistakes, and the handler that turns it into exit code 2.

A `UserError` is something the user can fix: bad input, a missing file, a repository that
is not what we need. Its message says what went wrong, where, and how to fix it. Anything
else that escapes a command is a bug in exp-ci and is reported as such.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_BUG = 3

BUG_REPORT_HINT = "This is a bug in exp-ci; please report it with the command you ran."


class UserError(Exception):
    """Input or environment is wrong; the message tells the user how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def run_guarded(command: Callable[[], int], *, verbose: bool = False) -> int:
    """Run a command; map user errors to exit 2 and unexpected errors to a bug message.

    In GitHub Actions everything printed meanwhile, the error messages too (they quote keys
    and YAML from the repository), passes the output layer (`exp_ci.output`).
    """
    from exp_ci.output import guarded_streams

    with guarded_streams(os.environ):
        return _run(command, verbose)


def _run(command: Callable[[], int], verbose: bool) -> int:
    try:
        return command()
    except UserError as error:
        print(f"exp-ci: error: {error.message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("exp-ci: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `exp-ci show | head` closes stdout early; that is not an error.
        return EXIT_OK
    except Exception as error:
        if verbose:
            import traceback

            traceback.print_exc()
        print(
            f"exp-ci: internal error: {type(error).__name__}: {error}\n{BUG_REPORT_HINT}"
            + ("" if verbose else " Rerun with -v for the traceback."),
            file=sys.stderr,
        )
        return EXIT_BUG
