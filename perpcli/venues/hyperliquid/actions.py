"""Builders for every Hyperliquid /exchange action, in the venue's exact key order.

Why key order matters: L1 actions are hashed as msgpack maps in insertion order, and the venue
re-creates its own canonical order before hashing (§a.2.4, §b.5). Each builder below writes
keys in that order, omits optional keys that are absent (never null/false), renders decimals
with `numbers.to_wire` and lowercases hex. Builders take typed inputs (Decimal prices and sizes,
int asset ids, int nonces) and return plain dicts ready for `signing`.

Also here: the one table mapping action type -> signing scheme ("l1" | "user_signed"), the
EIP-712 field lists of the user-signed actions, and asset-id helpers (perp, spot, HIP-3).
Pure: no I/O, no clock (times and nonces are arguments).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from perpcli.domain.errors import ValidationError
from perpcli.venues.hyperliquid.numbers import to_usd_int, to_wire

Tif = Literal["Gtc", "Ioc", "Alo"]
Tpsl = Literal["tp", "sl"]
Grouping = Literal["na", "normalTpsl", "positionTpsl"]

TIFS: frozenset[str] = frozenset({"Gtc", "Ioc", "Alo"})
TPSLS: frozenset[str] = frozenset({"tp", "sl"})
GROUPINGS: frozenset[str] = frozenset({"na", "normalTpsl", "positionTpsl"})

U64_MAX = 2**64 - 1

# --- asset ids (§d.1) -------------------------------------------------------------------------

SPOT_ASSET_OFFSET = 10_000
HIP3_ASSET_OFFSET = 100_000
HIP3_DEX_STRIDE = 10_000
OUTCOME_ASSET_OFFSET = 100_000_000


def perp_asset_id(index_in_universe: int) -> int:
    """Default-dex perp: the position in `meta.universe` (delisted entries included)."""
    if not 0 <= index_in_universe < SPOT_ASSET_OFFSET:
        raise ValidationError(f"perp universe index {index_in_universe} out of range", rule="asset-id")
    return index_in_universe


def spot_asset_id(spot_index: int) -> int:
    """Spot pair: 10000 + `spotMeta.universe[k].index` (not the token id)."""
    if not 0 <= spot_index < HIP3_ASSET_OFFSET - SPOT_ASSET_OFFSET:
        raise ValidationError(f"spot index {spot_index} out of range", rule="asset-id")
    return SPOT_ASSET_OFFSET + spot_index


def hip3_asset_id(perp_dex_index: int, index_in_dex: int) -> int:
    """HIP-3 builder-deployed perp: 100000 + dexIndex*10000 + position in that dex's universe.

    `perp_dex_index` is the position in the `perpDexs` answer, whose element 0 is the default
    dex (null); the first builder dex is 1 (-> 110000…), the second 2 (-> 120000…). Index 0
    means the default dex, whose ids are plain universe positions.
    """
    if perp_dex_index == 0:
        return perp_asset_id(index_in_dex)
    if perp_dex_index < 0 or not 0 <= index_in_dex < HIP3_DEX_STRIDE:
        raise ValidationError(
            f"HIP-3 asset (dex {perp_dex_index}, index {index_in_dex}) out of range", rule="asset-id"
        )
    asset = HIP3_ASSET_OFFSET + perp_dex_index * HIP3_DEX_STRIDE + index_in_dex
    if asset >= OUTCOME_ASSET_OFFSET:
        raise ValidationError(f"HIP-3 dex index {perp_dex_index} out of range", rule="asset-id")
    return asset


def is_spot_asset(asset: int) -> bool:
    """Spot ids live in [10000, 100000); HIP-3 perps above that are perps (the SDK gets this wrong)."""
    return SPOT_ASSET_OFFSET <= asset < HIP3_ASSET_OFFSET


# --- field checks -----------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")


def _is_hex(text: str) -> bool:
    return all(c in _HEX for c in text)


def check_address(value: object, *, what: str = "address") -> str:
    """A 0x + 40 hex address, returned lowercase (the venue parses addresses as bytes)."""
    if not (isinstance(value, str) and len(value) == 42 and value[:2] == "0x" and _is_hex(value[2:])):
        raise ValidationError(f"{what} {value!r} is not a 0x-address of 40 hex digits", rule="address")
    return value.lower()


def check_cloid(value: object, *, what: str = "cloid") -> str:
    """A client order id: 0x + 32 hex (16 bytes), returned lowercase."""
    if not (isinstance(value, str) and len(value) == 34 and value[:2] == "0x" and _is_hex(value[2:])):
        raise ValidationError(f"{what} {value!r} is not 0x + 32 hex digits (16 bytes)", rule="cloid")
    return value.lower()


def check_uint(value: object, *, what: str, bits: int = 64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**bits:
        raise ValidationError(f"{what} must be an integer in [0, 2^{bits}), got {value!r}", rule="integer")
    return value


def _check_bool(value: object, *, what: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{what} must be true or false, got {value!r}", rule="boolean")
    return value


def _check_asset(value: object, *, what: str = "asset") -> int:
    return check_uint(value, what=what, bits=32)


# --- order ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limit:
    """Plain limit order: Gtc rests, Ioc takes what it can, Alo is post-only."""

    tif: Tif = "Gtc"


@dataclass(frozen=True, slots=True)
class Trigger:
    """TP/SL trigger on the mark price; `is_market` executes with the order price as the worst price."""

    trigger_px: Decimal
    is_market: bool
    tpsl: Tpsl


@dataclass(frozen=True, slots=True)
class OrderSpec:
    """One order as the venue sees it (prices/sizes already valid for the asset)."""

    asset: int
    is_buy: bool
    price: Decimal
    size: Decimal
    kind: Limit | Trigger = Limit()
    reduce_only: bool = False
    cloid: str | None = None


@dataclass(frozen=True, slots=True)
class BuilderFee:
    """Builder code: fee in tenths of a basis point (10 = 1 bp). Only when the user sets one."""

    address: str
    fee_tenths_bp: int


def order_type_wire(kind: Limit | Trigger) -> dict:
    if isinstance(kind, Limit):
        if kind.tif not in TIFS:
            raise ValidationError(f"tif {kind.tif!r} is not one of Gtc, Ioc, Alo", rule="tif")
        return {"limit": {"tif": kind.tif}}
    if isinstance(kind, Trigger):
        if kind.tpsl not in TPSLS:
            raise ValidationError(f"tpsl {kind.tpsl!r} is not tp or sl", rule="tpsl")
        return {
            "trigger": {
                "isMarket": _check_bool(kind.is_market, what="isMarket"),
                "triggerPx": to_wire(kind.trigger_px, what="trigger price"),
                "tpsl": kind.tpsl,
            }
        }
    raise ValidationError(f"unknown order type {kind!r}", rule="order-type")


def order_wire(spec: OrderSpec) -> dict:
    """{"a","b","p","s","r","t"[,"c"]} in the venue's order."""
    wire = {
        "a": _check_asset(spec.asset),
        "b": _check_bool(spec.is_buy, what="isBuy"),
        "p": to_wire(spec.price, what="price"),
        "s": to_wire(spec.size, what="size"),
        "r": _check_bool(spec.reduce_only, what="reduceOnly"),
        "t": order_type_wire(spec.kind),
    }
    if spec.cloid is not None:
        wire["c"] = check_cloid(spec.cloid)
    return wire


