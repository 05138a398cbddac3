"""`perp session`: the agent, transparent thin clients, and the safety promises.

The agent is a real background process; the devnet runs in this process on a free port.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from perpcli.devnet.server import start_in_thread
from perpcli.session import protocol
from tests import session_helpers as sh
from tests.cli_devnet import control, info
from tests.support import record


@pytest.fixture(scope="module")
def devnet():
    h = start_in_thread(port=0, seed=17, market_interval=0)
    yield h
    h.stop()


@pytest.fixture
def key(perpcli_home, devnet):
    """(address, passphrase file) of a funded keystore key named main."""
    address, pw = sh.stored_key(perpcli_home)
    control(devnet.url, "fund", {"user": address, "amount": "100000"})
    return address, pw


def _reach(devnet, pw):
    return ["--url", devnet.url, "--network", "testnet", "--passphrase-file", str(pw)]


def test_start_status_lock_stop(perpcli_home, key, devnet):
    address, pw = key
    doc = sh.start(pw, "--for", "10m", "--venues", "devnet")
    try:
        assert doc["running"] and doc["keys"] == [{"name": "main", "address": address}]
        st = sh.status()
        assert st["pid"] == doc["pid"] and not st["locked"] and st["expires_in_s"] > 500
        assert st["venues"] == ["devnet"] and st["idle_lock_s"] == 30 * 60
        again = sh.perp("--passphrase-file", str(pw), "session", "start")
        assert again.code == 2 and "already running" in again.err
        locked = sh.perp("--json", "session", "lock")
        assert locked.code == 0 and locked.json() == {"running": True, "locked": True}
        st = sh.status()
        assert st["locked"] and st["keys"] == [] and st["locked_reason"] == "locked by request"
        # Locked: an order is run by the client itself, which needs the passphrase again (exit 4 without one).
        r = sh.perp("--url", devnet.url, "--network", "testnet", "--json", "buy", "BTC", "0.01", "--limit", "90000",
                    "--yes")
        assert r.code == 4 and "passphrase" in r.err
        # Reads need no key and keep going through the agent.
        served = st["commands_served"]
        assert sh.perp("--url", devnet.url, "--network", "testnet", "--json", "positions").code == 0
        assert sh.status()["commands_served"] == served + 1
    finally:
        stopped = sh.perp("--json", "session", "stop")
        sh.kill(doc["pid"])
    assert stopped.code == 0 and stopped.json() == {"stopped": True, "running": False, "not_cancelled": []}
    assert not os.path.exists(protocol.socket_path())
    assert sh.status() == {"running": False}


def test_socket_and_folder_are_private(perpcli_home, key):
    _, pw = key
    with sh.running(pw):
        path = protocol.socket_path()
        assert os.path.dirname(path) == str(perpcli_home / "session")
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_peer_uid_check():
    assert protocol.peer_allowed(1000, 1000)
    assert not protocol.peer_allowed(0, 1000)
    assert not protocol.peer_allowed(1001, 1000)


def _status_as(uid: int, path: str) -> bytes:
    """The agent's raw answer to a status request from a process running as `uid`."""
    return sh.talk_as(uid, path, b'{"v":1,"op":"status"}', until_closed=True)


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to act as another user")
def test_another_user_is_refused_by_the_agent(perpcli_home, key):
    """Even if the socket's file mode let another user in, the agent checks the peer's uid and
    answers nothing; with the mode as the agent sets it (0600), another user cannot even connect."""
    _, pw = key
    with sh.running(pw):
        path = protocol.socket_path()
        door = Path(tempfile.mkdtemp(prefix="perp-door-"))  # the test homes' folders are closed to others
        os.chmod(door, 0o755)
        os.link(path, door / "agent.sock")  # the same socket, in a folder anyone may enter
        assert _status_as(65534, str(door / "agent.sock")) == b"error:PermissionError"  # 0600 stops it
        os.chmod(path, 0o666)
        try:
            nobody = _status_as(65534, str(door / "agent.sock"))
            me = _status_as(os.getuid(), str(door / "agent.sock"))
        finally:
            os.chmod(path, 0o600)
            shutil.rmtree(door)
        # Connected, and was told nothing: the agent hangs up (a reset, as it does not read the request).
        assert nobody in (b"ok:", b"error:ConnectionResetError", b"error:BrokenPipeError"), nobody
        assert json.loads(me.removeprefix(b"ok:"))["running"] is True


