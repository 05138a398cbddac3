"""What `perp demo` sets up: a devnet-only demo key and an in-process devnet with it funded.

The demo key is a throwaway key for the local devnet, written once (0600, in a 0700 folder
under PERPCLI_HOME's data dir). It is read by the tour through PERPCLI_PRIVATE_KEY from that
file, never through argv. It must never hold real funds: it is stored unencrypted on purpose,
and the file says so.
"""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perpcli.config import paths

WARNING = "# perpcli demo key: for the local devnet ONLY. Unencrypted. Never send real funds to it.\n"


def demo_key_path() -> Path:
    return paths.data_dir() / "demo" / "devnet-demo.key"


def demo_key() -> tuple[Path, str]:
    """(path, address) of the demo key, creating it on first use."""
    from perpcli.keys.signer import Signer

    path = demo_key_path()
    if path.exists():
        from perpcli.keys import files

        lines = [ln for ln in files.lines(path.read_text()) if ln and not ln.startswith("#")]
        signer = Signer.from_hex(lines[0])
        return path, signer.address
    paths.ensure_private_dir(path.parent)
    hexkey = "0x" + secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(WARNING + hexkey + "\n")
    return path, Signer.from_hex(hexkey).address


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


# The demo account: a modest balance holding leveraged positions, so the first screen shows what
# a trader watches (liquidation prices and the distance to them, the margin ratio, funding)
# rather than an idle 100k account whose positions can never be liquidated.
# (market, side is long, leverage, notional as a multiple of the balance)
DEMO_POSITIONS: tuple[tuple[str, bool, int, str], ...] = (("BTC", True, 10, "3"), ("ETH", False, 5, "1"))


def start_devnet(port: int | None, address: str, funds: str, *,
                 positions: tuple[tuple[str, bool, int, str], ...] = DEMO_POSITIONS) -> Any:
    """An in-process devnet (the configured port, or a free one if taken) with `address` funded
    and holding `positions` (opened at market once the synthetic makers quote)."""
    from decimal import Decimal

    from perpcli.config import settings
    from perpcli.devnet.server import start_in_thread

    cfg = settings.current()
    host = "127.0.0.1"
    wanted = port if port is not None else int(cfg.get("devnet.port"))
    chosen = wanted if wanted and _port_free(host, wanted) else 0
    handle = start_in_thread(host=host, port=chosen)
    engine = handle.devnet.engine
    aster_account = handle.devnet.aster.desk.account(address)

    def fund() -> bool:
        """The key's account on each face (two accounts, as on two venues), funded alike."""
        if engine.account_exists(address):
            return False
        now = handle.devnet.now_ms()
        engine.fund(address, Decimal(funds), now)
        engine.fund(aster_account, Decimal(funds), now)
        return True

    if handle.call(fund) and positions:
        open_positions(handle, address, Decimal(funds), positions)
        seed_aster(handle, address, Decimal(funds))
    return handle


# What the demo does through the Aster face (the same engine's books, the key's own Aster
# account): a position opened and an order resting as an Aster client would (symbol, long,
# leverage, notional as a multiple of the balance), so the Aster tab and `--venue aster-devnet`
# show them — and only they: the Hyperliquid face's account holds DEMO_POSITIONS alone.
ASTER_DEMO_POSITION: tuple[str, bool, int, str] = ("SOLUSDT", True, 5, "0.5")
ASTER_DEMO_ORDER: tuple[str, str, str] = ("ETHUSDT", "0.95", "500")  # a buy 5% under the mid, $500
ASTER_DEMO_CLIENT_ID = "demo-aster-bid"


