"""Ostium devnet benchmarks: how long the chain takes to come up with perpcli's contracts
deployed, and one market-open round trip (sign -> mined -> settled by the keeper).

    .venv/bin/python bench/ostium_devnet.py [--json] [--rounds N]

- chain up + deploy: `OstiumDevnet.start()` to a served face (anvil started, seven contracts
  placed with anvil_setCode and initialised by ten transactions, keeper and proxy running),
  beside the floor: a bare anvil answering its first eth_chainId. Then the deploy step alone
  (placing and initialising the contracts on a running anvil) through perpcli's JSON-RPC
  client, beside web3.py sending the same calls to another fresh anvil.
- market open round trip: a funded, approved key opens 100 USDC x10 on XAU at market through
  perpcli's own chain code (Chain.prepare: gas estimate, fee caps, nonce, sign; send_and_wait;
  then await_outcome for the settlement event), beside a plain web3.py + eth-account script
  doing the same calls (estimate_gas, nonce, base fee, sign_transaction,
  send_raw_transaction, wait_for_transaction_receipt, get_logs for the orderId). Both against
  the same devnet and keeper in the same run, rounds interleaved, median of each; both poll
  every 20 ms. A fresh key per round (funded and approved untimed), so no round waits on
  another's trades.
- whole processes: `perp --venue ostium-devnet --yes --json buy BTC --collateral 100
  --leverage 10 --market` (BTC: open at any hour the bench runs; start, read the pair and prices, sign, mined, settled, print) beside
  the same plain web3.py + eth-account script run as its own process (its imports and set-up
  included), both polling at perp's own fixed interval (250 ms), a fresh funded and approved key
  each; and `perp --venue ostium-devnet --json account` beside what such a script pays before
  its first call (`python -c "import web3, eth_account"`). What an Ostium command costs from a
  shell, where import time counts.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import median_wall_ms, metric, report  # noqa: E402

from perpcli.devnet.ostium import artifacts  # noqa: E402
from perpcli.devnet.ostium.anvil import INSTALL_HINT, AnvilProcess, anvil_binary  # noqa: E402
from perpcli.devnet.ostium.chain import NodeClient  # noqa: E402
from perpcli.devnet.ostium.deploy import deploy  # noqa: E402
from perpcli.devnet.ostium.node import BASE_FEE_WEI, OstiumDevnet, OstiumDevnetConfig  # noqa: E402
from perpcli.keys.signer import Signer  # noqa: E402
from perpcli.venues.ostium import calls, events, settlement  # noqa: E402
from perpcli.venues.ostium.chain import Chain, FeePolicy  # noqa: E402
from perpcli.venues.ostium.networks import DEVNET  # noqa: E402
from perpcli.venues.ostium.nonces import EvmNonceAllocator  # noqa: E402
from perpcli.venues.ostium.reads import ChainReads  # noqa: E402
from perpcli.venues.ostium.rpc import JsonRpc  # noqa: E402

POLL_S = 0.02
XAU = 5


def bare_anvil_up_s() -> float:
    t = time.perf_counter()
    node = AnvilProcess(anvil_binary(), chain_id=31337, base_fee_wei=BASE_FEE_WEI)
    try:
        JsonRpc(node.url).call("eth_chainId")
        return time.perf_counter() - t
    finally:
        node.stop()


def devnet_up_s() -> tuple[float, dict]:
    t = time.perf_counter()
    devnet = OstiumDevnet(OstiumDevnetConfig(port=0, hours="always", walk=False)).start()
    took = time.perf_counter() - t
    devnet.stop()
    return took, dict(devnet.config.timings)


def deploy_with_web3_s() -> float:
    """The same setCode + initialise calls as deploy.deploy, sent through web3.py."""
    from web3 import Web3

    node = AnvilProcess(anvil_binary(), chain_id=31337, base_fee_wei=BASE_FEE_WEI)
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        w3.eth.chain_id  # connected  # noqa: B018
        sent: list[tuple] = []

        class Recorder:  # collect deploy()'s calls (nothing is sent), then send them through web3
            def call(self, method, params=None):
                sent.append(("rpc", method, params))

            def send_fn(self, sender, artifact, name, *args):
                sent.append(("tx", sender, artifacts.PLACEMENT[artifact], artifacts.fn(artifact, name).encode(*args)))

            def mint_usdc(self, who, amount):
                self.send_fn(artifacts.GOV, "usdc", "mint", who, int(amount * 10**6))

        deploy(Recorder())  # type: ignore[arg-type]
        t = time.perf_counter()
        for entry in sent:
            if entry[0] == "rpc":
                w3.provider.make_request(entry[1], entry[2])
            else:
                _, sender, to, data = entry
                tx_hash = w3.eth.send_transaction({"from": Web3.to_checksum_address(sender),
                                                   "to": Web3.to_checksum_address(to), "data": data, "gas": 3_000_000})
                assert w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.005)["status"] == 1
        return time.perf_counter() - t
    finally:
        node.stop()


def deploy_with_perpcli_s() -> float:
    node = AnvilProcess(anvil_binary(), chain_id=31337, base_fee_wei=BASE_FEE_WEI)
    try:
        client = NodeClient(node.url)
        client.call("eth_chainId")
        t = time.perf_counter()
        deploy(client)
        took = time.perf_counter() - t
        client.close()
        return took
    finally:
        node.stop()


def funded_key(devnet: OstiumDevnet) -> Signer:
    import secrets

    signer = Signer.from_hex("0x" + secrets.token_hex(32))
    devnet.fund(signer.address, Decimal(10_000))
    return signer


def ours_round_trip(devnet: OstiumDevnet, signer: Signer) -> float:
    rpc = JsonRpc(devnet.url)
    chain = Chain(rpc, DEVNET, fees=FeePolicy(max_fee_gwei=Decimal(1)), receipt_timeout_s=15, poll_s=POLL_S)
    nonces = EvmNonceAllocator(DEVNET.chain_id, signer.address, directory=Path(tempfile.mkdtemp()))
    reads = ChainReads(chain)
    callbacks = reads.contract("callbacks")
    chain.send_and_wait(chain.prepare(signer, DEVNET.usdc, calls.approve(DEVNET.trading_storage, Decimal(1000)), nonces),
                        nonces=nonces)
    order = calls.OpenTrade(trader=signer.address, pair_index=XAU, buy=True, collateral=Decimal(100),
                            leverage=Decimal(10), order_type=calls.OrderType.MARKET, price=Decimal(2650),
                            slippage_pct=Decimal(1))
    t = time.perf_counter()
    done = chain.send_and_wait(chain.prepare(signer, DEVNET.trading, calls.open_trade(order), nonces), nonces=nonces)
    order_id = events.initiated_order_id(done.receipt.logs)
    outcome = settlement.await_outcome(chain, callbacks, order_id, done.receipt.block_number, 15, poll_s=POLL_S)
    took = time.perf_counter() - t
    assert outcome is not None and outcome.executed, outcome
    rpc.close()
    return took


def web3_round_trip(devnet: OstiumDevnet, signer: Signer) -> float:
    """A plain web3.py + eth-account script: the same approve, then the same openTrade call."""
    from eth_account import Account
    from web3 import Web3
    from web3.logs import DISCARD

    w3 = Web3(Web3.HTTPProvider(devnet.url))
    account = Account.from_key(signer.export_private_key_bytes())
    trading_abi = calls.abi.load("trading")
    usdc = w3.eth.contract(address=Web3.to_checksum_address(DEVNET.usdc), abi=calls.abi.load("usdc"))
    trading = w3.eth.contract(address=Web3.to_checksum_address(DEVNET.trading), abi=trading_abi)
    callbacks = Web3.to_checksum_address(artifacts.CALLBACKS)

    def send(fn) -> dict:
        tx = fn.build_transaction({"from": account.address, "nonce": w3.eth.get_transaction_count(account.address),
                                   "chainId": DEVNET.chain_id, "maxPriorityFeePerGas": 0,
                                   "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"]})
        raw = account.sign_transaction(tx).raw_transaction
        receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), poll_latency=POLL_S)
        assert receipt["status"] == 1
        return receipt

    send(usdc.functions.approve(Web3.to_checksum_address(DEVNET.trading_storage), 1000 * 10**6))
    trade = (100 * 10**6, 2650 * 10**18, 0, 0, account.address, 1000, XAU, 0, True, False)
    t = time.perf_counter()
    receipt = send(trading.functions.openTrade(trade, ("0x" + "00" * 20, 0), 0, 100))
    initiated = trading.events.MarketOpenOrderInitiated().process_receipt(receipt, errors=DISCARD)
    order_id = initiated[0]["args"]["orderId"]
    topic = "0x" + order_id.to_bytes(32, "big").hex()
    deadline = time.monotonic() + 15
    while not w3.eth.get_logs({"address": callbacks, "fromBlock": receipt["blockNumber"], "topics": [None, topic]}):
        assert time.monotonic() < deadline, "not settled"
        time.sleep(POLL_S)
    return time.perf_counter() - t


PERP_POLL_S = 0.25  # perp's receipt and settlement poll (chain.Chain's default)

WEB3_OPEN_SCRIPT = """
import sys, time
from eth_account import Account
from web3 import Web3
from web3.logs import DISCARD
url, key, trading_address, callbacks, abi_path, poll = sys.argv[1:7]
import json
w3 = Web3(Web3.HTTPProvider(url))
account = Account.from_key(key)
trading = w3.eth.contract(address=Web3.to_checksum_address(trading_address), abi=json.load(open(abi_path)))
trade = (100 * 10**6, 97000 * 10**18, 0, 0, account.address, 1000, 0, 0, True, False)  # BTC
tx = trading.functions.openTrade(trade, ("0x" + "00" * 20, 0), 0, 100).build_transaction({
    "from": account.address, "nonce": w3.eth.get_transaction_count(account.address), "chainId": w3.eth.chain_id,
    "maxPriorityFeePerGas": 0, "maxFeePerGas": 2 * w3.eth.get_block("latest")["baseFeePerGas"]})