def order_action(
    orders: Sequence[OrderSpec], *, grouping: Grouping = "na", builder: BuilderFee | None = None
) -> dict:
    """One or more orders. `grouping` normalTpsl: first order is the parent, then its TP/SL children."""
    if not orders:
        raise ValidationError("an order action needs at least one order", rule="order-empty")
    if grouping not in GROUPINGS:
        raise ValidationError(f"grouping {grouping!r} is not na, normalTpsl or positionTpsl", rule="grouping")
    action: dict = {"type": "order", "orders": [order_wire(o) for o in orders], "grouping": grouping}
    if builder is not None:
        action["builder"] = {
            "b": check_address(builder.address, what="builder"),
            "f": check_uint(builder.fee_tenths_bp, what="builder fee"),
        }
    return action


# --- cancel / modify --------------------------------------------------------------------------


def cancel_action(cancels: Iterable[tuple[int, int]], *, fast: bool = False) -> dict:
    """Cancel by (asset, oid). `fast` adds "f": true (never sent when false)."""
    items = [{"a": _check_asset(a), "o": check_uint(o, what="oid")} for a, o in cancels]
    if not items:
        raise ValidationError("a cancel needs at least one order", rule="cancel-empty")
    action: dict = {"type": "cancel", "cancels": items}
    if fast:
        action["f"] = True
    return action


