"""Aster Pro API v3 request signing, byte-exact with the venue's documented scheme.

Every private request (TRADE, USER_DATA, USER_STREAM) carries its parameters as one
url-encoded string: the business parameters, then `nonce` (microseconds), `user` (the account)
and `signer` (the key that signs: an approved agent, or the account's own key). That exact
string is signed as EIP-712 `Message{string msg}` over the domain
`AsterSignTransaction / 1 / chainId / 0x0` (1666 mainnet, 714 testnet), and `&signature=0x…`
is appended last. The server checks the signature over the bytes it received, so the only rule
that matters is: the string signed is the string sent. This module therefore builds the string
and signs it in one place, and hands back both.

Why hand-rolled EIP-712 (as for Hyperliquid): the shape is fixed, so the type hash and the
domain separators are computed once at import; a signature then costs three keccaks and one
libsecp256k1 sign, where a generic typed-data encoder rebuilds everything per call.

Agent approval (`registerAndApproveAgent`) is signed by the main wallet over a literal
`k=v&…` string in the documented field order, in the same `Message{msg}` shape but over the
domain of chain 56 (`signatureChainId`).

Pure: no clock, no I/O; nonces are arguments. Money is never a float here: a float parameter
is refused, Decimals are written in plain notation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from perpcli.domain.errors import ValidationError
from perpcli.keys.hashing import keccak256
from perpcli.keys.signer import Signature, Signer, recover_address

MAINNET_CHAIN_ID = 1666
TESTNET_CHAIN_ID = 714
AGENT_APPROVAL_CHAIN_ID = 56  # registerAndApproveAgent's `signatureChainId` (EVM wallets)
DOMAIN_NAME = "AsterSignTransaction"
DOMAIN_VERSION = "1"

# Added by the signer, never by the caller: a caller-supplied copy would be signed twice.
RESERVED_PARAMS = frozenset({"nonce", "user", "signer", "signature"})

EIP712_DOMAIN_TYPEHASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
MESSAGE_TYPEHASH = keccak256(b"Message(string msg)")


def domain_separator(chain_id: int) -> bytes:
    """EIP-712 domain separator of AsterSignTransaction v1 on `chain_id`, zero verifying contract."""
    return keccak256(
        EIP712_DOMAIN_TYPEHASH
        + keccak256(DOMAIN_NAME.encode())
        + keccak256(DOMAIN_VERSION.encode())
        + chain_id.to_bytes(32, "big")
        + bytes(32)
    )


# 0x1901 ‖ domain separator, per chain: the fixed first 66 bytes of every digest.
_DIGEST_PREFIX = {
    cid: b"\x19\x01" + domain_separator(cid)
    for cid in (MAINNET_CHAIN_ID, TESTNET_CHAIN_ID, AGENT_APPROVAL_CHAIN_ID)
}


def chain_id(*, is_mainnet: bool) -> int:
    """The request-signing chain id; mainnet-ness is always explicit, never guessed from a URL."""
    if is_mainnet is True:
        return MAINNET_CHAIN_ID
    if is_mainnet is False:
        return TESTNET_CHAIN_ID
    raise TypeError("is_mainnet must be True or False")


def _digest_prefix(cid: int) -> bytes:
    prefix = _DIGEST_PREFIX.get(cid)
    if prefix is None:
        if type(cid) is not int or not 0 < cid < 2**256:
            raise ValidationError(f"chain id must be a positive integer, got {cid!r}", rule="chain-id")
        prefix = b"\x19\x01" + domain_separator(cid)
    return prefix


def message_struct_hash(msg: str) -> bytes:
    """hashStruct(Message{msg}) = keccak(typehash ‖ keccak(utf-8 msg))."""
    return keccak256(MESSAGE_TYPEHASH + keccak256(msg.encode()))


def message_digest(msg: str, chain_id: int) -> bytes:
    """The 32 bytes that are ECDSA-signed for `msg` on `chain_id`."""
    return keccak256(_digest_prefix(chain_id) + keccak256(MESSAGE_TYPEHASH + keccak256(msg.encode())))


def sign_message(signer: Signer, msg: str, *, chain_id: int) -> Signature:
    """Sign the string `msg` exactly as given (it must be the string that is sent)."""
    return signer.sign_digest(message_digest(msg, chain_id))


def signature_hex(sig: Signature) -> str:
    """0x ‖ r ‖ s ‖ v as 130 lowercase hex digits, the form the docs' demos send."""
    return f"0x{sig.r:064x}{sig.s:064x}{sig.v:02x}"