def test_idle_lock_and_end_of_life_are_due_on_time():
    from perpcli.session.server import AgentState

    st = AgentState(started_at=1000.0, expires_at=1000.0 + 8 * 3600, idle_lock_s=1800, venues=["devnet"],
                    keys={"main": "0x" + "ab" * 20}, last_used=1000.0)
    assert st.due(1000.0 + 1799) is None
    assert st.due(1000.0 + 1800) == "lock"
    st.keys.clear()  # locked already: nothing more to drop
    assert st.due(1000.0 + 1800) is None
    assert st.due(1000.0 + 8 * 3600) == "expire"
    st.keys["main"], st.idle_lock_s = "0x" + "ab" * 20, 0  # 0: never idle-locks
    assert st.due(1000.0 + 8 * 3600 - 1) is None


def test_session_durations():
    from perpcli.cli.commands.session import parse_duration
    from perpcli.domain.errors import UsageError

    assert [parse_duration(t) for t in ("8h", "30m", "90s", "2d", "3")] == [28800, 1800, 90, 172800, 10800]
    for bad in ("0h", "-1h", "1.5h", "8 hours", "", "９h"):
        with pytest.raises(UsageError):
            parse_duration(bad)


def test_the_client_never_forwards_a_secret():
    env = {"PERPCLI_PRIVATE_KEY": "0x" + "11" * 32, "PERPCLI_PASSPHRASE": "pw", "PERPCLI_RISK_MAX_LEVERAGE": "5",
           "NO_COLOR": "1", "HOME": "/root", "AWS_SECRET_ACCESS_KEY": "x"}
    assert protocol.forwarded_env(env) == {"PERPCLI_RISK_MAX_LEVERAGE": "5", "NO_COLOR": "1"}


