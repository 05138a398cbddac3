"""The agent's side of `perp watch` trading with the key the session holds (tui/session_trading.py).

The watch keeps everything a trader sees — plans, risk guards, previews, confirmations
(app/actions.py, the ticket) — and hands only the keyed Trading seam calls here: signing
(`prepare_*`) and sending (`send*`, `submit`). Each runs on a Trading built for the call from
the key held now, with the TradingOptions the watch would have signed with, and the nonce
allocator every perp process of that signer shares (keys/nonces.py), one at a time with the
agent's commands and algo steps (its run lock).

Nothing is signed unless the key the watch named is held here now (a lock drops it at once)
and still trades the account the watch shows: otherwise the answer is "not held", before any
signature. A result that cannot be written back after a send is reported as unknown, never
as done or failed, so the watch never resends it.

Where the venue signs its account reads too (Aster), the watch's reads of the account come here
as well (READING), signed with the same key and nonces. They are a screen's background polls,
not a trader's use: they neither count as commands served nor hold off the idle lock, as a
watch's reads on Hyperliquid (made in the watch itself) never reach the agent at all.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from perpcli.session import seam_codec

SIGNING = frozenset(("prepare_orders", "prepare_cancel", "prepare_leverage"))
# A collateral venue's close / flatten / cancel-all (Ostium: one transaction per cancel and per
# close, each close awaited until the keeper settles it), run here whole, as `perp --venue ostium
# flatten` runs through the session: its prepared requests carry calldata and the transaction
# journal's signed replacements, which are the venue adapter's own business, not the watch's.
COLLATERAL_FLATTEN = "collateral_flatten"
COLLATERAL_CANCEL = "collateral_cancel"  # chosen orders, each by its own transaction
# The ticket's open (a CollateralOrder and the watch's RiskLimits): quoted here with the held key's
# wallet and allowance, held to the guards, an approval first when short, the keeper awaited.
COLLATERAL_OPEN = "collateral_open"
SENDING = frozenset(("send_orders", "send_cancel", "send", "submit", COLLATERAL_FLATTEN, COLLATERAL_CANCEL,
                     COLLATERAL_OPEN))
# The account reads `perp watch` makes (tui/live.py, app/preview.py, app/actions.py), and the
# listenKey calls of Aster's account socket when the watch opens it itself.
READING = frozenset(("account", "positions", "open_orders", "leverage_setting", "fee_rates",
                     "listen_key", "keep_listen_key_alive"))
# A read of the venue's market side that needs the key: Aster's full leverage-bracket table (the
# venue's own rows, parsed by the watch as by any Aster process), which a Trading built for a key
# plugs into its market as `bracket_source`.
BRACKET_TABLE = "bracket_table"


def answer(agent: Any, request: dict) -> dict:
    method = str(request.get("method") or "")
    if method != "hello" and method not in SIGNING | SENDING | READING | {BRACKET_TABLE}:
        return {"failed": f"{method!r} is not a Trading call the session runs"}
    use = method not in READING | {BRACKET_TABLE}
    with agent._run_lock:  # one at a time with the agent's commands, feeds and algo steps
        if use:
            agent.state.last_used = time.time()
        try:
            reply = _call(request, method)
        finally:
            if use:
                agent.state.last_used = time.time()
    if method != "hello" and use:  # `perp session status` counts a watch's calls with the commands
        if reply.get("held") is False:
            agent.state.declined += 1
        else:
            agent.state.served += 1
    return reply


def _call(request: dict, method: str) -> dict:
    from perpcli.domain.errors import PerpError
    from perpcli.keys import sources

    try:
        trading = _held_trading(request)
        if trading is None:
            return {"held": False, "why": "the session holds no unlocked key " + repr(str(request.get("key")))}
        if method == "hello":  # which account the held key trades (the venue must know the key)
            trading.require_registered()
            result: Any = {"account": trading.account_address, "signer": trading.signer_address}
        elif trading.account_address.lower() != str(request.get("account") or "").lower():
            return {"held": False, "why": f"the session's key {request.get('key')!r} no longer trades "
                                          f"{request.get('account')}"}
        elif method in READING | {BRACKET_TABLE} and not trading.capabilities.signed_reads:
            return {"failed": f"{trading.venue} reads an account without its key: the watch reads it itself"}
        elif method == COLLATERAL_FLATTEN:
            result = _collateral_flatten(trading, **seam_codec.decode(request.get("kwargs") or {"$M": {}}))
        elif method == COLLATERAL_OPEN:
            result = _collateral_open(trading, *seam_codec.decode(request.get("args") or []))
        elif method == COLLATERAL_CANCEL:
            from perpcli.app import actions

            result, _ = actions.cancel(trading, list(seam_codec.decode(request.get("args") or [])[0]), dry_run=False)
        elif method == BRACKET_TABLE:
            source = getattr(trading.market, "bracket_source", None)
            if source is None:
                return {"failed": f"{trading.venue} has no keyed bracket table"}
            result = source()
        else:
            args = seam_codec.decode(request.get("args") or [])
            kwargs = seam_codec.decode(request.get("kwargs") or {"$M": {}})
            result = getattr(trading, method)(*args, **kwargs)
    except PerpError as e:
        return {"error": seam_codec.encode_error(e)}
    except Exception as e:  # noqa: BLE001 - a bug here must not look like a venue's answer
        sys.stderr.write(f"perp session: watch {method}: {type(e).__name__}: {e}\n")
        return {"unknown" if method in SENDING else "failed": f"{type(e).__name__}: {e}"}
    finally:
        sources.missed_key(reset=True)  # a key not held is answered here, not left for the next command
    try:
        return {"ok": True, "result": seam_codec.encode(result)}
    except TypeError as e:
        return {"unknown" if method in SENDING else "failed": f"the answer cannot be written back: {e}"}


def _collateral_flatten(trading: Any, *, underlying: str | None, cancel_orders: bool, close_trades: bool,
                        slippage_pct: Any) -> list[Any]:
    """The watch's close (one underlying's trades), cancel-all or flatten on a collateral venue,
    as tui/collateral_trader.py runs it without a session: the venue read now, then each cancel
    and each close (awaited) in turn. What each did, cancels first."""
    from perpcli.app import collateral

    side = collateral.collateral_side(trading)
    plan = collateral.flatten_plan(side, underlying=underlying)
    done = collateral.flatten(side, plan, venue=trading.venue, slippage_pct=slippage_pct, dry_run=False,
                              cancel_orders=cancel_orders, close_trades=close_trades)
    return [*done.cancels, *done.closes]


def _collateral_open(trading: Any, order: Any, limits: Any) -> list[Any]:
    """The watch's ticket open on a collateral venue, as tui/collateral_trader.py runs it without
    a session: quoted now, the guards, sent and awaited. What it did (one TradeResult)."""
    from perpcli.app import collateral
    from perpcli.app.risk import RiskLimits
    from perpcli.venues.base import CollateralOrder

    if not isinstance(order, CollateralOrder) or not isinstance(limits, RiskLimits):
        raise ValueError("a collateral open takes a CollateralOrder and RiskLimits")
    side = collateral.collateral_side(trading)
    q = collateral.quote(side, order)
    collateral.check_risk(limits, q)
    return collateral.open_trade(side, q, venue=trading.venue, dry_run=False, wait=True).results


def _held_trading(request: dict) -> Any:
    """The Trading of the key the watch named, as held now, or None (locked, or not this key)."""
    from perpcli.app.session import Session
    from perpcli.config import settings
    from perpcli.keys import sources
    from perpcli.keys.sources import KeyNotHeld

    reach = request.get("reach") or {}
    name = str(request.get("key") or "")
    options = seam_codec.decode(request.get("options"))
    if not name or not isinstance(options, seam_codec.TradingOptions):
        raise ValueError("a session trade names its key and options")
    session = Session.open(settings.current(), venue=str(reach.get("venue") or ""), url=reach.get("url") or None,
                           network=reach.get("network") or None)
    try:
        sources.check_binding(name, session.venue)
        try:
            signer = sources.unlock(name)  # the held key only: the agent serves held keys alone
        except KeyNotHeld:
            return None
        return session.market.trading(signer, options=options)
    finally:
        session.close()  # the agent's shared market stays open (app/session.py share_markets)
