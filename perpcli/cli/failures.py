"""How every failure ends: one `perp: error: ...` line on stderr and the contract's exit code.

Shared by the Typer path (cli/main.py) and the Typer-free fast path (cli/fast.py), so both keep
the same contract. Imports nothing heavy.
"""

from __future__ import annotations

import sys

from perpcli.domain.errors import ExitCode, PerpError


def fail(message: str, code: int) -> int:
    """Write the one-line error every failure path ends in and return its code."""
    message = " ".join(str(message).split())  # one line, always
    sys.stderr.write(f"perp: error: {message}\n")
    return int(code)


def exit_code_for(exc: BaseException, *, debug: bool) -> int:
    """Report an exception the way the contract says and return the exit code.

    PerpError: its own message and code. Ctrl-C: 130. A closed pipe (`perp ... | head`): 0,
    quietly. Anything else is a bug: one line, or the traceback with --debug.
    """
    if isinstance(exc, PerpError):
        if debug:
            _traceback(exc)
        return fail(exc.message, exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        sys.stderr.write("perp: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, BrokenPipeError):
        try:
            sys.stdout = None  # type: ignore[assignment]  # nothing more can be written there
        except Exception:
            pass
        return int(ExitCode.OK)
    if debug:
        _traceback(exc)
        return int(ExitCode.INTERNAL)
    return fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", ExitCode.INTERNAL)


def _traceback(exc: BaseException) -> None:
    import traceback

    traceback.print_exception(exc)
