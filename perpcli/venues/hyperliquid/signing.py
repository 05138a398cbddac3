"""Hyperliquid signing, byte-exact with the venue and its official SDK.

Two schemes (§b):
- L1 actions (trading): keccak(msgpack(action) ‖ nonce u64 BE ‖ vault flag[+20 bytes]
  ‖ [0x00 ‖ expiresAfter u64 BE]) is the connection id; an EIP-712 "phantom agent"
  Agent(string source,bytes32 connectionId) with source "a" (mainnet) or "b" (testnet) over
  the constant Exchange/1/1337 domain is what gets signed.
- User-signed actions (transfers, approvals): EIP-712 over the HyperliquidSignTransaction
  domain whose chainId is the action's `signatureChainId`; `hyperliquidChain` ("Mainnet" |
  "Testnet") binds the network.

Why hand-rolled EIP-712: the shapes are fixed, so the type hashes, domain separators and the
Agent prefix are computed once at import; a signature then costs the msgpack, three keccaks and
one libsecp256k1 sign — the SDK's generic encoder rebuilds all of it per call (~10× slower).
Mainnet-ness is always an explicit argument, never guessed from a URL (§0.1).
Pure: no clock, no I/O; nonces and expiry times are arguments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgpack

from perpcli.domain.errors import ValidationError
from perpcli.keys.hashing import keccak256
from perpcli.keys.signer import Signature, Signer
from perpcli.venues.hyperliquid.actions import USER_SIGNED_TYPES, VAULT_FORCED_NULL, UserSignedType

DEFAULT_SIGNATURE_CHAIN_ID = "0x66eee"  # Arbitrum Sepolia, what the SDK always uses (§b.4)
ZERO_ADDRESS_WORD = bytes(32)
U64_MAX = 2**64 - 1

EIP712_DOMAIN_TYPEHASH = keccak256(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)


def domain_separator(name: str, version: str, chain_id: int) -> bytes:
    """EIP-712 domain separator with the zero verifying contract (both Hyperliquid domains)."""
    return keccak256(
        EIP712_DOMAIN_TYPEHASH
        + keccak256(name.encode())
        + keccak256(version.encode())
        + chain_id.to_bytes(32, "big")
        + ZERO_ADDRESS_WORD
    )


# --- L1 ----------------------------------------------------------------------------------------

AGENT_DOMAIN_SEPARATOR = domain_separator("Exchange", "1", 1337)
AGENT_TYPEHASH = keccak256(b"Agent(string source,bytes32 connectionId)")
# typehash ‖ keccak(source): the first 64 bytes of the Agent struct encoding, per network.
_AGENT_STRUCT_PREFIX = {
    True: AGENT_TYPEHASH + keccak256(b"a"),
    False: AGENT_TYPEHASH + keccak256(b"b"),
}
_AGENT_DIGEST_PREFIX = b"\x19\x01" + AGENT_DOMAIN_SEPARATOR


def _agent_digest_portable(preimage: bytes, struct_prefix: bytes) -> bytes:  # three keccaks
    """keccak(0x1901 ‖ domain ‖ keccak(typehash ‖ keccak(source) ‖ keccak(preimage)))."""
    return keccak256(_AGENT_DIGEST_PREFIX + keccak256(struct_prefix + keccak256(preimage)))


_agent_digest = _agent_digest_portable

_packb = msgpack.packb


def _u64(value: object, what: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= U64_MAX:
        raise ValidationError(f"{what} must be an integer in [0, 2^64), got {value!r}", rule="integer")
    return value.to_bytes(8, "big")


def address_bytes(address: object, *, what: str = "address") -> bytes:
    """20 raw bytes of a 0x-address (case-insensitive, as the venue parses it)."""
    if isinstance(address, str) and len(address) == 42 and address[:2] in ("0x", "0X"):
        try:
            raw = bytes.fromhex(address[2:])
        except ValueError:
            raw = b""
        if len(raw) == 20:  # fromhex skips whitespace: "0x ab ab…" must not pass as shorter
            return raw
    raise ValidationError(f"{what} {address!r} is not a 0x-address of 40 hex digits", rule="address")


def l1_hash_preimage(
    action: Mapping[str, Any], nonce: int, vault_address: str | None = None, expires_after: int | None = None
) -> bytes:
    """msgpack(action) ‖ nonce ‖ (0x00 | 0x01 ‖ vault) ‖ [0x00 ‖ expiresAfter] (§b.2)."""
    try:
        data = _packb(action)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValidationError(f"action cannot be encoded for hashing: {e}", rule="action-encoding") from None
    data += _u64(nonce, "nonce")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + address_bytes(vault_address, what="vault address")
    if expires_after is not None:
        data += b"\x00" + _u64(expires_after, "expiresAfter")
    return data


def connection_id(
    action: Mapping[str, Any], nonce: int, vault_address: str | None = None, expires_after: int | None = None
) -> bytes:
    """keccak256 of the L1 hash preimage: the `connectionId` of the phantom agent."""
    return keccak256(l1_hash_preimage(action, nonce, vault_address, expires_after))


def agent_struct_hash(conn_id: bytes, *, is_mainnet: bool) -> bytes:
    return keccak256(_AGENT_STRUCT_PREFIX[bool(is_mainnet)] + conn_id)


def l1_digest_from_connection_id(conn_id: bytes, *, is_mainnet: bool) -> bytes:
    """The 32 bytes that are ECDSA-signed for an L1 action."""
    return keccak256(_AGENT_DIGEST_PREFIX + keccak256(_AGENT_STRUCT_PREFIX[bool(is_mainnet)] + conn_id))


def l1_digest(
    action: Mapping[str, Any],
    *,
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
) -> bytes:
    return _agent_digest(l1_hash_preimage(action, nonce, vault_address, expires_after), _AGENT_STRUCT_PREFIX[bool(is_mainnet)])


def sign_l1_action(
    signer: Signer,
    action: Mapping[str, Any],
    *,
    nonce: int,
    vault_address: str | None = None,
    expires_after: int | None = None,
    is_mainnet: bool,
) -> Signature:
    """Sign an L1 action. The action's key order is hashed as given: build it with `actions`."""
    if is_mainnet is True:
        prefix = _AGENT_STRUCT_PREFIX[True]
    elif is_mainnet is False:
        prefix = _AGENT_STRUCT_PREFIX[False]
    else:
        raise TypeError("is_mainnet must be True or False")
    try:
        data = _packb(action)
    except (TypeError, ValueError, OverflowError) as e:
        raise ValidationError(f"action cannot be encoded for hashing: {e}", rule="action-encoding") from None
    if type(nonce) is not int or not 0 <= nonce <= U64_MAX:
        raise ValidationError(f"nonce must be an integer in [0, 2^64), got {nonce!r}", rule="integer")
    data += nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01" + address_bytes(vault_address, what="vault address")
    if expires_after is not None:
        data += b"\x00" + _u64(expires_after, "expiresAfter")
    return signer.sign_digest(_agent_digest(data, prefix))