def _stable(text: str) -> str:
    """Dry-run bodies differ in nonce and signature; placed orders in oid and cloid; a book in its time."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    if isinstance(doc, dict):
        for body in doc.get("requests", []):
            body.pop("nonce"), body.pop("signature")
        doc.pop("oid", None), doc.pop("cloid", None), doc.pop("time", None)
    return json.dumps(doc, sort_keys=True)


def test_same_output_and_exit_codes_with_and_without_a_session(perpcli_home, key, devnet):
    _, pw = key
    reach = _reach(devnet, pw)
    cloid = "0x" + "34" * 16
    cases = [
        [*reach, "--json", "positions"], [*reach, "positions"], [*reach, "--json", "account"], [*reach, "account"],
        [*reach, "--json", "orders"], [*reach, "orders", "--market", "BTC"],
        [*reach, "--json", "buy", "BTC", "0.01", "--limit", "90000", "--cloid", cloid, "--dry-run"],
        [*reach, "buy", "BTC", "0.01", "--limit", "90000", "--cloid", cloid, "--dry-run"],
        [*reach, "--json", "buy", "BTC", "0.01", "--limit", "90000", "--preview"],
        [*reach, "buy", "BTC", "0.01"], [*reach, "--json", "buy", "BTC", "0.0000001", "--limit", "90000"],
        [*reach, "buy", "BTC", "0.01", "--limit", "90000"],  # no --yes off a terminal: exit 2
        [*reach, "--json", "sell", "BTC", "3", "--limit", "90000", "--yes"],  # risk guard: exit 7
        [*reach, "buy", "NOPE", "1", "--limit", "1", "--yes"],
        [*reach, "--json", "buy", "BTC", "0.01", "--limit", "1", "--yes"],  # price band
        ["--url", devnet.url, "--passphrase-file", str(pw), "positions"],  # --url without --network
    ]
    place = [*reach, "--json", "buy", "BTC", "0.01", "--limit", "80000", "--yes"]  # rests: changes the account
    without = [sh.perp(*argv) for argv in cases]
    with sh.running(pw):
        served = sh.status()["commands_served"]
        with_session = [sh.perp(*argv) for argv in [*cases, place]]
        assert sh.status()["commands_served"] == served + len(cases) + 1  # every case went through the agent
    without.append(sh.perp(*place))
    cases.append(place)
    for argv, a, b in zip(cases, without, with_session, strict=True):
        assert a.code == b.code, (argv, a.err, b.err)
        assert _stable(a.out) == _stable(b.out), argv
        assert a.err == b.err, argv
    assert {r.code for r in without} >= {0, 2, 7}
    assert with_session[-1].json()["status"] == "resting"


def test_twenty_concurrent_orders_through_one_session(perpcli_home, key, devnet):
    address, pw = key
    argv = ["--url", devnet.url, "--network", "testnet", "--json", "buy", "BTC", "0.001", "--limit", "85000",
            "--yes"]
    env = {k: v for k, v in os.environ.items() if k not in protocol.SECRET_ENV}  # no passphrase anywhere

    def one(_):
        p = subprocess.run([sys.executable, "-m", "perpcli", *argv], capture_output=True, text=True, env=env,
                           timeout=120)
        record("perp " + " ".join(argv), p.stdout, p.stderr)
        return p

    with sh.running(pw):
        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(one, range(20)))
        assert sh.status()["commands_served"] == 20
    assert [p.returncode for p in results] == [0] * 20, [p.stderr for p in results if p.returncode]
    docs = [json.loads(p.stdout) for p in results]
    assert {d["status"] for d in docs} == {"resting"}
    assert len({d["oid"] for d in docs}) == len({d["cloid"] for d in docs}) == 20
    resting = [o for o in info(devnet.url, {"type": "openOrders", "user": address}) if o["limitPx"] == "85000.0"
               or o["limitPx"] == "85000"]
    assert len(resting) == 20


def test_killing_the_session_mid_order_leaves_no_duplicate(perpcli_home, key, devnet):
    address, pw = key
    cloid = "0x" + "56" * 16
    argv = ["--url", devnet.url, "--network", "testnet", "--json", "buy", "BTC", "0.002", "--limit", "83000",
            "--cloid", cloid, "--yes"]
    with sh.running(pw) as doc:
        control(devnet.url, "faults", {"rate_silence": 1})  # the order executes; its answer never comes
        try:
            p = subprocess.Popen([sys.executable, "-m", "perpcli", *argv], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            deadline = time.monotonic() + 20
            while not _has_order(devnet.url, address, cloid) and time.monotonic() < deadline:
                time.sleep(0.05)
            sh.kill(doc["pid"])
            out, err = p.communicate(timeout=30)
        finally:
            control(devnet.url, "faults", {"rate_silence": 0})
    assert p.returncode == 6, err
    assert json.loads(out)["error"]["exit_code"] == 6 and "may have been sent" in err
    # The session is gone (its socket left behind): the next command runs on its own and tells the truth.
    assert os.path.exists(protocol.socket_path())
    r = sh.perp(*_reach(devnet, pw), "--json", "orders")
    assert r.code == 0, r.err
    assert [o["cloid"] for o in r.json()].count(cloid) == 1
    # And a new session starts over the stale socket.
    with sh.running(pw):
        assert sh.status()["running"]


@contextlib.contextmanager
def _agent_killed_mid_request(devnet, pid: int, *, address: str | None = None):
    """The agent (pid) is killed while the devnet holds its first /info request naming `address`
    (or, without one, its first /exchange request): it dies before answering its client. The
    request then goes on (an action executes: it was sent)."""
    owner, name = (devnet.devnet.info, "handle_body") if address else (devnet.devnet, "exchange_answer")
    original = getattr(owner, name)
    hit = threading.Event()

    def held(body, *args, **kwargs):
        if not hit.is_set() and (address is None or address.lower()[2:] in bytes(body).decode().lower()):
            hit.set()
            sh.kill(pid)
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
        return original(body, *args, **kwargs)

    setattr(owner, name, held)
    try:
        yield hit
    finally:
        delattr(owner, name)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("command", [["positions"], ["twap", "list"]])
def test_a_read_the_agent_dies_on_is_run_by_the_client(perpcli_home, key, devnet, command):
    """A command that changes nothing at a venue has no unknown outcome: when the agent is killed
    before answering it, the client runs it itself and prints that, with one warning line."""
    address, pw = key
    argv = ["--url", devnet.url, "--network", "testnet", "--json", *command]
    with sh.running(pw) as doc, _agent_killed_mid_request(devnet, doc["pid"], address=address) as hit:
        r = sh.perp(*argv)
    assert hit.is_set()
    assert r.code == 0, r.err
    assert r.err == "perp: warning: the session agent ended before answering; running the command without it\n"
    assert r.json() == sh.perp(*_reach(devnet, pw), "--json", *command).json()


def test_a_change_the_agent_dies_on_is_an_unknown_outcome(perpcli_home, key, devnet):
    """A command that signs and sends is never run again by the client: exit 6, no warning line."""
    _, pw = key
    argv = ["--url", devnet.url, "--network", "testnet", "--json", "leverage", "BTC", "3", "--yes"]
    with sh.running(pw) as doc, _agent_killed_mid_request(devnet, doc["pid"]) as hit:
        r = sh.perp(*argv)
    assert hit.is_set()
    assert r.code == 6 and r.json()["error"]["exit_code"] == 6
    assert r.err.startswith("perp: error: the session agent ended before answering") and "warning" not in r.err


def test_what_the_client_may_run_again_after_losing_the_agent():
    from perpcli.session import client

    def safe(*argv):
        return client.changes_nothing(list(argv), client.command_path(list(argv)) or ("",))

    for argv in (["positions"], ["--json", "fills"], ["twap", "list"], ["agent", "list"], ["portfolio"],
                 ["--dry-run", "buy", "BTC", "1"], ["cancel", "--all", "--dry-run"], ["buy", "BTC", "1", "--preview"]):
        assert safe(*argv), argv
    for argv in (["buy", "BTC", "1", "--yes"], ["twap", "buy", "BTC", "1"], ["twap", "cancel", "BTC", "1"],
                 ["agent", "revoke", "bot"], ["cancel", "--all"], ["leverage", "BTC", "3"], ["--account", "--dry-run",
                 "buy", "BTC", "1"], ["close", "BTC", "--preview"], ["withdraw", "10"]):
        assert not safe(*argv), argv


def _has_order(url: str, address: str, cloid: str) -> bool:
    return any(o.get("cloid") == cloid for o in info(url, {"type": "frontendOpenOrders", "user": address}))


def test_every_account_and_venue_command_runs_in_the_session_with_the_same_results(perpcli_home, key, devnet):
    """Beyond the fast path: the agent runs the whole CLI (cancel, leverage, close, fills, book...),
    and each answer is what the same command prints on its own."""
    _, pw = key
    reach = _reach(devnet, pw)

    def cases(cloid):  # each run its own client order id: a cloid once used stays taken
        return [
            [*reach, "--json", "buy", "BTC", "0.01", "--limit", "80000", "--cloid", cloid, "--reduce-only", "--yes"],
            [*reach, "--json", "buy", "BTC", "0.01", "--limit", "80000", "--cloid", cloid, "--yes"],
            [*reach, "--json", "cancel", "--cloid", cloid, "--market", "BTC", "--yes"],
            [*reach, "cancel", "--cloid", cloid, "--market", "BTC", "--yes"],  # gone already: exit 3
            [*reach, "--json", "modify", "12345", "--price", "81000", "--yes"],
            [*reach, "--json", "leverage", "BTC", "7", "--isolated", "--yes"],
            [*reach, "leverage", "BTC", "3", "--yes"],
            [*reach, "--json", "close", "BTC", "--yes"],
            [*reach, "--json", "flatten", "--yes"], [*reach, "flatten"],  # no --yes off a terminal
            [*reach, "--json", "fills"], [*reach, "fills", "--since", "1d"],
            [*reach, "--json", "funding-history"],
            [*reach, "--json", "book", "BTC", "--depth", "3"], [*reach, "--json", "markets"],
            [*reach, "--json", "price", "BTC", "ETH"], [*reach, "cancel", "--bogus"],
            [*reach, "--json", "--quiet", "orders", "--market=BTC"],  # `=` form: the fast path declines it
        ]
    first, second = "0x" + "78" * 16, "0x" + "79" * 16
    without = [sh.perp(*argv) for argv in cases(first)]
    with sh.running(pw):
        served = sh.status()["commands_served"]
        with_session = [sh.perp(*argv) for argv in cases(second)]
        assert sh.status()["commands_served"] == served + len(without)  # every case went through the agent
        local = sh.perp(*reach, "keys", "list")  # stays here
        assert local.code == 0 and sh.status()["commands_served"] == served + len(without)
    for argv, a, b in zip(cases("CLOID"), without, with_session, strict=True):
        assert a.code == b.code, (argv, a.err, b.err)
        assert _stable(a.out.replace(first, "CLOID")) == _stable(b.out.replace(second, "CLOID")), (argv, a.out, b.out)
        assert a.err.replace(first, "CLOID") == b.err.replace(second, "CLOID"), argv
    assert {r.code for r in without} >= {0, 2, 3}
    assert with_session[2].json() and without[9].code == 2


def test_which_commands_the_thin_client_hands_over():
    from perpcli.cli.context import GLOBALS
    from perpcli.session import client

    assert client.GLOBAL_VALUE_FLAGS == {f for g in GLOBALS if g.takes_value for f in g.flags}
    go = client.command_path
    assert go(["--url", "http://x", "--network", "testnet", "--json", "cancel", "--all"]) == ("cancel",)
    assert go(["--account=main", "fills"]) == ("fills",)
    assert go(["agent", "list"]) == ("agent", "list") and go(["twap", "buy", "BTC", "1"]) == ("twap", "buy")
    assert go(["twap", "cancel", "BTC", "7"]) == ("twap", "cancel")
    for local in (["keys", "list"], ["watch"], ["session", "status"], ["config", "show"], ["sign", "-"],
                  ["agent", "approve", "bot"], ["twap", "buy", "BTC", "1", "--client"], ["batch"],
                  ["buy", "--help"], ["-h"], ["--version"], ["funding", "--compare", "--watch"],
                  ["devnet", "start"], ["demo"], ["completion", "bash"], ["chase", "buy", "BTC", "1"],
                  ["--venue", "buy"], [], ["--", "buy"]):
        assert go(local) is None, local


def test_a_command_that_may_ask_at_the_terminal_runs_there():
    """On a terminal, a command that sends or changes something without --yes may prompt: the agent
    declines it (the client runs it itself, where the prompt is); with --yes, or a read, it runs it."""
    from perpcli.session.server import Agent

    agent = object.__new__(Agent)  # run() declines before it touches the agent's state
    terminal = {"stdin": True, "stdout": True, "stderr": True}
    for argv in (["cancel", "--all"], ["leverage", "BTC", "5"], ["close", "BTC"], ["flatten"], ["buy", "BTC", "1"],
                 ["agent", "revoke", "bot"]):
        reply = agent.run({"argv": argv, "tty": terminal})
        assert reply == {"handled": False, "reason": "may need to ask at the terminal"}, argv
    assert agent.run({"argv": ["keys", "list"], "tty": {}})["handled"] is False  # never the agent's