raw = account.sign_transaction(tx).raw_transaction
receipt = w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(raw), poll_latency=float(poll))
assert receipt["status"] == 1
order_id = trading.events.MarketOpenOrderInitiated().process_receipt(receipt, errors=DISCARD)[0]["args"]["orderId"]
topic = "0x" + order_id.to_bytes(32, "big").hex()
deadline = time.monotonic() + 15
while not w3.eth.get_logs({"address": Web3.to_checksum_address(callbacks), "fromBlock": receipt["blockNumber"],
                           "topics": [None, topic]}):
    assert time.monotonic() < deadline, "not settled"
    time.sleep(float(poll))
print(order_id)
"""


def approved_key(devnet: OstiumDevnet) -> Signer:
    """A fresh key, funded and with TradingStorage approved (untimed), as a trader's would be."""
    signer = funded_key(devnet)
    rpc = JsonRpc(devnet.url)
    chain = Chain(rpc, DEVNET, fees=FeePolicy(max_fee_gwei=Decimal(1)), receipt_timeout_s=15, poll_s=POLL_S)
    nonces = EvmNonceAllocator(DEVNET.chain_id, signer.address, directory=Path(tempfile.mkdtemp()))
    chain.send_and_wait(chain.prepare(signer, DEVNET.usdc, calls.approve(DEVNET.trading_storage, Decimal(10_000)),
                                      nonces), nonces=nonces)
    rpc.close()
    return signer


