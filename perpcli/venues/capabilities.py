"""The frozen record of what a venue supports; `perp venues --json` prints it for scripts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a venue supports; cheap to build, so the registry holds one per venue without
    importing the adapter. Every field is plain data so `perp venues --json` can print it."""

    name: str
    title: str
    kind: str  # "orderbook" | "oracle" (no book; fills at an oracle price)
    settlement: str  # "immediate" (answer carries the outcome) | "keeper" (filled in a later step)
    networks: tuple[str, ...]
    default_network: str
    collateral: str = "USDC"
    order_types: tuple[str, ...] = ("limit", "market")
    time_in_force: tuple[str, ...] = ()
    trigger_orders: bool = False
    bracket_orders: bool = False
    reduce_only: bool = False
    post_only: bool = False
    modify: bool = False
    cancel_by_cloid: bool = False
    batch_orders: bool = False
    client_order_ids: bool = False
    margin_modes: tuple[str, ...] = ("cross",)
    leverage_update: bool = False
    isolated_margin_transfer: bool = False
    transfers: tuple[str, ...] = ()  # e.g. "usd_class", "usd_send", "withdraw"
    withdraw_fee: str = ""  # flat fee per withdrawal, in collateral, as a decimal string ("" unknown)
    agent_keys: bool = False
    dead_man_switch: bool = False
    twap: bool = False
    book_stream: str = "none"  # "snapshot" | "diff" | "none"
    account_stream: bool = False
    signed_reads: bool = False  # account reads are signed requests: reading an account needs its key
    builder_markets: bool = False  # HIP-3 style dex-prefixed markets
    signing: str = ""  # short human note, e.g. "EIP-712 phantom agent"
    # "size": orders are OrderIntents sized in base units; "collateral": each trade carries its own
    # collateral x leverage and orders are CollateralOrders (venues.base.CollateralTrading)
    order_form: str = "size"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            out[name] = list(value) if isinstance(value, tuple) else value
        return out
