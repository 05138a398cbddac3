"""The Aster face of a running devnet: HTTP glue (faults, weights, headers) and market streams.

REST lives at the venue's own paths, `/fapi/v3/...`, beside the Hyperliquid face's /info and
/exchange. Websockets: `/ws/<stream>` (raw), `/stream?streams=a/b` (combined, wrapped in
`{"stream", "data"}`) and `/ws/<listenKey>` (the user-data stream of the key's account on this
face, never its Hyperliquid-face account: ORDER_TRADE_UPDATE per order
change and per fill, ACCOUNT_UPDATE with the new balance after fills and funding, and the
positions the fills moved); the bare `/ws` belongs to
the Hyperliquid face, so the Aster face also answers all of these under `/aster`
(`/aster/ws` takes SUBSCRIBE like the venue's bare `/ws`) — the `aster-devnet` venue connects
there.

Market streams: diff depth, partial depth (`<s>@depth5|10|20[@100ms]`, the top levels whole),
`@bookTicker`, `@aggTrade`, `@markPrice[@1s]` and `@ticker` (24h); the venue pushes the
partial books and tickers on a timer, the face at each change and once on subscription.
`/api/v3/...` (the venue's spot API, another host there) answers an empty market list.

Diff depth (`<s>@depth@100ms`): every published change of a book gets the next update id u
(U = u, pu = the previous u). A REST depth snapshot takes a fresh id and publishes it as a
(possibly empty) diff, so a client subscribed before it asked always holds the diff that
bridges its snapshot (U <= lastUpdateId <= u), as the venue's sync recipe requires.
"""

from __future__ import annotations

import asyncio
import json
import logging
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from perpcli.devnet import faults as fault_kinds
from perpcli.devnet import records as r
from perpcli.devnet.aster.desk import SPOT_V3, V3, AsterDesk, _plain, agg_trade, weight
from perpcli.devnet.aster.markets import symbol_of
from perpcli.devnet.ratelimit import WeightBudget
from perpcli.devnet.transport import HttpRequest, HttpResponse, WsApp, WsConnection

log = logging.getLogger("perpcli.devnet")
PREFIX = "/aster"
BOOK_DEPTH = 1000
PARTIAL_DEPTHS = {"depth5": 5, "depth10": 10, "depth20": 20}  # `<s>@depth<N>[@100ms|@250ms|@500ms]`
SILENCE_SECONDS = 3600.0


