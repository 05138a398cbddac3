"""Soak: minutes of mixed trading from several processes against a devnet with every fault on,
then the CLI's reports checked against the devnet's own record, and memory early vs late.

    .venv/bin/python bench/soak.py [--minutes M | --seconds S] [--workers K] [--seed N] [--json]
    .venv/bin/python bench/soak.py --recheck DIR   # check a finished run's DIR/result.json again

Why: a terminal that trades real money must not lose, duplicate or misreport anything when the
venue drops answers, rate-limits, answers 5xx, executes and then hangs, or duplicates and
reorders websocket pushes; and a long session must not grow without bound.

What runs:
- `perp devnet` as a subprocess on a free loopback port (synthetic market on), then, after
  funding, every fault mode on at modest rates (POST /devnet/faults).
- K worker processes, each with its own fresh funded key and its own PERPCLI_HOME, running
  whole `perp --json ... --yes` processes one after another: resting limit orders with a
  --cloid, market orders, `modify OID --price`, `cancel --cloid`, `transfer N --to spot|perp`,
  and a retry with the same --cloid after most exit-6 answers (and a few exit-0 ones). Each
  command's exit code, JSON answer, wall window and max RSS are recorded.
- An identical devnet with no clients runs alongside, for its memory only.
- One `perp --json stream fills` per key for the whole run (the websocket faults hit it).

The check ("baseline" = the devnet's truth, read over plain HTTP with faults off): each worker
runs one command at a time, so every order, cancel and ledger transfer on the devnet falls in
exactly one command's time window. Per command, what the CLI said must match what happened in
its window: a reported order exists once with the reported oid, cloid and price (and fills
match `filled`); a reported rejection or pre-send failure (exit 3/5/2) changed nothing; a
reported cancel or transfer happened exactly once; exit 6 (outcome unknown) is counted and
resolved against the truth. Nothing on the devnet may be unaccounted for. At the end `perp
fills`, `perp orders` and `perp positions` must equal the devnet, and the fill stream must
hold every fill exactly once.

Memory: RSS of both devnets and of the streams sampled every 2 s; "flat" is end / after warm-up
(warm-up = the first quarter of the run), and the devnet's growth rate is set beside the idle
devnet's. Whole-command max RSS (os.wait4): first quarter's commands vs the last quarter's.

Exits 1 when any mismatch is found; every mismatch is printed. Run by hand or `make bench`.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import metric, report  # noqa: E402

FAULTS = {  # modest, so most commands succeed; every mode on
    "rate_429": 0.04,
    "rate_5xx": 0.04,
    "rate_timeout": 0.03,
    "rate_silence": 0.02,  # each costs the CLI its 10 s answer timeout
    "delay_ms": 5,
    "drop_ws_every": 15,
    "ws_duplicate": 0.05,
    "ws_reorder": 0.05,
}
NO_FAULTS = dict.fromkeys(FAULTS, 0)
SIZES = {"ETH": "0.01", "BTC": "0.001"}
MODIFY_STEP = {"ETH": Decimal("0.5"), "BTC": Decimal("5")}
SLACK_MS = 50  # clock granularity around a command's window (devnet and bench share the clock)
COMMAND_TIMEOUT_S = 120
ORDER_OPS = ("limit", "market", "retry", "flush")


# -- small plumbing ------------------------------------------------------------------------------


def _post(url: str, path: str, body: dict, timeout: float = 10.0):
    req = urllib.request.Request(f"{url}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _perp_cmd() -> list[str]:
    perp = Path(sys.executable).with_name("perp")
    return [str(perp)] if perp.exists() else [sys.executable, "-m", "perpcli"]


def _rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def run_measured(cmd: list[str], env: dict) -> tuple[int, str, str, int]:
    """(exit code, stdout, stderr, max RSS in kB) of one whole process; killed after a timeout."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, env=env)
        timer = threading.Timer(COMMAND_TIMEOUT_S, p.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(p.pid, 0)
        finally:
            timer.cancel()
        p.returncode = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        return p.returncode, fo.read().decode(), fe.read().decode(), usage.ru_maxrss


# -- a worker: one key, one command at a time ----------------------------------------------------


class Worker:
    def __init__(self, idx: int, url: str, seed: int, out_path: str) -> None:
        self.idx = idx
        self.rng = random.Random(seed * 1000 + idx)
        self.base = [*_perp_cmd(), "--url", url, "--network", "testnet", "--json", "--yes"]
        self.env = dict(os.environ)
        self.out = open(out_path, "w")  # noqa: SIM115 - one line per command, flushed as it goes
        self.n = 0
        self.open: dict[str, dict] = {}  # cloid -> {"oid", "market", "side", "price"} as reported
        self.spot = Decimal(0)  # USDC believed to be on the spot side
        self.retries: list[dict] = []  # order records to run again with the same cloid
        self.n_cloid = 0

    def new_cloid(self) -> str:
        self.n_cloid += 1
        return f"0x{self.idx:04x}{self.n_cloid:012x}{self.rng.getrandbits(64):016x}"

    def run(self, op: str, args: list[str], **extra) -> dict:
        self.n += 1
        t0 = _now_ms()
        rc, out, err, rss = run_measured([*self.base, *args], self.env)
        t1 = _now_ms()
        try:
            answer = json.loads(out) if out.strip() else None
        except ValueError:
            answer = {"unparsed": out[-300:]}
        rec = {"worker": self.idx, "n": self.n, "op": op, "args": args, "t0": t0, "t1": t1, "rc": rc,
               "out": answer, "err": err.strip().splitlines()[-1][:300] if err.strip() else "",
               "rss_kb": rss, **extra}
        self.out.write(json.dumps(rec) + "\n")
        self.out.flush()
        return rec

    def step(self) -> None:
        rng = self.rng
        if self.retries and rng.random() < 0.5:
            self.order(self.retries.pop(0)["args"], op="retry")
            return
        weights = {"limit": 3, "market": 2, "modify": 2, "cancel": 2, "transfer": 2}
        if not self.open:
            weights.update(modify=0, cancel=0)
        elif len(self.open) > 12:
            weights.update(limit=0, cancel=6)
        op = rng.choices(list(weights), list(weights.values()))[0]
        market = rng.choice(("ETH", "BTC"))
        side = rng.choice(("buy", "sell"))
        if op == "limit":
            self.order([side, market, SIZES[market], "--limit", "-3%" if side == "buy" else "+3%",
                        "--cloid", self.new_cloid()], op="limit")
        elif op == "market":
            self.order([side, market, SIZES[market], "--market", "--cloid", self.new_cloid()], op="market")
        elif op == "modify":
            self.modify()
        elif op == "cancel":
            cloid = rng.choice(sorted(self.open))
            self.run("cancel", ["cancel", "--cloid", cloid], cloid=cloid)
            self.open.pop(cloid, None)  # canceled, gone, or unknown: the truth says which
        else:
            amount = rng.randint(1, 50)
            to = "perp" if self.spot >= amount and rng.random() < 0.5 else "spot"
            rec = self.run("transfer", ["transfer", str(amount), "--to", to], amount=str(amount), to=to)
            if rec["rc"] == 0:
                self.spot += amount if to == "spot" else -amount

    def order(self, args: list[str], *, op: str) -> None:
        cloid = args[args.index("--cloid") + 1]
        rec = self.run(op, args, cloid=cloid)
        ans = rec["out"] if isinstance(rec["out"], dict) else {}
        if rec["rc"] == 0 and ans.get("status") in ("resting", "partially_filled"):
            self.open[cloid] = {"oid": ans.get("oid"), "market": args[1], "side": args[0],
                                "price": ans.get("price")}
        elif rec["rc"] == 6:
            self.open[cloid] = {"oid": None, "market": args[1], "side": args[0], "price": None}
        # Retry with the same --cloid: most answers that were unknown, and now and then one that
        # was not (the user re-runs a command whose output they lost).
        if op != "retry" and self.rng.random() < (0.7 if rec["rc"] == 6 else 0.05 if rec["rc"] == 0 else 0):
            self.retries.append(rec)

    def modify(self) -> None:
        known = sorted(c for c, o in self.open.items() if o["oid"] and o["price"])
        if not known:
            return
        cloid = self.rng.choice(known)
        o = self.open[cloid]
        step = MODIFY_STEP[o["market"]] * self.rng.randint(1, 4)
        px = Decimal(o["price"]) - step if o["side"] == "buy" else Decimal(o["price"]) + step
        rec = self.run("modify", ["modify", o["oid"], "--price", str(px)], cloid=cloid, old_oid=o["oid"],
                       price=str(px))
        ans = rec["out"] if isinstance(rec["out"], dict) else {}
        if rec["rc"] == 0 and ans.get("status") in ("resting", "partially_filled"):
            o.update(oid=ans.get("oid"), price=ans.get("price"))
        elif rec["rc"] == 6:
            o.update(oid=None, price=None)
        else:
            self.open.pop(cloid, None)


def worker_main(argv: list[str]) -> None:
    idx = int(argv[argv.index("--worker") + 1])
    url = argv[argv.index("--url") + 1]
    until = float(argv[argv.index("--until") + 1])
    seed = int(argv[argv.index("--seed") + 1])
    w = Worker(idx, url, seed, argv[argv.index("--out") + 1])
    while time.time() < until:
        w.step()
    w.out.close()


# -- the devnet and the run ----------------------------------------------------------------------


class Sampler(threading.Thread):
    """RSS of the devnet and of each stream process every `every` seconds."""

    def __init__(self, pids: dict[str, int], every: float = 2.0) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[tuple[float, dict[str, int | None]]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        while not self.stop_event.is_set():
            self.samples.append((time.time(), {k: _rss_kb(p) for k, p in self.pids.items()}))
            self.stop_event.wait(self.every)


def _start_devnet(seed: int, home: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, PERPCLI_HOME=home)
    proc = subprocess.Popen([sys.executable, "-m", "perpcli", "devnet", "--port", str(port), "--seed", str(seed)],
                            stdout=subprocess.DEVNULL, stderr=open(Path(home) / "devnet.log", "w"), env=env)  # noqa: SIM115
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            _post(url, "/devnet/status", {})
            break
        except (OSError, urllib.error.URLError):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"devnet did not start; see {home}/devnet.log") from None
            time.sleep(0.2)
    while time.monotonic() < deadline:  # the synthetic market quotes both books
        books = [_post(url, "/info", {"type": "l2Book", "coin": c}) for c in SIZES]
        if all(len(b["levels"][0]) >= 5 and len(b["levels"][1]) >= 5 for b in books):
            return proc, url
        time.sleep(0.2)
    raise SystemExit("devnet books not ready")


def _address(key: str) -> str:
    from perpcli.keys.signer import Signer

    return Signer.from_hex(key).address.lower()


def run_soak(seconds: float, workers: int, seed: int, work: Path) -> dict:
    children: list[subprocess.Popen] = []  # stopped at the end, whatever happens
    try:
        return _run_soak(seconds, workers, seed, work, children)
    finally:
        for c in children:
            if c.poll() is None:
                c.terminate()
        for c in children:
            try:
                c.wait(10)
            except subprocess.TimeoutExpired:
                c.kill()


def _run_soak(seconds: float, workers: int, seed: int, work: Path, children: list) -> dict:
    devnet, url = _start_devnet(seed, str(work))
    children.append(devnet)
    # The same devnet with no clients, sampled alongside: the synthetic market keeps history
    # of its own, and this separates that from what the soak's traffic costs.
    (work / "idle").mkdir()
    idle, _ = _start_devnet(seed, str(work / "idle"))
    children.append(idle)
    keys = ["0x" + secrets.token_hex(32) for _ in range(workers)]
    addrs = [_address(k) for k in keys]
    for a in addrs:
        _post(url, "/devnet/fund", {"user": a, "amount": "100000"})
    envs = []
    for i, k in enumerate(keys):
        home = work / f"home{i}"
        home.mkdir()
        envs.append(dict(os.environ, PERPCLI_HOME=str(home), PERPCLI_PRIVATE_KEY=k))
    base = [*_perp_cmd(), "--url", url, "--network", "testnet", "--json"]
    streams = []
    for i in range(workers):
        streams.append(subprocess.Popen([*base, "stream", "fills"], stdout=open(work / f"stream{i}.ndjson", "w"),  # noqa: SIM115
                                        stderr=open(work / f"stream{i}.err", "w"), env=envs[i]))  # noqa: SIM115
        children.append(streams[-1])
    time.sleep(3)  # the streams connect before any fill
    _post(url, "/devnet/faults", FAULTS)
    pids = {"devnet": devnet.pid, "idle devnet": idle.pid, **{f"stream{i}": s.pid for i, s in enumerate(streams)}}
    sampler = Sampler(pids)
    start = time.time()
    sampler.start()
    until = start + seconds
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", str(i), "--url", url, "--until", str(until),
                               "--seed", str(seed), "--out", str(work / f"worker{i}.ndjson")], env=envs[i])
             for i in range(workers)]
    children.extend(procs)
    for p in procs:
        p.wait()
    end = time.time()
    sampler.stop_event.set()
    sampler.join()
    _post(url, "/devnet/faults", NO_FAULTS)
    # One fault-free trade per key: a ws frame held back by the reorder fault goes out with
    # the next push, so every stream then has everything.
    records: list[list[dict]] = []
    for i in range(workers):
        recs = [json.loads(line) for line in (work / f"worker{i}.ndjson").read_text().splitlines()]
        w = Worker(i, url, seed, str(work / f"flush{i}.ndjson"))
        w.env = envs[i]
        w.n = len(recs)
        cloid = f"0x{0xffff:04x}{i:012x}{secrets.randbits(64):016x}"
        w.order(["buy", "ETH", SIZES["ETH"], "--market", "--cloid", cloid], op="flush")
        w.out.close()
        recs += [json.loads(line) for line in (work / f"flush{i}.ndjson").read_text().splitlines()]
        records.append(recs)
    time.sleep(3)
    for s in streams:
        s.send_signal(signal.SIGINT)
    for s in streams:
        try:
            s.wait(15)
        except subprocess.TimeoutExpired:
            s.kill()
    truths = [read_truth(url, a, recs) for a, recs in zip(addrs, records, strict=True)]
    cli_reports = [read_cli_reports(base, env) for env in envs]
    streamed = [[json.loads(x) for x in (work / f"stream{i}.ndjson").read_text().splitlines() if x.strip()]
                for i in range(workers)]
    return {"start": start, "end": end, "records": records, "truths": truths, "cli": cli_reports,
            "streamed": streamed, "samples": sampler.samples, "workers": workers}


