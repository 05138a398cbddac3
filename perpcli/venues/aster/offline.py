"""Aster offline signing (`perp sign --venue aster`) and sending of what was signed (`perp submit`).

`sign` turns a request document `{"method", "path", "params"}` into the exact request to send:
the url-encoded parameters with `nonce` (µs), `user`, `signer` and, last, `signature`, as the
query of a GET or the form body of anything else, with the URL it goes to. Parameter order is
kept as written. It runs on a machine that never touches the network; `submit` sends such a
request from one that holds no key, byte for byte as printed (the signature covers exactly
those bytes). The network is always explicit: it picks the EIP-712 chain (1666 / 714).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from perpcli.domain.errors import OutcomeUnknown, RateLimited, UsageError, ValidationError, VenueRejected
from perpcli.venues.aster import endpoints
from perpcli.venues.aster import errors as aster_errors

FORM = "application/x-www-form-urlencoded"
_PATH = re.compile(r"/fapi/v3/[A-Za-z][A-Za-z0-9/]*\Z")
# Aster nonces are Unix microseconds: 16 digits from 2001 to 2286. A 13-digit (ms) or 10-digit
# (s) value would be refused by the venue as outside its window; say so before signing.
_MIN_NONCE_US = 10**15
_MAX_NONCE_US = 10**16 - 1
DOCUMENT_KEYS = ("method", "path", "params")


class AsterOffline:
    """The `OfflineSigning` side of the Aster adapter.

    Options: `is_mainnet` (required in practice: the CLI insists on --mainnet/--testnet) and
    `user` (the account an agent key trades for; default: the signing key's own address).
    """

    def __init__(self, url: str, network: str) -> None:
        self.url = url.rstrip("/")
        self.network = network

    def sign(self, document: object, signer: Any, *, nonce: int | None,
             next_nonce: Callable[[], int] | None, options: dict[str, object]) -> dict[str, object]:
        for unsupported, flag in (("vault_address", "--vault-address"), ("expires_after", "--expires-after")):
            if options.get(unsupported) is not None:
                raise UsageError(f"{flag} does not apply to Aster (an agent key names its account with --user)")
        network = "mainnet" if options.get("is_mainnet") is True else "testnet"
        base = self.url if network == self.network else endpoints.default_url(network)
        return build_signed_request(document, signer, base_url=base, is_mainnet=network == "mainnet",
                                    nonce=nonce, user=_opt_str(options.get("user")))

    def submit(self, signed: object, *, url: str, timeout_s: float) -> SubmitAnswer:
        """Send a signed request to URL + its path, exactly as printed, and return the answer.

        Exit codes by the usual contract: 429/418 -> RateLimited (nothing executed), 503 or
        another 5xx, or an unreadable 200 -> OutcomeUnknown; a refusal is still returned and
        raised by `raise_for_refusal` (exit 3)."""
        method, path, query, body = _signed_parts(signed)
        status, data = send_request(url, method, path, query=query, body=body, timeout=timeout_s)
        text = data.decode("utf-8", "replace")
        if status in (418, 429):
            raise RateLimited(f"the venue is rate limiting (HTTP {status}); nothing was executed")
        try:
            answer = json.loads(text, parse_float=Decimal)
        except ValueError:
            if status == 200 or status >= 500:
                raise OutcomeUnknown(f"the venue answered HTTP {status} with non-JSON: {text.strip()[:200]}; "
                                     "the request may or may not have executed") from None
            raise VenueRejected(f"HTTP {status}: {text.strip()[:300]}") from None
        refused = aster_errors.refusal(answer)
        if aster_errors.outcome_unknown(status, refused[0] if refused else None) or (status >= 500 and not refused):
            raise OutcomeUnknown(f"the venue could not say whether the request executed (HTTP {status}: "
                                 f"{text.strip()[:200]}); check before sending it again")
        return SubmitAnswer(status, answer, text)


def open_offline(config: Any) -> AsterOffline:
    """The registry's entry point (a VenueConfig in): no adapter, no network."""
    return AsterOffline(config.url, config.network)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


class SubmitAnswer:
    """What the venue said to a submitted request: the HTTP status and its JSON answer."""

    __slots__ = ("status", "answer", "text")

    def __init__(self, status: int, answer: Any, text: str) -> None:
        self.status = status
        self.answer = answer
        self.text = text

    def raise_for_refusal(self) -> None:
        refused = aster_errors.refusal(self.answer)
        if refused is not None:
            code, msg = refused
            raise VenueRejected(f"the venue refused ({code}): {msg}", kind=aster_errors.kind_of(code))
        if self.status != 200:
            raise VenueRejected(f"HTTP {self.status}: {self.text.strip()[:300]}")


# --- signing ------------------------------------------------------------------------------------


def check_document(document: object) -> tuple[str, str, list[tuple[str, object]]]:
    """(METHOD, path, params in order) of a request document, refused with the rule broken."""
    from perpcli.venues.aster.signing import RESERVED_PARAMS

    if not isinstance(document, dict):
        raise ValidationError('the request must be a JSON object {"method", "path", "params"}', rule="request-shape")
    extra = [k for k in document if k not in DOCUMENT_KEYS]
    if extra:
        raise ValidationError(f"unknown key(s) in the request: {', '.join(map(repr, extra))} "
                              '(expected "method", "path", "params")', rule="request-shape")
    method = document.get("method")
    if not isinstance(method, str) or method.upper() not in endpoints.METHODS:
        raise ValidationError(f"method {method!r} must be one of {', '.join(endpoints.METHODS)}", rule="request-method")
    path = document.get("path")
    if not isinstance(path, str) or not _PATH.match(path):
        raise ValidationError(f"path {path!r} must be a signed v3 endpoint such as /fapi/v3/order",
                              rule="request-path")
    params = document.get("params", {})
    if not isinstance(params, dict):
        raise ValidationError('"params" must be a JSON object of parameter names to values', rule="request-params")
    pairs: list[tuple[str, object]] = []
    for key, value in params.items():
        if key in RESERVED_PARAMS:
            raise ValidationError(f"parameter {key!r} is added when signing; remove it from the request",
                                  rule="reserved-param")
        if value is None:
            raise ValidationError(f"parameter {key!r} is null: leave it out instead", rule="request-params")
        pairs.append((key, value))
    return method.upper(), path, pairs


def build_signed_request(
    document: object,
    signer: Any,
    *,
    base_url: str,
    is_mainnet: bool,
    nonce: int | None,
    user: str | None,
) -> dict[str, object]:
    """Check, sign and lay out one request: what `perp sign` prints and `perp submit` sends."""
    from perpcli.venues.aster import signing

    method, path, params = check_document(document)
    account = signing.checksum_address(user if user is not None else signer.address)
    signer_address = signing.checksum_address(signer.address)
    if nonce is None:
        from perpcli.keys.nonces import MicrosecondNonceAllocator

        nonce = MicrosecondNonceAllocator(signer.address).next()
    elif not _MIN_NONCE_US <= nonce <= _MAX_NONCE_US:
        raise ValidationError(f"nonce {nonce} is not Unix microseconds (16 digits); Aster refuses it outside "
                              "its time window", rule="nonce-microseconds")
    cid = signing.chain_id(is_mainnet=is_mainnet)
    signed = signing.signed_query(signer, params, nonce=nonce, user=account, signer_address=signer_address,
                                  chain_id=cid)
    wire = signed.wire
    is_get = method == "GET"
    return {
        "method": method,
        "url": f"{base_url.rstrip('/')}{path}" + (f"?{wire}" if is_get else ""),
        "path": path,
        "query": wire if is_get else None,
        "body": None if is_get else wire,
        "content_type": None if is_get else FORM,
        "network": "mainnet" if is_mainnet else "testnet",
        "chain_id": cid,
        "nonce": nonce,
        "user": account,
        "signer": signer_address,
        "signature": signed.signature,
    }


def _signed_parts(signed: object) -> tuple[str, str, str | None, str | None]:
    """(method, path, query, body) of a printed request, checked enough to send it as is."""
    if not isinstance(signed, dict) or not {"method", "path"} <= set(signed):
        raise UsageError('the signed request must be an object with "method", "path" and "query" or "body" '
                         "(the output of `perp sign --venue aster`)")
    method, path = signed["method"], signed["path"]
    if method not in endpoints.METHODS or not isinstance(path, str) or not _PATH.match(path):
        raise UsageError(f"the signed request's method {method!r} / path {path!r} is not an Aster v3 request")
    query, body = signed.get("query"), signed.get("body")
    wire = query if method == "GET" else body
    if not isinstance(wire, str) or "&signature=" not in wire:
        raise UsageError(f"the signed request carries no signed {'query' if method == 'GET' else 'body'}")
    return method, path, (wire if method == "GET" else None), (None if method == "GET" else wire)


# --- sending -------------------------------------------------------------------------------------


def send_request(url: str, method: str, path: str, *, query: str | None, body: str | None,
                 timeout: float) -> tuple[int, bytes]:
    """One request to URL + path. Failure before it left -> NetworkError; after -> OutcomeUnknown."""
    import http.client
    from urllib.parse import urlsplit

    from perpcli.domain.errors import NetworkError

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"--url {url!r} must be an http(s) URL such as {endpoints.MAINNET_URL}")
    try:
        port = parts.port
    except ValueError:
        raise UsageError(f"--url {url!r} has a bad port") from None
    target = parts.path.rstrip("/") + path + (f"?{query}" if query is not None else "")
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
        headers = {"Content-Type": FORM} if body is not None else {}
        try:
            conn.request(method, target, body=body.encode() if body is not None else None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
        except TimeoutError:
            raise OutcomeUnknown(
                f"no answer from {parts.hostname} within {timeout:g}s after sending; the request may have been "
                "executed (its nonce can be used only once: sending the same request again is refused, not repeated)"
            ) from None
        except (OSError, http.client.HTTPException) as e:
            raise OutcomeUnknown(
                f"connection to {parts.hostname} failed after sending began ({e}); the outcome is unknown"
            ) from None
        return resp.status, data
    finally:
        conn.close()
