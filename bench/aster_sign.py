"""Aster v3 request signing per request: ours beside ccxt's `aster` signer and beside Hyperliquid's path.

    .venv/bin/python bench/aster_sign.py [--json] [--seconds S]

- ours: perpcli.venues.aster.signing.signed_query: url-encode the parameters, append
  nonce/user/signer, fixed-shape EIP-712 Message{msg} (cached domain and type hash, three
  keccaks) and one libsecp256k1 sign through perpcli's Signer; the result is the wire string.
- ccxt: ccxt.aster().sign() for the same order on fapiPrivate (its string building, generic
  typed-data encoder and signer): the per-request work ccxt does before sending.
- hyperliquid: perpcli's Hyperliquid L1 signing of a comparable one-order action.
Targets (issue 14): ours >= 10x ccxt, and within 1.5x of the Hyperliquid path (ratio >= 0.667).
Before timing, ours is checked to sign ccxt's own string to ccxt's signature.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import metric, report  # noqa: E402
from sign import ACTION, KEY_HEX, NONCE, rates  # noqa: E402  (same key and HL action as bench/sign.py)

ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.25",
    "price": "3412.5",
    "newClientOrderId": "perp-00000000000000000000abcdef",
}
NONCE_US = 1_760_000_000_000_000


def main(argv: list[str]) -> None:
    seconds = 6.0
    if "--seconds" in argv:
        seconds = float(argv[argv.index("--seconds") + 1])

    from perpcli.keys.signer import Signer
    from perpcli.venues.aster import signing as aster
    from perpcli.venues.hyperliquid import signing as hl

    signer = Signer.from_hex(KEY_HEX)
    user = aster.checksum_address(signer.address)

    def ours():
        return aster.signed_query(signer, ORDER, nonce=NONCE_US, user=user, signer_address=user,
                                  chain_id=aster.MAINNET_CHAIN_ID).wire

    def hyperliquid():
        return hl.sign_l1_action(signer, ACTION, nonce=NONCE, is_mainnet=True)

    fns = {"ours": ours, "hyperliquid": hyperliquid}
    try:
        import ccxt  # bench-only baseline; perpcli never imports it
    except ImportError:
        print("ccxt not installed: ccxt row skipped", file=sys.stderr)
    else:
        ex = ccxt.aster({"privateKey": KEY_HEX})
        ex.milliseconds = lambda: NONCE_US // 1000

        def theirs():
            return ex.sign("v3/order", ["fapiPrivate"], "POST", ORDER)["body"]

        msg, _, their_sig = theirs().rpartition("&signature=")
        mine = aster.signature_hex(aster.sign_message(signer, msg, chain_id=aster.MAINNET_CHAIN_ID))
        assert mine == their_sig.lower(), "ours and ccxt disagree over the same string"
        fns["ccxt"] = theirs

    measured = rates(fns, seconds)
    metrics = []
    if "ccxt" in measured:
        metrics.append(metric("sign one Aster order request, vs ccxt", "requests/s", measured["ours"],
                              measured["ccxt"], "ccxt aster.sign (fapiPrivate POST v3/order)",
                              higher_is_better=True))
    metrics.append(metric("sign one Aster order request, vs Hyperliquid path", "requests/s", measured["ours"],
                          measured["hyperliquid"], "perpcli Hyperliquid sign_l1_action (one order)",
                          higher_is_better=True))
    metrics.append(metric("sign one Aster order request latency, vs Hyperliquid path", "us/request",
                          1e6 / measured["ours"], 1e6 / measured["hyperliquid"],
                          "perpcli Hyperliquid sign_l1_action (one order)"))
    report("Aster signing (ratio > 1: ours better; vs Hyperliquid the target is >= 0.667)", metrics, argv)


if __name__ == "__main__":
    main(sys.argv[1:])