def read_truth(url: str, user: str, records: list[dict]) -> dict:
    """What the devnet says happened for one account, over its plain HTTP API (faults off)."""
    def info(body):
        return _post(url, "/info", {**body, "user": user})

    cloids = sorted({r["cloid"] for r in records if r.get("cloid")})
    return {
        "historical": info({"type": "historicalOrders"}),
        "open": info({"type": "frontendOpenOrders"}),
        "fills": info({"type": "userFills"}),
        "ledger": info({"type": "userNonFundingLedgerUpdates", "startTime": 0}),
        "perp": info({"type": "clearinghouseState"}),
        "spot": info({"type": "spotClearinghouseState"}),
        "by_cloid": {c: info({"type": "orderStatus", "oid": c}) for c in cloids},
    }


def read_cli_reports(base: list[str], env: dict) -> dict:
    out = {}
    for name in ("fills", "orders", "positions"):
        rc, stdout, stderr, _ = run_measured([*base, name], env)
        out[name] = json.loads(stdout) if rc == 0 else {"rc": rc, "err": stderr.strip()[-300:]}
    return out


# -- the check -----------------------------------------------------------------------------------


def D(x) -> Decimal | None:  # noqa: N802
    return None if x is None else Decimal(str(x))


class Check:
    """Compares one worker's recorded answers with the devnet's truth; collects mismatches."""

    def __init__(self, records: list[dict], truth: dict, cli: dict, streamed: list[dict]) -> None:
        self.records = sorted(records, key=lambda r: r["t0"])
        self.truth, self.cli, self.streamed = truth, cli, streamed
        self.mismatches: list[str] = []
        self.unknowns: Counter = Counter()  # (op, "executed" | "not executed")
        self.checked = 0
        self.consistent = 0
        self.warnings: list[str] = []
        self.orders = {o["order"]["oid"]: o for o in truth["historical"]}
        self.fills_by_oid: dict[int, list[dict]] = defaultdict(list)
        for f in truth["fills"]:
            self.fills_by_oid[f["oid"]].append(f)
        self.created: dict[int, list[dict]] = defaultdict(list)  # record n -> orders placed in its window
        self.canceled_in: dict[int, list[dict]] = defaultdict(list)
        self.transfers_in: dict[int, list[dict]] = defaultdict(list)
        for name, limit in (("historical", 2000), ("fills", 2000), ("ledger", 500)):
            if len(truth[name]) >= limit:
                self.warnings.append(f"devnet {name} capped at {limit} rows: the check is incomplete")

    def bad(self, rec: dict | None, text: str) -> None:
        where = f"worker {rec['worker']} #{rec['n']} {rec['op']} `perp {' '.join(rec['args'])}` -> exit {rec['rc']}: " if rec else ""
        self.mismatches.append(where + text)

    def window_of(self, ts: int) -> dict | None:
        for r in self.records:
            if r["t0"] - SLACK_MS <= ts <= r["t1"] + SLACK_MS:
                return r
        return None

    def attribute(self) -> None:
        for oid, o in self.orders.items():
            rec = self.window_of(o["order"]["timestamp"])
            if rec is None:
                self.bad(None, f"order {oid} ({o['order']['cloid']}) on the devnet was placed by no command")
            else:
                self.created[rec["n"]].append(o)
            if o["status"] == "canceled":
                rec = self.window_of(o["statusTimestamp"])
                if rec is not None:
                    self.canceled_in[rec["n"]].append(o)
        for row in self.truth["ledger"]:
            if row["delta"]["type"] != "accountClassTransfer":
                continue
            rec = self.window_of(row["time"])
            if rec is None or rec["op"] != "transfer":
                self.bad(None, f"transfer on the devnet {row['delta']} by no transfer command")
            else:
                self.transfers_in[rec["n"]].append(row)
        known_oids = set(self.orders)
        for f in self.truth["fills"]:
            if f["oid"] not in known_oids:
                self.bad(None, f"fill {f['tid']} of oid {f['oid']} matches no order of ours")

    def run(self) -> None:
        self.attribute()
        for rec in self.records:
            before = len(self.mismatches)
            if rec["op"] in ORDER_OPS:
                self.check_order(rec)
            elif rec["op"] == "modify":
                self.check_modify(rec)
            elif rec["op"] == "cancel":
                self.check_cancel(rec)
            elif rec["op"] == "transfer":
                self.check_transfer(rec)
            self.checked += 1
            self.consistent += len(self.mismatches) == before
        self.check_duplicate_cloids()
        self.check_spot_balance()
        self.check_cli_reports()
        self.check_stream()

    def _unknown(self, rec: dict, executed: bool) -> None:
        self.unknowns[(rec["op"], "executed" if executed else "not executed")] += 1

    def check_order(self, rec: dict) -> None:
        made = self.created.get(rec["n"], [])
        ans = rec["out"] if isinstance(rec["out"], dict) else {}
        cloid = rec["cloid"]
        if rec["rc"] == 6:
            if len(made) > 1:
                self.bad(rec, f"unknown outcome, and {len(made)} orders were placed")
            self._unknown(rec, bool(made))
            return
        if rec["rc"] in (3, 5):
            if made:
                self.bad(rec, f"reported {ans.get('status') or 'not sent'} ({rec['err']}) but order "
                              f"{made[0]['order']['oid']} was placed")
            return
        if rec["rc"] != 0:
            self.bad(rec, f"unexpected exit ({rec['err']})")
            return
        status, oid = ans.get("status"), ans.get("oid")
        if status not in ("resting", "filled", "partially_filled", "canceled"):
            self.bad(rec, f"exit 0 with status {status!r}")
            return
        truth = self.orders.get(int(oid)) if oid else None
        if truth is None:
            self.bad(rec, f"reported {status} oid {oid} which the devnet does not have")
            return
        t = truth["order"]
        if ans.get("note"):  # a retry that found the order already there: nothing new placed
            if made:
                self.bad(rec, f"reported an existing order, but {len(made)} new order(s) were placed")
            if t["cloid"] != cloid:
                self.bad(rec, f"reported existing oid {oid} whose cloid is {t['cloid']}")
            if D(ans.get("price")) != D(t["limitPx"]):
                self.bad(rec, f"retry reported the existing order {oid} at price {ans.get('price')} "
                              f"but it rests at {t['limitPx']}")
            return
        if not made and t["cloid"] == cloid and (earlier := self.window_of(t["timestamp"])) is not None:
            self.bad(rec, f"reported {status} oid {oid} as if placed now (no 'already exists' note); "
                          f"#{earlier['n']} ({earlier['op']}) had placed it")
            return
        if len(made) != 1 or made[0]["order"]["oid"] != int(oid):
            self.bad(rec, f"reported {status} oid {oid}, but the orders placed in its window are "
                          f"{[m['order']['oid'] for m in made]}")
            return
        if t["cloid"] != cloid:
            self.bad(rec, f"oid {oid} has cloid {t['cloid']}, the command sent {cloid}")
        if D(ans.get("price")) != D(t["limitPx"]) or D(ans.get("size")) != D(t["origSz"]):
            self.bad(rec, f"reported {ans.get('size')} @ {ans.get('price')}, devnet has {t['origSz']} @ {t['limitPx']}")
        filled_then = sum((D(f["sz"]) for f in self.fills_by_oid[int(oid)] if f["time"] <= rec["t1"] + SLACK_MS),
                          Decimal(0))
        if D(ans.get("filled")) != filled_then:
            self.bad(rec, f"reported filled {ans.get('filled')}, devnet fills for oid {oid} by then: {filled_then}")
        if status == "filled" and truth["status"] != "filled":
            self.bad(rec, f"reported filled, devnet says {truth['status']}")
        if status == "resting" and truth["status"] == "rejected":
            self.bad(rec, "reported resting, devnet says rejected")

    def check_modify(self, rec: dict) -> None:
        made = self.created.get(rec["n"], [])
        ans = rec["out"] if isinstance(rec["out"], dict) else {}
        if rec["rc"] == 6:
            if len(made) > 1:
                self.bad(rec, f"unknown outcome, and {len(made)} orders were placed")
            self._unknown(rec, bool(made))
            return
        if rec["rc"] in (2, 3, 5):
            if made:
                self.bad(rec, f"reported not modified ({rec['err']}) but order {made[0]['order']['oid']} was placed")
            return
        if rec["rc"] != 0:
            self.bad(rec, f"unexpected exit ({rec['err']})")
            return
        oid = ans.get("oid")
        if len(made) != 1 or str(made[0]["order"]["oid"]) != str(oid):
            self.bad(rec, f"reported new oid {oid}, orders placed in its window: {[m['order']['oid'] for m in made]}")
            return
        t = made[0]["order"]
        if D(t["limitPx"]) != D(rec["price"]) or t["cloid"] != rec["cloid"]:
            self.bad(rec, f"devnet's replacement is {t['cloid']} @ {t['limitPx']}")
        old = self.orders.get(int(rec["old_oid"]))
        if old is None or old["status"] == "open":
            self.bad(rec, f"old oid {rec['old_oid']} is {old and old['status']} on the devnet")

    def check_cancel(self, rec: dict) -> None:
        gone = [o for o in self.canceled_in.get(rec["n"], []) if o["order"]["cloid"] == rec["cloid"]]
        others = [o for o in self.canceled_in.get(rec["n"], []) if o["order"]["cloid"] != rec["cloid"]]
        if others:
            self.bad(rec, f"orders of other cloids were canceled in its window: {[o['order']['oid'] for o in others]}")
        if rec["rc"] == 6:
            self._unknown(rec, bool(gone))
            return
        if rec["rc"] in (2, 3, 5):
            if gone:
                self.bad(rec, f"reported not canceled ({rec['err']}) but oid {gone[0]['order']['oid']} was canceled")
            return
        results = rec["out"] if isinstance(rec["out"], list) else []
        if rec["rc"] != 0 or not results or any(x.get("status") != "canceled" for x in results):
            self.bad(rec, f"unexpected answer {results} ({rec['err']})")
            return
        if len(gone) != 1:
            self.bad(rec, f"reported canceled; devnet canceled {len(gone)} order(s) of that cloid in its window")

    def check_transfer(self, rec: dict) -> None:
        moved = self.transfers_in.get(rec["n"], [])
        if len(moved) > 1:
            self.bad(rec, f"{len(moved)} transfers happened for one command")
        if rec["rc"] == 6:
            self._unknown(rec, bool(moved))
            return
        if rec["rc"] in (3, 5):
            if moved:
                self.bad(rec, f"reported not done ({rec['err']}) but the ledger has {moved[0]['delta']}")
            return
        ans = rec["out"] if isinstance(rec["out"], dict) else {}
        if rec["rc"] != 0 or ans.get("status") != "ok":
            self.bad(rec, f"unexpected answer {ans} ({rec['err']})")
            return
        if len(moved) != 1:
            self.bad(rec, "reported ok; the ledger has no such transfer")
            return
        d = moved[0]["delta"]
        if D(d["usdc"]) != D(rec["amount"]) or d["toPerp"] != (rec["to"] == "perp"):
            self.bad(rec, f"reported {rec['amount']} to {rec['to']}; the ledger has {d}")

    def check_spot_balance(self) -> None:
        """The spot side holds exactly what the transfers reported ok (plus the unknown ones
        that executed) moved there."""
        net = Decimal(0)
        for rec in self.records:
            if rec["op"] != "transfer":
                continue
            landed = rec["rc"] == 0 or (rec["rc"] == 6 and self.transfers_in.get(rec["n"]))
            if landed:
                net += D(rec["amount"]) if rec["to"] == "spot" else -D(rec["amount"])
        usdc = [b for b in self.truth["spot"]["balances"] if b["coin"] == "USDC"]
        held = D(usdc[0]["total"]) if usdc else Decimal(0)
        if held != net:
            self.bad(None, f"spot USDC on the devnet is {held}; the transfers reported done move {net}")

    def check_duplicate_cloids(self) -> None:
        """A cloid lives once: one placement, then only the replacements its modifies made."""
        placed = Counter()
        for rec in self.records:
            for o in self.created.get(rec["n"], []):
                if rec["op"] != "modify":
                    placed[o["order"]["cloid"]] += 1
        for cloid, n in placed.items():
            if n > 1:
                self.bad(None, f"cloid {cloid} was placed {n} times on the devnet")
        live = Counter(o["cloid"] for o in self.truth["open"] if o.get("cloid"))
        for cloid, n in live.items():
            if n > 1:
                self.bad(None, f"cloid {cloid} has {n} open orders")
        # A cloid every command of which was reported rejected (incl. "nonce spent") or not sent
        # must be unknown to the venue.
        outcomes = defaultdict(set)
        for rec in self.records:
            if rec["op"] in ORDER_OPS:
                outcomes[rec["cloid"]].add(rec["rc"])
        for cloid, codes in outcomes.items():
            if codes <= {3, 5} and self.truth["by_cloid"][cloid].get("status") != "unknownOid":
                self.bad(None, f"every command with cloid {cloid} was reported rejected or not sent "
                               f"(exit {sorted(codes)}), but orderStatus finds it")

    def check_cli_reports(self) -> None:
        fills, orders, positions = self.cli["fills"], self.cli["orders"], self.cli["positions"]
        truth_fills = {f["tid"]: f for f in self.truth["fills"]}
        self.cli_fills_ok = 0
        if not isinstance(fills, list):
            self.bad(None, f"final `perp fills` failed: {fills}")
        else:
            tids = Counter(f["trade_id"] for f in fills)
            for tid, n in tids.items():
                if n > 1:
                    self.bad(None, f"`perp fills` lists trade {tid} {n} times")
            missing = set(truth_fills) - set(tids)
            extra = set(tids) - set(truth_fills)
            if missing or extra:
                self.bad(None, f"`perp fills` lost {len(missing)} and invented {len(extra)} fills vs the devnet")
            for f in fills:
                t = truth_fills.get(f["trade_id"])
                self.cli_fills_ok += bool(t) and tids[f["trade_id"]] == 1 and D(f["size"]) == D(t["sz"])
                if t and (D(f["size"]) != D(t["sz"]) or D(f["price"]) != D(t["px"]) or str(f["oid"]) != str(t["oid"])):
                    self.bad(None, f"`perp fills` trade {f['trade_id']}: {f['size']} @ {f['price']} oid {f['oid']}; "
                                   f"devnet {t['sz']} @ {t['px']} oid {t['oid']}")
        if not isinstance(orders, list):
            self.bad(None, f"final `perp orders` failed: {orders}")
        else:
            cli = {str(o["oid"]): (D(o["price"]), D(o["size"]), o["cloid"]) for o in orders}
            dev = {str(o["oid"]): (D(o["limitPx"]), D(o["sz"]), o.get("cloid")) for o in self.truth["open"]}
            if cli != dev:
                self.bad(None, f"`perp orders` {len(cli)} open vs devnet {len(dev)}; differing oids: "
                               f"{sorted(set(cli.items()) ^ set(dev.items()))[:6]}")
        if not isinstance(positions, list):
            self.bad(None, f"final `perp positions` failed: {positions}")
        else:
            cli = {p["market"]: D(p["size"]) for p in positions if D(p["size"])}
            dev = {p["position"]["coin"]: D(p["position"]["szi"]) for p in self.truth["perp"]["assetPositions"]
                   if D(p["position"]["szi"])}
            if cli != dev:
                self.bad(None, f"`perp positions` {cli} vs devnet {dev}")

    def check_stream(self) -> None:
        got = Counter(e["trade_id"] for e in self.streamed if e.get("event") == "fill")
        truth = {f["tid"] for f in self.truth["fills"]}
        self.stream_dupes = sum(n - 1 for n in got.values() if n > 1)
        self.stream_missing = len(truth - set(got))
        self.stream_extra = len(set(got) - truth)
        self.stream_matched = len(truth & set(got))
        if self.stream_dupes:
            self.bad(None, f"`perp stream fills` printed {self.stream_dupes} fill(s) twice")
        if self.stream_missing or self.stream_extra:
            self.bad(None, f"`perp stream fills` lost {self.stream_missing} and invented {self.stream_extra} fills")


