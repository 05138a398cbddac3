"""Hyperliquid's JSON, typed as the venue spells it. No logic: codec.py turns these into domain types.

Decimals arrive as strings (server style: "2397.0"), ids and times as integers. Keys that the
venue marks optional are `NotRequired`. Only the shapes perpcli reads are declared here.
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class AssetMeta(TypedDict):
    name: str
    szDecimals: int
    maxLeverage: int
    onlyIsolated: NotRequired[bool]
    isDelisted: NotRequired[bool]
    marginMode: NotRequired[str]
    marginTableId: NotRequired[int]


class MarginTierWire(TypedDict):
    lowerBound: str
    maxLeverage: int


class MarginTableWire(TypedDict):
    description: str
    marginTiers: list[MarginTierWire]


class Meta(TypedDict):
    universe: list[AssetMeta]
    marginTables: NotRequired[list[list]]  # [[id, MarginTableWire], ...]
    collateralToken: NotRequired[int]


class AssetCtx(TypedDict):
    dayNtlVlm: str
    funding: str
    impactPxs: list[str] | None
    markPx: str
    midPx: str | None
    openInterest: str
    oraclePx: str
    premium: str | None
    prevDayPx: str


class PerpDex(TypedDict):
    name: str
    fullName: NotRequired[str]
    deployer: NotRequired[str]


class Level(TypedDict):
    px: str
    sz: str
    n: int


class L2Book(TypedDict):
    coin: str
    time: int
    levels: list[list[Level]]  # [bids best-first, asks best-first]


class Trade(TypedDict):
    coin: str
    side: Literal["A", "B"]
    px: str
    sz: str
    time: int
    hash: str
    tid: int
    users: NotRequired[list[str]]


class Candle(TypedDict):
    t: int
    T: int
    s: str
    i: str
    o: str
    c: str
    h: str
    l: str  # noqa: E741 - the venue's key
    v: str
    n: int


class Leverage(TypedDict):
    type: Literal["cross", "isolated"]
    value: int
    rawUsd: NotRequired[str]


class Position(TypedDict):
    coin: str
    szi: str
    entryPx: str | None
    leverage: Leverage
    liquidationPx: str | None
    marginUsed: str
    maxLeverage: int
    positionValue: str
    returnOnEquity: str
    unrealizedPnl: str


class AssetPosition(TypedDict):
    position: Position
    type: str


class MarginSummary(TypedDict):
    accountValue: str
    totalMarginUsed: str
    totalNtlPos: str
    totalRawUsd: str


class ClearinghouseState(TypedDict):
    assetPositions: list[AssetPosition]
    crossMaintenanceMarginUsed: str
    crossMarginSummary: MarginSummary
    marginSummary: MarginSummary
    time: int
    withdrawable: str


class SpotBalance(TypedDict):
    coin: str
    token: int
    hold: str
    total: str


class OpenOrder(TypedDict):
    coin: str
    limitPx: str
    oid: int
    side: Literal["A", "B"]
    sz: str
    timestamp: int
    origSz: NotRequired[str]
    cloid: NotRequired[str | None]
    reduceOnly: NotRequired[bool]
    orderType: NotRequired[str]
    tif: NotRequired[str | None]
    isTrigger: NotRequired[bool]
    triggerPx: NotRequired[str]


class Fill(TypedDict):
    coin: str
    px: str
    sz: str
    side: Literal["A", "B"]
    time: int
    startPosition: str
    dir: str
    closedPnl: str
    hash: str
    oid: int
    crossed: bool
    fee: str
    tid: int
    feeToken: str
    cloid: NotRequired[str | None]


class OrderStatusInner(TypedDict):
    order: OpenOrder
    status: str
    statusTimestamp: int


class OrderStatusResponse(TypedDict):
    status: Literal["order", "unknownOid"]
    order: NotRequired[OrderStatusInner]


class FundingRow(TypedDict):
    coin: str
    fundingRate: str
    premium: str
    time: int


class UserFundingDelta(TypedDict):
    type: str
    coin: str
    usdc: str
    szi: str
    fundingRate: str


class UserFundingRow(TypedDict):
    delta: UserFundingDelta
    hash: str
    time: int


class UserRole(TypedDict):
    role: Literal["user", "agent", "vault", "subAccount", "missing"]
    data: NotRequired[dict]


class ExtraAgent(TypedDict):
    name: str
    address: str
    validUntil: int


class ExchangeResponse(TypedDict):
    status: Literal["ok", "err"]
    response: dict | str


class WsMessage(TypedDict):
    channel: str
    data: NotRequired[object]