def cancel_by_cloid_action(cancels: Iterable[tuple[int, str]], *, fast: bool = False) -> dict:
    """Cancel by (asset, cloid); note the long key names ("asset", "cloid") of this action."""
    items = [{"asset": _check_asset(a), "cloid": check_cloid(c)} for a, c in cancels]
    if not items:
        raise ValidationError("a cancel needs at least one order", rule="cancel-empty")
    action: dict = {"type": "cancelByCloid", "cancels": items}
    if fast:
        action["f"] = True
    return action


def _oid_or_cloid(oid: int | str) -> int | str:
    if isinstance(oid, str):
        return check_cloid(oid, what="oid (cloid)")
    return check_uint(oid, what="oid")


def modify_action(oid: int | str, order: OrderSpec, *, always_place: bool = False) -> dict:
    """Replace one order (by oid or cloid). The replacement gets a new oid: track by cloid."""
    action: dict = {"type": "modify", "oid": _oid_or_cloid(oid), "order": order_wire(order)}
    if always_place:
        action["a"] = True
    return action


def batch_modify_action(modifies: Iterable[tuple[int | str, OrderSpec]], *, always_place: bool = False) -> dict:
    """Several modifies at once (what the SDK's modify_order sends)."""
    items = [{"oid": _oid_or_cloid(oid), "order": order_wire(o)} for oid, o in modifies]
    if not items:
        raise ValidationError("a batchModify needs at least one modify", rule="modify-empty")
    action: dict = {"type": "batchModify", "modifies": items}
    if always_place:
        action["a"] = True
    return action


# --- account settings -------------------------------------------------------------------------


def update_leverage_action(asset: int, leverage: int, *, is_cross: bool) -> dict:
    """Set leverage (integer 1..maxLeverage) and cross/isolated mode for one perp."""
    if isinstance(leverage, bool) or not isinstance(leverage, int) or leverage < 1:
        raise ValidationError(f"leverage must be a positive integer, got {leverage!r}", rule="leverage")
    return {
        "type": "updateLeverage",
        "asset": _check_asset(asset),
        "isCross": _check_bool(is_cross, what="isCross"),
        "leverage": leverage,
    }


def update_isolated_margin_action(asset: int, amount_usd: Decimal) -> dict:
    """Add (positive) or remove (negative) isolated margin; ntli = USD × 1e6, a signed int."""
    ntli = to_usd_int(amount_usd, what="isolated margin amount")
    if ntli == 0:
        raise ValidationError("isolated margin change must not be zero", rule="margin-zero")
    return {"type": "updateIsolatedMargin", "asset": _check_asset(asset), "isBuy": True, "ntli": ntli}


def schedule_cancel_action(time_ms: int | None) -> dict:
    """Dead man's switch: cancel all orders at `time_ms` (≥ now + 5 s); None clears it."""
    action: dict = {"type": "scheduleCancel"}
    if time_ms is not None:
        action["time"] = check_uint(time_ms, what="scheduleCancel time")
    return action


def twap_order_action(
    asset: int, *, is_buy: bool, size: Decimal, reduce_only: bool, minutes: int, randomize: bool
) -> dict:
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 1:
        raise ValidationError(f"TWAP minutes must be a positive integer, got {minutes!r}", rule="twap-minutes")
    return {
        "type": "twapOrder",
        "twap": {
            "a": _check_asset(asset),
            "b": _check_bool(is_buy, what="isBuy"),
            "s": to_wire(size, what="size"),
            "r": _check_bool(reduce_only, what="reduceOnly"),
            "m": minutes,
            "t": _check_bool(randomize, what="randomize"),
        },
    }


def twap_cancel_action(asset: int, twap_id: int) -> dict:
    return {"type": "twapCancel", "a": _check_asset(asset), "t": check_uint(twap_id, what="twapId")}


def noop_action() -> dict:
    """Burns its nonce; sent with an in-flight action's nonce it kills that action."""
    return {"type": "noop"}


# --- user-signed actions (EIP-712, signed by the master key) -----------------------------------


def _amount(value: Decimal, *, what: str = "amount") -> str:
    text = to_wire(value, what=what)
    if Decimal(text) <= 0:
        raise ValidationError(f"{what} must be positive, got {text}", rule="amount-positive")
    return text