def _perp() -> list[str]:
    perp = Path(sys.executable).with_name("perp")
    return [str(perp)] if perp.exists() else [sys.executable, "-m", "perpcli"]


def _timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    took = time.perf_counter() - t
    assert p.returncode == 0, (cmd, p.stderr)
    return took


def whole_processes(devnet: OstiumDevnet, rounds: int) -> list[dict]:
    env = dict(os.environ, PERPCLI_HOME=tempfile.mkdtemp(prefix="perpcli-bench-"),
               PERPCLI_VENUES_OSTIUM_DEVNET_URL=devnet.url, PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL=devnet.prices_url)
    env.pop("PERPCLI_CONFIG", None)
    abi_path = Path(tempfile.mkdtemp()) / "trading.json"
    abi_path.write_text(json.dumps(list(calls.abi.load("trading"))))
    buy = [*_perp(), "--venue", "ostium-devnet", "--yes", "--json", "buy", "BTC", "--collateral", "100",
           "--leverage", "10", "--market"]
    ours, theirs = [], []
    for i in range(rounds + 1):  # the first round of each warms the page cache and .pyc files, untimed
        signer = approved_key(devnet)
        took = _timed(buy, dict(env, PERPCLI_PRIVATE_KEY="0x" + signer.export_private_key_bytes().hex()))
        if i:
            ours.append(took)
        signer = approved_key(devnet)
        took = _timed([sys.executable, "-c", WEB3_OPEN_SCRIPT, devnet.url,
                       "0x" + signer.export_private_key_bytes().hex(), DEVNET.trading, artifacts.CALLBACKS,
                       str(abi_path), str(PERP_POLL_S)], env)
        if i:
            theirs.append(took)
    reader = dict(env, PERPCLI_PRIVATE_KEY="0x" + approved_key(devnet).export_private_key_bytes().hex())
    account = median_wall_ms([*_perp(), "--venue", "ostium-devnet", "--json", "account"], rounds, reader)
    imports = median_wall_ms([sys.executable, "-c", "import web3, eth_account"], rounds, env)
    return [
        metric("whole `perp buy BTC --market` process (p50)", "ms", statistics.median(ours) * 1000,
               statistics.median(theirs) * 1000, "the plain web3.py script as a process"),
        metric("whole `perp account` process (p50)", "ms", account, imports,
               "python -c 'import web3, eth_account' (a script's imports alone)"),
    ]


