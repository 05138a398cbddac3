"""Hyperliquid signing throughput: ours beside the official SDK and beside the floor, one run.

    .venv/bin/python bench/sign.py [--json] [--seconds S]

- ours: perpcli.venues.hyperliquid.signing.sign_l1_action (fixed-shape EIP-712, cached domain
  separator / type hash / Agent prefix, coincurve through perpcli's Signer).
- SDK: hyperliquid.utils.signing.sign_l1_action (generic eth-account typed-data encoder; this
  venv has coincurve, so it is the SDK's *fast* configuration).
- floor: the unavoidable work done inline with no abstraction at all: msgpack of the action,
  the three keccaks (connection id, Agent struct, digest; the same keccak ours
  uses) and one libsecp256k1 sign of the 32-byte digest with a prebuilt coincurve key.
Targets (DESIGN.md): ours within 1.5x of the floor (ratio >= 0.667) and >= 6x the SDK's rate.
The same one-order action, nonce and key are used for all three, and all three signatures are
checked equal before timing. A usdSend row compares the user-signed path with the SDK's.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import metric, report  # noqa: E402

KEY_HEX = "0xad2f1ede9b99ab40518cb5f4f3bb05fbe32cde798501f3a01c88ed49d7d49a6b"
ACTION = {
    "type": "order",
    "orders": [
        {
            "a": 1,
            "b": True,
            "p": "3412.5",
            "s": "0.25",
            "r": False,
            "t": {"limit": {"tif": "Gtc"}},
            "c": "0x00000000000000000000000000abcdef",
        }
    ],
    "grouping": "na",
}
NONCE = 1760000000000
TRANSFER = {
    "destination": "0xdaa080c5d91949ffe61b99bb7139e676b02ce2ff",
    "amount": "12.5",
    "time": NONCE,
    "type": "usdSend",
}


def rates(fns: dict, seconds: float) -> dict:
    """Calls per second of each function: best of 7 interleaved rounds (after a warm-up).

    Interleaving (a round of each, then the next round) keeps a busy shared machine from
    favouring whichever function happened to run in a quiet moment.
    """
    counts = {}
    for name, fn in fns.items():
        for _ in range(50):
            fn()
        t = time.perf_counter()
        for _ in range(50):
            fn()
        per_call = (time.perf_counter() - t) / 50
        counts[name] = max(50, int(seconds / (7 * len(fns)) / per_call))
    best = dict.fromkeys(fns, 0.0)
    for _ in range(7):
        for name, fn in fns.items():
            n = counts[name]
            t = time.perf_counter()
            for _ in range(n):
                fn()
            best[name] = max(best[name], n / (time.perf_counter() - t))
    return best


def main(argv: list[str]) -> None:
    seconds = 6.0
    if "--seconds" in argv:
        seconds = float(argv[argv.index("--seconds") + 1])

    import msgpack
    from coincurve import PrivateKey

    from perpcli.keys.signer import Signer
    from perpcli.venues.hyperliquid import signing

    signer = Signer.from_hex(KEY_HEX)

    def ours():
        return signing.sign_l1_action(signer, ACTION, nonce=NONCE, is_mainnet=True)

    # The floor: everything inline, constants precomputed, the same fastest keccak chain ours uses.
    key = PrivateKey(bytes.fromhex(KEY_HEX[2:]))
    struct_prefix = signing.AGENT_TYPEHASH + signing.keccak256(b"a")
    three_keccaks = signing._agent_digest  # keccak(preimage) -> Agent struct -> EIP-712 digest

    def floor():
        data = msgpack.packb(ACTION) + NONCE.to_bytes(8, "big") + b"\x00"
        return key.sign_recoverable(three_keccaks(data, struct_prefix), hasher=None)

    mine = ours()
    raw = floor()
    assert (mine.r, mine.s, mine.v) == (int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:64], "big"), 27 + raw[64])

    fns = {"ours": ours, "floor": floor}
    try:
        from eth_account import Account
        from hyperliquid.utils import signing as sdk  # bench-only: the official SDK as the baseline
    except ImportError:
        print("hyperliquid-python-sdk not installed: SDK row skipped", file=sys.stderr)
    else:
        wallet = Account.from_key(KEY_HEX)

        def theirs():
            return sdk.sign_l1_action(wallet, ACTION, None, NONCE, None, True)

        expected = theirs()
        assert (int(expected["r"], 16), int(expected["s"], 16), expected["v"]) == (mine.r, mine.s, mine.v)
        fns["sdk"] = theirs

        def ours_transfer():
            return signing.sign_user_signed_action(signer, TRANSFER, is_mainnet=True)

        def theirs_transfer():
            return sdk.sign_usd_transfer_action(wallet, dict(TRANSFER), True)

        got, want = ours_transfer()[1], theirs_transfer()
        assert (int(want["r"], 16), int(want["s"], 16), want["v"]) == (got.r, got.s, got.v)
        fns["ours_transfer"] = ours_transfer
        fns["sdk_transfer"] = theirs_transfer

    measured = rates(fns, seconds)
    ours_rate, floor_rate = measured["ours"], measured["floor"]
    metrics = []
    if "sdk" in measured:
        metrics.append(
            metric("sign one order (L1), vs official SDK", "signatures/s", ours_rate, measured["sdk"],
                   "hyperliquid-python-sdk sign_l1_action", higher_is_better=True)
        )
    if "sdk_transfer" in measured:
        metrics.append(
            metric("sign usdSend (user-signed), vs official SDK", "signatures/s", measured["ours_transfer"],
                   measured["sdk_transfer"], "hyperliquid-python-sdk sign_usd_transfer_action", higher_is_better=True)
        )
    metrics.append(
        metric("sign one order (L1), vs floor", "signatures/s", ours_rate, floor_rate,
               "floor: msgpack + 3 keccak + 1 coincurve sign, inline", higher_is_better=True)
    )
    metrics.append(
        metric("sign one order (L1) latency, vs floor", "us/signature", 1e6 / ours_rate, 1e6 / floor_rate,
               "floor: msgpack + 3 keccak + 1 coincurve sign, inline")
    )
    report("Hyperliquid signing (ratio > 1: ours better; vs floor the target is >= 0.667)", metrics, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
