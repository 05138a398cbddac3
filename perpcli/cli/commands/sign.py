"""`perp sign` and `perp submit`: offline signing for cold keys, and posting what was signed.

`perp sign` turns a Hyperliquid action (JSON, key order kept as written) into the exact body
/exchange takes, on a machine that never touches the network; `perp submit` posts such a body
from a machine that has no key. The action is checked first the way the venue will read it
(canonical decimals, key order, lowercase hex, price rule) so a signature is never produced for
bytes the venue would hash differently. The network is always explicit (--mainnet/--testnet).
"""

from __future__ import annotations

import sys

import typer

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


def _check_user_signed(action: dict, action_type: str) -> None:
    """What the venue cannot canonicalise for us: user-signed strings are hashed verbatim."""
    from perpcli.domain.errors import ValidationError
    from perpcli.venues.hyperliquid.actions import USER_SIGNED_TYPES, check_address
    from perpcli.venues.hyperliquid.numbers import is_canonical_wire

    for name, kind in USER_SIGNED_TYPES[action_type].fields:
        if name == "hyperliquidChain" or name not in action:
            continue
        value = action[name]
        if kind == "address" or name == "destination" or (name == "fromSubAccount" and value != ""):
            lower = check_address(value, what=name)
            if name == "destination" and value != lower:
                raise ValidationError(
                    f"{name} {value} must be lowercase: the venue hashes this string as written"
                    f" (rule address-lowercase; nearest {lower})",
                    rule="address-lowercase",
                    nearest=lower,
                )
        if name == "amount":
            amount = value
            if action_type == "usdClassTransfer" and isinstance(value, str) and " subaccount:" in value:
                amount, sub = value.split(" subaccount:", 1)
                check_address(sub, what="subaccount")
            if not (isinstance(amount, str) and is_canonical_wire(amount) and not amount.startswith("-") and amount != "0"):
                raise ValidationError(
                    f"amount {value!r} must be a positive canonical decimal string such as \"1\" or \"0.5\""
                    " (rule canonical-amount)",
                    rule="canonical-amount",
                )


def build_signed_body(
    action: object,
    signer,
    *,
    is_mainnet: bool,
    nonce: int | None,
    vault_address: str | None,
    expires_after: int | None,
    next_nonce=None,
) -> dict:
    """Validate `action` as the venue will read it, sign it, and return the /exchange body.

    `next_nonce()` supplies a fresh nonce for L1 actions when none is given (user-signed actions
    carry their own in `time`/`nonce`).
    """
    from perpcli.domain.errors import UsageError, ValidationError
    from perpcli.venues.hyperliquid import signing, verify
    from perpcli.venues.hyperliquid.actions import VAULT_FORCED_NULL, check_address, scheme_of

    if not isinstance(action, dict):
        raise ValidationError("the action must be a JSON object", rule="action-shape")
    action_type = action.get("type")
    if not isinstance(action_type, str):
        raise ValidationError('the action has no "type"', rule="action-type")
    scheme = scheme_of(action_type)  # unknown types stop here: nobody can say how to sign them
    if vault_address is not None:
        vault_address = check_address(vault_address, what="--vault-address")

    if scheme == "l1":
        verify.canonicalize_l1_action(action, strict=True)
        verify.check_order_prices(action)
        if nonce is None:
            nonce = next_nonce() if next_nonce is not None else None
        if nonce is None:
            raise UsageError("--nonce is required")
        sig = signing.sign_l1_action(
            signer, action, nonce=nonce, vault_address=vault_address, expires_after=expires_after, is_mainnet=is_mainnet
        )
        return signing.exchange_request_body(
            action, nonce=nonce, signature=sig, vault_address=vault_address, expires_after=expires_after
        )

    if expires_after is not None:
        raise UsageError(f"{action_type} is user-signed and takes no --expires-after")
    if vault_address is not None and action_type in VAULT_FORCED_NULL:
        raise UsageError(
            f"{action_type} carries the sub-account inside the action"
            " (amount suffix \" subaccount:0x…\" / fromSubAccount), not --vault-address"
        )
    _check_user_signed(action, action_type)
    own_nonce = signing.user_signed_nonce(action)
    if nonce is not None and nonce != own_nonce:
        raise UsageError(f"--nonce {nonce} differs from the action's own nonce {own_nonce}; they must be equal")
    prepared, sig = signing.sign_user_signed_action(signer, action, is_mainnet=is_mainnet)
    return signing.exchange_request_body(prepared, nonce=own_nonce, signature=sig, vault_address=vault_address)


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


