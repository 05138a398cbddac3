"""Cold-start hygiene: cheap commands import no heavy library; headless code never imports textual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO

HEAVY = ("textual", "web3", "eth_account", "websockets", "hyperliquid")

PROBE = """
import json, sys
from perpcli.cli.main import main
sys.stdout = open("/dev/null", "w")
code = main({args!r})
sys.stdout = sys.__stdout__
print(json.dumps({{"code": code, "loaded": sorted(m for m in {heavy!r} if m in sys.modules)}}))
"""


@pytest.mark.parametrize("args", [["--version"], ["--help"], ["keys", "list"], ["keys", "list", "--json"],
                                  ["config", "show"]])
def test_cheap_commands_import_nothing_heavy(args):
    p = subprocess.run([sys.executable, "-c", PROBE.format(args=args, heavy=HEAVY)],
                       capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert p.returncode == 0, p.stderr
    result = json.loads(p.stdout.strip().splitlines()[-1])
    assert result["code"] == 0
    assert result["loaded"] == [], f"perp {' '.join(args)} imported {result['loaded']}"


HEADLESS = """
import importlib, json, pkgutil, sys
import perpcli
bad = []
for info in pkgutil.walk_packages(perpcli.__path__, "perpcli."):
    if info.name.startswith("perpcli.tui") or info.name == "perpcli.__main__":
        continue
    importlib.import_module(info.name)
print(json.dumps({"textual": "textual" in sys.modules, "hyperliquid": "hyperliquid" in sys.modules}))
"""


def test_headless_modules_never_import_textual_or_the_sdk():
    p = subprocess.run([sys.executable, "-c", HEADLESS], capture_output=True, text=True, cwd=str(REPO), timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == {"textual": False, "hyperliquid": False}