def seed_aster(handle: Any, address: str, balance: Any, *, wait_s: float = 15.0) -> list[str]:
    """Open ASTER_DEMO_POSITION at market and rest ASTER_DEMO_ORDER through the devnet's Aster
    desk, on the address's Aster account (as its REST handlers do after checking a signature);
    returns the symbols touched. A book not quoting in time is skipped (the demo still runs)."""
    import time
    from decimal import ROUND_DOWN, Decimal

    from perpcli.devnet.aster.errors import AsterError

    desk = handle.devnet.aster.desk
    engine = handle.devnet.engine
    user = desk.account(address)
    symbol, is_long, leverage, multiple = ASTER_DEMO_POSITION
    order_symbol, below, notional = ASTER_DEMO_ORDER
    deadline = time.monotonic() + wait_s
    for sym in (symbol, order_symbol):
        coin = desk.markets.market(sym).name
        while handle.call(engine.mid_price, coin) is None and time.monotonic() < deadline:
            time.sleep(0.1)

    def place() -> list[str]:
        now = handle.devnet.now_ms()
        done = []
        try:
            m = desk.markets.market(symbol)
            mid = engine.mid_price(m.name)
            if mid is not None:
                desk.post_leverage({"symbol": symbol, "leverage": str(leverage)}, user, now)
                qty = (balance * Decimal(multiple) / mid).quantize(desk.markets.step(m), ROUND_DOWN)
                desk.post_order({"symbol": symbol, "side": "BUY" if is_long else "SELL", "type": "MARKET",
                                 "quantity": str(qty)}, user, now)
                done.append(symbol)
            m = desk.markets.market(order_symbol)
            mid = engine.mid_price(m.name)
            if mid is not None:
                px = desk.markets.round_price(m, mid * Decimal(below), down=True)
                qty = (Decimal(notional) / px).quantize(desk.markets.step(m), ROUND_DOWN)
                desk.post_order({"symbol": order_symbol, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                 "quantity": str(qty), "price": str(px), "newClientOrderId": ASTER_DEMO_CLIENT_ID},
                                user, now)
                done.append(order_symbol)
        except AsterError:
            pass  # the demo runs without it; the tour says what it holds
        handle.devnet.publish()  # stream subscribers hear of it as of any order
        return done

    return handle.call(place)


def open_positions(handle: Any, address: str, balance: Any, positions: tuple[tuple[str, bool, int, str], ...],
                   *, wait_s: float = 15.0) -> list[str]:
    """Open the demo positions at market on the devnet engine; returns the markets opened.

    The synthetic makers quote a moment after the devnet starts: wait (bounded) for each book,
    then buy or sell the notional at the leverage. A market that does not fill is left flat
    (the demo still runs; the tour says what it holds)."""
    import time
    from decimal import ROUND_DOWN, Decimal

    engine = handle.devnet.engine
    opened: list[str] = []
    deadline = time.monotonic() + wait_s
    for coin, is_long, leverage, multiple in positions:
        while handle.call(engine.mid_price, coin) is None and time.monotonic() < deadline:
            time.sleep(0.1)

        def open_one(coin: str = coin, is_long: bool = is_long, leverage: int = leverage,
                     multiple: str = multiple) -> bool:
            market = engine.market(coin)
            mid = engine.mid_price(coin)
            if market is None or mid is None:
                return False
            now = handle.devnet.now_ms()
            engine.update_leverage(address, market.asset, True, leverage, now)
            size = (balance * Decimal(multiple) / mid).quantize(Decimal(1).scaleb(-market.sz_decimals), ROUND_DOWN)
            result = engine.market_order(address, coin, is_long, size, now)
            return getattr(result, "error", None) is None

        if handle.call(open_one):
            opened.append(coin)
    return opened


@dataclass
class OstiumFace:
    """The demo's Ostium chain (`devnet`, an OstiumDevnet) and whether its XAU trade settled."""

    devnet: Any
    seeded: bool

    @property
    def url(self) -> str:
        return self.devnet.url

    @property
    def prices_url(self) -> str:
        return self.devnet.prices_url

    def stop(self) -> None:
        self.devnet.stop()


def start_ostium(address: str, funds: str) -> tuple[OstiumFace | None, str]:
    """The demo's Ostium face: a local EVM chain (anvil, installed into .tools by the Makefile)
    with perpcli's Ostium contracts and keeper, on the configured port when free (else any),
    `address` funded and holding the demo XAU trade. Without anvil (or when it cannot start):
    None and the one line saying that Ostium is skipped and what to install.

    Its markets are always open: the demo shows gold trading on any day (perpcli's own hours
    check still refuses a new order while the real market is closed)."""
    from decimal import Decimal

    from perpcli.config import settings
    from perpcli.devnet.ostium import anvil

    if anvil.anvil_binary() is None:
        return None, f"perp demo: Ostium skipped: {anvil.INSTALL_HINT}"
    from urllib.parse import urlparse

    from perpcli.devnet.ostium.demo import seed_trade
    from perpcli.devnet.ostium.node import OstiumDevnet, OstiumDevnetConfig

    host = "127.0.0.1"
    wanted = urlparse(str(settings.current().get("venues.ostium-devnet.url"))).port or 0
    port = wanted if wanted and _port_free(host, wanted) else 0
    try:
        devnet = OstiumDevnet(OstiumDevnetConfig(host=host, port=port, hours="always")).start()
    except (OSError, RuntimeError) as e:
        return None, f"perp demo: Ostium skipped: the local chain did not start ({e})"
    return OstiumFace(devnet, seed_trade(devnet, address, Decimal(funds))), ""


