"""`perp devnet`: a local Hyperliquid-compatible exchange on one loopback port.

`Devnet` wires the pure engine to the faces: POST /info (info.py), POST /exchange
(exchange.py + auth.py), /ws (ws.py), and loopback-only control endpoints under /devnet/
(fund an address, on both faces' accounts; set faults, move an oracle price, save state; who
may call them is control_guard.py's rule, and save writes only the --state file). A timer advances the engine
clock (funding, scheduled cancels, triggers) and runs the synthetic market flow, and every
engine event is fanned out to websocket subscribers. It all runs in one asyncio loop.

Entry points: `serve(config)` (foreground, used by the CLI) and `start_in_thread(...)`
(in-process, on a free port, for tests and `perp demo`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from perpcli.devnet import faults as fault_kinds
from perpcli.devnet.aster.face import AsterFace
from perpcli.devnet.auth import recover_signer
from perpcli.devnet.control_guard import control_refusal
from perpcli.devnet.engine import Engine, EngineConfig
from perpcli.devnet.exchange import BadBody, ExchangeDesk
from perpcli.devnet.faces import aster_account
from perpcli.devnet.faults import FaultConfig, FaultInjector
from perpcli.devnet.info import InfoDesk
from perpcli.devnet.market import SyntheticMarket
from perpcli.devnet.ratelimit import WeightBudget, exchange_weight, info_weight
from perpcli.devnet.transport import ConnectionLimits, HttpRequest, HttpResponse, HttpWsServer, is_loopback
from perpcli.devnet.twap import TwapBook
from perpcli.devnet.ws import WsHub

log = logging.getLogger("perpcli.devnet")

STATE_VERSION = 1
SILENCE_SECONDS = 3600.0  # how long a "silence" fault holds an executed request unanswered


@dataclass
class DevnetConfig:
    host: str = "127.0.0.1"
    port: int = 8787
    seed: int = 0
    initial_balance: Decimal = Decimal(100_000)
    auto_fund: bool = True
    # The venue refuses scheduleCancel until an account has traded this much; 0 lifts the rule.
    deadman_min_volume: Decimal = Decimal(1_000_000)
    state_file: Path | None = None
    is_mainnet: bool = False  # testnet semantics by default (what SDK clients sign for off-mainnet)
    market_interval: float = 0.5  # seconds between synthetic market steps; 0 = no synthetic flow
    tick_interval: float = 0.25  # seconds between engine clock advances (funding, triggers, pushes)
    ws_idle_timeout: float = 60.0  # close websockets silent this long
    ip_weight_limit: int = 0  # REST weight per IP per minute (venue: 1200); 0 = unlimited
    aster_weight_limit: int = 0  # the Aster face's REST weight per IP per minute (venue: 2400); 0 = unlimited
    max_connections: int = 512  # open sockets; beyond it the longest-idle one is closed (transport.py)
    request_timeout: float = 10.0  # seconds to receive one request (head + body) and write its answer
    keepalive_timeout: float = 30.0  # seconds a connection may sit idle before/between requests
    faults: FaultConfig = field(default_factory=FaultConfig)
    history_days: int = 30  # seeded candles and funding before launch (history.py); 0 = none


class ControlRefused(Exception):
    """A control request that is well formed but not allowed (answered 403)."""


def _json_bytes(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _request_weight(is_action: bool, body: bytes) -> int:
    try:
        data = json.loads(body)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        return 1 if is_action else 20
    return exchange_weight(data.get("action")) if is_action else info_weight(data.get("type"))


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Devnet:
    """One running exchange: engine + desks + websocket hub + timers."""

    def __init__(self, config: DevnetConfig) -> None:
        self.config = config
        self.faults = FaultInjector(config.faults, seed=config.seed)
        self.weights = WeightBudget(config.ip_weight_limit)
        self.engine = self._new_or_loaded_engine()
        self.desk = ExchangeDesk(self.engine, recover_signer, is_mainnet=config.is_mainnet, twaps=TwapBook())
        self.info = InfoDesk(self.engine, self.desk, self.now_ms)
        self.hub = WsHub(self)
        self.aster = AsterFace(self, is_mainnet=config.is_mainnet, weight_limit=config.aster_weight_limit)
        limits = ConnectionLimits(config.max_connections, config.request_timeout, config.keepalive_timeout)
        self.server = HttpWsServer(self.handle_http, self.hub, limits=limits, ws_route=self.aster.ws_route)
        self.market = self._new_market()
        self.port: int | None = None
        self.clock_offset_ms = 0  # moved forward by the `advance` control hook
        self._tasks: list[asyncio.Task] = []
        if self._state_payload is not None:
            self.desk.load_json(self._state_payload.get("desk", {}))
            self.desk.twaps.load_json(self._state_payload.get("twaps", {}))
            if self.market is not None and self._state_payload.get("market"):
                self.market.load_json(self._state_payload["market"])

    # -- construction --------------------------------------------------------------------------

    def _engine_config(self) -> EngineConfig:
        return EngineConfig(
            auto_fund=self.config.auto_fund,
            auto_fund_usdc=self.config.initial_balance,
            schedule_cancel_min_volume=self.config.deadman_min_volume,
        )

    def _new_or_loaded_engine(self) -> Engine:
        self._state_payload = None
        path = self.config.state_file
        if path is not None and Path(path).exists():
            data = json.loads(Path(path).read_text())
            if data.get("version") != STATE_VERSION:
                raise ValueError(f"{path}: unsupported devnet state version {data.get('version')!r}")
            self._state_payload = data
            engine = Engine.from_json(data["engine"])
            # Settings given now win over the saved ones (the operator may change them).
            engine.config.auto_fund = self.config.auto_fund
            engine.config.auto_fund_usdc = self.config.initial_balance
            engine.config.schedule_cancel_min_volume = self.config.deadman_min_volume
            return engine
        engine = Engine(config=self._engine_config(), start_ms=now_ms())
        engine.seed_history(self.config.seed, days=self.config.history_days)
        return engine

    def _new_market(self) -> SyntheticMarket | None:
        if self.config.market_interval <= 0:
            return None
        return SyntheticMarket(self.engine, seed=self.config.seed)

    # -- the clock -----------------------------------------------------------------------------

    def now_ms(self) -> int:
        # The engine clock never goes backwards (a loaded state may be ahead of this host).
        return max(now_ms() + self.clock_offset_ms, self.engine.now_ms)

    # -- answers shared by HTTP and ws post ----------------------------------------------------

    def info_answer(self, req):
        return self.info.handle(req)

    def exchange_answer(self, body: bytes) -> dict:
        try:
            return self.desk.handle(body, self.now_ms())
        finally:
            self.publish()

    def publish(self) -> None:
        events = self.engine.drain_events()
        if events:
            try:
                self.hub.publish(events)
                self.aster.publish(events)
            except Exception:  # a push bug must not turn an executed action into a 500
                log.exception("devnet: publishing %d events failed", len(events))

    # -- HTTP ----------------------------------------------------------------------------------

    async def handle_http(self, req: HttpRequest) -> HttpResponse:
        if req.path in ("/info", "/exchange"):
            if req.method != "POST":
                return HttpResponse(405, b"Method Not Allowed", "text/plain")
            is_action = req.path == "/exchange"
            fate = self.faults.request_fate(is_action=is_action)
            delay = self.faults.delay_seconds()
            if delay:
                await asyncio.sleep(delay)
            if fate == fault_kinds.REJECT_429:
                return HttpResponse(429, b"Too Many Requests", "text/plain")
            if fate == fault_kinds.REJECT_5XX:
                return HttpResponse(502, b"Bad Gateway", "text/plain")
            if self.weights.per_minute and not self.weights.allow(
                req.peer_host, _request_weight(is_action, req.body), now_ms()
            ):
                return HttpResponse(429, b"Too Many Requests", "text/plain")
            try:
                if is_action:
                    answer = self.exchange_answer(req.body)
                else:
                    answer = self.info.handle_body(req.body)
            except BadBody as e:
                return HttpResponse(422, e.text.encode(), "text/plain; charset=utf-8")
            if fate == fault_kinds.EXECUTE_THEN_SILENCE:
                await asyncio.sleep(SILENCE_SECONDS)  # executed; the answer never comes
            return HttpResponse(200, _json_bytes(answer), hang=fate != fault_kinds.PASS)
        if self.aster.owns_path(req.path):
            return await self.aster.handle_http(req)
        if req.path.startswith("/devnet/"):
            if not is_loopback(req.peer_host):
                return HttpResponse(403, b"control endpoints answer loopback peers only", "text/plain")
            if req.method != "POST":
                return HttpResponse(405, b"Method Not Allowed", "text/plain")
            refusal = control_refusal(req.headers, self.port)
            if refusal is not None:
                return HttpResponse(refusal[0], _json_bytes({"error": refusal[1]}))
            try:
                body = json.loads(req.body or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                answer = self.control(req.path[len("/devnet/") :], body)
            except ControlRefused as e:
                return HttpResponse(403, _json_bytes({"error": str(e)}))
            except (ValueError, KeyError, InvalidOperation) as e:
                return HttpResponse(400, _json_bytes({"error": str(e)}))
            return HttpResponse(200, _json_bytes(answer))
        return HttpResponse(404, b"Not Found", "text/plain")

    def control(self, command: str, body: dict) -> dict:
        """Devnet-only test hooks (§f.7). Raises ValueError on bad input."""
        now = self.now_ms()
        if command == "fund":
            user = str(body["user"]).lower()
            if len(user) != 42 or not user.startswith("0x"):
                raise ValueError(f"not an address: {user!r}")
            amount = Decimal(str(body["amount"]))
            if not amount.is_finite() or amount <= 0:
                raise ValueError("amount must be positive")
            # Each perp dex has its own collateral: without a `dex` every one is credited, as
            # auto-fund does, so a funded key trades every market; `"dex": ""` is the default one.
            dexs = [str(body["dex"])] if "dex" in body else [d.name for d in self.engine.markets.dexs]
            for dex in dexs:
                self.engine.fund(user, amount, now, dex)
            # The address's account on the Aster face is another account (faces.py): credited
            # too, on the default dex its USDT markets margin on.
            faces = ["hyperliquid"]
            if "" in dexs:
                self.engine.fund(aster_account(user), amount, now)
                faces.append("aster")
            self.publish()
            return {"status": "ok", "user": user, "amount": str(amount), "faces": faces}
        if command == "faults":
            self.faults.config.update(body)
            if self.faults.config.ws_down:
                for conn in list(self.server.ws_connections):
                    conn.drop()
            return {"status": "ok", "faults": self.faults.config.to_json()}
        if command == "oracle":
            coin = str(body["coin"])
            if self.engine.market(coin) is None:
                raise ValueError(f"unknown coin {coin!r}")
            self.engine.set_oracle_price(coin, Decimal(str(body["px"])), now)
            self.publish()
            return {"status": "ok"}
        if command == "advance":
            ms = int(body["ms"])
            if ms < 0:
                raise ValueError("time only moves forward")
            self.clock_offset_ms += ms
            self.engine.advance(self.now_ms())
            self.publish()
            return {"status": "ok", "time": self.now_ms()}
        if command == "aster_expire_listen_key":
            user = aster_account(str(body["user"]))
            return {"status": "ok", "ended": self.aster.expire_listen_keys(now, user=user)}
        if command == "save":
            target = self._save_target(body.get("path"))
            try:
                path = self.save_state(target)
            except OSError as e:
                raise ValueError(f"cannot write {target}: {e.strerror or e}") from None
            return {"status": "ok", "path": str(path)}
        if command == "status":
            return {
                "status": "ok",
                "time": now,
                "isMainnet": self.config.is_mainnet,
                "autoFund": self.config.auto_fund,
                "deadmanMinVolume": str(self.config.deadman_min_volume),
                "wsConnections": len(self.hub.connections),
                "faults": self.faults.config.to_json(),
            }
        raise ValueError(f"unknown control command {command!r}")

    # -- state ---------------------------------------------------------------------------------

    def state_json(self) -> dict:
        return {
            "version": STATE_VERSION,
            "engine": self.engine.to_json(),
            "desk": self.desk.to_json(),
            "twaps": self.desk.twaps.to_json(),
            "market": self.market.to_json() if self.market is not None else None,
        }

    def _save_target(self, asked) -> Path:
        """Where `POST /devnet/save` may write: the `--state` file and nothing else.

        The endpoint is unauthenticated, so it must not be a way to overwrite an arbitrary file
        (a keystore, a shell profile). A `path` in the request is accepted only when it names
        the `--state` file itself, compared lexically after making it absolute: `..` cannot walk
        out, and a path through a symlinked folder is a different path and is refused.
        """
        state = self.config.state_file
        if state is None:
            raise ControlRefused("this devnet has no --state file, and save writes nowhere else")
        if asked is not None and os.path.abspath(str(asked)) != os.path.abspath(state):
            raise ControlRefused(f"save writes only to the --state file {state}; refused {str(asked)!r}")
        return Path(state)

    def save_state(self, path: Path | None = None) -> Path:
        """Write the state atomically: a fresh temp file in the same folder, then a rename.

        The temp file is created exclusively (O_EXCL: never opens a planted file or symlink) and
        private (0600); the rename replaces a symlink at `path` rather than writing through it.
        """
        path = Path(path or self.config.state_file or "")
        if not str(path):
            raise ValueError("no state file configured")
        data = json.dumps(self.state_json(), separators=(",", ":")).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> int:
        self.port = await self.server.start(self.config.host, self.config.port)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._ticker()), loop.create_task(self._ws_janitor())]
        return self.port

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            try:
                await t
            except (asyncio.CancelledError, Exception):
                pass
        await self.server.stop()
        if self.config.state_file is not None:
            self.save_state()

    @property
    def url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def _ticker(self) -> None:
        """Advance the engine clock and the synthetic market; push what changed."""
        tick = max(0.01, self.config.tick_interval)
        next_market = time.monotonic()
        while True:
            await asyncio.sleep(tick)
            try:
                now = self.now_ms()
                self.engine.advance(now)
                if self.market is not None and time.monotonic() >= next_market:
                    next_market = time.monotonic() + self.config.market_interval
                    self.market.step(now)
                if self.desk.twaps is not None:
                    self.desk.twaps.step(self.engine, now)
                self.publish()
            except Exception:  # never let one bad step stop the clock
                log.exception("devnet: tick failed")

    async def _ws_janitor(self) -> None:
        """Close sockets silent for ws_idle_timeout; drop all sockets every drop_ws_every (fault)."""
        last_drop = time.monotonic()
        while True:
            await asyncio.sleep(min(1.0, max(0.05, self.config.ws_idle_timeout / 4)))
            mono = time.monotonic()
            for conn in list(self.server.ws_connections):
                if mono - conn.last_activity > self.config.ws_idle_timeout:
                    conn.close(1000, "idle timeout")
            every = self.faults.config.drop_ws_every
            if every and mono - last_drop >= every:
                last_drop = mono
                for conn in list(self.server.ws_connections):
                    conn.drop()
            elif not every:
                last_drop = mono


# ---------------------------------------------------------------------------------------------
# Running it


async def serve(config: DevnetConfig, *, ready=None, stop_event: asyncio.Event | None = None) -> None:
    """Run until `stop_event` is set (or forever). `ready(devnet)` is called once listening."""
    devnet = Devnet(config)
    await devnet.start()
    if ready is not None:
        ready(devnet)
    try:
        if stop_event is None:
            stop_event = asyncio.Event()
        await stop_event.wait()
    finally:
        await devnet.stop()


@dataclass
class DevnetHandle:
    """A devnet running in a background thread: `.url`, `.devnet`, `.stop()`."""

    url: str
    devnet: Devnet
    loop: asyncio.AbstractEventLoop
    thread: threading.Thread
    _stop_event: asyncio.Event

    @property
    def ws_url(self) -> str:
        return "ws" + self.url[len("http") :] + "/ws"

    def call(self, fn, *args):
        """Run `fn(*args)` on the devnet's loop and return its result (engine access from tests)."""
        done = threading.Event()
        box: dict = {}

        def run() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as e:  # handed back to the caller's thread
                box["error"] = e
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        done.wait(10)
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def stop(self) -> None:
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop_event.set)
            self.thread.join(10)

    def __enter__(self) -> DevnetHandle:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_in_thread(config: DevnetConfig | None = None, **overrides) -> DevnetHandle:
    """Start a devnet in a daemon thread (port 0 = a free port) and return once it listens."""
    config = config or DevnetConfig(port=0)
    for key, value in overrides.items():
        if not hasattr(config, key):
            raise TypeError(f"unknown devnet setting {key!r}")
        setattr(config, key, value)
    started = threading.Event()
    box: dict = {}

    def ready(devnet: Devnet) -> None:
        box["devnet"] = devnet
        started.set()

    async def main() -> None:
        stop_event = asyncio.Event()
        box["stop"] = stop_event
        box["loop"] = asyncio.get_running_loop()
        await serve(config, ready=ready, stop_event=stop_event)

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as e:
            box["error"] = e
            started.set()

    thread = threading.Thread(target=run, name="perp-devnet", daemon=True)
    thread.start()
    started.wait(30)
    if "error" in box:
        raise box["error"]
    if "devnet" not in box:
        raise RuntimeError("devnet did not start within 30 s")
    devnet = box["devnet"]
    return DevnetHandle(devnet.url, devnet, box["loop"], thread, box["stop"])
