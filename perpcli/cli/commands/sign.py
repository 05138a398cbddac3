"""`perp sign` and `perp submit`: offline signing for cold keys, and posting what was signed.

The venue's offline side (`MarketData.offline()`) does the work: it checks the document the way
the venue will read it, signs it, and posts a signed body. This module only reads files and
flags and prints. The network is always explicit (--mainnet/--testnet).
"""

from __future__ import annotations

import sys

import typer

from perpcli.cli.number_params import real, whole

DEFAULT_TIMEOUT_S = 10.0


def _read_json(source: str, what: str) -> object:
    """Parse a file (or stdin for "-") as strict JSON: no NaN, no duplicate keys, no bare floats lost."""
    import json
    from decimal import Decimal

    from perpcli.domain.errors import UsageError

    if source == "-":
        text = sys.stdin.read()
        label = f"{what} (stdin)"
    else:
        from pathlib import Path

        label = source
        try:
            text = Path(source).read_text(encoding="utf-8")
        except OSError as e:
            raise UsageError(f"{source}: cannot read {what}: {e.strerror}") from None
        except UnicodeDecodeError:
            raise UsageError(f"{source}: {what} is not UTF-8 text") from None

    def no_duplicates(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise UsageError(f"{label}: duplicate key {k!r}")
            seen[k] = v
        return seen

    def no_constants(name):
        raise UsageError(f"{label}: {name} is not valid JSON")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_float=Decimal, parse_constant=no_constants)
    except json.JSONDecodeError as e:
        raise UsageError(f"{label}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except ValueError:  # json refuses integers of more than 4300 digits this way
        raise UsageError(f"{label}: not usable JSON: a number in it is absurdly long") from None


def _offline():
    """The chosen venue's offline signing side (--venue, default.venue): no network is touched."""
    from perpcli.app.session import choose_venue
    from perpcli.cli import context
    from perpcli.config import settings
    from perpcli.venues import registry

    opts = context.current()
    choice = choose_venue(settings.current(), venue=opts.venue)
    return registry.open_offline(choice.config)


def _with_rule(e):
    """The same ValidationError, its message ending with the rule's name (scripts grep for it)."""
    from perpcli.domain.errors import ValidationError

    if not e.rule or f"rule {e.rule}" in e.message:
        return e
    return ValidationError(f"{e.message} (rule {e.rule})", rule=e.rule, nearest=e.nearest)


def _network(mainnet: bool, testnet: bool, global_network: str | None) -> bool:
    """Exactly one of --mainnet/--testnet; a global --network, if also given, must agree."""
    from perpcli.domain.errors import UsageError

    if mainnet == testnet:
        raise UsageError("say which network the signature is for: exactly one of --mainnet or --testnet")
    if global_network is not None and global_network.lower() != ("mainnet" if mainnet else "testnet"):
        raise UsageError(f"--network {global_network} contradicts --{'mainnet' if mainnet else 'testnet'}")
    return mainnet


def register(app: typer.Typer) -> None:
    @app.command(
        "sign",
        help="Sign a request offline and print exactly what to send (key order kept as written). "
        "Hyperliquid: an action -> the /exchange body; the global --vault-address acts for a vault or "
        'sub-account. Aster (--venue aster): {"method", "path", "params"} -> URL, method and the signed '
        "query or body; --user names the account an agent key trades for.",
    )
    def sign(
        action_file: str = typer.Argument(..., metavar="ACTION_FILE|-", help="JSON action; - reads stdin."),
        nonce: int | None = typer.Option(
            None, "--nonce", click_type=whole(0),
            help="L1 nonce (default: a fresh one); user-signed actions use their own.",
        ),
        expires_after: int | None = typer.Option(
            None, "--expires-after", click_type=whole(0), help="Reject the action after this time (ms)."
        ),
        mainnet: bool = typer.Option(False, "--mainnet", help="Sign for mainnet."),
        testnet: bool = typer.Option(False, "--testnet", help="Sign for testnet."),
        user: str | None = typer.Option(
            None, "--user", help="Aster: the account (0x-address) the signing agent key trades for "
            "(default: the key's own address)."
        ),
    ) -> None:
        from perpcli.cli import context, output
        from perpcli.domain.errors import ValidationError
        from perpcli.keys.sources import resolve_signer

        opts = context.current()
        is_mainnet = _network(mainnet, testnet, opts.extra.get("network"))
        vault_address = opts.extra.get("vault_address")  # a global option, hoisted by the root
        action = _read_json(action_file, "action")
        signer = resolve_signer(opts.account)

        def next_nonce() -> int:
            try:
                from perpcli.keys.nonces import NonceAllocator
            except ImportError:  # pragma: no cover - allocator not installed
                import time

                return time.time_ns() // 1_000_000
            return NonceAllocator(signer.address).next()

        options: dict[str, object] = {
            "is_mainnet": is_mainnet, "vault_address": vault_address, "expires_after": expires_after}
        if user is not None:
            options["user"] = user
        try:
            body = _offline().sign(action, signer, nonce=nonce, next_nonce=next_nonce, options=options)
        except ValidationError as e:
            raise _with_rule(e) from None
        output.emit_json(body)

    @app.command(
        "submit",
        help="POST a signed body (from `perp sign`) to URL/exchange and print the answer. "
        "--url (global) is the venue base URL, e.g. https://api.hyperliquid.xyz",
    )
    def submit(
        signed_file: str = typer.Argument(..., metavar="SIGNED_FILE|-", help="Body from `perp sign`; - reads stdin."),
        timeout: float = typer.Option(
            DEFAULT_TIMEOUT_S, "--timeout", click_type=real(0.1), help="Seconds to wait for the answer."
        ),
    ) -> None:
        import json

        from perpcli.cli import context
        from perpcli.domain.errors import UsageError

        url = context.current().extra.get("url")  # a global option, hoisted by the root
        if not url:
            raise UsageError("--url is required: the venue base URL, e.g. https://api.hyperliquid.xyz")
        body = _read_json(signed_file, "signed body")
        answered = _offline().submit(body, url=url, timeout_s=timeout)  # type: ignore[arg-type]
        sys.stdout.write(json.dumps(answered.answer, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        answered.raise_for_refusal()
