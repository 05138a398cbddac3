"""`perp batch`: NDJSON orders on stdin, one NDJSON result per order on stdout.

Each input line is an object such as
  {"side":"buy","market":"BTC","size":"0.01","limit":"65000"}
  {"side":"sell","market":"ETH","usd":"500","market_order":true,"slippage":"0.5%"}
with the same fields as `perp buy/sell` flags (limit, market_order, stop, slippage, tp, sl,
reduce_only, post_only, ioc, cloid, usd, risk). A malformed line gets {"line":n,"status":"invalid",
"error":...,"error_kind":...} ("refused" for a risk guard, "error" for a key or network failure)
and the rest continue; `error_kind` names a broken market rule as the venue's refusal would.
The exit code is the worst outcome: 6 unknown, 3 rejected, 2 invalid input, else 0. One session
(one key check, one metadata fetch) serves every line.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from perpcli.cli import context, output, venue_cmd
from perpcli.domain.errors import ExitCode, PerpError, UsageError

_FIELDS = {"side", "market", "size", "usd", "risk", "limit", "market_order", "stop", "slippage", "tp", "sl",
           "reduce_only", "post_only", "ioc", "cloid"}


def _text(v: Any, what: str) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool) or isinstance(v, float):
        raise UsageError(f"{what} must be a decimal string (floats are inexact), got {v!r}")
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    raise UsageError(f"{what} must be a string, got {type(v).__name__}")


def request_from_json(obj: Any, check_cloid: Callable[[str], str]) -> Any:
    """One NDJSON line -> an OrderRequest; `check_cloid` is the venue's client-id rule."""
    from perpcli.app import order_plan
    from perpcli.domain.orders import Side

    if not isinstance(obj, dict):
        raise UsageError("each line must be a JSON object")
    unknown = set(obj) - _FIELDS
    if unknown:
        raise UsageError(f"unknown field(s): {', '.join(sorted(unknown))}")
    side = obj.get("side")
    if side not in ("buy", "sell"):
        raise UsageError("side must be buy or sell")
    market = obj.get("market")
    if not isinstance(market, str) or not market:
        raise UsageError("market is required")
    for flag in ("market_order", "reduce_only", "post_only", "ioc"):
        if flag in obj and not isinstance(obj[flag], bool):
            raise UsageError(f"{flag} must be true or false")
    size = order_plan.parse_size(_text(obj.get("size"), "size"), usd=_text(obj.get("usd"), "usd"),
                                 risk=_text(obj.get("risk"), "risk"))
    price = order_plan.parse_price_flags(limit=_text(obj.get("limit"), "limit"), market=bool(obj.get("market_order")),
                                         stop=_text(obj.get("stop"), "stop"), slippage=_text(obj.get("slippage"), "slippage"))
    tp, sl = _text(obj.get("tp"), "tp"), _text(obj.get("sl"), "sl")
    cloid = _text(obj.get("cloid"), "cloid")
    return order_plan.OrderRequest(
        market=market, side=Side(side), size=size, price=price,
        tp=order_plan.parse_decimal(tp, what="tp") if tp else None,
        sl=order_plan.parse_decimal(sl, what="sl") if sl else None,
        reduce_only=bool(obj.get("reduce_only")), post_only=bool(obj.get("post_only")), ioc=bool(obj.get("ioc")),
        cloid=check_cloid(cloid) if cloid else None,
    )


MAX_LINE_BYTES = 64 * 1024  # one order is a few hundred bytes; a longer line is refused, not parsed


def _lines():
    """stdin as text lines, one at a time; bytes that are not UTF-8 make that line invalid
    instead of ending the batch (text mode would raise in the middle of the loop)."""
    stream = getattr(sys.stdin, "buffer", None)
    if stream is None:  # already text (tests, some embedders)
        yield from sys.stdin
        return
    for raw in stream:
        yield raw.decode("utf-8", "replace")


def _parse_line(line: str) -> Any:
    if len(line) > MAX_LINE_BYTES:
        raise UsageError(f"line longer than {MAX_LINE_BYTES} bytes")
    if "\ufffd" in line:
        raise UsageError("line is not UTF-8 text")
    return json.loads(line, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise UsageError(f"{name} is not a number")


def run_batch() -> None:
    from perpcli.app import actions
    from perpcli.app.risk import RiskLimits
    from perpcli.config import settings

    opts = context.current()
    if not opts.dry_run and not opts.yes:
        raise UsageError("perp batch places orders: pass --yes (or --dry-run)")
    limits = RiskLimits.from_settings(settings.current())
    worst = ExitCode.OK
    with venue_cmd.session() as s:
        trading = s.trading()
        for n, line in enumerate(_lines(), start=1):
            if not line.strip():
                continue
            try:
                req = request_from_json(_parse_line(line), s.market.check_client_id)
                plan = actions.plan(s, trading, req)
                actions.check_risk(limits, plan)
                outcome = actions.place(s, trading, plan, dry_run=opts.dry_run,
                                        bracket_policy=limits.on_bracket_failure)
            except json.JSONDecodeError as e:
                output.emit_ndjson({"line": n, "status": "invalid", "error": f"not JSON: {e.msg}", "error_kind": None})
                worst = max(worst, ExitCode.USAGE, key=_severity)
                continue
            except (ValueError, ArithmeticError, RecursionError) as e:  # odd input the grammar did not name
                output.emit_ndjson({"line": n, "status": "invalid", "error": f"bad line: {type(e).__name__}",
                                    "error_kind": None})
                worst = max(worst, ExitCode.USAGE, key=_severity)
                continue
            except PerpError as e:
                status = {ExitCode.RISK: "refused", ExitCode.USAGE: "invalid"}.get(e.exit_code, "error")
                output.emit_ndjson({"line": n, "status": status, "error": e.message, "error_kind": e.error_kind})
                worst = max(worst, e.exit_code, key=_severity)
                continue
            for w in outcome.warnings:
                output.warn(f"line {n}: {w}")
            for r in outcome.results:
                doc = r.to_json()
                doc["line"] = n
                output.emit_ndjson(doc)
            if opts.dry_run:
                output.emit_ndjson({"line": n, "dry_run": True, "requests": outcome.requests})
            line_code = ExitCode.UNKNOWN_OUTCOME if outcome.unknown_step else actions.exit_code_for(outcome.results)
            worst = max(worst, line_code, key=_severity)
    if worst != ExitCode.OK:
        venue_cmd.exit_with(int(worst), f"batch finished with failures (worst exit {int(worst)}); see the result lines")


_ORDER = [ExitCode.OK, ExitCode.USAGE, ExitCode.RISK, ExitCode.REJECTED, ExitCode.AUTH, ExitCode.NETWORK,
          ExitCode.UNKNOWN_OUTCOME]


def _severity(code: int) -> int:
    return _ORDER.index(code) if code in _ORDER else len(_ORDER)
