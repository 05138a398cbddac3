"""Views an Ostium client reads from the chain: contract addresses, pair limits, USDC.

Callbacks, PairsStorage and PairsInfo are found through the Registry that Trading names
(`trading.registry()` then `registry.getContractAddress(bytes32 name)`, the name right-padded
with zero bytes), as Ostium's SDK resolves them; the Registry's ABI is not among the published
ones, so its one getter is encoded from its signature here.

Units as the contracts use them: leverage x100 (uint32/uint16), pairMinLevPos in USDC units
(6 decimals), liqMarginThresholdP a whole percent (uint8).
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import TYPE_CHECKING

from perpcli.domain.errors import NetworkError
from perpcli.keys.hashing import keccak256
from perpcli.venues.ostium import abicodec
from perpcli.venues.ostium.calls import ZERO_ADDRESS, address
from perpcli.venues.ostium.events import TradeTuple
from perpcli.venues.ostium.instruments import PairLimits
from perpcli.venues.ostium.positions import OpenTrade
from perpcli.venues.ostium.scaling import leverage_from_wire, price_from_wire, usdc_from_wire

if TYPE_CHECKING:
    from perpcli.venues.ostium.chain import Chain

_GET_CONTRACT_ADDRESS = keccak256(b"getContractAddress(bytes32)")[:4]
REGISTRY_NAMES = ("callbacks", "pairsStorage", "pairInfos", "vault", "tradingStorage")


class ChainReads:
    def __init__(self, chain: Chain) -> None:
        self.chain = chain
        self.network = chain.network
        self._addresses: dict[str, str] = {}

    # ----- addresses ---------------------------------------------------------------------

    @functools.cached_property
    def registry(self) -> str:
        (reg,) = self.chain.call_function("trading", "registry", self.network.trading)
        return address(reg, "registry")

    def contract(self, name: str) -> str:
        """A contract's address by its registry name ("callbacks", "pairsStorage", "pairInfos")."""
        if name not in self._addresses:
            data = _GET_CONTRACT_ADDRESS + abicodec.encode(["bytes32"], [name.encode().ljust(32, b"\0")])
            raw = self.chain.eth_call(self.registry, data)
            try:
                (found,) = abicodec.decode(["address"], raw)
            except abicodec.AbiDecodeError:  # the node answered something else
                raise NetworkError(f"the Ostium registry gave no address for {name!r}", retryable=False) from None
            if int(found, 16) == 0:
                raise NetworkError(f"the Ostium registry has no {name!r} contract on {self.network.name}",
                                   retryable=False)
            self._addresses[name] = address(found)
        return self._addresses[name]

    # ----- pairs -------------------------------------------------------------------------

    def pairs_count(self) -> int:
        (count,) = self.chain.call_function("pairs_storage", "pairsCount", self.contract("pairsStorage"))
        return int(count)

    @functools.cached_property
    def liq_margin_threshold_pct(self) -> Decimal:
        (pct,) = self.chain.call_function("pairs_info", "liqMarginThresholdP", self.contract("pairInfos"))
        return Decimal(int(pct))

    def pair_limits(self, pair_index: int) -> PairLimits:
        storage = self.contract("pairsStorage")

        def read(fn: str) -> int:
            (value,) = self.chain.call_function("pairs_storage", fn, storage, pair_index)
            return int(value)

        overnight = read("pairOvernightMaxLeverage")
        return PairLimits(
            min_leverage=leverage_from_wire(read("pairMinLeverage")),
            max_leverage=leverage_from_wire(read("pairMaxLeverage")),
            min_position_usd=usdc_from_wire(read("pairMinLevPos")),
            liq_margin_threshold_pct=self.liq_margin_threshold_pct,
            overnight_max_leverage=leverage_from_wire(overnight) if overnight else None,
        )

    # ----- trades ------------------------------------------------------------------------

    @functools.cached_property
    def max_trades_per_pair(self) -> int:
        (n,) = self.chain.call_function("trading_storage", "maxTradesPerPair", self.network.trading_storage)
        return int(n)

    def open_trades(self, trader: str, pair_indices: list[int]) -> list[OpenTrade]:
        """Every open trade of `trader` on the given pairs, with the chain's liquidation price
        and accrued rollover and funding. Slots are not contiguous (a closed trade frees its
        index), so each pair with trades is scanned up to maxTradesPerPair."""
        trader = address(trader, "trader")
        storage = self.network.trading_storage
        out: list[OpenTrade] = []
        for pair in pair_indices:
            (count,) = self.chain.call_function("trading_storage", "openTradesCount", storage, trader, pair)
            found = 0
            for index in range(self.max_trades_per_pair):
                if found >= int(count):
                    break
                (raw,) = self.chain.call_function("trading_storage", "getOpenTrade", storage, trader, pair, index)
                if str(raw[4]).lower() == ZERO_ADDRESS or int(raw[0]) == 0:
                    continue  # an empty slot
                found += 1
                out.append(self._open_trade(trader, raw))
        return out

    def _open_trade(self, trader: str, raw: tuple) -> OpenTrade:
        trade = TradeTuple.from_wire(raw)
        collateral, open_price, leverage, pair, index, buy = raw[0], raw[1], raw[5], raw[6], raw[7], raw[8]
        (info,) = self.chain.call_function("trading_storage", "getOpenTradeInfo", self.network.trading_storage,
                                           trader, pair, index)
        infos = self.contract("pairInfos")
        (max_leverage,) = self.chain.call_function("pairs_storage", "pairMaxLeverage", self.contract("pairsStorage"),
                                                   pair)
        (liq,) = self.chain.call_function("pairs_info", "getTradeLiquidationPrice", infos, trader, pair, index,
                                          open_price, buy, collateral, leverage, max_leverage)
        (rollover,) = self.chain.call_function("pairs_info", "getTradeRolloverFee", infos, trader, pair, index, buy,
                                               collateral, leverage)
        funding = self.chain.call_function("pairs_info", "getTradeFundingFee", infos, trader, pair, index, buy,
                                           collateral, leverage)
        return OpenTrade(
            trade=trade,
            trade_id=int(info[0]),
            created_at_s=int(info[5]),
            liquidation_price=price_from_wire(int(liq)) if int(liq) > 0 else None,
            rollover_fee=_signed_usdc(int(rollover)),
            funding_fee=_signed_usdc(int(funding[0])),  # the first of the two values: the fee (> 0 owed)
        )

    # ----- USDC --------------------------------------------------------------------------

    def usdc_balance(self, owner: str) -> Decimal:
        (raw,) = self.chain.call_function("usdc", "balanceOf", self.network.usdc, address(owner, "owner"))
        return usdc_from_wire(int(raw))

    def usdc_allowance(self, owner: str) -> Decimal:
        """What TradingStorage (the spender of collateral) may still pull from `owner`."""
        (raw,) = self.chain.call_function("usdc", "allowance", self.network.usdc, address(owner, "owner"),
                                          self.network.trading_storage)
        return usdc_from_wire(int(raw))


def _signed_usdc(raw: int) -> Decimal:
    return -usdc_from_wire(-raw) if raw < 0 else usdc_from_wire(raw)
