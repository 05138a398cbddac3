"""Hyperliquid's keyed side: whom a key trades for, signed requests, orders and their settlement.

- Which account a key trades for. A key is either a user's own key or an approved agent (API
  wallet) trading for its master; `resolve_account` asks the venue (userRole) once and every
  method acts for that account (or `vault_address`). An unknown key is an AuthError naming
  the key and the venue, before anything is signed.
- How an unanswered order is settled. `submit` never resends. When the POST leaves but no
  answer comes, it queries orderStatus by client order id; if the venue has never heard of
  the orders, it posts a `noop` with the *same nonce*: if the noop is accepted the original
  can never execute (the nonce is spent), so the orders are reported as not placed; if the
  noop is refused as a duplicate, the original landed and is queried again. Only when all of
  that fails does an Ack stay UNKNOWN.
- Dry runs. Every keyed action is first `prepare`d into the exact signed /exchange body;
  `send` posts it. `--dry-run` prints the prepared body and never calls `send`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from perpcli.domain.errors import (
    AuthError,
    ErrorKind,
    OutcomeUnknown,
    UsageError,
    ValidationError,
    VenueRejected,
)
from perpcli.domain.events import AccountSnapshot, Fill, FundingPayment, OrderUpdate, PositionSnapshot
from perpcli.domain.orders import Order, OrderIntent, OrderType, Side, TimeInForce
from perpcli.keys.nonces import NonceAllocator
from perpcli.keys.signer import Signer
from perpcli.venues.base import (
    Ack,
    AckStatus,
    ActionResult,
    AgentKey,
    CancelResult,
    CancelTarget,
    KeyRole,
    LeverageSetting,
    MarginAccount,
    Positions,
    Prepared,
    TradingOptions,
    TwapState,
)
from perpcli.venues.hyperliquid import actions as A
from perpcli.venues.hyperliquid import codec, numbers
from perpcli.venues.hyperliquid import errors as venue_errors
from perpcli.venues.hyperliquid.rest import SentNoAnswer
from perpcli.venues.settle import settle_unanswered, unanswered_acks

if TYPE_CHECKING:
    from perpcli.venues.hyperliquid.adapter import HyperliquidMarketData

EXISTING_NOTE = "an order with this client order id already exists; this is its status (nothing new was placed)"
CLOCK_SKEW_MS = 2_000  # how far the venue's clock may trail ours before an order counts as older
SETTLE_POLLS = 3
SETTLE_POLL_INTERVAL_S = 0.3


def _nonce_of(prepared: Prepared) -> int:
    """The nonce a prepared /exchange body was signed with (what a noop must spend)."""
    return int(prepared.body["nonce"])


def _venue_oid(oid: str) -> int:
    """Hyperliquid's order ids are integers; at the seam they are opaque strings."""
    from perpcli.venues.hyperliquid.actions import check_uint

    text = str(oid).strip()
    if not text.isascii() or not text.isdigit() or len(text) > 20:  # a uint64 has at most 20 digits
        shown = text if len(text) <= 40 else text[:20] + f"… ({len(text)} characters)"
        raise UsageError(f"order id {shown!r} is not a Hyperliquid order id (a whole number below 2^64)")
    return check_uint(int(text), what="oid")