def parse_signature_hex(text: str) -> tuple[int, int, int]:
    """(r, s, v) from 0x-prefixed (or bare) 65-byte hex; v may be 0/1 or 27/28, any hex case."""
    t = text[2:] if text[:2] in ("0x", "0X") else text
    if len(t) != 130:
        raise ValueError("signature must be 65 bytes of hex")
    raw = bytes.fromhex(t)
    return int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), raw[64]


def recover_signer(msg: str, signature: str, *, chain_id: int) -> str:
    """Lowercase address that signed `msg` on `chain_id` (a venue's check, for tests and a devnet)."""
    r, s, v = parse_signature_hex(signature)
    return recover_address(message_digest(msg, chain_id), r, s, v)


# --- the string that is sent -------------------------------------------------------------------


def _plain_decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValidationError(f"{value} is not a finite number", rule="finite")
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def encode_value(value: object) -> str:
    """A parameter value as text, before url-encoding.

    Strings are taken as written; booleans are "true"/"false"; Decimals are plain notation
    without trailing zeros; lists and dicts (batchOrders, id lists) are compact JSON.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)
    if isinstance(value, float):
        raise ValidationError("a float parameter would be rounded: pass a Decimal or a string", rule="no-float")
    raise ValidationError(f"cannot send a {type(value).__name__} as a parameter", rule="param-type")


def _json_default(value: object) -> str:
    if isinstance(value, Decimal):
        return _plain_decimal(value)
    raise ValidationError(f"cannot send a {type(value).__name__} inside a JSON parameter", rule="param-type")


def _pairs(params: Mapping[str, object] | Iterable[tuple[str, object]]) -> Iterable[tuple[str, object]]:
    return params.items() if isinstance(params, Mapping) else params


# Text made only of characters url-encoding leaves alone (most symbols, sides, decimals, ids):
# checked by one regex match instead of a per-byte walk, on the signing hot path.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.\-~]*\Z").match


# Byte -> its form in a form-encoded string, as urllib's quote_plus writes it (space is "+").
_ESCAPES = tuple(
    chr(b) if chr(b).isascii() and _UNRESERVED(chr(b)) else ("+" if b == 0x20 else f"%{b:02X}") for b in range(256)
)


def _quote(text: str) -> str:
    """application/x-www-form-urlencoded form of `text` (UTF-8), byte for byte urllib's quote_plus;
    written here so the pure signing core needs no network package."""
    if _UNRESERVED(text):
        return text
    return "".join([_ESCAPES[b] for b in text.encode()])


def query_string(params: Mapping[str, object] | Iterable[tuple[str, object]]) -> str:
    """`k=v&k=v` in the given order, url-encoded as the docs' demos do (urlencode: quote_plus)."""
    return "&".join(f"{_quote(str(k))}={_quote(encode_value(v))}" for k, v in _pairs(params))


@dataclass(slots=True)
class SignedQuery:
    """One signed request's parameters: `msg` is what was signed, `wire` what is sent.

    `wire` is `msg` + `&signature=0x…`: the query string of a GET, the form body otherwise.
    """

    msg: str
    signature: str
    nonce: int

    @property
    def wire(self) -> str:
        return f"{self.msg}&signature={self.signature}"