# -- figures -------------------------------------------------------------------------------------


def _slope_mb_per_min(points: list[tuple[float, int]]) -> float:
    if len(points) < 3:
        return 0.0
    xs = [t / 60 for t, _ in points]
    ys = [kb / 1024 for _, kb in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def memory_figures(result: dict) -> dict:
    start, end = result["start"], result["end"]
    warm = start + (end - start) / 4
    out = {}
    names = result["samples"][0][1].keys() if result["samples"] else []
    for name in names:
        pts = [(t, s[name]) for t, s in result["samples"] if s.get(name)]
        after = [(t, kb) for t, kb in pts if t >= warm]
        if not after:
            continue
        out[name] = {"warm_mb": after[0][1] / 1024, "end_mb": after[-1][1] / 1024,
                     "slope_mb_min": _slope_mb_per_min([(t - start, kb) for t, kb in after])}
    # Per command kind (buy/sell take a lighter path than modify/cancel/transfer, so one median
    # over the mix would follow the mix), then averaged over the kinds seen early and late.
    recs = [r for recs in result["records"] for r in recs if r["op"] != "flush"]
    early, late = [], []
    for op in sorted({r["op"] for r in recs}):
        a = [r["rss_kb"] for r in recs if r["op"] == op and r["t0"] / 1000 < warm]
        b = [r["rss_kb"] for r in recs if r["op"] == op and r["t0"] / 1000 >= end - (end - start) / 4]
        if a and b:
            early.append(statistics.median(a))
            late.append(statistics.median(b))
    if early:
        out["perp command"] = {"warm_mb": statistics.fmean(early) / 1024, "end_mb": statistics.fmean(late) / 1024,
                               "slope_mb_min": 0.0}
    return out


def summarize(result: dict, checks: list[Check], mem: dict, work: Path, out) -> None:
    recs = [r for rs in result["records"] for r in rs]
    minutes = (result["end"] - result["start"]) / 60
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"soak: {result['workers']} workers, {minutes:.1f} min, faults {json.dumps(FAULTS)}")
    p(f"records, truth and streams: {work} (result.json; --recheck {work})")
    p(f"commands run: {len(recs)} ({len(recs) / (minutes * 60):.1f}/s)")
    p("  by op:        " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["op"] for r in recs).items())))
    p("  by exit code: " + ", ".join(f"{k}: {v}" for k, v in sorted(Counter(r["rc"] for r in recs).items())))
    reasons = Counter(r["err"].removeprefix("perp: error: ")[:70] for r in recs if r["rc"] not in (0,))
    for reason, n in reasons.most_common(8):
        p(f"    {n:4d}  {reason}")
    unknowns = sum((c.unknowns for c in checks), Counter())
    total6 = sum(unknowns.values())
    p(f"unknowns (exit 6): {total6}" + ("" if not total6 else " -> resolved against the devnet: " + ", ".join(
        f"{op} {how} {n}" for (op, how), n in sorted(unknowns.items()))))
    fills = sum(len(c.truth["fills"]) for c in checks)
    p(f"devnet truth: {sum(len(c.orders) for c in checks)} orders, {fills} fills, "
      f"{sum(len(c.transfers_in) for c in checks)} transfers; stream: "
      f"{sum(c.stream_matched for c in checks)}/{fills} fills, {sum(c.stream_dupes for c in checks)} duplicates")
    for c in checks:
        for w in c.warnings:
            p(f"warning: {w}")
    p("memory, end / after warm-up (first quarter of the run):")
    for name, m in mem.items():
        slope = "" if name == "perp command" else f", {m['slope_mb_min']:+.2f} MB/min after warm-up"
        what = " (max RSS of one process; median per kind, last vs first quarter)" if name == "perp command" else ""
        p(f"  {name}{what}: {m['warm_mb']:.1f} -> {m['end_mb']:.1f} MB = {m['end_mb'] / m['warm_mb']:.2f}{slope}")
    mism = [m for c in checks for m in c.mismatches]
    p(f"mismatches: {len(mism)}")
    for m in mism:
        p(f"  MISMATCH {m}")


