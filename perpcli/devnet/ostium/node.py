"""The Ostium face of `perp devnet`, assembled: anvil, the contracts, the keeper, the HTTP face.

`OstiumDevnet(config).start()` starts anvil (a child process on a private loopback port),
places and initialises the contracts, starts the keeper thread and serves the face (JSON-RPC
proxy + prices) on `config.port` (8545 by default: the ostium-devnet venue's URL). `stop()`
ends all of it. Without an anvil binary `start()` raises AnvilMissing, whose message says what
to install; the rest of `perp devnet` runs on.

The chain id is the devnet's 31337 by default (a transaction signed for it is worthless on
Arbitrum); `chain_id=42161` gives a chain on which Ostium's published mainnet transactions
replay byte for byte (tests/test_ostium_devnet_vectors.py).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from perpcli.devnet.ostium import artifacts
from perpcli.devnet.ostium.anvil import INSTALL_HINT, AnvilProcess, anvil_binary
from perpcli.devnet.ostium.chain import ETH, NodeClient
from perpcli.devnet.ostium.deploy import deploy
from perpcli.devnet.ostium.keeper import Keeper
from perpcli.devnet.ostium.prices import SyntheticPrices

GAS_ON_FIRST_SIGHT = 10 * ETH
GAS_PER_FUND = 1 * ETH
BASE_FEE_WEI = 10_000_000  # 0.01 gwei, Arbitrum's floor


class AnvilMissing(RuntimeError):
    """No anvil binary: the Ostium face cannot run (the message says what to install)."""


@dataclass
class OstiumDevnetConfig:
    host: str = "127.0.0.1"
    port: int = 8545  # 0: any free port
    chain_id: int = 31337
    seed: int = 0
    initial_balance: Decimal = Decimal(100_000)  # USDC an address gets the first time it is seen
    auto_fund: bool = True
    hours: str = "real"  # "real": each pair's trading hours; "always": every market open
    walk: bool = True  # False: prices move only when set (tests)
    keeper_interval_s: float = 0.25
    timings: dict[str, float] = field(default_factory=dict)


class OstiumDevnet:
    def __init__(self, config: OstiumDevnetConfig | None = None) -> None:
        self.config = config or OstiumDevnetConfig()
        self.prices = SyntheticPrices(seed=self.config.seed, walk=self.config.walk, hours=self.config.hours)
        self.anvil: AnvilProcess | None = None
        self.keeper: Keeper | None = None
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._fund_lock = threading.Lock()
        self._funder: NodeClient | None = None
        self._seen: set[str] = set(artifacts.CONTRACT_ADDRESSES)

    # ----- life --------------------------------------------------------------------------------

    def start(self) -> OstiumDevnet:
        binary = anvil_binary()
        if binary is None:
            raise AnvilMissing(INSTALL_HINT)
        from perpcli.devnet.ostium.face import FaceServer

        began = time.perf_counter()
        self.anvil = AnvilProcess(binary, chain_id=self.config.chain_id, base_fee_wei=BASE_FEE_WEI)
        try:
            up = time.perf_counter()
            self._funder = NodeClient(self.anvil.url)
            deploy(self._funder)
            deployed = time.perf_counter()
            self.config.timings.update(chain_up_s=up - began, deploy_s=deployed - up)
            self.keeper = Keeper(self.anvil.url, self.prices, interval_s=self.config.keeper_interval_s)
            self.keeper.start()
            self._server = FaceServer((self.config.host, self.config.port), self)
        except BaseException:
            self.stop()
            raise
        self._server_thread = threading.Thread(target=self._server.serve_forever, name="ostium-face", daemon=True)
        self._server_thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self.keeper is not None:
            self.keeper.stop()
            self.keeper = None
        if self._funder is not None:
            self._funder.close()
            self._funder = None
        if self.anvil is not None:
            self.anvil.stop()
            self.anvil = None

    def __enter__(self) -> OstiumDevnet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- where ---------------------------------------------------------------------------------

    @property
    def node_url(self) -> str:
        """anvil's own port: the devnet's private side (impersonation, anvil_* controls)."""
        if self.anvil is None:
            raise RuntimeError("the Ostium devnet is not running")
        return self.anvil.url

    @property
    def url(self) -> str:
        """The JSON-RPC URL traders use (the funding proxy)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def prices_url(self) -> str:
        return self.url + "/latest-prices"

    def status(self) -> dict[str, Any]:
        return {"rpc": self.url, "prices": self.prices_url, "chain_id": self.config.chain_id,
                "trading": artifacts.TRADING, "trading_storage": artifacts.TRADING_STORAGE, "usdc": artifacts.USDC,
                "auto_fund": self.config.auto_fund, "hours": self.config.hours,
                "settled": self.keeper.settled if self.keeper else 0}

    # ----- money ---------------------------------------------------------------------------------

    def fund_on_first_sight(self, address: str) -> None:
        """USDC (initial_balance) and gas for an address the first time its own state is read."""
        who = address.lower()
        if not self.config.auto_fund or who in self._seen:
            return
        with self._fund_lock:
            if who in self._seen:
                return
            node = self._funder
            if node.eth_balance(who) < GAS_ON_FIRST_SIGHT:
                node.call("anvil_setBalance", [who, hex(GAS_ON_FIRST_SIGHT)])
            node.mint_usdc(who, self.config.initial_balance)
            self._seen.add(who)

    def fund(self, address: str, amount: Decimal) -> dict[str, str]:
        """`perp devnet fund`: `amount` USDC and 1 ETH of gas; the address counts as seen."""
        who = address.lower()
        with self._fund_lock:
            node = self._funder
            node.mint_usdc(who, amount)
            node.add_eth(who, GAS_PER_FUND)
            self._seen.add(who)
            return {"user": who, "usdc": str(node.usdc_balance(who)), "eth": str(Decimal(node.eth_balance(who)) / ETH)}

    def keeper_poke(self) -> None:
        if self.keeper is not None:
            self.keeper.poke()

    # ----- control -------------------------------------------------------------------------------

    def control(self, command: str, args: dict[str, Any]) -> dict[str, Any]:
        if command == "fund":
            user, amount = args.get("user"), Decimal(str(args.get("amount")))
            if not isinstance(user, str) or len(user) != 42 or not user.startswith("0x"):
                raise ValueError("fund needs a 0x-address in 'user'")
            int(user[2:], 16)
            if not amount.is_finite() or amount < 0:
                raise ValueError("fund needs a non-negative 'amount'")
            return self.fund(user, amount)
        if command == "price":
            pair = self.prices.pair_index(str(args.get("symbol", "")))
            mid = args.get("mid")
            self.prices.set_mid(pair, None if mid is None else Decimal(str(mid)))
            self.keeper_poke()
            q = self.prices.quote(pair)
            return {"symbol": q.symbol, "bid": str(q.bid), "mid": str(q.mid), "ask": str(q.ask)}
        if command == "market":
            pair = self.prices.pair_index(str(args.get("symbol", "")))
            is_open = args.get("open")
            if is_open is not None and not isinstance(is_open, bool):
                raise ValueError("'open' is true, false or null (back to trading hours)")
            self.prices.set_open(pair, is_open)
            self.keeper_poke()
            q = self.prices.quote(pair)
            return {"symbol": q.symbol, "open": q.market_open}
        if command == "keeper":
            paused = args.get("paused")
            if not isinstance(paused, bool):
                raise ValueError("'paused' is true (the keeper stops answering) or false")
            if self.keeper is not None:
                self.keeper.paused = paused
                self.keeper_poke()
            return {"paused": paused}
        raise KeyError(f"no Ostium devnet control {command!r} (fund, price, market, keeper)")
