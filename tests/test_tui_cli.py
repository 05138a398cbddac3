"""`perp watch` as a command: registered, documented, refuses without a terminal, lazy imports."""

from __future__ import annotations

import json
import subprocess
import sys

from perpcli.cli.exit_codes import ExitCode
from tests.support import REPO, run_perp


def test_watch_needs_a_terminal_and_says_so_on_one_line():
    r = run_perp(["watch", "BTC"])
    assert r.code == ExitCode.USAGE
    assert r.out == ""
    assert r.err.count("\n") == 1 and "needs a terminal" in r.err


def test_watch_help_lists_markets_and_no_trading():
    r = run_perp(["watch", "--help"])
    assert r.code == 0 and "MARKETS" in r.out.upper() and "--no-trading" in r.out


def test_watch_command_module_does_not_load_textual_until_it_runs():
    probe = (
        "import json, sys\n"
        "from perpcli.cli.main import app, main\n"
        "sys.stdout = open('/dev/null', 'w')\n"
        "code = main(['watch', '--help'])\n"
        "sys.stdout = sys.__stdout__\n"
        "print(json.dumps({'code': code, 'textual': 'textual' in sys.modules}))\n"
    )
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout.strip().splitlines()[-1]) == {"code": 0, "textual": False}


def test_every_binding_has_a_config_setting_with_a_doc():
    from perpcli.config.schema import BY_KEY
    from perpcli.config.tui_keys import KEYS

    for spec in KEYS:
        setting = BY_KEY[f"tui.keys.{spec.id}"]
        assert setting.default == spec.key and setting.doc.startswith("perp watch key:")