# --- user-signed ---------------------------------------------------------------------------------

_USER_DOMAIN_NAME = "HyperliquidSignTransaction"
_user_domain_cache: dict[int, bytes] = {}
TYPE_HASHES: dict[str, bytes] = {t: keccak256(ust.type_string.encode()) for t, ust in USER_SIGNED_TYPES.items()}


def user_signed_domain_separator(chain_id: int) -> bytes:
    """Cached per chain id (0x66eee and 0xa4b1 are the ones seen in practice)."""
    sep = _user_domain_cache.get(chain_id)
    if sep is None:
        sep = domain_separator(_USER_DOMAIN_NAME, "1", chain_id)
        if len(_user_domain_cache) < 64:
            _user_domain_cache[chain_id] = sep
    return sep


def parse_signature_chain_id(value: object) -> int:
    """`signatureChainId` is a 0x-hex string ("0x66eee"); the SDK reads it with int(x, 16)."""
    if (
        isinstance(value, str)
        and value[:2] in ("0x", "0X")
        and 2 < len(value) <= 66
        and all(c in "0123456789abcdefABCDEF" for c in value[2:])
    ):
        return int(value, 16)
    raise ValidationError(f"signatureChainId {value!r} is not a 0x-hex chain id", rule="signature-chain-id")


def _encode_field(kind: str, value: object, name: str) -> bytes:
    if kind == "string":
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string, got {value!r}", rule="field-type")
        return keccak256(value.encode("utf-8"))
    if kind == "uint64":
        return bytes(24) + _u64(value, name)
    if kind == "address":
        return bytes(12) + address_bytes(value, what=name)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValidationError(f"{name} must be true or false, got {value!r}", rule="field-type")
        return bytes(31) + (b"\x01" if value else b"\x00")
    if kind == "bytes32":
        if not (isinstance(value, (bytes, bytearray)) and len(value) == 32):
            raise ValidationError(f"{name} must be 32 bytes", rule="field-type")
        return bytes(value)
    raise ValidationError(f"unsupported EIP-712 field type {kind}", rule="field-type")  # pragma: no cover


def user_signed_type(action: Mapping[str, Any], action_type: str | None = None) -> UserSignedType:
    t = action_type if action_type is not None else action.get("type")
    ust = USER_SIGNED_TYPES.get(t)  # type: ignore[arg-type]
    if ust is None:
        raise ValidationError(f"{t!r} is not a user-signed action type", rule="action-type")
    return ust