def holding() -> str:
    symbol, long, lev, multiple = ASTER_DEMO_POSITION
    return ", ".join([*(f"{coin} {'long' if long else 'short'} {lev}x ({multiple}x the balance)"
                        for coin, long, lev, multiple in DEMO_POSITIONS),
                      f"{symbol} {'long' if long else 'short'} {lev}x (on the Aster account)"])


def ostium_tour(face: OstiumFace | None) -> str:
    """The tour's Ostium lines (none when the demo runs without it)."""
    if face is None:
        return ""
    from perpcli.devnet.ostium.demo import DEMO_TRADE

    symbol, long, collateral, leverage = DEMO_TRADE
    held = (f"{symbol} {'long' if long else 'short'} {collateral} USDC x {leverage} (opened on chain, settled by "
            "the keeper)" if face.seeded else "nothing (the demo trade did not settle in time)")
    from perpcli.cli.commands.devnet import configured_ostium_url

    reach = "" if face.url.rstrip("/") == configured_ostium_url().rstrip("/") else (
        f"  export PERPCLI_VENUES_OSTIUM_DEVNET_URL={face.url} PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL={face.prices_url}\n")
    o = "perp --venue ostium-devnet"
    return (
        "\nOstium (gold, oil, FX, indices, stocks) on a local EVM chain (--venue ostium-devnet):\n"
        f"  chain       {face.url} (prices {face.prices_url})\n"
        f"  holding     {held}\n"
        f"{reach}"
        f"  {o} markets        # oracle prices and trading hours\n"
        f"  {o} positions      # the trade, with its liquidation price\n"
        f"  {o} account        # wallet, collateral in trades, equity\n"
        f"  {o} buy XAU --collateral 100 --leverage 5 --market --preview   # while gold trades\n"
    )


def tour(url: str, key_path: Path, address: str, ostium: OstiumFace | None = None) -> str:
    default = url.rstrip("/") == "http://127.0.0.1:8787"
    reach = "" if default else f" --url {url} --network testnet"
    p = f"perp{reach}"
    a = f"perp --venue aster-devnet{reach}"
    order_symbol, _, _ = ASTER_DEMO_ORDER
    return (
        "perpcli demo: a local exchange is running with two faces, Hyperliquid's protocol (--venue devnet)\n"
        "and Aster's (--venue aster-devnet): one engine's books, and the demo key has an account on each\n"
        "face, as one key has on two venues (testnet semantics, no real money).\n"
        f"  devnet      {url}\n"
        f"  demo key    {address} (funded on both faces; devnet only; stored at {key_path})\n"
        f"  holding     {holding()}\n"
        f"  resting     {order_symbol} buy {ASTER_DEMO_ORDER[2]} USD 5% under the mid (client id "
        f"{ASTER_DEMO_CLIENT_ID}, placed through the Aster face)\n"
        "\n"
        "In another terminal:\n"
        f"  export PERPCLI_PRIVATE_KEY=$(grep -v '^#' {key_path})\n"
        f"  {p} markets                              # what trades here\n"
        f"  {p} book BTC --depth 5                   # the live order book\n"
        f"  {p} buy BTC 0.01 --market --preview      # margin impact, nothing sent\n"
        f"  {p} buy BTC 0.01 --market --yes          # a market order\n"
        f"  {p} sell ETH 0.1 --limit +1% --tp 3000 --sl 3500 --dry-run   # the signed request, not sent\n"
        f"  {p} positions                            # what you hold\n"
        f"  {p} stream fills                         # NDJSON until Ctrl-C\n"
        f"  {p} close BTC --yes                      # reduce-only close\n"
        f"  {a} positions          # the key's Aster account, in Aster's protocol\n"
        f"  {a} orders             # the resting Aster order\n"
        f"  {a} stream orders      # Aster's listenKey user-data stream\n"
        f"{ostium_tour(ostium)}"
        "\n"
        "Ctrl-C here stops the devnet."
    )