def usd_send_action(destination: str, amount: Decimal, *, time_ms: int) -> dict:
    """Send USDC (perp balance) to another address."""
    return {
        "destination": check_address(destination, what="destination"),
        "amount": _amount(amount),
        "time": check_uint(time_ms, what="time"),
        "type": "usdSend",
    }


def spot_send_action(destination: str, token: str, amount: Decimal, *, time_ms: int) -> dict:
    """Send a spot token; `token` is "NAME:0x<tokenId>"."""
    if not isinstance(token, str) or ":" not in token:
        raise ValidationError(f"token {token!r} must look like NAME:0x<token id>", rule="token")
    return {
        "destination": check_address(destination, what="destination"),
        "amount": _amount(amount),
        "token": token,
        "time": check_uint(time_ms, what="time"),
        "type": "spotSend",
    }


def withdraw3_action(destination: str, amount: Decimal, *, time_ms: int) -> dict:
    """Withdraw USDC to Arbitrum ($1 fee, ~5 minutes)."""
    return {
        "destination": check_address(destination, what="destination"),
        "amount": _amount(amount),
        "time": check_uint(time_ms, what="time"),
        "type": "withdraw3",
    }


def usd_class_transfer_action(
    amount: Decimal, *, to_perp: bool, nonce: int, sub_account: str | None = None
) -> dict:
    """Move USDC between spot and perp; for a sub-account the amount carries " subaccount:0x…"."""
    text = _amount(amount)
    if sub_account is not None:
        text += f" subaccount:{check_address(sub_account, what='sub-account')}"
    return {
        "type": "usdClassTransfer",
        "amount": text,
        "toPerp": _check_bool(to_perp, what="toPerp"),
        "nonce": check_uint(nonce, what="nonce"),
    }


def send_asset_action(
    destination: str,
    *,
    source_dex: str,
    destination_dex: str,
    token: str,
    amount: Decimal,
    nonce: int,
    from_sub_account: str | None = None,
) -> dict:
    """Move a token between dexes ("" default perp dex, a HIP-3 dex name, or "spot") and/or users."""
    for what, dex in (("sourceDex", source_dex), ("destinationDex", destination_dex)):
        if not isinstance(dex, str):
            raise ValidationError(f"{what} must be a string", rule="dex")
    return {
        "type": "sendAsset",
        "destination": check_address(destination, what="destination"),
        "sourceDex": source_dex,
        "destinationDex": destination_dex,
        "token": token,
        "amount": _amount(amount),
        "fromSubAccount": "" if from_sub_account is None else check_address(from_sub_account, what="fromSubAccount"),
        "nonce": check_uint(nonce, what="nonce"),
    }


def approve_agent_action(agent_address: str, *, nonce: int, agent_name: str | None = None) -> dict:
    """Approve an API wallet. Without a name the key is absent (signed as ""), as the SDK posts it.

    A name may carry " valid_until <ms>" for a custom expiry.
    """
    action: dict = {"type": "approveAgent", "agentAddress": check_address(agent_address, what="agentAddress")}
    if agent_name is not None:
        if not isinstance(agent_name, str):
            raise ValidationError("agentName must be a string", rule="agent-name")
        action["agentName"] = agent_name
    action["nonce"] = check_uint(nonce, what="nonce")
    return action


def approve_builder_fee_action(builder: str, max_fee_percent: Decimal, *, nonce: int) -> dict:
    """Allow `builder` to charge up to `max_fee_percent` percent (e.g. Decimal("0.001") -> "0.001%")."""
    return {
        "maxFeeRate": f"{_amount(max_fee_percent, what='max fee rate')}%",
        "builder": check_address(builder, what="builder"),
        "nonce": check_uint(nonce, what="nonce"),
        "type": "approveBuilderFee",
    }


# --- the scheme table ---------------------------------------------------------------------------

Scheme = Literal["l1", "user_signed"]


@dataclass(frozen=True, slots=True)
class UserSignedType:
    """EIP-712 shape of one user-signed action: primary type and (name, type) fields in order."""

    primary_type: str
    fields: tuple[tuple[str, str], ...]
    nonce_field: str  # "time" or "nonce": must equal the envelope nonce

    @property
    def type_string(self) -> str:
        inner = ",".join(f"{t} {n}" for n, t in self.fields)
        return f"{self.primary_type}({inner})"