def user_signed_struct_hash(action: Mapping[str, Any], action_type: str | None = None) -> bytes:
    """EIP-712 hashStruct of the action's fields (extra keys such as `type` are not hashed).

    A missing `agentName` hashes as "" — the venue's reading of an unnamed approveAgent.
    """
    ust = user_signed_type(action, action_type)
    t = action_type if action_type is not None else action["type"]
    parts = [TYPE_HASHES[t]]
    for name, kind in ust.fields:
        if name in action:
            value = action[name]
        elif name == "agentName":
            value = ""
        else:
            raise ValidationError(f"{ust.primary_type} needs field {name!r}", rule="field-missing")
        parts.append(_encode_field(kind, value, name))
    return keccak256(b"".join(parts))


def user_signed_digest(action: Mapping[str, Any], action_type: str | None = None) -> bytes:
    """The signed 32 bytes; the domain comes from the action's own `signatureChainId`."""
    if "signatureChainId" not in action or "hyperliquidChain" not in action:
        raise ValidationError(
            "user-signed action needs signatureChainId and hyperliquidChain (see prepare_user_signed_action)",
            rule="field-missing",
        )
    chain_id = parse_signature_chain_id(action["signatureChainId"])
    return keccak256(
        b"\x19\x01" + user_signed_domain_separator(chain_id) + user_signed_struct_hash(action, action_type)
    )


def hyperliquid_chain(is_mainnet: bool) -> str:
    return "Mainnet" if is_mainnet else "Testnet"


def prepare_user_signed_action(
    action: Mapping[str, Any], *, is_mainnet: bool, signature_chain_id: str | None = None
) -> dict:
    """A copy with `signatureChainId` and `hyperliquidChain` set, in the SDK's key order.

    Keys already present keep their place; absent ones are appended (signatureChainId first).
    A `hyperliquidChain` that contradicts `is_mainnet` is refused rather than overwritten: the
    caller asked to sign for one network and the action names the other.
    """
    if not isinstance(is_mainnet, bool):
        raise TypeError("is_mainnet must be True or False")
    out = dict(action)
    chain = hyperliquid_chain(is_mainnet)
    given_chain_id = out.get("signatureChainId")
    if signature_chain_id is not None:
        if given_chain_id is not None and given_chain_id != signature_chain_id:
            raise ValidationError(
                f"action carries signatureChainId {given_chain_id!r}, not {signature_chain_id!r}",
                rule="signature-chain-id",
            )
        out["signatureChainId"] = signature_chain_id
    elif given_chain_id is None:
        out["signatureChainId"] = DEFAULT_SIGNATURE_CHAIN_ID
    parse_signature_chain_id(out["signatureChainId"])
    if "hyperliquidChain" in out and out["hyperliquidChain"] != chain:
        raise ValidationError(
            f"action says hyperliquidChain {out['hyperliquidChain']!r} but signing for {chain}",
            rule="hyperliquid-chain",
        )
    out["hyperliquidChain"] = chain
    return out


def user_signed_nonce(action: Mapping[str, Any], action_type: str | None = None) -> int:
    """The action's own `time` / `nonce` field, which must also be the envelope nonce."""
    ust = user_signed_type(action, action_type)
    value = action.get(ust.nonce_field)
    _u64(value, ust.nonce_field)
    return value  # type: ignore[return-value]


def sign_user_signed_action(
    signer: Signer,
    action: Mapping[str, Any],
    *,
    is_mainnet: bool,
    action_type: str | None = None,
    signature_chain_id: str | None = None,
) -> tuple[dict, Signature]:
    """Sign a user-signed action; returns (the action as posted, signature).

    Must be the master key: an agent's signature recovers the agent, which has no funds.
    """
    prepared = prepare_user_signed_action(action, is_mainnet=is_mainnet, signature_chain_id=signature_chain_id)
    return prepared, signer.sign_digest(user_signed_digest(prepared, action_type))


# --- the /exchange body ------------------------------------------------------------------------


def signature_sdk_wire(sig: Signature) -> dict:
    """r, s as the SDK writes them (minimal lowercase hex); the venue parses them as integers."""
    return {"r": hex(sig.r), "s": hex(sig.s), "v": sig.v}


def exchange_request_body(
    action: Mapping[str, Any],
    *,
    nonce: int,
    signature: Signature,
    vault_address: str | None = None,
    expires_after: int | None = None,
) -> dict:
    """{"action","nonce","signature","vaultAddress","expiresAfter"} exactly as the SDK posts it.

    vaultAddress/expiresAfter are explicit nulls when unset. For usdClassTransfer and sendAsset
    the vault is carried inside the action, so the envelope's is forced to null (as the SDK does).
    User-signed actions take no expiresAfter.
    """
    action_type = action.get("type")
    if action_type in VAULT_FORCED_NULL:
        vault_address = None
    if expires_after is not None and action_type in USER_SIGNED_TYPES:
        raise ValidationError(f"{action_type} is user-signed and takes no expiresAfter", rule="expires-after")
    if vault_address is not None:
        address_bytes(vault_address, what="vault address")
        vault_address = vault_address.lower()
    return {
        "action": action,
        "nonce": nonce,
        "signature": signature_sdk_wire(signature),
        "vaultAddress": vault_address,
        "expiresAfter": expires_after,
    }
