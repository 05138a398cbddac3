"""`perp watch` trading with the key a running `perp session` agent holds: no passphrase here.

The smallest seam that changes nothing a trader sees: the TUI keeps its LiveTrader and the
whole app layer (plans, risk guards, previews, confirmations, bracket policy) exactly as
without a session, on a Trading whose reads are a reader's (the account's address, as
`--no-trading` reads it: no key in this process) and whose keyed calls — the ones
app/actions.py and the trader make: prepare_orders/cancel/leverage, send_orders, send_cancel,
send, submit — run in the agent on the key it holds, under its run lock and with the nonces
every perp process of that signer shares (session/trade_ops.py). Values cross as explicit JSON
(session/seam_codec.py), a venue's refusal and a PerpError come back as they would here.

A venue that signs its account reads (Aster) cannot be read from an address: there the
account reads the watch makes (account, positions, open orders, leverage setting, fee rates,
the full leverage-bracket table the margin preview uses, and the listenKey calls of its
account socket when the watch opens that socket itself) run in the agent too
(SignedReadsTrading). The account socket of an attached watch is opened by the agent itself.

On a venue of collateral x leverage trades (Ostium) the watch's trader keeps its own previews and
confirmations, reads the account from its address, and hands each open, close, flatten or
cancel-all to the agent whole (SessionCollateral): its transactions carry calldata, nonces and journal-held
replacements that are the adapter's own. Where the agent is locked, holds another key or does
not answer, the watch unlocks its key itself as without a session (cli/commands/watch.py).

When the agent goes while a call is out: a signing call reports it (nothing was sent); a
sending call cannot know, so its orders come back `unknown` (a cancel or an action raises
OutcomeUnknown) and nothing is ever sent again from here; a read fails as a network read does.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from typing import Any

from perpcli.domain.errors import AuthError, NetworkError, OutcomeUnknown, PerpError
from perpcli.session import protocol, seam_codec
from perpcli.venues.base import Ack, AckStatus, TradingOptions

CONNECT_TIMEOUT_S = 2.0
_LOST = ("the session agent ended before answering: {what} may have been sent; "
         "check the orders and fills before trying again")


# Keyed calls the watch never makes (the CLI makes them, through the agent's own commands).
_KEYED_ELSEWHERE = frozenset(("cancel", "modify", "set_leverage", "transfer"))


class NotHeld(AuthError):
    """The agent holds no unlocked key for this watch now (locked, or another key): nothing was signed."""


class _Link:
    """One agent request per Trading call (the socket's one-request-per-connection form)."""

    def __init__(self, reach: dict[str, Any], key: str, options: TradingOptions) -> None:
        self.base = {"v": protocol.VERSION, "op": "trade", "reach": reach, "key": key,
                     "options": seam_codec.encode(options), "account": ""}

    def call(self, method: str, args: Sequence[Any] = (), kwargs: dict[str, Any] | None = None,
             *, what: str = "", read: bool = False) -> Any:
        """`what` names what a sending call may have sent; `read`: a read, which changes nothing."""
        request = {**self.base, "method": method, "args": seam_codec.encode(list(args)),
                   "kwargs": seam_codec.encode(kwargs or {})}
        sock = _connect()
        if sock is None:
            raise NetworkError("the session agent is not answering" if read else
                               f"the session agent is not answering; nothing was {'sent' if what else 'signed'}")
        with sock:
            try:
                sock.sendall(protocol.encode(request))
                sock.shutdown(socket.SHUT_WR)
                reply = protocol.decode(protocol.read_all(sock))
            except (OSError, ValueError):
                if what:  # it may have reached the venue: never sent again, reported unknown
                    raise OutcomeUnknown(_LOST.format(what=what)) from None
                if read:
                    raise NetworkError(f"the session agent ended before answering the {method} read") from None
                raise NetworkError("the session agent ended before signing; nothing was sent") from None
        if reply.get("ok"):
            return seam_codec.decode(reply.get("result"))
        if isinstance(reply.get("error"), dict):
            raise seam_codec.decode_error(reply["error"])
        if reply.get("held") is False:
            raise NotHeld(f"{reply.get('why')}; nothing was signed — restart the session (`perp session stop`, "
                          "`perp session start`) or `perp watch` (which then unlocks the key itself)")
        if "unknown" in reply and what:
            raise OutcomeUnknown(f"{_LOST.format(what=what)} ({reply['unknown']})")
        why = reply.get("failed") or reply.get("unknown") or reply.get("error") or "no answer"
        raise RuntimeError(f"session agent: {why}")


def _connect() -> socket.socket | None:
    """A connection to this user's agent (its uid checked), or None."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(CONNECT_TIMEOUT_S)
        sock.connect(protocol.socket_path())
        if not protocol.peer_allowed(protocol.peer_uid(sock), os.getuid()):
            sock.close()
            return None
        sock.settimeout(None)  # a send takes as long as the venue (and settling a lost answer) does
        return sock
    except OSError:
        sock.close()
        return None


class SessionTrading:
    """A Trading whose keyed calls the session agent runs; everything else is the reader's."""

    via_session = True  # the watch names it in its status line; no key of its own to adopt elsewhere

    def __init__(self, reader: Any, link: _Link, account: str) -> None:
        self._reader = reader
        self._link = link
        link.base["account"] = account

    def __getattr__(self, name: str) -> Any:
        if name.startswith("prepare_") or name in _KEYED_ELSEWHERE:
            raise AttributeError(f"{name} is not signed through the session")  # never the reader's refusal
        return getattr(self._reader, name)  # venue, market, account_address, reads

    def prepare_orders(self, intents: Sequence[Any], *, grouping: str = "na") -> Any:
        return self._link.call("prepare_orders", [list(intents)], {"grouping": grouping})

    def send_orders(self, prepared: Any) -> list[Ack]:
        try:
            return self._link.call("send_orders", [prepared], what="the order")
        except OutcomeUnknown as e:  # each order's fate is unknown: shown so, settled by its cloid later
            return [Ack(AckStatus.UNKNOWN, cloid=cloid, error=e.message) for cloid, _ in prepared.requests]

    def submit(self, intents: Sequence[Any], *, grouping: str = "na") -> list[Ack]:
        return self.send_orders(self.prepare_orders(intents, grouping=grouping))

    def prepare_cancel(self, targets: Sequence[Any]) -> Any:
        return self._link.call("prepare_cancel", [list(targets)])

    def send_cancel(self, prepared: Any, targets: Sequence[Any]) -> list[Any]:
        return self._link.call("send_cancel", [prepared, list(targets)], what="the cancel")

    def prepare_leverage(self, market: str, leverage: int, *, cross: bool) -> Any:
        return self._link.call("prepare_leverage", [market, leverage], {"cross": cross})

    def send(self, prepared: Any) -> Any:
        return self._link.call("send", [prepared], what=f"the {prepared.kind} request")


class SessionCollateral(SessionTrading):
    """A collateral venue's Trading (Ostium) whose reads (the ticket's quotes too) are the
    address's, here, and whose open, close, flatten, cancel-all and cancels run whole in the agent
    (trade_ops.COLLATERAL_*); no single keyed seam call crosses."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("prepare_", "send")) or name in _KEYED_ELSEWHERE or name in (
                "submit", "modify", "await_settlement", "settle_earlier"):
            raise AttributeError(f"{name} is not signed through the session")
        return getattr(self._reader, name)

    def collateral_flatten(self, *, underlying: str | None, cancel_orders: bool, close_trades: bool,
                           slippage_pct: Any) -> list[Any]:
        return self._link.call("collateral_flatten", kwargs={
            "underlying": underlying, "cancel_orders": cancel_orders, "close_trades": close_trades,
            "slippage_pct": slippage_pct}, what="the close or cancel")

    def collateral_cancel(self, targets: Sequence[Any]) -> list[Any]:
        return self._link.call("collateral_cancel", [list(targets)], what="the cancel")

    def collateral_open(self, order: Any, limits: Any) -> list[Any]:
        """The ticket's open, quoted again and sent there. An agent gone mid-open may have sent
        it: the answer is then `unknown` (never an error a trader might retry), and nothing is
        sent again from here — the next command on the key settles it by hash."""
        from perpcli.app.collateral import TradeResult

        try:
            return self._link.call("collateral_open", [order, limits], what="the open")
        except OutcomeUnknown as e:
            return [TradeResult(venue=self.venue, market=order.symbol, side=order.side.value, type=order.kind,
                                status=AckStatus.UNKNOWN.value, collateral=order.collateral, leverage=order.leverage,
                                error=e.message)]


class SignedReadsTrading(SessionTrading):
    """A SessionTrading on a venue that signs its account reads (Aster): the reads the watch
    makes are the agent's too, signed with the key it holds (session/trade_ops.py READING)."""

    def __init__(self, reader: Any, link: _Link, account: str) -> None:
        super().__init__(reader, link, account)
        self._fees: Any = None
        if getattr(reader.market, "bracket_source", None) is not None:
            # Building the reader pointed the market's full bracket table at a read it cannot sign.
            reader.market.bracket_source = lambda: link.call("bracket_table", read=True)

    def _read(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._link.call(method, args, kwargs, read=True)

    def account(self, market: str | None = None) -> Any:
        return self._read("account", *([market] if market is not None else []))

    def positions(self, **kwargs: Any) -> Any:
        return self._read("positions", **kwargs)

    def open_orders(self, **kwargs: Any) -> list[Any]:
        return self._read("open_orders", **kwargs)

    def leverage_setting(self, market: str) -> Any:
        return self._read("leverage_setting", market)

    def fee_rates(self) -> Any:
        if self._fees is None:  # asked once, as the adapter asks once per Trading
            self._fees = self._read("fee_rates")
        return self._fees

    def listen_key(self) -> str:
        return self._read("listen_key")

    def keep_listen_key_alive(self) -> None:
        self._read("keep_listen_key_alive")


class SignedReadsOnly(SignedReadsTrading):
    """`perp watch --no-trading` on a venue that signs its account reads: the agent signs the
    reads; nothing that signs an order, a cancel or an action is ever asked of it from here."""

    via_session = False  # nothing of this watch's is signed by the session but its reads

    def _refused(self, *_: Any, **__: Any) -> Any:
        raise AuthError("read-only (--no-trading): nothing is signed from this watch")

    prepare_orders = send_orders = submit = prepare_cancel = send_cancel = prepare_leverage = send = _refused


def held_by_session(session: Any, *, read_only: bool = False) -> SessionTrading | None:
    """The watch's Trading on the key the session agent holds for this account, or None: no
    agent, a venue where the split is not exact, or an agent that is locked or holds another
    key (then the watch unlocks the key itself, as without a session). `session` is the
    command's app/session.Session; its key is never unlocked here. `read_only`
    (`--no-trading`): only a venue that signs its account reads needs the agent (elsewhere the
    address alone reads the account): its reads are signed there, and nothing else."""
    from perpcli.app.collateral import uses_collateral_orders
    from perpcli.keys import sources
    from perpcli.keys.watch_only import WatchOnly

    if not os.path.exists(protocol.socket_path()) or session.watch_only:
        return None
    md = session.market
    caps = md.capabilities
    collateral = uses_collateral_orders(caps)  # its closes and cancels cross whole (SessionCollateral)
    if read_only and (collateral or not caps.signed_reads or session.address):
        return None  # an address reads the account here (or is refused here, on Aster), keyless
    if not (collateral or caps.signed_reads) and getattr(md.live_feed(), "account_socket", None):
        return None  # a keyed account socket whose calls only a venue signing its reads forwards
    try:
        name = sources.stored_key_name(session.account, venue=session.venue)
    except PerpError:
        return None  # the local path says why, as it always has
    if name is None:
        return None  # a key in the environment: nothing to unlock here
    config = session.choice.config
    options = session._options()  # the options this watch would sign with, sent for the agent to use
    link = _Link({"venue": config.name, "url": config.url, "network": config.network}, name, options)
    try:
        who = link.call("hello")
    except (NotHeld, NetworkError, RuntimeError):
        return None  # not held, not answering, or an agent that does not take this call
    # Any other refusal (the venue does not know the key) is the watch's, as if unlocked here.
    reader = md.trading(WatchOnly(who["signer"], name=name), options=options)
    if reader.account_address.lower() != str(who["account"]).lower():
        return None
    if collateral:
        kind: type[SessionTrading] = SessionCollateral
    elif caps.signed_reads:
        kind = SignedReadsOnly if read_only else SignedReadsTrading
    else:
        kind = SessionTrading
    return kind(reader, link, who["account"])