def main(argv: list[str]) -> int:
    if "--worker" in argv:
        worker_main(argv)
        return 0
    seconds = 120.0
    if "--minutes" in argv:
        seconds = float(argv[argv.index("--minutes") + 1]) * 60
    if "--seconds" in argv:
        seconds = float(argv[argv.index("--seconds") + 1])
    workers = int(argv[argv.index("--workers") + 1]) if "--workers" in argv else 3
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    if "--recheck" in argv:  # check a finished run again (its result.json), e.g. after a fix here
        work = Path(argv[argv.index("--recheck") + 1])
        result = json.loads((work / "result.json").read_text())
        seconds = result["end"] - result["start"]
    else:
        work = Path(tempfile.mkdtemp(prefix="perpcli-soak-"))
        result = run_soak(seconds, workers, seed, work)
        (work / "result.json").write_text(json.dumps(result))
    checks = []
    for recs, truth, cli, streamed in zip(result["records"], result["truths"], result["cli"], result["streamed"],
                                          strict=True):
        c = Check(recs, truth, cli, streamed)
        c.run()
        checks.append(c)
    mem = memory_figures(result)
    summarize(result, checks, mem, work, sys.stderr if "--json" in argv else sys.stdout)
    n_checked = sum(c.checked for c in checks)
    n_ok = sum(c.consistent for c in checks)
    fills = sum(len(c.truth["fills"]) for c in checks)
    metrics = [
        metric("commands whose report matches the devnet", "commands", n_ok, n_checked, "commands checked",
               higher_is_better=True),
        metric("fills in `perp fills` matching the devnet, once each", "fills",
               sum(c.cli_fills_ok for c in checks), fills, "devnet userFills", higher_is_better=True),
        metric("fills in `perp stream fills`, once each", "fills",
               sum(c.stream_matched - c.stream_dupes for c in checks), fills, "devnet userFills",
               higher_is_better=True),
    ]
    after_warm = "RSS after warm-up (first quarter)"
    if "devnet" in mem:
        d = mem["devnet"]
        metrics.append(metric("devnet RSS at end", "MB", d["end_mb"], d["warm_mb"], after_warm))
        if "idle devnet" in mem:
            metrics.append(metric("devnet RSS growth after warm-up", "MB/min", d["slope_mb_min"],
                                  mem["idle devnet"]["slope_mb_min"], "identical devnet with no clients"))
    streams = [m for name, m in mem.items() if name.startswith("stream")]
    if streams:
        metrics.append(metric("perp stream fills RSS at end (mean of streams)", "MB",
                              statistics.fmean(m["end_mb"] for m in streams),
                              statistics.fmean(m["warm_mb"] for m in streams), after_warm))
    if "perp command" in mem:
        m = mem["perp command"]
        metrics.append(metric("perp command max RSS, last quarter (median per kind)", "MB", m["end_mb"],
                              m["warm_mb"], "same, first quarter"))
    report(f"soak: {result['workers']} workers x {seconds / 60:.1f} min, all faults on "
           f"(ratio 1.0 = all consistent / memory flat; < 1 = mismatches / growth)", metrics, argv)
    return 1 if any(c.mismatches for c in checks) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
