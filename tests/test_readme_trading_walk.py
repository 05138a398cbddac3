"""The README's trading section, command by command, on a fresh devnet (issue 13, "Done when").

Every `perp ...` in the ```sh block under "## Trading" is expanded (`a | b` alternatives,
`[optional]` parts, `book|trades` choices, `;`-separated commands) and run in-process with a
funded fresh key, `--yes`, and PERPCLI_VENUES_DEVNET_URL pointing at the devnet, as a reader
would after `export`ing it. Each must exit 0, and no human output line may carry a raw
epoch-ms timestamp or a number with more digits than its kind allows: prices on the market's
price grid, sizes on its lot, USD to the cent, nothing with more than 8 decimals.

Placeholders take live values (OID: a resting order placed for the purpose, TWAP_ID: the TWAP
the walk started, 0xADDR: another account, PX: the mid). A command whose precondition the
walk's own earlier lines have used up (closing needs a position) gets that state set up first,
as a reader would. What cannot run unattended is listed in NOT_RUNNABLE with the reason.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import secrets
import sys
from contextlib import redirect_stderr, redirect_stdout
from decimal import Decimal, InvalidOperation

import pytest

from perpcli.devnet.server import start_in_thread
from tests.cli_devnet import new_key, wait_for_books
from tests.support import REPO, Result, record, register_secret

pytestmark = pytest.mark.timeout(240)

# Lines that cannot run unattended, and why (each is covered elsewhere).
NOT_RUNNABLE = {
    "perp watch BTC ETH": "the interactive terminal UI (tests/test_tui_*.py drive it with Textual's Pilot)",
    "perp watch BTC aster-devnet:BTCUSDT ostium:XAU": "the terminal UI across venues "
                                                       "(tests/test_tui_venues_devnet.py runs the command line)",
}
UNTIL_CTRL_C = ("perp stream ",)  # bounded with --seconds here (tests/test_cli_stream_lifecycle.py: Ctrl-C)

PRICE_FIELDS = {"price", "mark", "mark_price", "entry_price", "avg_price", "average_price", "trigger_price",
                "liquidation_price", "bid", "ask", "open", "high", "low", "close", "entry_after",
                "liquidation_price_after", "fill_price", "worst_price", "limit_price", "stop_price", "tp", "sl"}
MID_FIELDS = {"mid", "mid_price"}
SIZE_FIELDS = {"size", "filled", "executed_size", "orig_size", "bid_size", "ask_size", "position_after", "size_after"}
USD_FIELDS = {"unrealized_pnl", "margin_used", "notional", "account_value", "withdrawable", "total_notional",
              "executed_notional", "margin_required", "equity", "free_collateral"}
EPOCH_MS = re.compile(r"(?<![\w.])1[5-9]\d{11}(?![\w.])")
NUMBER = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.(\d+))?(?![\w.])")


def readme_trading_block() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("\n## Trading\n", 1)[1].split("\n## ", 1)[0]
    return section.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()


def _top_commands() -> set[str]:
    from perpcli.cli.main import app, command_paths

    return {path.split()[0] for path, _ in command_paths(app)}


def expand(part: str, top: set[str]) -> list[str]:
    """One README command with its alternatives, options and choices, as plain command lines."""
    alts = [a.strip() for a in part.split(" | ")]
    first = alts[0]
    assert first.startswith("perp "), part
    command = first.split()[1]
    lines = [first]
    for alt in alts[1:]:
        if alt.startswith("perp "):
            lines.append(alt)
        elif alt.split()[0] in top:
            lines.append("perp " + alt)
        else:  # more arguments for the same command (`cancel OID | --all`, `deadman 60s | off`)
            lines.append(f"perp {command} {alt}")
    out: list[str] = []
    for line in lines:
        # `[--size 0.005]`: without, then with every optional part
        out.append(re.sub(r"\s*\[[^\]]*\]", "", line))
        if "[" in line:
            out.append(re.sub(r"\[([^\]]*)\]", r"\1", line))
    final: list[str] = []
    for line in out:
        tokens = [t.split("|") if "|" in t else [t] for t in line.split()]
        final.extend(" ".join(combo) for combo in itertools.product(*tokens))
    return list(dict.fromkeys(final))


def readme_commands() -> list[str]:
    top = _top_commands()
    commands: list[str] = []
    for raw in readme_trading_block():
        line = re.sub(r"\s+#.*$", "", raw).strip()
        for part in line.split(";"):
            if part.strip():
                commands.extend(expand(part.strip(), top))
    return commands


def test_the_readme_block_expands_as_a_reader_reads_it():
    commands = readme_commands()
    for expected in ("perp venues", "perp venues --json", "perp price BTC", "perp fills --since 1h",
                     "perp cancel --cloid C", "perp cancel --all", "perp deadman off", "perp twap list",
                     "perp agent revoke bot", "perp stream orders BTC", "perp close BTC --size 0.005 --limit PX",
                     "perp batch < orders.ndjson", "perp watch BTC ETH"):
        assert expected in commands, expected
    assert all(c.startswith("perp ") for c in commands)


# ----- the walk --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def devnet():
    # `perp devnet --no-deadman-volume` (the README's deadman line needs it on a fresh devnet)
    h = start_in_thread(port=0, seed=0, market_interval=0.2, deadman_min_volume=Decimal(0))
    wait_for_books(h.url, coins=("BTC", "ETH", "SOL"))
    yield h
    h.stop()


class Walk:
    def __init__(self, devnet, monkeypatch) -> None:
        from perpcli.config import settings
        from perpcli.keys import sources

        self.devnet = devnet
        self.key, self.address = new_key(devnet.url, fund="100000")
        other = "0x" + secrets.token_hex(32)
        register_secret(other)
        from perpcli.keys.signer import Signer

        self.other = Signer.from_hex(other).address
        monkeypatch.setenv("PERPCLI_VENUES_DEVNET_URL", devnet.url)
        monkeypatch.setenv("PERPCLI_PRIVATE_KEY", self.key)
        monkeypatch.setenv("PERPCLI_PASSPHRASE", "walk-the-readme")
        self.monkeypatch = monkeypatch
        settings.configure()
        sources.configure()
        self._instruments = None

    def perp(self, argv: list[str], stdin: str | None = None) -> Result:
        from perpcli.cli import context
        from perpcli.cli.main import main

        context.set_current(context.GlobalOptions())
        out, err = io.StringIO(), io.StringIO()
        old = sys.stdin
        sys.stdin = io.StringIO(stdin if stdin is not None else "")
        try:
            with redirect_stdout(out), redirect_stderr(err):
                code = main(argv)
        finally:
            sys.stdin = old
        record("perp " + " ".join(argv), out.getvalue(), err.getvalue())
        return Result(code, out.getvalue(), err.getvalue())

    def ok(self, *argv: str):
        r = self.perp(["--yes", "--json", *argv])
        assert r.code == 0, (argv, r.err)
        return r.json()

    def instruments(self) -> dict:
        if self._instruments is None:
            from perpcli.venues import registry

            md = registry.open_venue(registry.VenueConfig(name="devnet", network="testnet", url=self.devnet.url))
            self._instruments = {i.symbol: i for i in md.instruments(include_builder_dexes=True)}
        return self._instruments

    # ----- what a placeholder or a precondition needs -------------------------------------------

    def resting_order(self) -> dict:
        return self.ok("buy", "BTC", "0.001", "--limit", "-3%")

    def position(self, market: str = "BTC") -> None:
        self.ok("buy", market, "0.01", "--market")

    def mid(self, market: str) -> str:
        return self.ok("price", market)[0]["mark"]

    def prepare(self, line: str) -> str:
        if "OID" in line:
            line = line.replace("OID", self.resting_order()["oid"])
        if re.search(r"--cloid C\b", line):
            line = re.sub(r"--cloid C\b", "--cloid " + self.resting_order()["cloid"], line)
        if "TWAP_ID" in line:
            running = self.ok("twap", "list")
            line = line.replace("TWAP_ID", str(running[0]["twap_id"]))
        if "0xADDR" in line:
            line = line.replace("0xADDR", self.other)
        if "PX" in line:
            line = line.replace("PX", self.mid("BTC"))
        if line.startswith(("perp close ", "perp margin ")):
            self.position("BTC")  # closing or re-margining needs a position; earlier lines closed it
        if line.startswith("perp flatten"):
            self.position("BTC")
            self.resting_order()
        return line


def _fields_of(out: str) -> list[dict[str, str]]:
    """Tab-separated human output as records, read both ways: as a table (header + rows) and,
    when every line is a pair, as key<TAB>value lines (`detail.size` -> `size`). Reading a
    table as pairs (or pairs as a table) names no field, so checking both costs nothing."""
    cells = [ln.split("\t") for ln in out.splitlines() if ln.strip()]
    if not cells:
        return []
    records = [dict(zip(cells[0], row, strict=False)) for row in cells[1:]]
    if all(len(c) == 2 for c in cells):
        records.append({k.rsplit(".", 1)[-1]: v for k, v in cells})
    return records


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def unrounded(line: str, out: str, err: str, instruments: dict, default_market: str | None) -> list[str]:
    """Every number in human output that carries more digits than its kind allows."""
    from perpcli.app import display

    problems = []
    for text in (out, err):
        for ln in text.splitlines():
            if EPOCH_MS.search(ln):
                problems.append(f"raw epoch ms in {ln!r}")
            for m in NUMBER.finditer(ln):
                if m.group(1) and len(m.group(1)) > 8:
                    problems.append(f"{m.group(0)} has {len(m.group(1))} decimals in {ln!r}")
    for rec in _fields_of(out):
        inst = instruments.get(rec.get("market") or default_market or "")
        for field, value in rec.items():
            v = _decimal(value)
            if v is None:
                continue
            if field in USD_FIELDS and v != v.quantize(Decimal("0.01")):
                problems.append(f"{field} {value} is not to the cent")
            if inst is None:
                continue
            if field in PRICE_FIELDS and display.price(inst, v) != v:
                problems.append(f"{field} {value} is off {inst.symbol}'s price grid ({display.price(inst, v)})")
            if field in MID_FIELDS and display.mid(inst, v) != v:
                problems.append(f"{field} {value} is off {inst.symbol}'s half-tick grid")
            if field in SIZE_FIELDS and display.size(inst, v) != v:
                problems.append(f"{field} {value} is off {inst.symbol}'s lot ({display.size(inst, v)})")
    return problems


def _market_of(line: str, instruments: dict) -> str | None:
    for token in line.split()[1:]:
        if token in instruments:
            return token
    return None


BATCH_INPUT = ('{"side":"buy","market":"BTC","size":"0.01","limit":"65000"}\n'
               '{"side":"sell","market":"ETH","usd":"500","market_order":true,"slippage":"0.5%"}\n')


def test_every_readme_trading_command_runs_as_written_with_rounded_output(devnet, monkeypatch):
    walk = Walk(devnet, monkeypatch)
    instruments = walk.instruments()
    ran, failures = [], []
    for line in readme_commands():
        if line in NOT_RUNNABLE:
            continue
        stdin = None
        if "< orders.ndjson" in line:
            line, stdin = line.replace(" < orders.ndjson", ""), BATCH_INPUT
        concrete = walk.prepare(line)
        argv = concrete.split()[1:]
        if concrete.startswith(UNTIL_CTRL_C):
            argv += ["--seconds", "1"]
        r = walk.perp(["--yes", *argv], stdin=stdin)
        ran.append(line)
        if r.code != 0:
            failures.append(f"{concrete}: exit {r.code}: {r.err.strip()[-300:]}")
            continue
        if not concrete.startswith("perp stream"):  # NDJSON: data, not human output
            failures += [f"{concrete}: {p}" for p in
                         unrounded(concrete, r.out, r.err, instruments, _market_of(concrete, instruments))]
    assert not failures, "\n".join(failures)
    assert len(ran) >= 40, ran  # the whole block ran, not a parse accident


def test_the_output_checks_catch_what_issue_13_reported():
    """The checks above are not blind: the artefacts the issue quoted fail them."""
    from perpcli.domain.instrument import Instrument

    btc = Instrument(venue="devnet", symbol="BTC", underlying="BTC", asset_id=0, lot_size=Decimal("0.00001"),
                     max_leverage=40, price_sig_figs=5, price_max_decimals=1, min_notional=Decimal(10))
    inst = {"BTC": btc}
    assert unrounded("", "entry_after\t94105.83977306074537806905996\n", "", inst, "BTC")
    assert unrounded("", "market\tentry_price\nBTC\t94619.44061605\n", "", inst, None)
    assert unrounded("", "market\tentry_price\nBTC\t94619.4\n", "", inst, None)  # 6 figures: off grid
    assert unrounded("", "market\tsize\nBTC\t0.000001\n", "", inst, None)
    assert unrounded("", "market\tunrealized_pnl\nBTC\t-0.456\n", "", inst, None)
    assert unrounded("", "time\tside\n1796557004998\tbuy\n", "", inst, None)
    assert not unrounded("", "market\tentry_price\tsize\tunrealized_pnl\nBTC\t94619\t0.01\t-0.45\n", "", inst, None)
    json.dumps(NOT_RUNNABLE)  # the documented exceptions stay plain data