def post_exchange(url: str, body: bytes, *, timeout: float) -> tuple[int, bytes]:
    """POST body to URL/exchange. Failure before the request left -> NetworkError; after -> OutcomeUnknown."""
    import http.client
    from urllib.parse import urlsplit

    from perpcli.domain.errors import NetworkError, OutcomeUnknown, UsageError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url!r} must be an http(s) URL such as https://api.hyperliquid.xyz")
    path = parts.path.rstrip("/") + "/exchange"
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"--url {url!r} has a bad port") from None
    if parts.scheme == "https":
        import ssl

        conn: http.client.HTTPConnection = http.client.HTTPSConnection(
            parts.hostname, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        conn = http.client.HTTPConnection(parts.hostname, port, timeout=timeout)
    try:
        try:
            conn.connect()
        except (OSError, http.client.HTTPException) as e:
            raise NetworkError(f"cannot reach {parts.hostname}: {e}; nothing was sent") from None
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
        except TimeoutError:
            raise OutcomeUnknown(
                f"no answer from {parts.hostname} within {timeout:g}s after sending; the action may have"
                " been executed (re-submitting the same body is safe: its nonce can be used only once)"
            ) from None
        except (OSError, http.client.HTTPException) as e:
            raise OutcomeUnknown(
                f"connection to {parts.hostname} failed after sending began ({e}); the outcome is unknown"
            ) from None
        return resp.status, data
    finally:
        conn.close()


def register(app: typer.Typer) -> None:
    @app.command(
        "sign",
        help="Sign a Hyperliquid action offline and print the exact /exchange body (key order kept as written). "
        "The global --vault-address acts for a vault or sub-account.",
    )
    def sign(
        action_file: str = typer.Argument(..., metavar="ACTION_FILE|-", help="JSON action; - reads stdin."),
        nonce: int | None = typer.Option(
            None, "--nonce", min=0, help="L1 nonce (default: a fresh one); user-signed actions use their own."
        ),
        expires_after: int | None = typer.Option(
            None, "--expires-after", min=0, help="Reject the action after this time (ms)."
        ),
        mainnet: bool = typer.Option(False, "--mainnet", help="Sign for mainnet."),
        testnet: bool = typer.Option(False, "--testnet", help="Sign for testnet."),
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

        try:
            body = build_signed_body(
                action,
                signer,
                is_mainnet=is_mainnet,
                nonce=nonce,
                vault_address=vault_address,
                expires_after=expires_after,
                next_nonce=next_nonce,
            )
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
        timeout: float = typer.Option(DEFAULT_TIMEOUT_S, "--timeout", min=0.1, help="Seconds to wait for the answer."),
    ) -> None:
        import json

        from perpcli.cli import context
        from perpcli.domain.errors import OutcomeUnknown, RateLimited, UsageError, VenueRejected

        url = context.current().extra.get("url")  # a global option, hoisted by the root
        if not url:
            raise UsageError("--url is required: the venue base URL, e.g. https://api.hyperliquid.xyz")
        body = _read_json(signed_file, "signed body")
        if not isinstance(body, dict) or not {"action", "nonce", "signature"} <= set(body):
            raise UsageError('the signed body must be an object with "action", "nonce" and "signature"')
        payload = json.dumps(body, separators=(",", ":"), default=str).encode()
        status, data = post_exchange(url, payload, timeout=timeout)
        text = data.decode("utf-8", "replace")
        if status == 429:
            raise RateLimited("the venue is rate limiting (HTTP 429); nothing was executed")
        if 500 <= status:
            raise OutcomeUnknown(f"the venue failed (HTTP {status}); the action may or may not have executed")
        try:
            answer = json.loads(text)
        except ValueError:
            if status == 200:
                raise OutcomeUnknown(f"the venue answered HTTP 200 with non-JSON: {text[:200]}") from None
            raise VenueRejected(f"HTTP {status}: {text.strip()[:300]}") from None
        sys.stdout.write(json.dumps(answer, separators=(",", ":")) + "\n")
        sys.stdout.flush()
        if status != 200:
            raise VenueRejected(f"HTTP {status}: {text.strip()[:300]}")
        if isinstance(answer, dict) and answer.get("status") == "err":
            raise VenueRejected(f"the venue refused: {answer.get('response')}")
