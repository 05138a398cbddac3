"""`perp devnet`: run the local Hyperliquid-compatible exchange (with its Aster face) and the
Ostium face (anvil, perpcli's Ostium contracts, a keeper, a JSON-RPC proxy with the prices
feed); `perp devnet fund` credits an address on all of them.

Without anvil the Ostium face is left out with one line saying what to install.

The server runs in the foreground until Ctrl-C (or SIGTERM), printing its URL on stdout (data)
and notes on stderr. It listens on loopback only unless `--public` is given. `fund` talks to a
running devnet through its loopback-only control endpoint, which (like every /devnet/ endpoint)
takes only JSON from a local program: no Origin header, a loopback Host with the devnet's port.
"""

from __future__ import annotations

from pathlib import Path

import typer

from perpcli.cli.number_params import real, whole

DEFAULT_URL = "http://127.0.0.1:8787"
OSTIUM_DEFAULT_URL = "http://127.0.0.1:8545"


def _is_loopback_host(host: str) -> bool:
    return host in ("127.0.0.1", "::1", "localhost") or host.startswith("127.")


def register(app: typer.Typer) -> None:
    devnet_app = typer.Typer(
        help="A local Hyperliquid-compatible exchange (with Aster and Ostium faces; Ostium on a local EVM chain): "
        "the offline default and the ground for tests.",
        invoke_without_command=True,
        no_args_is_help=False,
    )

    @devnet_app.callback(invoke_without_command=True)
    def devnet(
        ctx: typer.Context,
        host: str = typer.Option(
            None, "--host", show_default=False,
            help="Address to listen on (loopback unless --public).  [default: setting devnet.host, 127.0.0.1]",
        ),
        port: int = typer.Option(
            None, "--port", click_type=whole(), show_default=False,
            help="Port to listen on (0 = any free port).  [default: setting devnet.port, 8787]",
        ),
        seed: int = typer.Option(
            0, "--seed", click_type=whole(), help="Seed of the synthetic market and fault patterns."
        ),
        initial_balance: str = typer.Option(
            None, "--initial-balance", show_default=False,
            help="USDC credited to a new address on first use.  [default: setting devnet.initial_balance, 100000]",
        ),
        state: Path | None = typer.Option(
            None, "--state", help="Load exchange state from FILE at start; save it there on shutdown."
        ),
        no_auto_fund: bool = typer.Option(
            False, "--no-auto-fund",
            help="Never fund a new address when its own state is first read (only `perp devnet fund` does;"
            " default: setting devnet.auto_fund).",
        ),
        no_deadman_volume: bool = typer.Option(
            False, "--no-deadman-volume",
            help="Lift the venue's rule that scheduleCancel (perp deadman) needs $1,000,000 traded first.",
        ),
        mainnet: bool = typer.Option(False, "--mainnet", help="Verify signatures as mainnet (default: testnet)."),
        public: bool = typer.Option(False, "--public", help="Allow listening on a non-loopback address."),
        market_interval: float = typer.Option(
            0.5, "--market-interval", click_type=real(),
            help="Seconds between synthetic market steps (0 = no synthetic flow).",
        ),
        ws_idle_timeout: float = typer.Option(
            60.0, "--ws-idle-timeout", click_type=real(), help="Close websockets silent this long (s)."
        ),
        history_days: int = typer.Option(
            30, "--history-days", click_type=whole(),
            help="Days of seeded candles and funding before launch (0 = start with no past).",
        ),
        ip_weight_limit: int = typer.Option(
            0, "--ip-weight-limit", click_type=whole(),
            help="REST weight per IP per minute, 429 above it (venue: 1200; 0 = off).",
        ),
        aster_weight_limit: int = typer.Option(
            0, "--aster-weight-limit", click_type=whole(),
            help="The Aster face's REST weight per IP per minute, 429 above it (venue: 2400; 0 = off).",
        ),
        drop_ws_every: float = typer.Option(
            0.0, "--drop-ws-every", click_type=real(), help="Fault: drop every websocket each N seconds."
        ),
        delay_ms: float = typer.Option(
            0.0, "--delay-ms", click_type=real(), help="Fault: delay every response by N ms."
        ),
        rate_429: float = typer.Option(
            0.0, "--rate-429", click_type=real(), help="Fault: answer this fraction of requests with 429."
        ),
        rate_5xx: float = typer.Option(
            0.0, "--rate-5xx", click_type=real(), help="Fault: answer this fraction of requests with 502."
        ),
        max_connections: int = typer.Option(
            512, "--max-connections", click_type=whole(),
            help="Open sockets at most; beyond it the longest-idle one is closed.",
        ),
        request_timeout: float = typer.Option(
            10.0, "--request-timeout", click_type=real(),
            help="Seconds to receive one HTTP request and write its answer.",
        ),
        keepalive_timeout: float = typer.Option(
            30.0, "--keepalive-timeout", click_type=real(), help="Close HTTP connections idle this long (s)."
        ),
        rate_timeout: float = typer.Option(
            0.0, "--rate-timeout", click_type=real(),
            help="Fault: execute this fraction of actions, then close unanswered.",
        ),
        rate_silence: float = typer.Option(
            0.0, "--rate-silence", click_type=real(),
            help="Fault: execute this fraction of actions, then never answer (socket open).",
        ),
        ws_duplicate: float = typer.Option(
            0.0, "--ws-duplicate", click_type=real(), help="Fault: send this fraction of ws pushes twice."
        ),
        ws_reorder: float = typer.Option(
            0.0, "--ws-reorder", click_type=real(), help="Fault: delay this fraction of ws pushes by one."
        ),
        ostium_port: int = typer.Option(
            8545, "--ostium-port", click_type=whole(),
            help="Port of the Ostium face (JSON-RPC proxy + latest-prices; 0 = any free port).",
        ),
        ostium_hours: str = typer.Option(
            "real", "--ostium-hours",
            help="Ostium markets follow their trading hours ('real') or are always open ('always').",
        ),
        no_ostium: bool = typer.Option(
            False, "--no-ostium", help="Do not start the Ostium face (anvil and the Ostium contracts)."
        ),
    ) -> None:
        if ctx.invoked_subcommand is not None:
            return
        from perpcli.app.order_plan import parse_decimal  # ASCII digits only, bounded
        from perpcli.cli import context, output
        from perpcli.config import settings
        from perpcli.domain.errors import UsageError

        # A flag wins; else the devnet.* settings (config file, PERPCLI_DEVNET_* variables).
        configured = settings.current()
        host = host if host is not None else str(configured.get("devnet.host"))
        port = port if port is not None else int(configured.get("devnet.port"))
        auto_fund = not no_auto_fund and bool(configured.get("devnet.auto_fund"))
        if not _is_loopback_host(host) and not public:
            raise UsageError(f"refusing to listen on {host}: the devnet is for loopback; add --public to expose it")
        balance = (parse_decimal(initial_balance, what="--initial-balance", allow_zero=True)
                   if initial_balance is not None else configured.get("devnet.initial_balance"))
        if not 0 <= port <= 65535:
            raise UsageError("--port must be between 0 and 65535")
        if max_connections < 1:
            raise UsageError("--max-connections must be at least 1")
        if not 0 <= history_days <= 365:  # one float per market per minute, drawn when first read
            raise UsageError("--history-days must be between 0 and 365")
        if not request_timeout > 0 or not keepalive_timeout > 0:
            raise UsageError("--request-timeout and --keepalive-timeout must be positive")
        if not 0 <= ostium_port <= 65535:
            raise UsageError("--ostium-port must be between 0 and 65535")
        if ostium_hours not in ("real", "always"):
            raise UsageError("--ostium-hours is 'real' or 'always'")
        if state is not None and not state.absolute().parent.is_dir():
            raise UsageError(f"--state {state}: folder {state.absolute().parent} does not exist")

        # The server pulls in asyncio, websockets, coincurve and the engine: only when it runs.
        from perpcli.devnet.faults import FaultConfig

        try:
            faults = FaultConfig().update(
                {
                    "drop_ws_every": drop_ws_every,
                    "delay_ms": delay_ms,
                    "rate_429": rate_429,
                    "rate_5xx": rate_5xx,
                    "rate_timeout": rate_timeout,
                    "rate_silence": rate_silence,
                    "ws_duplicate": ws_duplicate,
                    "ws_reorder": ws_reorder,
                }
            )
        except ValueError as e:
            raise UsageError(str(e)) from None
        if not _is_loopback_host(host):
            output.warn(f"listening on {host}: anyone who can reach this address can use the devnet")
        if faults.any_active():
            output.warn(f"faults enabled: { {k: v for k, v in faults.to_json().items() if v} }")
        _run_foreground(
            host=host,
            port=port,
            seed=seed,
            balance=balance,
            state=state,
            auto_fund=auto_fund,
            deadman_volume=not no_deadman_volume,
            mainnet=mainnet,
            market_interval=market_interval,
            ws_idle_timeout=ws_idle_timeout,
            history_days=history_days,
            ip_weight_limit=ip_weight_limit,
            aster_weight_limit=aster_weight_limit,
            max_connections=max_connections,
            request_timeout=request_timeout,
            keepalive_timeout=keepalive_timeout,
            faults=faults,
            json_out=context.current().json,
            ostium=None if no_ostium else {"port": ostium_port, "hours": ostium_hours},
        )

    @devnet_app.command(
        "fund",
        help="Credit USDC to ADDRESS on a running devnet (loopback control endpoint): its account on the "
        "Hyperliquid face and its separate account on the Aster face, and USDC plus gas on its Ostium chain. The devnet is found at the global --url, else venues.devnet.url (PERPCLI_VENUES_DEVNET_URL); "
        "the Ostium face at venues.ostium-devnet.url.\n\n"
        "Example: perp devnet fund 0x1111111111111111111111111111111111111111 10000",
    )
    def fund(
        address: str = typer.Argument(..., help="0x-address to credit."),
        amount: str = typer.Argument(..., help="USDC amount."),
    ) -> None:
        from perpcli.app.order_plan import parse_decimal  # ASCII digits only, bounded
        from perpcli.cli import context, output
        from perpcli.domain.errors import NetworkError, UsageError

        url = context.current().extra.get("url") or configured_devnet_url()

        a = address.strip().lower()
        if len(a) != 42 or not a.startswith("0x") or not all(c in "0123456789abcdef" for c in a[2:]):
            raise UsageError(f"{address!r} is not a 0x-address")
        amt = parse_decimal(amount, what="AMOUNT")
        answer = _control(url, "fund", {"user": a, "amount": str(amt)})
        ostium_url = configured_ostium_url()
        try:
            ostium_answer = _control(ostium_url, "fund", {"user": a, "amount": str(amt)})
        except NetworkError:
            ostium_answer = None
        if context.current().json:
            output.emit_json({**answer, "ostium": ostium_answer})
        else:
            faces = " and ".join({"hyperliquid": "Hyperliquid", "aster": "Aster"}.get(f, f)
                                 for f in answer.get("faces", ["hyperliquid"]))
            output.info(f"credited {amt} USDC to {a} on {url} (its {faces} accounts)")
            if ostium_answer is not None:
                output.info(f"credited {amt} USDC and 1 ETH of gas to {a} on the Ostium chain at {ostium_url}")
            else:
                output.info(f"no Ostium face at {ostium_url}: nothing credited on the local chain")

    app.add_typer(devnet_app, name="devnet")