class HyperliquidTrading:
    """The keyed side. Build with `HyperliquidMarketData.trading(signer)`."""

    def __init__(
        self,
        market: HyperliquidMarketData,
        signer: Signer,
        *,
        options: TradingOptions | None = None,
        nonces: NonceAllocator | None = None,
    ) -> None:
        options = options or TradingOptions()
        self.market = market
        self.venue = market.venue
        self.rest = market.rest
        self._signer = signer
        vault = options.account_override
        self.vault_address = A.check_address(vault, what="vault address") if vault else None
        self.builder = A.BuilderFee(options.builder, options.builder_fee_tenths_bp) if options.builder else None
        self.nonces = nonces or NonceAllocator(signer.address)
        self._role: KeyRole | None = None
        self._fees: Any = None

    @property
    def capabilities(self) -> Any:
        return self.market.capabilities

    # ----- who is trading -------------------------------------------------------------------

    @property
    def signer_address(self) -> str:
        return self._signer.address

    def resolve_account(self) -> KeyRole:
        """Ask the venue whom this key signs for: once per market-data object, so once per
        process, and once per key in a session agent (which keeps its market data across
        commands) until the venue refuses a request as not authorised."""
        if self._role is None:
            self._role = self.market.known_role(self.signer_address)
        if self._role is None:
            role = self.rest.info({"type": "userRole", "user": self.signer_address})
            extra = None
            if isinstance(role, dict) and role.get("role") == "agent":
                master = codec.agent_master(role, venue=self.venue)
                if master:
                    try:
                        extra = self.rest.info({"type": "extraAgents", "user": master})
                    except VenueRejected:
                        extra = None
            self._role = codec.key_role(self.signer_address, role if isinstance(role, dict) else {}, extra)
            self.market.remember_role(self._role)
        return self._role

    def _refused_as_unauthorised(self, kinds: Sequence[ErrorKind | None]) -> None:
        """A role error from the venue (key revoked, agent expired, wrong signer): whom the key
        signs for must be asked again, by this command's next request and the next command's."""
        if ErrorKind.AUTH in kinds:
            self._role = None
            self.market.forget_role(self.signer_address)

    def require_registered(self) -> KeyRole:
        role = self.resolve_account()
        if not role.registered:
            if role.role in ("vault", "subAccount"):
                raise AuthError(
                    f"key {self.signer_address} is a {role.role} address on {self.venue}; it cannot sign"
                )
            hint = (f"fund it with `perp devnet fund {self.signer_address} 10000`" if self.venue == "devnet"
                    else "deposit to it, or approve it as an agent with `perp agent approve`")
            raise AuthError(f"key {self.signer_address} is not registered on {self.venue} ({hint})")
        return role

    @property
    def account_address(self) -> str:
        """The account whose state is read and traded: the vault/sub-account if set, else the
        key's own account or, for an agent key, its master."""
        if self.vault_address:
            return self.vault_address
        role = self.resolve_account()
        return role.account or self.signer_address

    def stream_account(self) -> AsyncIterator[Any]:
        """This account's fills and order updates (each once across reconnects), plus
        ConnectionStatus events."""
        from perpcli.venues.hyperliquid import stream

        user = self.account_address
        subs = [stream.fills_subscription(user), stream.order_updates_subscription(user)]
        return stream.iterate(self.market.endpoint.ws_url, self.venue, subs, account=user)

    # ----- reads ----------------------------------------------------------------------------

    def _dexes(self, all_dexes: bool) -> list[str]:
        """"" (the default dex) and, when asked, every builder (HIP-3) dex: each keeps its own
        clearinghouse, so positions and orders there are only visible per dex."""
        if not all_dexes:
            return [""]
        return ["", *(d for d in self.market.dex_names() if d)]

    @staticmethod
    def _with_dex(body: dict[str, Any], dex: str) -> dict[str, Any]:
        if dex:
            body["dex"] = dex
        return body

    def account(self, market: str | None = None) -> AccountSnapshot:
        """The margin account `market` trades in (default: the main dex) with its open orders;
        spot balances ride along for the default dex. Each HIP-3 dex keeps its own margin."""
        dex = self.market.dex_of(market) if market else ""
        user = self.account_address
        state = self.rest.info(self._with_dex({"type": "clearinghouseState", "user": user}, dex))
        orders = self._open_orders_of(dex)
        spot: list = []
        if not dex:
            try:
                spot = codec.spot_balances(self.rest.info({"type": "spotClearinghouseState", "user": user}),
                                           venue=self.venue)
            except VenueRejected:
                spot = []
        return codec.account_snapshot(state or {}, venue=self.venue, account=user, orders=orders, spot_balances=spot)

    def margin_accounts(self) -> list[MarginAccount]:
        """The main dex's margin account, and each builder dex's that holds a position or an
        order (each dex keeps its own collateral). A builder dex with idle collateral only is
        left out: the devnet funds every dex of a new address, and counting that money in
        `perp account` would double a fresh key's equity."""
        out = [MarginAccount("", self.account())]
        for dex in self._dexes(True)[1:]:
            snap = self.account(f"{dex}:")
            if any(p.size != 0 for p in snap.positions) or snap.open_orders:
                out.append(MarginAccount(dex, snap))
        return out

    def positions(self, *, all_dexes: bool = True) -> Positions:
        """Open positions on every dex and the mark each was valued at (positionValue / size)."""
        out: list[PositionSnapshot] = []
        marks: dict[str, Decimal] = {}
        for dex in self._dexes(all_dexes):
            state = self.rest.info(self._with_dex({"type": "clearinghouseState", "user": self.account_address}, dex))
            snap = codec.account_snapshot(state or {}, venue=self.venue, account=self.account_address)
            out.extend(p for p in snap.positions if p.size != 0)
            marks.update(codec.position_marks(state or {}))
        return Positions(out, marks)

    def _open_orders_of(self, dex: str) -> list[Order]:
        body = self._with_dex({"type": "frontendOpenOrders", "user": self.account_address}, dex)
        return codec.open_orders(self.rest.info(body) or [], venue=self.venue)

    def open_orders(self, *, all_dexes: bool = True) -> list[Order]:
        out: list[Order] = []
        for dex in self._dexes(all_dexes):
            out.extend(self._open_orders_of(dex))
        return out

    def fills(self, since_ms: int | None = None) -> list[Fill]:
        user = self.account_address
        if since_ms is None:
            rows = self.rest.info({"type": "userFills", "user": user, "aggregateByTime": False})
        else:
            rows = self.rest.info({"type": "userFillsByTime", "user": user, "startTime": since_ms,
                                   "aggregateByTime": False})
        return codec.fills(rows or [], venue=self.venue, account=user)

    def funding_history(self, since_ms: int, end_ms: int | None = None) -> list[FundingPayment]:
        body: dict[str, Any] = {"type": "userFunding", "user": self.account_address, "startTime": since_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        rows = self.rest.info(body) or []
        return codec.funding_payments(rows, venue=self.venue, account=self.account_address)

    def order_updates_since(self, since_ms: int) -> list[OrderUpdate]:
        """The latest status of each order that changed at or after `since_ms` (historicalOrders:
        the venue keeps the most recent ones). Streams use it to recover what a reconnect lost."""
        rows = self.rest.info({"type": "historicalOrders", "user": self.account_address}) or []
        updates = codec.order_updates(rows, venue=self.venue, account=self.account_address)
        return sorted((u for u in updates if u.time_ms >= since_ms), key=lambda u: u.time_ms)

    def order_status(self, *, oid: str | None = None, cloid: str | None = None,
                     market: str | None = None) -> Ack | None:
        if (oid is None) == (cloid is None):
            raise UsageError("give exactly one of oid or cloid")
        key: int | str = _venue_oid(oid) if oid is not None else A.check_cloid(cloid)
        resp = self.rest.info({"type": "orderStatus", "user": self.account_address, "oid": key})
        return codec.status_ack(resp, cloid=cloid)

    def leverage_setting(self, market: str) -> LeverageSetting:
        """The leverage and margin mode the account has set for a market (activeAssetData)."""
        inst = self.market.instrument(market)
        try:
            data = self.rest.info({"type": "activeAssetData", "user": self.account_address, "coin": inst.symbol})
        except VenueRejected:
            return LeverageSetting(None, True)
        lev, cross = codec.leverage_setting(data)
        return LeverageSetting(lev, cross)

    def fee_rates(self) -> Any:
        """The account's own fee rates (userFees), asked once per process; the public schedule,
        marked as such, when the venue does not say them."""
        if self._fees is None:
            from perpcli.venues.hyperliquid.fees import account_fee_rates

            try:
                data = self.rest.info({"type": "userFees", "user": self.account_address})
            except VenueRejected:
                data = None
            self._fees = account_fee_rates(data) or self.market.default_fees()
        return self._fees

    def agents(self) -> list[AgentKey]:
        rows = self.rest.info({"type": "extraAgents", "user": self.account_address}) or []
        return [
            AgentKey(name=str(r.get("name", "")), address=str(r.get("address", "")).lower(),
                     valid_until_ms=r.get("validUntil"))
            for r in rows
        ]

    def twaps(self, *, include_ended: bool = False) -> list[TwapState]:
        """Running TWAPs with their progress (and, with include_ended, the ones that ended)."""
        from perpcli.venues.hyperliquid.codec_twap import twap_states

        user = self.account_address
        history = self.rest.info({"type": "twapHistory", "user": user}) or []
        if not history:
            return []  # never ran a TWAP: one read is enough
        fills = self.rest.info({"type": "userTwapSliceFills", "user": user}) or []
        states = twap_states(history, fills, venue=self.venue)
        return states if include_ended else [t for t in states if t.running]

    # ----- signing --------------------------------------------------------------------------

    def _sign_l1(self, action: dict, *, nonce: int | None = None) -> dict:
        from perpcli.venues.hyperliquid import signing  # msgpack: only when something is signed

        nonce = self.nonces.next() if nonce is None else nonce
        sig = signing.sign_l1_action(
            self._signer, action, nonce=nonce, vault_address=self.vault_address,
            is_mainnet=self.market.endpoint.is_mainnet,
        )
        return signing.exchange_request_body(action, nonce=nonce, signature=sig, vault_address=self.vault_address)

    def _sign_user(self, build: Callable[[int], dict]) -> dict:
        from perpcli.venues.hyperliquid import signing

        nonce = self.nonces.next()
        action, sig = signing.sign_user_signed_action(
            self._signer, build(nonce), is_mainnet=self.market.endpoint.is_mainnet
        )
        return signing.exchange_request_body(action, nonce=nonce, signature=sig, vault_address=None)

    # ----- orders ---------------------------------------------------------------------------

    def order_spec(self, intent: OrderIntent) -> A.OrderSpec:
        """Domain intent -> venue order, re-checked by the shared order rules (tick/sig figs,
        lot, minimum value: domain/order_rules.py) right before it is signed."""
        from perpcli.domain.order_rules import check_order

        inst = self.market.instrument(intent.symbol)
        if intent.price is None:
            raise ValidationError(f"{intent.order_type.value} order needs a price (worst price for market orders)",
                                  rule="price-required")
        ot = intent.order_type
        is_trigger = ot not in (OrderType.LIMIT, OrderType.MARKET)
        if is_trigger and intent.trigger_price is None:
            raise ValidationError(f"{ot.value} order needs a trigger price", rule="trigger-required")
        price, size = check_order(inst, price=intent.price, size=intent.size, reduce_only=intent.reduce_only,
                                  trigger_price=intent.trigger_price if is_trigger else None)
        kind: A.Limit | A.Trigger
        if ot is OrderType.LIMIT:
            kind = A.Limit({TimeInForce.GTC: "Gtc", TimeInForce.IOC: "Ioc", TimeInForce.ALO: "Alo"}.get(intent.tif, "Gtc"))
            if intent.tif is TimeInForce.FOK:
                raise ValidationError("fill-or-kill is not supported on Hyperliquid", rule="tif")
        elif ot is OrderType.MARKET:
            kind = A.Limit("Ioc")
        else:
            assert intent.trigger_price is not None
            is_market = ot in (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)
            tpsl = "sl" if ot in (OrderType.STOP_MARKET, OrderType.STOP_LIMIT) else "tp"
            kind = A.Trigger(intent.trigger_price, is_market, tpsl)  # type: ignore[arg-type]
        return A.OrderSpec(
            asset=inst.asset_id, is_buy=intent.side is Side.BUY, price=price, size=size, kind=kind,
            reduce_only=intent.reduce_only, cloid=A.check_cloid(intent.cloid) if intent.cloid else None,
        )

    def prepare_orders(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> Prepared:
        specs = [self.order_spec(i) for i in intents]
        action = A.order_action(specs, grouping=grouping, builder=self.builder)  # type: ignore[arg-type]
        return Prepared(
            kind="order", body=self._sign_l1(action), requests=[(s.cloid, s.size) for s in specs],
            markets=[i.symbol for i in intents], grouping=grouping,
        )

    def submit(self, intents: Sequence[OrderIntent], *, grouping: str = "na") -> list[Ack]:
        return self.send_orders(self.prepare_orders(intents, grouping=grouping))

    def send_orders(self, prepared: Prepared) -> list[Ack]:
        """Post an order (or batchModify) request; settle it when no answer comes."""
        try:
            resp = self.rest.exchange(prepared.body)
            self._raise_auth(resp)
            acks = codec.order_acks(resp, prepared.requests)
        except (SentNoAnswer, codec.MalformedAnswer):  # it left; what came back says nothing
            if prepared.kind == "modify":
                return [self.settle_modify(prepared)]
            return self.settle(prepared)
        self._refused_as_unauthorised([a.error_kind for a in acks])
        return [self._existing_if_duplicate(a) for a in acks]

    def _mark_older(self, found: list[Ack], nonce: int, *, killed: bool | None) -> None:
        """Orders found by cloid while settling a lost answer may be ones an earlier command
        placed (a retry with the same cloid): those get the 'already exists' note.

        Placed well before this request's nonce (beyond the clocks' allowance): older. Within
        the allowance the request's nonce decides: a noop that takes it proves this request
        never executed, so every order found is older; refused as used, this request landed
        and only an order stamped before the nonce itself is older."""
        dated = [a for a in found if a.time_ms is not None and a.status is not AckStatus.REJECTED]
        close = []
        for a in dated:
            if a.time_ms < nonce - CLOCK_SKEW_MS:
                a.note = EXISTING_NOTE
            else:
                close.append(a)
        if not close:
            return
        if killed is None:
            killed = self._kill_nonce(nonce)
        for a in close:
            if killed is True or (killed is False and a.time_ms < nonce):
                a.note = EXISTING_NOTE

    def _existing_if_duplicate(self, ack: Ack) -> Ack:
        """A client order id is what makes a retry safe: when the venue refuses an order because
        its cloid is already taken (a retry after a crash or an unknown outcome), the answer
        is the order that cloid names, not a rejection."""
        if ack.status is not AckStatus.REJECTED or not ack.cloid or ack.error_kind is not ErrorKind.DUPLICATE_CLIENT_ID:
            return ack
        existing = self._status_or_none(ack.cloid)
        if existing is None or existing.status is AckStatus.REJECTED:
            return ack
        existing.note = EXISTING_NOTE
        return existing

    def settle_modify(self, prepared: Prepared) -> Ack:
        """A modify whose answer never came. Its order keeps its cloid either way, so finding
        the order by cloid proves nothing; the request's nonce does: a noop on the same nonce
        either takes it (the modify can never execute: the order is unchanged) or is refused
        as already used (the modify landed: report the replacement, which has a new oid)."""
        old_oid = str(prepared.extra.get("old_oid"))
        cloid = prepared.requests[0][0]
        killed = self._kill_nonce(_nonce_of(prepared))
        if killed is True:
            return Ack(AckStatus.REJECTED, cloid=cloid, oid=old_oid,
                       error="no answer came; the modify was cancelled before it executed (nonce spent): "
                             "the order is unchanged", error_kind=ErrorKind.NONCE)
        if killed is None:
            return Ack(AckStatus.UNKNOWN, cloid=cloid, oid=old_oid,
                       error="no answer from the venue: the order may or may not have its new price and size "
                             "(check `perp orders`)")
        for attempt in range(SETTLE_POLLS):  # landed: find the replacement (a new oid, same cloid)
            found = self._status_or_none(cloid) if cloid else None
            if found is not None and found.oid != old_oid:
                return found
            if attempt + 1 < SETTLE_POLLS:
                self.market.sleep(SETTLE_POLL_INTERVAL_S)
        return Ack(AckStatus.ACCEPTED, cloid=cloid,
                   error="the modify executed (the venue used its nonce) but the new order is not visible yet")

    def _status_or_none(self, cloid: str) -> Ack | None:
        try:
            return self.order_status(cloid=cloid)
        except Exception:  # noqa: BLE001 - a failed look-up is the same as no answer yet
            return None

    def settle(self, prepared: Prepared) -> list[Ack]:
        """Find out what happened to orders whose answer never came. Never resends them."""
        cloids = [cloid for cloid, _ in prepared.requests]

        def settled(acks: list[Ack | None]) -> bool:
            """All found; or TP/SL children, which wait inside the venue for their parent and may
            not be queryable yet, are accepted with a parent known to have landed."""
            if all(a is not None for a in acks):
                return True
            parent = acks[0]
            if prepared.grouping == "na" or parent is None or parent.status is AckStatus.REJECTED:
                return False
            for i in range(1, len(acks)):
                if acks[i] is None:
                    acks[i] = Ack(AckStatus.ACCEPTED, cloid=cloids[i], error="TP/SL child: placed with its parent")
            return True

        nonce = _nonce_of(prepared)
        # Still unseen after the polls: the nonce is burned with a noop so the original can never
        # execute later.
        acks, killed = settle_unanswered(
            cloids, lambda _i, cloid: self.order_status(cloid=cloid), lambda: self._kill_nonce(nonce),
            self.market.sleep, polls=SETTLE_POLLS, interval_s=SETTLE_POLL_INTERVAL_S, complete=settled)
        self._mark_older([a for a in acks if a is not None], nonce, killed=killed)
        return unanswered_acks(  # rejected: safe to sign again, the original is dead
            acks, cloids, killed, rejected="no answer came; the request was cancelled before it executed (nonce spent)",
            unknown="no answer from the venue and no trace of the order")

    def _kill_nonce(self, nonce: int) -> bool | None:
        """True: noop took the nonce (original is dead). False: nonce already used. None: unknown."""
        try:
            resp = self.rest.exchange(self._sign_l1(A.noop_action(), nonce=nonce))
            err = codec.exchange_error(resp)
        except Exception:  # noqa: BLE001 - cannot tell
            return None
        if err is None:
            return True
        if venue_errors.is_nonce_refusal(err):
            return False
        return None

    def _raise_auth(self, resp: dict) -> None:
        """The venue names the signer it recovered. If that is not our key, the venue hashed
        something else than we signed: almost always the wrong network (mainnet vs testnet)."""
        err = codec.exchange_error(resp)
        if err:
            self._refused_as_unauthorised([venue_errors.error_kind(err)])
        if err and venue_errors.is_unknown_signer(err):
            recovered = codec.recovered_address(err)
            if recovered is not None and recovered != self.signer_address:
                raise AuthError(
                    f"{self.venue} recovered signer {recovered}, not key {self.signer_address}: the request was signed"
                    f" for {self.market.endpoint.network} but the venue verifies another network (check --network)"
                )
            raise AuthError(f"{self.venue} does not know key {self.signer_address}: {err}")

    def _send_default(self, prepared: Prepared) -> ActionResult:
        try:
            resp = self.rest.exchange(prepared.body)
            self._raise_auth(resp)
            ok, err, detail = codec.action_result(resp)
        except (SentNoAnswer, codec.MalformedAnswer) as e:  # it left; what came back says nothing
            return self.settle_action(prepared, e.message)
        kind = venue_errors.error_kind(err)
        self._refused_as_unauthorised([kind])
        return ActionResult(ok=ok, error=err, detail=detail, error_kind=kind)

    def settle_action(self, prepared: Prepared, why: str) -> ActionResult:
        """A non-order action (transfer, withdrawal, leverage, agent...) whose answer never came.

        Never resent. One signer's nonces are shared by every action it signs, so a noop on the
        same nonce settles it: accepted means the original can never execute (nothing moved);
        refused as used means the original executed. Only when the noop gets no answer either
        does the outcome stay unknown, and the error says what to check before retrying."""
        killed = self._kill_nonce(_nonce_of(prepared))
        if killed is True:
            return ActionResult(ok=False, error=f"no answer came ({why}); the {prepared.kind} was cancelled before it"
                                                " executed (nonce spent): nothing changed",
                                detail={"settled": "nonce_spent"}, error_kind=ErrorKind.NONCE)
        if killed is False:
            return ActionResult(ok=True, detail={"settled": "executed"})
        raise OutcomeUnknown(
            f"{prepared.kind}: {why}; the outcome is unknown — check {_WHERE_TO_CHECK.get(prepared.kind, '`perp account`')}"
            " before retrying (a retry signs a new request and could execute twice)")

    # ----- cancel / modify ------------------------------------------------------------------

    def prepare_cancel(self, targets: Sequence[CancelTarget]) -> Prepared:
        """Each target by oid or by cloid; one request cancels all by oid or all by cloid."""
        by_cloid = [t for t in targets if t.cloid is not None]
        if by_cloid and len(by_cloid) != len(targets):
            raise UsageError("cancel either by oid or by cloid, not both at once")
        if by_cloid:
            action = A.cancel_by_cloid_action([(self.market.instrument(t.market).asset_id, t.cloid)
                                               for t in targets])
        else:
            action = A.cancel_action([(self.market.instrument(t.market).asset_id, _venue_oid(_need_oid(t)))
                                      for t in targets])
        return Prepared(kind="cancel", body=self._sign_l1(action),
                        requests=[(t.cloid, Decimal(0)) for t in targets], markets=[t.market for t in targets])

    def send_cancel(self, prepared: Prepared, targets: Sequence[CancelTarget]) -> list[CancelResult]:
        try:
            resp = self.rest.exchange(prepared.body)
            self._raise_auth(resp)
            errs = codec.cancel_errors(resp, len(targets))
        except (SentNoAnswer, codec.MalformedAnswer) as e:
            return self.settle_cancel(prepared, targets, e.message)
        return [CancelResult(ok=e is None, oid=t.oid, cloid=t.cloid, error=e, error_kind=venue_errors.error_kind(e))
                for t, e in zip(targets, errs, strict=True)]

    def settle_cancel(self, prepared: Prepared, targets: Sequence[CancelTarget], why: str) -> list[CancelResult]:
        """A cancel whose answer never came, settled by its nonce like every other action: a noop
        that takes the nonce means the cancel can never execute (the orders stay as they are);
        a noop refused as used means it executed, and each order's status says how it ended."""
        killed = self._kill_nonce(_nonce_of(prepared))
        if killed is None:
            raise OutcomeUnknown(f"cancel: {why}; the outcome is unknown — check `perp orders` before retrying")
        if killed is True:
            return [CancelResult(ok=False, oid=t.oid, cloid=t.cloid, error_kind=ErrorKind.NONCE,
                                 error="no answer came; the cancel was withdrawn before it executed (nonce spent):"
                                       " the order is unchanged") for t in targets]
        out = []
        for t in targets:
            try:
                ack = self.order_status(oid=t.oid) if t.oid is not None else self.order_status(cloid=t.cloid)
            except Exception:  # noqa: BLE001 - the cancel executed; this order's end is not visible
                ack = None
            if ack is not None and ack.status in (AckStatus.RESTING, AckStatus.PARTIALLY_FILLED):
                out.append(CancelResult(ok=False, oid=t.oid, cloid=t.cloid, error="the cancel executed but this"
                                        " order is still open (the venue refused to cancel it)"))
            elif ack is not None and ack.status is AckStatus.FILLED:
                out.append(CancelResult(ok=False, oid=t.oid, cloid=t.cloid,
                                        error="the order filled before the cancel reached it"))
            else:
                out.append(CancelResult(ok=True, oid=t.oid, cloid=t.cloid))
        return out

    def cancel(self, target: CancelTarget) -> CancelResult:
        return self.send_cancel(self.prepare_cancel([target]), [target])[0]

    def prepare_modify(self, oid: str, intent: OrderIntent) -> Prepared:
        spec = self.order_spec(intent)
        action = A.batch_modify_action([(_venue_oid(oid), spec)])
        return Prepared(kind="modify", body=self._sign_l1(action), requests=[(spec.cloid, spec.size)],
                        markets=[intent.symbol], extra={"old_oid": str(oid)})

    def modify(self, oid: str, intent: OrderIntent) -> Ack:
        return self.send_orders(self.prepare_modify(oid, intent))[0]

    # ----- leverage, margin, dead man's switch, twap ----------------------------------------

    def prepare_leverage(self, market: str, leverage: int, *, cross: bool) -> Prepared:
        inst = self.market.instrument(market)
        if leverage > inst.max_leverage:
            raise ValidationError(f"leverage {leverage} is above {inst.symbol}'s maximum {inst.max_leverage}",
                                  rule="max-leverage", nearest=inst.max_leverage)
        if cross and inst.only_isolated:
            raise ValidationError(f"{inst.symbol} allows isolated margin only", rule="only-isolated")
        return Prepared(kind="leverage", body=self._sign_l1(A.update_leverage_action(inst.asset_id, leverage, is_cross=cross)))

    def set_leverage(self, market: str, leverage: int, *, cross: bool) -> ActionResult:
        return self._send_default(self.prepare_leverage(market, leverage, cross=cross))

    def prepare_margin(self, market: str, amount: Decimal) -> Prepared:
        inst = self.market.instrument(market)
        return Prepared(kind="margin", body=self._sign_l1(A.update_isolated_margin_action(inst.asset_id, amount)))

    def prepare_schedule_cancel(self, time_ms: int | None) -> Prepared:
        return Prepared(kind="deadman", body=self._sign_l1(A.schedule_cancel_action(time_ms)))

    def prepare_twap(self, market: str, *, is_buy: bool, size: Decimal, minutes: int, reduce_only: bool = False,
                     randomize: bool = False) -> Prepared:
        inst = self.market.instrument(market)
        sz = numbers.check_size(size, inst.size_decimals)
        action = A.twap_order_action(inst.asset_id, is_buy=is_buy, size=sz, reduce_only=reduce_only,
                                     minutes=minutes, randomize=randomize)
        return Prepared(kind="twap", body=self._sign_l1(action), markets=[inst.symbol])

    def prepare_twap_cancel(self, market: str, twap_id: int) -> Prepared:
        inst = self.market.instrument(market)
        return Prepared(kind="twap_cancel", body=self._sign_l1(A.twap_cancel_action(inst.asset_id, twap_id)))

    # ----- user-signed: transfers and agents ------------------------------------------------

    def prepare_transfer(self, kind: str, amount: Decimal, *, destination: str | None = None,
                         to_perp: bool = True) -> Prepared:
        if kind == "usd_class":
            sub = self.vault_address  # a sub-account rides inside the amount string
            build = lambda n: A.usd_class_transfer_action(amount, to_perp=to_perp, nonce=n, sub_account=sub)  # noqa: E731
        elif kind == "usd_send":
            build = lambda n: A.usd_send_action(_need(destination), amount, time_ms=n)  # noqa: E731
        elif kind == "withdraw":
            build = lambda n: A.withdraw3_action(_need(destination), amount, time_ms=n)  # noqa: E731
        else:
            raise UsageError(f"unknown transfer kind {kind!r}")
        return Prepared(kind="transfer", body=self._sign_user(build))

    def transfer(self, kind: str, amount: Decimal, *, destination: str | None = None,
                 to_perp: bool = True) -> ActionResult:
        return self._send_default(self.prepare_transfer(kind, amount, destination=destination, to_perp=to_perp))

    def prepare_approve_agent(self, agent_address: str, name: str | None, valid_until_ms: int | None = None) -> Prepared:
        label = name
        if valid_until_ms is not None:
            label = f"{name or ''} valid_until {valid_until_ms}"
        return Prepared(kind="agent_approve", body=self._sign_user(lambda n: A.approve_agent_action(agent_address, nonce=n, agent_name=label)))

    def send(self, prepared: Prepared) -> ActionResult:
        """Post a prepared non-order action (leverage, margin, transfer, agent, deadman, twap)."""
        return self._send_default(prepared)


_WHERE_TO_CHECK = {
    "transfer": "`perp account` and the venue's ledger",
    "agent_approve": "`perp agent list`",
    "leverage": "`perp positions` / the market's leverage",
    "margin": "`perp positions`",
    "deadman": "`perp deadman` (set it again: it is idempotent)",
    "twap": "`perp orders` and the venue's TWAP list",
}


def _need_oid(target: CancelTarget) -> str:
    if target.oid is None:
        raise UsageError("a cancel needs an order id or a client order id")
    return target.oid


def _need(destination: str | None) -> str:
    if not destination:
        raise UsageError("a destination address is required")
    return destination
