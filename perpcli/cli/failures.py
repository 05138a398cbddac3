"""How every failure ends: one `perp: error: ...` line on stderr and the contract's exit code.

Shared by the Typer path (cli/main.py) and the Typer-free fast path (cli/fast.py), so both keep
the same contract. Imports nothing heavy.
"""

from __future__ import annotations

import sys

from perpcli.domain.errors import ExitCode, PerpError


def error_kind_word(code: int, kind: object = None) -> str:
    """`kind` of the JSON error object: the venue-neutral ErrorKind when the failure has one
    (`auth`, `rate_limited`, a rule such as `tick`...), else the exit code's name (`usage`,
    `network`, `risk`...)."""
    if kind is not None:
        return str(getattr(kind, "value", kind))
    try:
        return ExitCode(int(code)).name.lower()
    except ValueError:
        return "internal"


def fail(message: str, code: int, *, json_out: bool = False, kind: object = None) -> int:
    """Write the one-line error every failure path ends in and return its code. With --json
    the same error is also a JSON object on stdout, so a script reading only stdout sees
    `{"error": {"kind", "message", "exit_code"}}` instead of nothing."""
    message = " ".join(str(message).split())  # one line, always
    sys.stderr.write(f"perp: error: {message}\n")
    if json_out:
        import json

        doc = {"error": {"kind": error_kind_word(code, kind), "message": message, "exit_code": int(code)}}
        try:
            sys.stdout.write(json.dumps(doc, separators=(",", ":")) + "\n")
            sys.stdout.flush()
        except (OSError, ValueError, AttributeError):  # stdout closed: stderr already has it
            pass
    return int(code)


def exit_code_for(exc: BaseException, *, debug: bool, json_out: bool = False) -> int:
    """Report an exception the way the contract says and return the exit code.

    PerpError: its own message and code. Ctrl-C: 130. A closed pipe (`perp ... | head`): 0,
    quietly — the reader chose to stop reading, which is not a failure (141, the shell's SIGPIPE
    code, would fail every `set -o pipefail` script that takes the first lines). Anything else is a bug: one line, or the traceback with --debug.
    """
    if isinstance(exc, PerpError):
        if debug:
            _traceback(exc)
        # A command that already printed its results (orders, cancels) has its JSON document.
        printed = getattr(exc, "results_printed", False)
        return fail(exc.message, exc.exit_code, json_out=json_out and not printed, kind=exc.error_kind)
    if isinstance(exc, KeyboardInterrupt):
        sys.stderr.write("perp: interrupted\n")
        return int(ExitCode.INTERRUPTED)
    if isinstance(exc, BrokenPipeError):
        _detach_stdout()
        return int(ExitCode.OK)
    if debug:
        _traceback(exc)
        return int(ExitCode.INTERNAL)
    return fail(f"internal error: {type(exc).__name__}: {exc} (run with --debug for details)", ExitCode.INTERNAL,
                json_out=json_out)


def _detach_stdout() -> None:
    """The reader closed stdout: point it at /dev/null so the flush at exit (of what is still
    buffered) cannot fail and print `Exception ignored ... BrokenPipeError` or exit 120."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is not a real file (tests): nothing to flush
        pass


def _traceback(exc: BaseException) -> None:
    import traceback

    traceback.print_exception(exc)
