"""Shared fixtures. Every test runs with PERPCLI_HOME in a temp dir: no test reads the user's state."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def perpcli_home(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("perpcli_home")
    monkeypatch.setenv("PERPCLI_HOME", str(home))
    for var in ("PERPCLI_PRIVATE_KEY", "PERPCLI_PASSPHRASE", "PERPCLI_VENUE", "PERPCLI_ACCOUNT", "NO_COLOR"):
        monkeypatch.delenv(var, raising=False)
    os.chmod(home, 0o700)
    return home
