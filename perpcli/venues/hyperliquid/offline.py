"""Hyperliquid offline signing (`perp sign`) and posting of what was signed (`perp submit`).

`sign` turns a Hyperliquid action (JSON, key order kept as written) into the exact body
/exchange takes, on a machine that never touches the network; `submit` posts such a body from
a machine that has no key. The action is checked first the way the venue will read it
(canonical decimals, key order, lowercase hex, price rule) so a signature is never produced for
bytes the venue would hash differently. The network is always explicit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from perpcli.domain.errors import OutcomeUnknown, RateLimited, UsageError, VenueRejected


class HyperliquidOffline:
    """The `OfflineSigning` side of the Hyperliquid adapter.

    Options (all optional): `is_mainnet` (bool, required in practice: the CLI insists on
    --mainnet/--testnet), `vault_address`, `expires_after` (ms).
    """

    def sign(self, document: object, signer: Any, *, nonce: int | None,
             next_nonce: Callable[[], int] | None, options: dict[str, object]) -> dict[str, object]:
        if options.get("user") is not None:
            raise UsageError("--user does not apply to Hyperliquid: an agent key acts for its approver, "
                             "and --vault-address trades for a vault or sub-account")
        return build_signed_body(
            document, signer, is_mainnet=bool(options.get("is_mainnet")), nonce=nonce,
            vault_address=_opt_str(options.get("vault_address")), expires_after=_opt_int(options.get("expires_after")),
            next_nonce=next_nonce,
        )

    def submit(self, signed: object, *, url: str, timeout_s: float) -> SubmitAnswer:
        """POST a signed body to URL/exchange and return the venue's JSON answer.

        Exit codes by the usual contract: 429 -> RateLimited (nothing executed), 5xx or an
        unreadable 200 -> OutcomeUnknown, any other refusal -> VenueRejected (the answer is
        still returned through the exception's message)."""
        if not isinstance(signed, dict) or not {"action", "nonce", "signature"} <= set(signed):
            raise UsageError('the signed body must be an object with "action", "nonce" and "signature"')
        payload = json.dumps(signed, separators=(",", ":"), default=str).encode()
        status, data = post_exchange(url, payload, timeout=timeout_s)
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
        return SubmitAnswer(status, answer, text)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


def _opt_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


class SubmitAnswer:
    """What the venue said to a submitted body: the HTTP status and its JSON answer."""

    __slots__ = ("status", "answer", "text")

    def __init__(self, status: int, answer: Any, text: str) -> None:
        self.status = status
        self.answer = answer
        self.text = text

    def raise_for_refusal(self) -> None:
        if self.status != 200:
            raise VenueRejected(f"HTTP {self.status}: {self.text.strip()[:300]}")
        if isinstance(self.answer, dict) and self.answer.get("status") == "err":
            raise VenueRejected(f"the venue refused: {self.answer.get('response')}")


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



def post_exchange(url: str, body: bytes, *, timeout: float) -> tuple[int, bytes]:
    """POST body to URL/exchange within `timeout` seconds, answer included, through the same
    bounded client every venue request uses (net/http1.py: body cap, 1xx bound, fast TLS
    failure). Failure before the request was fully written -> NetworkError; after ->
    OutcomeUnknown. A URL that cannot be used -> UsageError naming it."""
    from perpcli.domain.errors import NetworkError, OutcomeUnknown, UsageError
    from perpcli.net.http1 import (
        ConnectFailed,
        Http1Connection,
        Limits,
        ReceiveFailed,
        SendFailed,
        parse_http_url,
    )

    try:
        target = parse_http_url(url)
    except ValueError as e:
        raise UsageError(f"--url {url!r} is not usable: {e}; expected an http(s) URL such as"
                         " https://api.hyperliquid.xyz") from None
    limits = Limits(request_timeout_s=timeout, connect_timeout_s=min(timeout, Limits().connect_timeout_s))
    conn = Http1Connection(target.host, target.port, tls=target.tls, limits=limits)
    try:
        status, data, _ = conn.post(target.path + "/exchange", body)
    except ConnectFailed as e:
        raise NetworkError(f"cannot reach {target.host}: {e}; nothing was sent") from None
    except SendFailed as e:
        raise NetworkError(f"could not send the request to {target.host} ({e}); nothing was sent") from None
    except ReceiveFailed as e:
        raise OutcomeUnknown(
            f"no usable answer from {target.host} within {timeout:g}s after sending ({e}); the action may have"
            " been executed (re-submitting the same body is safe: its nonce can be used only once)"
        ) from None
    finally:
        conn.close()
    return status, data