def configured_devnet_url() -> str:
    """Where commands reach the devnet: venues.devnet.url from config or the environment."""
    from perpcli.config import settings

    return settings.current().get("venues.devnet.url") or DEFAULT_URL


def configured_ostium_url() -> str:
    """Where the devnet's Ostium face is: venues.ostium-devnet.url (its JSON-RPC proxy)."""
    from perpcli.config import settings

    return settings.current().get("venues.ostium-devnet.url") or OSTIUM_DEFAULT_URL


def ostium_reach_hint(url: str) -> str | None:
    """How to point `--venue ostium-devnet` at an Ostium face started on another port."""
    if url.rstrip("/") == configured_ostium_url().rstrip("/"):
        return None
    return (f"perp devnet: --venue ostium-devnet looks for the chain at {configured_ostium_url()}; to reach this "
            f"one run `export PERPCLI_VENUES_OSTIUM_DEVNET_URL={url} "
            f"PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL={url}/latest-prices`")


def reach_hint(url: str) -> str | None:
    """How to point other commands at a devnet started somewhere other than the configured URL."""
    configured = configured_devnet_url().rstrip("/")
    if url.rstrip("/") == configured:
        return None
    return (f"perp devnet: commands look for the devnet at {configured}; to reach this one run "
            f"`export PERPCLI_VENUES_DEVNET_URL={url}` (or pass `--url {url} --network testnet`)")


