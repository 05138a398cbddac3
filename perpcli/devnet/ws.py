"""The /ws face: greeting, subscribe/unsubscribe acks, ping/pong, `post`, and channel pushes (§c).

`WsHub` keeps each connection's subscriptions and turns engine events into the venue's frames.
Every pushed message is `{"channel": …, "data": …}`; snapshot channels send the current state
(or recent history with `isSnapshot: true`) right after the ack, then updates. Messages of
`orderUpdates` and `userEvents` (channel `user`) carry no user, so they only ever reach the
connection that subscribed for that user. The venue's per-IP limits apply: at most 1000
subscriptions and 10 distinct users across user-specific subscriptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict

from perpcli.devnet import faults as fault_kinds
from perpcli.devnet import records as r
from perpcli.devnet import render
from perpcli.devnet.exchange import BadBody
from perpcli.devnet.transport import WsApp, WsConnection

log = logging.getLogger("perpcli.devnet")

GREETING = "Websocket connection established."
MAX_SUBSCRIPTIONS_PER_IP = 1000
MAX_USERS_PER_IP = 10

# Subscription type -> (required keys, optional keys, channel name).
SUBSCRIPTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "allMids": ((), ("dex",), "allMids"),
    "l2Book": (("coin",), ("nSigFigs", "mantissa", "fast"), "l2Book"),
    "trades": (("coin",), (), "trades"),
    "bbo": (("coin",), (), "bbo"),
    "candle": (("coin", "interval"), (), "candle"),
    "activeAssetCtx": (("coin",), (), "activeAssetCtx"),
    "orderUpdates": (("user",), (), "orderUpdates"),
    "userFills": (("user",), ("aggregateByTime",), "userFills"),
    "userEvents": (("user",), (), "user"),
    "userFundings": (("user",), (), "userFundings"),
    "userNonFundingLedgerUpdates": (("user",), (), "userNonFundingLedgerUpdates"),
    "clearinghouseState": (("user",), ("dex",), "clearinghouseState"),
    "openOrders": (("user",), ("dex",), "openOrders"),
    "webData2": (("user",), (), "webData2"),
    "notification": (("user",), (), "notification"),
    "activeAssetData": (("user", "coin"), (), "activeAssetData"),
    "spotState": (("user",), (), "spotState"),
    "webData3": (("user",), (), "webData3"),
    "twapStates": (("user",), ("dex",), "twapStates"),
    "userTwapSliceFills": (("user",), (), "userTwapSliceFills"),
    "userTwapHistory": (("user",), (), "userTwapHistory"),
    "userHistoricalOrders": (("user",), (), "userHistoricalOrders"),
}


def frame(channel: str, data) -> str:
    return json.dumps({"channel": channel, "data": data}, separators=(",", ":"))


class Subscription:
    """One accepted subscription: the object as the client sent it plus its parsed fields."""

    __slots__ = (
        "original", "type", "coin", "user", "dex", "interval", "n_sig_figs", "mantissa", "depth", "key", "last"
    )

    def __init__(self, original: dict) -> None:
        self.original = original
        self.type: str = original["type"]
        self.coin: str | None = original.get("coin")
        user = original.get("user")
        self.user: str | None = user.lower() if isinstance(user, str) else None
        self.dex: str = original.get("dex") or ""
        self.interval: str | None = original.get("interval")
        self.n_sig_figs: int | None = original.get("nSigFigs")
        self.mantissa: int | None = original.get("mantissa")
        # l2Book levels per side: 20, or 5 with `fast` (the venue's quicker, shallower book)
        self.depth: int = 5 if original.get("fast") is True else 20
        self.key = subscription_key(original)
        self.last: object = None  # last pushed value, for change-only channels (bbo)


def subscription_key(sub: dict) -> str:
    """Identity used for duplicate/unsubscribe matching: type + fields, users lowercased."""
    norm = {k: (v.lower() if k == "user" and isinstance(v, str) else v) for k, v in sub.items()}
    return json.dumps(norm, sort_keys=True, separators=(",", ":"))


class WsHub(WsApp):
    """Subscriptions of every connection, and the fan-out of engine events to them.

    `app` is the running Devnet (server.py): it offers `engine`, `faults`, `now_ms()`,
    `info_answer(dict)` and `exchange_answer(bytes)`.
    """

    def __init__(self, app) -> None:
        self.app = app
        self.connections: set[WsConnection] = set()

    # -- transport callbacks ---------------------------------------------------------------

    def on_open(self, conn: WsConnection) -> None:
        if self.app.faults.config.ws_down:
            conn.drop()  # the stream endpoint is down (fault): the handshake succeeds, nothing else
            return
        self.connections.add(conn)
        conn.send_text(GREETING)

    def on_close(self, conn: WsConnection) -> None:
        self.connections.discard(conn)
        conn.subscriptions.clear()

    async def on_text(self, conn: WsConnection, text: str) -> None:
        try:
            await self._on_text(conn, text)
        except Exception:  # a devnet bug answers this message with an error, the socket lives on
            log.exception("devnet: ws message failed: %.200s", text)
            conn.send_text(frame("error", f"Internal error handling: {text[:200]}"))

    async def _on_text(self, conn: WsConnection, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        method = msg.get("method") if isinstance(msg, dict) else None
        if method == "ping":
            conn.send_text('{"channel":"pong"}')
        elif method == "subscribe" and isinstance(msg.get("subscription"), dict):
            self._subscribe(conn, msg["subscription"])
        elif method == "unsubscribe" and isinstance(msg.get("subscription"), dict):
            self._unsubscribe(conn, msg["subscription"])
        elif method == "post" and "id" in msg and isinstance(msg.get("request"), dict):
            await self._post(conn, msg["id"], msg["request"])
        else:
            conn.send_text(frame("error", f"Error parsing JSON into valid websocket request: {text}"))

    # -- subscribe / unsubscribe -----------------------------------------------------------

    def _validate(self, sub: dict) -> str | None:
        spec = SUBSCRIPTIONS.get(sub.get("type"))  # type: ignore[arg-type]
        if spec is None:
            return "unknown type"
        required, optional, _ = spec
        for key in required:
            if not isinstance(sub.get(key), str):
                return f"missing {key}"
        for key in sub:
            if key != "type" and key not in required and key not in optional:
                return f"unknown field {key}"
        if "coin" in required and not self.app.engine.has_book(sub["coin"]):
            return "unknown coin"  # neither a perp nor a spot pair
        if sub.get("type") == "activeAssetData" and self.app.engine.market(sub["coin"]) is None:
            return "unknown coin"  # leverage and margin exist for perps only
        if "user" in required:
            u = sub["user"]
            if len(u) != 42 or not u.startswith("0x"):
                return "bad user"
        if sub.get("type") == "l2Book":
            n_sig, mantissa = sub.get("nSigFigs"), sub.get("mantissa")
            if n_sig not in (None, 2, 3, 4, 5) or isinstance(n_sig, bool):
                return "bad nSigFigs"
            if mantissa is not None and (n_sig != 5 or mantissa not in (1, 2, 5) or isinstance(mantissa, bool)):
                return "bad mantissa"
            if not isinstance(sub.get("fast", False), bool):
                return "bad fast"
        if sub.get("type") == "candle" and sub.get("interval") not in (
            "1m 3m 5m 15m 30m 1h 2h 4h 8h 12h 1d 3d 1w 1M".split()
        ):
            return "bad interval"
        return None

    def _peer_subscriptions(self, peer: str) -> list[Subscription]:
        out: list[Subscription] = []
        for c in self.connections:
            if c.peer_host == peer:
                out.extend(c.subscriptions.values())
        return out

    def _subscribe(self, conn: WsConnection, sub: dict) -> None:
        text = json.dumps(sub, separators=(",", ":"))
        if self._validate(sub) is not None:
            conn.send_text(frame("error", f"Invalid subscription {text}"))
            return
        s = Subscription(sub)
        if s.key in conn.subscriptions:
            conn.send_text(frame("error", f"Already subscribed: {text}"))
            return
        peer_subs = self._peer_subscriptions(conn.peer_host)
        if len(peer_subs) >= MAX_SUBSCRIPTIONS_PER_IP:
            conn.send_text(frame("error", f"Cannot subscribe: at most {MAX_SUBSCRIPTIONS_PER_IP} subscriptions"))
            return
        if s.user is not None:
            users = {x.user for x in peer_subs if x.user is not None}
            if s.user not in users and len(users) >= MAX_USERS_PER_IP:
                conn.send_text(
                    frame(
                        "error",
                        f"Cannot track more than {MAX_USERS_PER_IP} total users: {text}",
                    )
                )
                return
        conn.subscriptions[s.key] = s
        if s.user is not None:  # a user channel is that address reading its own state
            self.app.engine.ensure_account(s.user, self.app.now_ms())
        conn.send_text(frame("subscriptionResponse", {"method": "subscribe", "subscription": sub}))
        for msg in self._snapshot(s):
            conn.send_text(msg)

    def _unsubscribe(self, conn: WsConnection, sub: dict) -> None:
        key = subscription_key(sub)
        text = json.dumps(sub, separators=(",", ":"))
        if key not in conn.subscriptions:
            conn.send_text(frame("error", f"Already unsubscribed: {text}"))
            return
        del conn.subscriptions[key]
        conn.send_text(frame("subscriptionResponse", {"method": "unsubscribe", "subscription": sub}))

    # -- post ------------------------------------------------------------------------------

    async def _post(self, conn: WsConnection, post_id, request: dict) -> None:
        kind = request.get("type")
        payload = request.get("payload")
        app = self.app
        fate = app.faults.request_fate(is_action=kind == "action")
        delay = app.faults.delay_seconds()
        if delay:
            await asyncio.sleep(delay)
        if fate == fault_kinds.REJECT_429:
            response = {"type": "error", "payload": "429 Too Many Requests"}
        elif fate == fault_kinds.REJECT_5XX:
            response = {"type": "error", "payload": "502 Bad Gateway"}
        elif kind == "info":
            try:
                data = app.info_answer(payload)
                response = {"type": "info", "payload": {"type": payload.get("type"), "data": data}}
            except BadBody as e:
                response = {"type": "error", "payload": e.text}
        elif kind == "action":
            try:
                answer = app.exchange_answer(json.dumps(payload).encode())
                response = {"type": "action", "payload": answer}
            except BadBody as e:
                response = {"type": "error", "payload": e.text}
            if fate in (fault_kinds.EXECUTE_THEN_HANG, fault_kinds.EXECUTE_THEN_SILENCE):
                return  # executed; the answer never comes (the socket stays open)
        else:
            response = {"type": "error", "payload": f"unknown post request type {kind!r}"}
        conn.send_text(frame("post", {"id": post_id, "response": response}))

    # -- snapshots -------------------------------------------------------------------------

    def _snapshot(self, s: Subscription) -> list[str]:
        engine = self.app.engine
        t = s.type
        ch = SUBSCRIPTIONS[t][2]
        if t == "l2Book":
            return [frame(ch, self._book(s))]
        if t == "trades":
            trades = engine.recent_trades(s.coin)
            return [frame(ch, [render.trade(x) for x in reversed(trades)])] if trades else []
        if t == "allMids":
            return [frame(ch, self._mids(s.dex))]
        if t == "bbo":
            snap = engine.l2_book(s.coin, 1)
            data = render.bbo(snap)
            s.last = data["bbo"]
            return [frame(ch, data)]
        if t == "userFills":
            fills = engine.user_fills(s.user, limit=2000)
            return [frame(ch, {"isSnapshot": True, "user": s.user, "fills": [render.fill(f) for f in fills]})]
        if t == "userFundings":
            pays = engine.user_funding(s.user, 0, None)
            return [frame(ch, {"isSnapshot": True, "user": s.user, "fundings": [render.ws_funding(p) for p in pays]})]
        if t == "userNonFundingLedgerUpdates":
            ups = engine.user_ledger(s.user, 0, None)
            return [
                frame(ch, {"isSnapshot": True, "user": s.user, "nonFundingLedgerUpdates": [render.ledger_row(u) for u in ups]})
            ]
        if t in ("clearinghouseState", "openOrders", "webData2", "activeAssetCtx", "activeAssetData", "spotState"):
            return [self._state_frame(s)]
        if t in ("webData3", "twapStates"):
            return [self._state_frame(s)]
        if t == "userHistoricalOrders":
            history = [render.order_status_entry(x) for x in engine.historical_orders(s.user, 2000)]
            return [frame(ch, {"isSnapshot": True, "user": s.user, "orderHistory": history})]
        if t == "userTwapSliceFills":  # TWAP slice fills are not told apart from other fills yet
            return [frame(ch, {"isSnapshot": True, "user": s.user, "twapSliceFills": []})]
        if t == "userTwapHistory":
            return [frame(ch, {"isSnapshot": True, "user": s.user, "history": []})]
        return []

    def _book(self, s: Subscription) -> dict:
        return render.l2_book(self.app.engine.l2_book(s.coin, s.depth, s.n_sig_figs, s.mantissa))

    def _mids(self, dex: str) -> dict:
        return {"mids": {c: render.dec(px) for c, px in self.app.engine.all_mids(dex).items()}}

    def _state_frame(self, s: Subscription) -> str:
        engine = self.app.engine
        t = s.type
        if t == "clearinghouseState":
            state = render.clearinghouse(engine.clearinghouse_state(s.user, s.dex))
            return frame(t, {"dex": s.dex, "user": s.user, "clearinghouseState": state})
        if t == "openOrders":
            orders = [render.order_frontend(o) for o in engine.open_orders(s.user, s.dex)]
            return frame(t, {"dex": s.dex, "user": s.user, "orders": orders})
        if t == "activeAssetCtx":
            if engine.spot_market(s.coin) is not None:  # a spot pair's context has its own channel
                ctxs = self.app.info_answer({"type": "spotMetaAndAssetCtxs"})[1]
                return frame("activeSpotAssetCtx", {"coin": s.coin, "ctx": next(c for c in ctxs if c["coin"] == s.coin)})
            return frame(t, {"coin": s.coin, "ctx": render.asset_ctx(engine.asset_ctx(s.coin))})
        if t == "activeAssetData":
            return frame(t, render.active_asset_data(engine.active_asset_data(s.user, s.coin)))
        if t == "spotState":
            return frame(t, {"user": s.user, "spotState": render.spot_balances(engine.spot_balances(s.user))})
        if t == "webData3":
            return frame(t, self._web_data3(s.user))
        if t == "twapStates":
            return frame(t, {"dex": s.dex, "user": s.user, "states": self._twap_states(s.user, s.dex)})
        return frame("webData2", self._web_data2(s.user))

    def _web_data3(self, user: str) -> dict:
        """webData3: the user's frontend state plus one entry per perp dex (index order)."""
        engine = self.app.engine
        now = self.app.now_ms()
        agents = [a for a in engine.agents_of(user, now) if not a.name]
        dexs = sorted(engine.markets.dexs, key=lambda d: d.index)
        return {
            "userState": {
                "agentAddress": agents[0].address if agents else None,
                "agentValidUntil": agents[0].valid_until if agents else None,
                "serverTime": now,
                "cumLedger": "0.0",
                "isVault": False,
                "user": user,
            },
            "perpDexStates": [
                {
                    "clearinghouseState": render.clearinghouse(engine.clearinghouse_state(user, d.name)),
                    "totalVaultEquity": "0.0",
                    "assetCtxs": [render.asset_ctx(engine.asset_ctx(m.name)) for m in engine.markets.perps_of_dex(d.name)],
                    "perpsAtOpenInterestCap": [],
                    "leadingVaults": [],
                }
                for d in dexs
            ],
        }

    def _twap_states(self, user: str, dex: str) -> list:
        """Running TWAPs of `user` on `dex` as [[twap id, state]], the twapStates shape."""
        twaps = self.app.desk.twaps
        out: list = []
        for tw in (twaps.running.values() if twaps is not None else ()):
            market = self.app.engine.market(tw.coin)
            if tw.user != user or market is None or market.dex != dex:
                continue
            px = self.app.engine.all_mids(dex).get(tw.coin)
            out.append(
                [
                    tw.twap_id,
                    {
                        "coin": tw.coin,
                        "executedNtl": render.dec(tw.executed_sz * px if px is not None else 0),
                        "executedSz": render.dec(tw.executed_sz),
                        "minutes": tw.minutes,
                        "randomize": False,
                        "reduceOnly": tw.reduce_only,
                        "side": "B" if tw.is_buy else "A",
                        "sz": render.dec(tw.sz),
                        "timestamp": tw.started_ms,
                        "user": tw.user,
                    },
                ]
            )
        return out

    def _web_data2(self, user: str) -> dict:
        """The documented core of the frontend aggregate (the venue's full schema is undocumented)."""
        engine = self.app.engine
        now = self.app.now_ms()
        agents = [a for a in engine.agents_of(user, now) if not a.name]
        markets = engine.markets.perps_of_dex("")
        return {
            "clearinghouseState": render.clearinghouse(engine.clearinghouse_state(user, "")),
            "leadingVaults": [],
            "totalVaultEquity": "0.0",
            "openOrders": [render.order_frontend(o) for o in engine.open_orders(user, "")],
            "agentAddress": agents[0].address if agents else None,
            "agentValidUntil": agents[0].valid_until if agents else None,
            "cumLedger": "0.0",
            "meta": self.app.info_answer({"type": "meta"}),
            "assetCtxs": [render.asset_ctx(engine.asset_ctx(m.name)) for m in markets],
            "serverTime": now,
            "isVault": False,
            "user": user,
            "twapStates": [],
            "spotState": render.spot_balances(engine.spot_balances(user)),
            "spotAssetCtxs": self.app.info_answer({"type": "spotMetaAndAssetCtxs"})[1],
        }

    # -- pushes ----------------------------------------------------------------------------

    def publish(self, events: list) -> None:
        """Fan one batch of engine events out to every subscribed connection."""
        if not self.connections or not events:
            return
        books: set[str] = set()
        prices = False
        accounts: set[str] = set()
        per_user: dict[str, list] = defaultdict(list)
        direct: list[tuple] = []
        for ev in events:
            if isinstance(ev, r.BookChanged):
                books.add(ev.coin)
            elif isinstance(ev, r.PricesChanged):
                prices = True
            elif isinstance(ev, r.AccountChanged):
                accounts.add(ev.user)
            elif isinstance(ev, r.TradesPrinted | r.CandleUpdated):
                direct.append(ev)
            else:
                user = getattr(ev, "user", None)
                if user is not None:
                    per_user[user].append(ev)
                    if isinstance(ev, r.OrderUpdates):
                        accounts.add(user)
        for conn in list(self.connections):
            if not conn.subscriptions:
                continue
            out: list[str] = []
            for s in conn.subscriptions.values():
                out.extend(self._push_for(s, books, prices, accounts, per_user, direct))
            if out:
                self._send_pushes(conn, out)

    def _send_pushes(self, conn: WsConnection, frames_out: list[str]) -> None:
        data = [f.encode() for f in frames_out]
        send, conn.held_frames = self.app.faults.disturb_frames(data, conn.held_frames)
        for f in send:
            conn.send_text(f)

    def _push_for(self, s: Subscription, books, prices, accounts, per_user, direct) -> list[str]:
        t = s.type
        engine = self.app.engine
        out: list[str] = []
        if t == "l2Book":
            if s.coin in books:
                out.append(frame("l2Book", self._book(s)))
        elif t == "bbo":
            if s.coin in books:
                data = render.bbo(engine.l2_book(s.coin, 1))
                if data["bbo"] != s.last:
                    s.last = data["bbo"]
                    out.append(frame("bbo", data))
        elif t == "allMids":
            if books or prices:
                out.append(frame("allMids", self._mids(s.dex)))
        elif t == "activeAssetCtx":
            if prices or s.coin in books:
                out.append(self._state_frame(s))
        elif t == "trades":
            for ev in direct:
                if isinstance(ev, r.TradesPrinted) and ev.coin == s.coin and ev.trades:
                    out.append(frame("trades", [render.trade(x) for x in ev.trades]))
        elif t == "candle":
            for ev in direct:
                if isinstance(ev, r.CandleUpdated) and ev.candle.coin == s.coin and ev.candle.interval == s.interval:
                    out.append(frame("candle", render.candle(ev.candle)))
        elif s.user is not None:
            out.extend(self._user_push(s, per_user.get(s.user, ()), s.user in accounts, prices))
        return out

    def _user_push(self, s: Subscription, events, account_changed: bool, prices: bool) -> list[str]:
        t = s.type
        out: list[str] = []
        if t == "orderUpdates":
            ups = [u for ev in events if isinstance(ev, r.OrderUpdates) for u in ev.updates]
            if ups:
                out.append(frame("orderUpdates", [render.order_status_entry(u, frontend=False) for u in ups]))
        elif t == "userFills":
            fills = [f for ev in events if isinstance(ev, r.UserFills) for f in ev.fills]
            if fills:
                out.append(frame("userFills", {"user": s.user, "fills": [render.fill(f) for f in fills]}))
        elif t == "userEvents":
            for ev in events:
                if isinstance(ev, r.UserFills):
                    out.append(frame("user", {"fills": [render.fill(f) for f in ev.fills]}))
                elif isinstance(ev, r.UserFunding):
                    out.append(frame("user", {"funding": render.ws_funding(ev.payment)}))
                elif isinstance(ev, r.Liquidated):
                    out.append(
                        frame(
                            "user",
                            {
                                "liquidation": {
                                    "lid": ev.lid,
                                    "liquidator": ev.liquidator,
                                    "liquidated_user": ev.user,
                                    "liquidated_ntl_pos": render.dec(ev.liquidated_ntl_pos),
                                    "liquidated_account_value": render.dec(ev.liquidated_account_value),
                                }
                            },
                        )
                    )
                elif isinstance(ev, r.NonUserCancel):
                    out.append(frame("user", {"nonUserCancel": [{"coin": c, "oid": o} for c, o in ev.cancels]}))
        elif t == "userFundings":
            pays = [ev.payment for ev in events if isinstance(ev, r.UserFunding)]
            if pays:
                out.append(frame("userFundings", {"user": s.user, "fundings": [render.ws_funding(p) for p in pays]}))
        elif t == "userNonFundingLedgerUpdates":
            ups = [ev.update for ev in events if isinstance(ev, r.UserLedger)]
            if ups:
                out.append(
                    frame(
                        "userNonFundingLedgerUpdates",
                        {"user": s.user, "nonFundingLedgerUpdates": [render.ledger_row(u) for u in ups]},
                    )
                )
        elif t == "notification":
            for ev in events:
                text = _notification_text(ev)
                if text:
                    out.append(frame("notification", {"notification": text}))
        elif t in ("clearinghouseState", "webData2", "activeAssetData", "spotState", "openOrders", "webData3"):
            if account_changed or (prices and t != "openOrders" and t != "spotState"):
                out.append(self._state_frame(s))
        elif t == "twapStates":
            if account_changed:
                out.append(self._state_frame(s))
        elif t == "userHistoricalOrders":
            ups = [u for ev in events if isinstance(ev, r.OrderUpdates) for u in ev.updates]
            if ups:
                out.append(frame(t, {"user": s.user, "orderHistory": [render.order_status_entry(u) for u in ups]}))
        return out


def _notification_text(ev) -> str | None:
    if isinstance(ev, r.Liquidated):
        return f"Liquidated {render.dec(ev.liquidated_ntl_pos)} USDC of positions"
    if isinstance(ev, r.NonUserCancel):
        return f"{len(ev.cancels)} order(s) canceled by the exchange"
    if isinstance(ev, r.UserFills):
        return None
    return None
