"""Shared fixtures and the suite-wide secret-leak net.

Every test runs with PERPCLI_HOME in a temp dir: no test reads the user's state. Output the
tests read through capsys/capfd, output of subprocesses, and the text of every failure are
appended to a transcript that tests/test_zz_secret_leak.py checks last.
"""

from __future__ import annotations

import os
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


def _tee_subprocess():
    original_run = subprocess.run
    if getattr(original_run, "_perpcli_tee", False):
        return
    original_communicate = subprocess.Popen.communicate

    def run(*args, **kwargs):
        result = original_run(*args, **kwargs)
        support.record("subprocess.run", getattr(result, "stdout", None), getattr(result, "stderr", None))
        return result

    def communicate(self, *args, **kwargs):
        out, err = original_communicate(self, *args, **kwargs)
        support.record("Popen.communicate", out, err)
        return out, err

    run._perpcli_tee = True
    subprocess.run = run
    subprocess.Popen.communicate = communicate


_tee_readouterr()
_tee_subprocess()


def pytest_runtest_logreport(report):
    """Failure text and whatever pytest captured for a test also go to the transcript."""
    texts = [content for _name, content in report.sections]
    if report.failed and report.longrepr is not None:
        texts.append(str(report.longrepr))
    if texts:
        support.record(f"report {report.nodeid} {report.when}", *texts)


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
    return home