def _json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class AsterFace(WsApp):
    """The desk, its weight budget, and the stream connections of the Aster face."""

    def __init__(self, app, *, is_mainnet: bool, weight_limit: int = 0) -> None:
        self.app = app
        self.desk = AsterDesk(app.engine, is_mainnet=is_mainnet)
        self.desk.depth_ids = self.snapshot_id
        self.weights = WeightBudget(weight_limit)
        self.weight_limit = weight_limit
        self.connections: set[WsConnection] = set()
        self._seq: dict[str, int] = {}
        self._levels: dict[str, tuple[dict, dict]] = {}

    # ----- HTTP ----------------------------------------------------------------------------------

    def owns_path(self, path: str) -> bool:
        if path.startswith(PREFIX + "/"):
            path = path[len(PREFIX):]
        return path.startswith(V3) or path.startswith(SPOT_V3)

    async def handle_http(self, req: HttpRequest) -> HttpResponse:
        path = req.path[len(PREFIX):] if req.path.startswith(PREFIX + "/") else req.path
        faults = self.app.faults
        is_action = req.method != "GET"
        fate = faults.request_fate(is_action=is_action)
        delay = faults.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        if fate == fault_kinds.REJECT_429:
            return HttpResponse(429, _json({"code": -1003, "msg": "Too many requests."}))
        if fate == fault_kinds.REJECT_5XX:
            return HttpResponse(503, _json({"code": -1001, "msg": "Internal error; unable to process your request."}))
        now = self.app.now_ms()
        headers: tuple[tuple[str, str], ...] = ()
        if self.weight_limit:
            if not self.weights.allow(req.peer_host, weight(req.method, path), now):
                return HttpResponse(429, _json({"code": -1003, "msg": "Too many requests; please use the websocket "
                                                "for live updates."}), headers=(("Retry-After", "60"),))
            used = self.weights._totals.get(req.peer_host, 0)
            headers = (("X-MBX-USED-WEIGHT-1M", str(used)),)
        try:
            status, answer = self.desk.handle(req.method, path, req.query, req.body, now)
        finally:
            self.app.publish()
        if fate == fault_kinds.EXECUTE_THEN_SILENCE:
            await asyncio.sleep(SILENCE_SECONDS)
        return HttpResponse(status, _json(answer), headers=headers, hang=fate != fault_kinds.PASS)

    # ----- websocket routing ---------------------------------------------------------------------

    def ws_route(self, target: str) -> WsApp | None:
        path = urlsplit(target).path
        if path.startswith(PREFIX + "/"):
            path = path[len(PREFIX):]
        elif path == "/ws":
            return None  # the Hyperliquid face's
        if path == "/ws" or path.startswith("/ws/") or path == "/stream":
            return self
        return None

    def on_open(self, conn: WsConnection) -> None:
        self.connections.add(conn)
        parts = urlsplit(conn.path)
        path = parts.path[len(PREFIX):] if parts.path.startswith(PREFIX + "/") else parts.path
        conn.subscriptions = {}
        conn.combined = path == "/stream"  # type: ignore[attr-defined]
        conn.listen_user = None  # type: ignore[attr-defined]
        names: list[str] = []
        if path == "/stream":
            names = [n for n in (parse_qs(parts.query).get("streams") or [""])[0].split("/") if n]
        elif path.startswith("/ws/"):
            rest = path[len("/ws/"):]
            owner = self.desk.listen_keys.get(rest)
            if owner is not None:
                conn.listen_user = owner[0]  # type: ignore[attr-defined]
                conn.listen_key = rest  # type: ignore[attr-defined]
            else:
                names = [n for n in rest.split("/") if n]
        for name in names:
            self._add(conn, name)
        for name in names:
            self._first_frame(conn, name)

    def on_close(self, conn: WsConnection) -> None:
        self.connections.discard(conn)
        conn.subscriptions.clear()

    async def on_text(self, conn: WsConnection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict) or not isinstance(msg.get("params", []), list):
            conn.send_text(_json({"error": {"code": 3, "msg": "Invalid JSON: expected an object"}, "id": None}))
            return
        method, ident = msg.get("method"), msg.get("id")
        if method == "SUBSCRIBE":
            bad = [p for p in msg.get("params", []) if not isinstance(p, str) or self._parse(p) is None]
            if bad:
                conn.send_text(_json({"error": {"code": 2, "msg": f"Invalid request: unknown stream {bad[0]!r}"},
                                      "id": ident}))
                return
            for name in msg["params"]:
                self._add(conn, name)
            conn.send_text(_json({"result": None, "id": ident}))
            for name in msg["params"]:
                self._first_frame(conn, name)
        elif method == "UNSUBSCRIBE":
            for name in msg.get("params", []):
                conn.subscriptions.pop(name, None)
            conn.send_text(_json({"result": None, "id": ident}))
        elif method == "LIST_SUBSCRIPTIONS":
            conn.send_text(_json({"result": sorted(conn.subscriptions), "id": ident}))
        else:
            conn.send_text(_json({"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"},
                                      "id": ident}))

    def _parse(self, name: str) -> tuple[str, str] | None:
        """(kind, engine coin) of a stream name, or None when this face does not serve it."""
        sym, _, kind = name.partition("@")
        m = self.desk.markets.by_symbol.get(sym.upper())
        if m is None:
            return None
        if kind in ("depth", "depth@100ms", "depth@500ms", "depth@0ms"):
            return "depth", m.name
        base, _, speed = kind.partition("@")
        if base in PARTIAL_DEPTHS and speed in ("", "100ms", "250ms", "500ms"):
            return base, m.name  # partial book: the top N levels, whole, at each change
        if kind in ("aggTrade", "bookTicker", "markPrice", "markPrice@1s", "ticker"):
            return base, m.name
        return None

    def _first_frame(self, conn: WsConnection, name: str) -> None:
        """Streams the venue pushes on a timer (partial books, 24h tickers, mark prices) send
        their current state at once on subscription here, then at each change — a subscriber
        has its first frame without waiting for the market to move."""
        parsed = conn.subscriptions.get(name)
        if parsed is None:
            return
        event = self._state_event(*parsed, self.app.now_ms())
        if event is not None:
            conn.send_text(_json({"stream": name, "data": event}) if conn.combined else _json(event))  # type: ignore[attr-defined]

    def _state_event(self, kind: str, coin: str, now: int) -> dict | None:
        engine = self.app.engine
        if kind in PARTIAL_DEPTHS:
            snap = engine.l2_book(coin, depth=PARTIAL_DEPTHS[kind])
            seq = self._seq.get(coin) or now * 1000
            return {"e": "depthUpdate", "E": now, "T": now, "s": symbol_of(coin), "U": seq, "u": seq, "pu": seq - 1,
                    "b": [[_plain(lv.px), _plain(lv.sz)] for lv in snap.bids],
                    "a": [[_plain(lv.px), _plain(lv.sz)] for lv in snap.asks]}
        if kind == "ticker":
            t = self.desk.get_ticker_24hr({"symbol": symbol_of(coin)}, now)
            return {"e": "24hrTicker", "E": now, "s": t["symbol"], "p": t["priceChange"], "P": t["priceChangePercent"],
                    "w": t["weightedAvgPrice"], "c": t["lastPrice"], "Q": t["lastQty"], "o": t["openPrice"],
                    "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"], "q": t["quoteVolume"],
                    "O": t["openTime"], "C": t["closeTime"], "F": t["firstId"], "L": t["lastId"], "n": t["count"]}
        if kind == "markPrice":
            p = self.desk._premium(engine.markets.perp_by_name(coin), now)
            return {"e": "markPriceUpdate", "E": now, "s": p["symbol"], "p": p["markPrice"], "i": p["indexPrice"],
                    "P": p["estimatedSettlePrice"], "r": p["lastFundingRate"], "T": p["nextFundingTime"]}
        return None

    def _add(self, conn: WsConnection, name: str) -> None:
        parsed = self._parse(name)
        if parsed is None:
            return
        conn.subscriptions[name] = parsed
        if parsed[0] == "depth":
            self._sync(parsed[1], force=False)  # a baseline for the diffs that follow

    # ----- pushes --------------------------------------------------------------------------------

    def snapshot_id(self, coin: str) -> int:
        return self._sync(coin, force=True)

    def _sync(self, coin: str, *, force: bool) -> int:
        snap = self.app.engine.l2_book(coin, depth=BOOK_DEPTH)
        bids = {lv.px: lv.sz for lv in snap.bids}
        asks = {lv.px: lv.sz for lv in snap.asks}
        old = self._levels.get(coin)
        prev = self._seq.get(coin, 0)
        if old is None:
            self._levels[coin] = (bids, asks)
            self._seq[coin] = prev = self.app.now_ms() * 1000
            if not force:
                return prev
            old = (bids, asks)
        b = _changes(old[0], bids)
        a = _changes(old[1], asks)
        if not b and not a and not force:
            return prev
        seq = prev + 1
        self._seq[coin] = seq
        self._levels[coin] = (bids, asks)
        now = self.app.now_ms()
        event = {"e": "depthUpdate", "E": now, "T": now, "s": symbol_of(coin), "U": seq, "u": seq, "pu": prev,
                 "b": b, "a": a}
        self._push(("depth", coin), event)
        return seq

    def _push(self, key: tuple[str, str], event: dict) -> None:
        for conn in list(self.connections):
            names = [n for n, k in conn.subscriptions.items() if k == key]
            if not names:
                continue
            out = [_json({"stream": n, "data": event}) if conn.combined else _json(event)  # type: ignore[attr-defined]
                   for n in names]
            send, conn.held_frames = self.app.faults.disturb_frames(out, conn.held_frames)
            for f in send:
                conn.send_text(f)

    def publish(self, events: list) -> None:
        if not self.connections or not events:
            return
        self.expire_listen_keys(self.app.now_ms())
        listeners = {c.listen_user for c in self.connections if c.listen_user}  # type: ignore[attr-defined]
        if listeners:
            self._publish_user(events, listeners)
        wanted = {k for c in self.connections for k in c.subscriptions.values()}
        if not wanted:
            return
        now = self.app.now_ms()
        engine = self.app.engine
        for ev in events:
            if isinstance(ev, r.BookChanged):
                if ("depth", ev.coin) in wanted:
                    self._sync(ev.coin, force=False)
                for kind in PARTIAL_DEPTHS:
                    if (kind, ev.coin) in wanted:
                        self._push((kind, ev.coin), self._state_event(kind, ev.coin, now))
                if ("bookTicker", ev.coin) in wanted:
                    tick = self.desk._book_ticker(engine.markets.perp_by_name(ev.coin), now)
                    self._push(("bookTicker", ev.coin), {"e": "bookTicker", "u": now, "E": now, "T": now,
                                                         "s": tick["symbol"], "b": tick["bidPrice"],
                                                         "B": tick["bidQty"], "a": tick["askPrice"],
                                                         "A": tick["askQty"]})
            elif isinstance(ev, r.TradesPrinted) and ("aggTrade", ev.coin) in wanted:
                for t in ev.trades:
                    row = agg_trade(t)
                    self._push(("aggTrade", ev.coin), {"e": "aggTrade", "E": now, "s": symbol_of(ev.coin), **row})
            elif isinstance(ev, r.PricesChanged):
                for kind, coin in sorted(wanted):
                    if kind in ("markPrice", "ticker"):
                        self._push((kind, coin), self._state_event(kind, coin, now))


    # ----- the user-data stream (listenKey) -------------------------------------------------

    def expire_listen_keys(self, now: int, *, user: str | None = None) -> int:
        """End listenKeys past their 60 minutes (or, with `user`, that user's key now, a test
        hook): as the venue does, the key is forgotten and its sockets get `listenKeyExpired`
        and nothing more (they stay open, silent). Returns how many keys ended."""
        keys = self.desk.listen_keys
        ended = [k for k, (u, until) in keys.items() if (u == user if user is not None else until <= now)]
        for key in ended:
            owner, _ = keys.pop(key)
            frame = _json({"e": "listenKeyExpired", "E": now, "listenKey": key})
            for conn in list(self.connections):
                if getattr(conn, "listen_key", None) == key:
                    conn.send_text(frame)
                    conn.listen_user = None  # type: ignore[attr-defined]
                    conn.listen_key = None  # type: ignore[attr-defined]
        return len(ended)

    def _publish_user(self, events: list, listeners: set[str]) -> None:
        now = self.app.now_ms()
        out: dict[str, list[dict]] = {}
        balances: dict[str, dict[str, None]] = {}  # user -> coins whose position moved (ordered)
        for ev in events:
            user = getattr(ev, "user", None)
            if user not in listeners:
                continue
            if isinstance(ev, r.OrderUpdates):
                for rec in ev.updates:
                    if (rec.status == "filled" or symbol_of(rec.order.coin) not in self.desk.markets.by_symbol
                            or self.app.engine.order_status(user, rec.order.oid) is None):
                        continue  # a fill is announced by its TRADE event
                    row = self.desk.order_row(user, rec.order.oid)
                    x = "NEW" if rec.status == "open" else ("EXPIRED" if row["status"] == "EXPIRED" else "CANCELED")
                    status = row["status"] if rec.status == "open" else x
                    out.setdefault(user, []).append(_order_event(row, x, status, now))
            elif isinstance(ev, r.UserFills):
                for f in ev.fills:
                    if (symbol_of(f.coin) not in self.desk.markets.by_symbol
                            or self.app.engine.order_status(user, f.oid) is None):
                        continue
                    row = self.desk.order_row(user, f.oid)
                    event = _order_event(row, "TRADE", row["status"], now)
                    event["o"].update({"l": _plain(f.sz), "L": _plain(f.px), "n": _plain(f.fee), "N": "USDT",
                                       "t": f.tid, "m": not f.crossed, "rp": _plain(f.closed_pnl), "T": f.time})
                    out.setdefault(user, []).append(event)
                    balances.setdefault(user, {})[f.coin] = None
                balances.setdefault(user, {})
            elif isinstance(ev, r.UserFunding | r.UserLedger):
                balances.setdefault(user, {})
        for user, coins in balances.items():
            bal = self.desk.get_balance({}, user, now)[0]
            out.setdefault(user, []).append({"e": "ACCOUNT_UPDATE", "E": now, "T": now, "a": {
                "m": "ORDER", "B": [{"a": "USDT", "wb": bal["balance"], "cw": bal["crossWalletBalance"],
                                    "bc": "0"}],
                "P": [self._position_update(user, coin, now) for coin in coins]}})
        for conn in list(self.connections):
            frames = out.get(conn.listen_user)  # type: ignore[attr-defined]
            if frames:
                send, conn.held_frames = self.app.faults.disturb_frames([_json(f) for f in frames], conn.held_frames)
                for f in send:
                    conn.send_text(f)


    def _position_update(self, user: str, coin: str, now: int) -> dict:
        """ACCOUNT_UPDATE's entry for a position a fill moved (flat positions included, at 0)."""
        (row,) = self.desk.get_positionRisk({"symbol": symbol_of(coin)}, user, now)
        realized = sum((f.closed_pnl for f in self.app.engine.user_fills(user) if f.coin == coin), Decimal(0))
        return {"s": row["symbol"], "pa": row["positionAmt"], "ep": row["entryPrice"], "bep": row["entryPrice"],
                "cr": _plain(realized), "up": row["unRealizedProfit"], "mt": row["marginType"], "iw": row["isolatedWallet"],
                "ps": "BOTH"}


def _order_event(row: dict, execution: str, status: str, now: int) -> dict:
    return {"e": "ORDER_TRADE_UPDATE", "E": now, "T": now, "o": {
        "s": row["symbol"], "c": row["clientOrderId"], "S": row["side"], "o": row["type"], "f": row["timeInForce"],
        "q": row["origQty"], "p": row["price"], "ap": row["avgPrice"], "sp": row["stopPrice"], "x": execution,
        "X": status, "i": row["orderId"], "l": "0", "z": row["executedQty"], "L": "0", "T": now, "t": 0,
        "b": "0", "a": "0", "m": False, "R": row["reduceOnly"], "wt": row["workingType"], "ot": row["origType"],
        "ps": "BOTH", "cp": row["closePosition"], "rp": "0"}}


def _changes(old: dict, new: dict) -> list[list[str]]:
    out = [[_plain(px), _plain(sz)] for px, sz in new.items() if old.get(px) != sz]
    out.extend([_plain(px), "0"] for px in old if px not in new)
    return out