def _ust(name: str, fields: str, nonce_field: str) -> UserSignedType:
    pairs = tuple((f.split()[1], f.split()[0]) for f in fields.split(","))
    return UserSignedType(f"HyperliquidTransaction:{name}", pairs, nonce_field)


USER_SIGNED_TYPES: dict[str, UserSignedType] = {
    "usdSend": _ust("UsdSend", "string hyperliquidChain,string destination,string amount,uint64 time", "time"),
    "spotSend": _ust(
        "SpotSend", "string hyperliquidChain,string destination,string token,string amount,uint64 time", "time"
    ),
    "withdraw3": _ust("Withdraw", "string hyperliquidChain,string destination,string amount,uint64 time", "time"),
    "usdClassTransfer": _ust(
        "UsdClassTransfer", "string hyperliquidChain,string amount,bool toPerp,uint64 nonce", "nonce"
    ),
    "sendAsset": _ust(
        "SendAsset",
        "string hyperliquidChain,string destination,string sourceDex,string destinationDex,string token,"
        "string amount,string fromSubAccount,uint64 nonce",
        "nonce",
    ),
    "approveAgent": _ust(
        "ApproveAgent", "string hyperliquidChain,address agentAddress,string agentName,uint64 nonce", "nonce"
    ),
    "approveBuilderFee": _ust(
        "ApproveBuilderFee", "string hyperliquidChain,string maxFeeRate,address builder,uint64 nonce", "nonce"
    ),
    "tokenDelegate": _ust(
        "TokenDelegate",
        "string hyperliquidChain,address validator,uint64 wei,bool isUndelegate,uint64 nonce",
        "nonce",
    ),
    "cDeposit": _ust("CDeposit", "string hyperliquidChain,uint64 wei,uint64 nonce", "nonce"),
    "cWithdraw": _ust("CWithdraw", "string hyperliquidChain,uint64 wei,uint64 nonce", "nonce"),
    "userSetAbstraction": _ust(
        "UserSetAbstraction", "string hyperliquidChain,address user,string abstraction,uint64 nonce", "nonce"
    ),
    "userDexAbstraction": _ust(
        "UserDexAbstraction", "string hyperliquidChain,address user,bool enabled,uint64 nonce", "nonce"
    ),
    "convertToMultiSigUser": _ust(
        "ConvertToMultiSigUser", "string hyperliquidChain,string signers,uint64 nonce", "nonce"
    ),
}

L1_ACTION_TYPES: frozenset[str] = frozenset(
    {
        "order",
        "cancel",
        "cancelByCloid",
        "modify",
        "batchModify",
        "scheduleCancel",
        "updateLeverage",
        "updateIsolatedMargin",
        "topUpIsolatedOnlyMargin",
        "twapOrder",
        "twapCancel",
        "noop",
        "createSubAccount",
        "subAccountTransfer",
        "subAccountSpotTransfer",
        "vaultTransfer",
        "setReferrer",
        "reserveRequestWeight",
        "agentSetAbstraction",
        "agentEnableDexAbstraction",
        "claimRewards",
        "evmUserModify",
        # Deployer / validator actions the SDK signs as L1 (perpcli never builds them).
        "spotDeploy",
        "perpDeploy",
        "CSignerAction",
        "CValidatorAction",
        "gossipPriorityBid",
    }
)

# Action types whose posted envelope carries vaultAddress null: the sub-account rides inside
# the action (amount suffix / fromSubAccount), and the SDK forces it.
VAULT_FORCED_NULL: frozenset[str] = frozenset({"usdClassTransfer", "sendAsset"})


# The one table: action type -> how it is signed.
ACTION_SCHEMES: dict[str, Scheme] = {
    **dict.fromkeys(sorted(L1_ACTION_TYPES), "l1"),
    **dict.fromkeys(USER_SIGNED_TYPES, "user_signed"),
}


def scheme_of(action_type: str) -> Scheme:
    """"l1" or "user_signed" for a known action type; ValidationError for anything else."""
    scheme = ACTION_SCHEMES.get(action_type)
    if scheme is not None:
        return scheme
    raise ValidationError(f"unknown Hyperliquid action type {action_type!r}", rule="action-type")
