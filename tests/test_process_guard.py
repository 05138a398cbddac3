"""A process that holds a decrypted key writes no core dump and is not dumpable (ptrace, /proc/PID/mem)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO, SDK_TEST_KEY

# The child raises its own core limit first, as `ulimit -c unlimited` would, then loads a key
# the way a command does and reports what the kernel would do on a crash.
CHILD = r"""
import ctypes, json, resource, sys
resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
libc = ctypes.CDLL(None)
before = {"core": resource.getrlimit(resource.RLIMIT_CORE)[0], "dumpable": libc.prctl(3, 0, 0, 0, 0)}
{load}
after = {"core": resource.getrlimit(resource.RLIMIT_CORE)[0], "dumpable": libc.prctl(3, 0, 0, 0, 0)}
print(json.dumps({"before": before, "after": after}))
"""

LOADS = {
    "signer from hex": "from perpcli.keys.signer import Signer; Signer.from_hex(sys.argv[1])",
    "keystore decrypt": (
        "from perpcli.keys import keystore\n"
        "doc = keystore.encrypt(bytes.fromhex(sys.argv[1][2:]), 'pw', address='0x' + '00' * 20, scrypt_n=2)\n"
        "keystore.decrypt(doc, 'pw')"
    ),
}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_GET_DUMPABLE) is Linux")
@pytest.mark.parametrize("how", sorted(LOADS))
def test_loading_a_key_turns_core_dumps_off(how):
    p = subprocess.run([sys.executable, "-c", CHILD.replace("{load}", LOADS[how]), SDK_TEST_KEY],
                       capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout.strip().splitlines()[-1])
    assert report["before"]["core"] != 0 and report["before"]["dumpable"] == 1
    assert report["after"] == {"core": 0, "dumpable": 0}


def test_read_only_commands_do_not_pay_for_it():
    """`perp keys list` reads no secret: the guard (and ctypes) is not loaded."""
    probe = ("import sys; from perpcli.cli.main import main; sys.stdout = open('/dev/null', 'w'); "
             "main(['keys', 'list']); sys.stdout = sys.__stdout__; "
             "print('perpcli.keys.process_guard' in sys.modules, 'ctypes' in sys.modules)")
    p = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "False"]
