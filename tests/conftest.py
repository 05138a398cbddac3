"""Shared fixtures and the suite-wide secret-leak net.

Every test runs with PERPCLI_HOME in a temp dir: no test reads the user's state. Output the
tests read through capsys/capfd, output of subprocesses, and the text of every failure are
appended to a transcript that tests/test_zz_secret_leak.py checks last.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest

_session_dir = Path(tempfile.mkdtemp(prefix="perpcli-tests-"))
os.environ["PERPCLI_TEST_TRANSCRIPT"] = str(_session_dir / "transcript.log")
os.environ["PERPCLI_TEST_HOMES"] = str(_session_dir / "homes")

from tests import support  # noqa: E402  (reads the variables above)

# Fast keystores in tests: geth's standard work factor costs ~0.5 s per unlock.
os.environ.setdefault("PERPCLI_KEYS_SCRYPT_N", "1024")

# Tests press Ctrl-C on `perp` processes (SIGINT), as a terminal would. A suite started in the
# background by a non-interactive shell (`make test &`) inherits SIGINT ignored, and so would every
# process it starts (an ignored signal survives exec), making those presses do nothing: catch it
# here instead, so the children start with the default, as they do from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _tee_readouterr():
    from _pytest.capture import CaptureFixture

    original = CaptureFixture.readouterr
    if getattr(original, "_perpcli_tee", False):
        return

    def readouterr(self):
        result = original(self)
        support.record("captured", result.out, result.err)
        return result

    readouterr._perpcli_tee = True
    CaptureFixture.readouterr = readouterr


def _register_every_signer_key():
    """Every key a test turns into a Signer is a secret the leak check must look for."""
    from perpcli.keys.signer import Signer

    original = Signer.__init__
    if getattr(original, "_perpcli_tee", False):
        return

    def __init__(self, private_key, *args, **kwargs):
        if isinstance(private_key, (bytes, bytearray)):
            support.register_secret(bytes(private_key).hex())
        original(self, private_key, *args, **kwargs)

    __init__._perpcli_tee = True
    Signer.__init__ = __init__


def _register_env_key(kwargs) -> None:
    env = kwargs.get("env") or os.environ
    if env.get("PERPCLI_PRIVATE_KEY"):
        support.register_secret(env["PERPCLI_PRIVATE_KEY"])


def _tee_subprocess():
    original_run = subprocess.run
    if getattr(original_run, "_perpcli_tee", False):
        return
    original_communicate = subprocess.Popen.communicate

    def run(*args, **kwargs):
        _register_env_key(kwargs)
        result = original_run(*args, **kwargs)
        support.record("subprocess.run", getattr(result, "stdout", None), getattr(result, "stderr", None))
        return result

    def communicate(self, *args, **kwargs):
        out, err = original_communicate(self, *args, **kwargs)
        support.record("Popen.communicate", out, err)
        return out, err

    original_init = subprocess.Popen.__init__

    def popen_init(self, *args, **kwargs):
        _register_env_key(kwargs)
        original_init(self, *args, **kwargs)

    run._perpcli_tee = True
    subprocess.run = run
    subprocess.Popen.communicate = communicate
    subprocess.Popen.__init__ = popen_init


_tee_readouterr()
_tee_subprocess()
_register_every_signer_key()


def pytest_runtest_logreport(report):
    """Failure text and whatever pytest captured for a test also go to the transcript."""
    texts = [content for _name, content in report.sections]
    if report.failed and report.longrepr is not None:
        texts.append(str(report.longrepr))
    if texts:
        support.record(f"report {report.nodeid} {report.when}", *texts)


def pytest_sessionfinish(session, exitstatus):
    """The transcript and the test homes hold nothing worth keeping once the leak check ran."""
    if not os.environ.get("PERPCLI_KEEP_TEST_DIR"):
        import shutil

        shutil.rmtree(_session_dir, ignore_errors=True)


def pytest_collection_modifyitems(session, config, items):
    """The secret-leak check runs last, after every other test has produced its output."""
    last = [i for i in items if "test_zz_secret_leak" in i.nodeid]
    rest = [i for i in items if "test_zz_secret_leak" not in i.nodeid]
    items[:] = rest + last


@pytest.fixture(autouse=True)
def perpcli_home(monkeypatch):
    homes = Path(os.environ["PERPCLI_TEST_HOMES"])
    homes.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="home-", dir=homes))
    os.chmod(home, 0o700)
    monkeypatch.setenv("PERPCLI_HOME", str(home))
    for var in ("PERPCLI_PRIVATE_KEY", "PERPCLI_PASSPHRASE", "PERPCLI_DEFAULT_VENUE", "PERPCLI_DEFAULT_ACCOUNT",
                "PERPCLI_CONFIG", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    # Fresh per-process CLI state for in-process runs.
    from perpcli.cli import context
    from perpcli.config import settings
    from perpcli.keys import sources

    context.set_current(context.GlobalOptions())
    settings.configure()
    sources.configure()
    yield home
    from tests import via_session

    via_session.stop(str(home))


@pytest.fixture(autouse=True)
def python_default_decimal_context():
    """Every test starts from Python's default Decimal context. ccxt (a test-only oracle)
    changes the calling thread's context for good when it formats a number (rounding half-up,
    Underflow trapped); perpcli never imports ccxt, so without this reset the tests after a
    ccxt test would run under arithmetic no user ever gets, and results would depend on order."""
    import decimal

    decimal.setcontext(decimal.Context())
    yield
    decimal.setcontext(decimal.Context())


@pytest.fixture
def perp(devnet, monkeypatch):
    """`perp ARGS` in-process against the module's `devnet` fixture (see cli_devnet.devnet_fixture)."""
    from tests.cli_devnet import run

    def _run(*args, key=None, stdin=None):
        return run(devnet.url, *args, key=key, stdin=stdin, monkeypatch=monkeypatch)

    return _run