def main(argv: list[str]) -> None:
    if anvil_binary() is None:
        print(f"bench/ostium_devnet.py: skipped: {INSTALL_HINT}")
        return
    rounds = int(argv[argv.index("--rounds") + 1]) if "--rounds" in argv else 7
    bare = statistics.median(bare_anvil_up_s() for _ in range(3))
    ups = [devnet_up_s() for _ in range(3)]
    up = statistics.median(u for u, _ in ups)
    deploy_ours = statistics.median(deploy_with_perpcli_s() for _ in range(3))
    deploy_web3 = statistics.median(deploy_with_web3_s() for _ in range(3))
    devnet = OstiumDevnet(OstiumDevnetConfig(port=0, hours="always", walk=False)).start()
    try:
        ours, theirs = [], []
        for _ in range(rounds):
            ours.append(ours_round_trip(devnet, funded_key(devnet)))
            theirs.append(web3_round_trip(devnet, funded_key(devnet)))
        processes = whole_processes(devnet, rounds)
    finally:
        devnet.stop()
    report("Ostium devnet (anvil + perpcli's contracts + keeper)", [
        metric("chain up + deploy (start() to serving)", "ms", up * 1000, bare * 1000, "bare anvil up (floor)"),
        metric("deploy: place + initialise 7 contracts", "ms", deploy_ours * 1000, deploy_web3 * 1000,
               "web3.py sending the same calls"),
        metric("market open: sign -> mined -> settled (p50)", "ms", statistics.median(ours) * 1000,
               statistics.median(theirs) * 1000, "plain web3.py + eth-account script"),
        *processes,
    ], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