def _control(url: str, command: str, body: dict) -> dict:
    """POST {url}/devnet/{command} and return the JSON answer (stdlib only: a one-shot call)."""
    import json
    import urllib.error
    import urllib.request

    from perpcli.domain.errors import NetworkError, UsageError

    req = urllib.request.Request(
        url.rstrip("/") + "/devnet/" + command,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")[:200]
        raise UsageError(f"devnet refused {command}: HTTP {e.code} {detail}") from None
    except (urllib.error.URLError, OSError) as e:
        raise NetworkError(f"cannot reach the devnet at {url}: {getattr(e, 'reason', e)}") from None


def _start_ostium(host: str, options: dict, *, seed: int, balance, auto_fund: bool):
    """The Ostium face (anvil + contracts + keeper + proxy), or None with one line saying why not."""
    from perpcli.cli import output
    from perpcli.devnet.ostium.node import AnvilMissing, OstiumDevnet, OstiumDevnetConfig

    config = OstiumDevnetConfig(host=host, port=options["port"], seed=seed, initial_balance=balance,
                                auto_fund=auto_fund, hours=options["hours"])
    try:
        return OstiumDevnet(config).start()
    except AnvilMissing as e:
        output.warn(f"perp devnet: no Ostium face: {e}")
    except OSError as e:  # the port is taken (another node on 8545?): the other faces still run
        output.warn(f"perp devnet: no Ostium face: cannot listen on {host}:{options['port']}: {e.strerror or e} "
                    "(--ostium-port to choose another port)")
    except RuntimeError as e:  # anvil failed to start or deploy
        output.warn(f"perp devnet: no Ostium face: {e}")
    return None


def _run_foreground(
    *, host, port, seed, balance, state, auto_fund, deadman_volume, mainnet, market_interval, ws_idle_timeout,
    ip_weight_limit, max_connections, request_timeout, keepalive_timeout, faults, json_out, history_days=30,
    aster_weight_limit=0, ostium=None,
):
    import asyncio
    import signal
    import sys
    from decimal import Decimal

    from perpcli.cli import output
    from perpcli.devnet.server import DevnetConfig, serve

    config = DevnetConfig(
        host=host,
        port=port,
        seed=seed,
        initial_balance=balance,
        auto_fund=auto_fund,
        state_file=state,
        **({} if deadman_volume else {"deadman_min_volume": Decimal(0)}),
        is_mainnet=mainnet,
        market_interval=market_interval,
        ws_idle_timeout=ws_idle_timeout,
        history_days=history_days,
        ip_weight_limit=ip_weight_limit,
        aster_weight_limit=aster_weight_limit,
        max_connections=max_connections,
        request_timeout=request_timeout,
        keepalive_timeout=keepalive_timeout,
        faults=faults,
    )

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # pragma: no cover - non-Unix
                pass

        def ready(devnet) -> None:
            ws = "ws" + devnet.url[len("http") :] + "/ws"
            aster_ws = "ws" + devnet.url[len("http") :] + "/aster"
            ostium_face = ({"rpc": ostium_devnet.url, "prices": ostium_devnet.prices_url,
                            "chain_id": ostium_devnet.config.chain_id} if ostium_devnet is not None else None)
            if json_out:
                output.emit_json({"url": devnet.url, "ws": ws, "network": "mainnet" if mainnet else "testnet",
                                  "aster": {"url": devnet.url, "rest": devnet.url + "/fapi/v3", "ws": aster_ws},
                                  "ostium": ostium_face})
            else:
                sys.stdout.write(devnet.url + "\n")
                sys.stdout.flush()
                output.info(f"perp devnet: Hyperliquid face {devnet.url} (--venue devnet), websocket {ws}; "
                            f"Aster face {devnet.url}/fapi/v3 (--venue aster-devnet), websocket {aster_ws}")
                output.info(
                    f"perp devnet: {'mainnet' if mainnet else 'testnet'} semantics, "
                    f"auto-fund {'on (' + str(balance) + ' USDC)' if auto_fund else 'off'}"
                    + ("" if deadman_volume else ", deadman volume rule lifted")
                    + (f", state {state}" if state else "")
                    + "; Ctrl-C to stop"
                )
                if ostium_face is not None:
                    output.info(f"perp devnet: Ostium face {ostium_face['rpc']} (--venue ostium-devnet; JSON-RPC, "
                                f"chain {ostium_face['chain_id']}), prices {ostium_face['prices']}")
                    hint = ostium_reach_hint(ostium_face["rpc"])
                    if hint:
                        output.info(hint)
            hint = reach_hint(devnet.url)
            if hint and not json_out:
                output.info(hint)

        await serve(config, ready=ready, stop_event=stop)

    from perpcli.domain.errors import UsageError

    ostium_devnet = _start_ostium(host, ostium, seed=seed, balance=balance, auto_fund=auto_fund) if ostium else None
    try:
        asyncio.run(main())
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    except (ValueError, KeyError, TypeError) as e:  # a state file that is not a devnet state
        raise UsageError(f"cannot load devnet state from {state}: {e}") from None
    finally:
        if ostium_devnet is not None:
            ostium_devnet.stop()
    output.info("perp devnet: stopped" + (f"; state saved to {state}" if state else ""))