def signed_query(
    signer: Signer,
    params: Mapping[str, object] | Sequence[tuple[str, object]],
    *,
    nonce: int,
    user: str,
    signer_address: str,
    chain_id: int,
) -> SignedQuery:
    """Build `params&nonce=…&user=…&signer=…`, sign it, and return it with its signature.

    `user` and `signer_address` are written as given (the docs use checksummed addresses;
    the venue accepts either case, and the signature covers whichever is sent).
    """
    if type(nonce) is not int or nonce <= 0:
        raise ValidationError(f"nonce must be a positive integer (microseconds), got {nonce!r}", rule="nonce")
    head = query_string(params)
    for key, _ in _pairs(params):
        if key in RESERVED_PARAMS:
            raise ValidationError(f"parameter {key!r} is added by the signer; do not pass it", rule="reserved-param")
    tail = f"nonce={nonce}&user={user}&signer={signer_address}"
    msg = f"{head}&{tail}" if head else tail
    return SignedQuery(msg=msg, signature=signature_hex(sign_message(signer, msg, chain_id=chain_id)), nonce=nonce)


# --- agent approval (signed by the main wallet) ------------------------------------------------

AGENT_APPROVAL_FIELDS = (
    "user",
    "nonce",
    "agentName",
    "agentAddress",
    "expired",
    "signatureChainId",
    "canSpotTrade",
    "canPerpTrade",
    "canWithdraw",
    "ipWhitelist",
)


def agent_approval_params(
    *,
    user: str,
    nonce: int,
    agent_name: str,
    agent_address: str,
    expired_ms: int,
    can_spot_trade: bool = False,
    can_perp_trade: bool = True,
    can_withdraw: bool = False,
    ip_whitelist: str = "",
) -> list[tuple[str, str]]:
    """registerAndApproveAgent's fields, in the documented order, as the strings sent.

    Withdrawal rights need an IP allow-list (the venue's rule); perpcli never asks for them
    by default.
    """
    if can_withdraw and not ip_whitelist.strip():
        raise ValidationError("an agent allowed to withdraw needs an IP allow-list", rule="agent-withdraw-ip")
    values: dict[str, object] = {
        "user": user,
        "nonce": nonce,
        "agentName": agent_name,
        "agentAddress": agent_address,
        "expired": expired_ms,
        "signatureChainId": AGENT_APPROVAL_CHAIN_ID,
        "canSpotTrade": can_spot_trade,
        "canPerpTrade": can_perp_trade,
        "canWithdraw": can_withdraw,
        "ipWhitelist": ip_whitelist,
    }
    return [(name, encode_value(values[name])) for name in AGENT_APPROVAL_FIELDS]


def agent_approval_message(fields: Sequence[tuple[str, str]]) -> str:
    """The literal (not url-encoded) `k=v&…` string the main wallet signs."""
    return "&".join(f"{k}={v}" for k, v in fields)


def sign_agent_approval(main_wallet: Signer, fields: Sequence[tuple[str, str]]) -> str:
    """Signature (0x-hex) of the main wallet over the approval fields, on chain 56."""
    msg = agent_approval_message(fields)
    return signature_hex(sign_message(main_wallet, msg, chain_id=AGENT_APPROVAL_CHAIN_ID))


# --- addresses ---------------------------------------------------------------------------------


def checksum_address(address: str) -> str:
    """EIP-55 mixed-case form of a 0x-address (the form the docs' demos send)."""
    if not (isinstance(address, str) and len(address) == 42 and address[:2] in ("0x", "0X")):
        raise ValidationError(f"{address!r} is not a 0x-address of 40 hex digits", rule="address")
    lower = address[2:].lower()
    if any(c not in "0123456789abcdef" for c in lower):
        raise ValidationError(f"{address!r} is not a 0x-address of 40 hex digits", rule="address")
    h = keccak256(lower.encode()).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(h[i], 16) >= 8 else c for i, c in enumerate(lower))
