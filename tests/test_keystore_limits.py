"""Hostile keystores: KDF work factors are bounded, and Ctrl-C interrupts a derivation promptly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from perpcli.cli.exit_codes import ExitCode
from perpcli.domain.errors import AuthError
from perpcli.keys import keystore
from perpcli.keys.signer import Signer
from tests.support import REPO, SDK_TEST_KEY, invoke

SECRET = bytes.fromhex(SDK_TEST_KEY[2:])
ADDRESS = Signer.from_hex(SDK_TEST_KEY).address


def _doc(kdf: str, **params) -> dict:
    doc = keystore.encrypt(SECRET, "pw", address=ADDRESS, scrypt_n=2)
    if kdf == "pbkdf2":
        params = {"dklen": 32, "c": 1, "prf": "hmac-sha256", "salt": "00" * 16, **params}
    else:
        params = {**doc["crypto"]["kdfparams"], **params}
    doc["crypto"]["kdf"] = kdf
    doc["crypto"]["kdfparams"] = params
    return doc


@pytest.mark.parametrize("kdf, params, named", [
    ("scrypt", {"n": 1 << 19, "r": 8, "p": 1000}, "p=1000"),
    ("scrypt", {"n": 1 << 22, "r": 8, "p": 1}, "n=4194304"),
    ("scrypt", {"n": 1 << 64, "r": 8, "p": 1}, "n=18446744073709551616"),
    ("scrypt", {"n": 1 << 18, "r": 1 << 20, "p": 1}, "r=1048576"),
    ("scrypt", {"n": 1 << 20, "r": 32, "p": 1}, "MiB"),
    ("scrypt", {"n": 1 << 20, "r": 8, "p": 16}, "n*r*p"),
    ("scrypt", {"n": 1000, "r": 8, "p": 1}, "power of two"),
    ("scrypt", {"n": 0, "r": 8, "p": 1}, "n=0"),
    ("scrypt", {"n": "262144", "r": 8, "p": 1}, "n must be a whole number"),
    ("scrypt", {"n": 1 << 10, "r": 0, "p": 1}, "r=0"),
    ("scrypt", {"n": 1 << 10, "r": 8, "p": 1, "dklen": 1 << 30}, "dklen="),
    ("pbkdf2", {"c": 2**31 - 1}, "c=2147483647"),
    ("pbkdf2", {"c": -1}, "c=-1"),
    ("pbkdf2", {"c": 2**63}, "c=9223372036854775808"),
    ("pbkdf2", {"c": 1.5}, "c must be a whole number"),
])
def test_hostile_kdf_parameters_are_refused_at_once_naming_the_parameter(kdf, params, named):
    start = time.monotonic()
    with pytest.raises(AuthError) as e:
        keystore.decrypt(_doc(kdf, **params), "pw", source="k.json")
    assert time.monotonic() - start < 1.0
    assert named in e.value.message and "k.json" in e.value.message
    assert "\n" not in e.value.message


def test_a_keystore_with_a_5000_digit_parameter_is_one_short_line(capsys, monkeypatch, tmp_path):
    text = json.dumps(_doc("scrypt", n=1 << 10)).replace('"n": 1024', '"n": ' + "9" * 5000)
    f = tmp_path / "long.json"
    f.write_text(text)
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    r = invoke(["keys", "import-keystore", "long", str(f)], capsys)
    assert r.code == ExitCode.AUTH and r.err.count("\n") == 1 and len(r.err) < 300
    with pytest.raises(AuthError) as e:  # a 4,000-digit value still parses as JSON: refused, and cut short
        keystore.decrypt(_doc("scrypt", n=int("9" * 4000)), "pw", source="k.json")
    assert "4000-digit" in e.value.message and len(e.value.message) < 300


def test_what_geth_foundry_and_metamask_write_is_accepted():
    for kdf, params in [("scrypt", {"n": 1 << 12, "r": 8, "p": 6}),  # geth "light"
                        ("scrypt", {"n": 1 << 13, "r": 8, "p": 1}),
                        ("pbkdf2", {"c": 1024})]:
        doc = _doc(kdf, **params)
        # re-encrypt under these parameters so the MAC matches
        dk = keystore._derive("pw", kdf, doc["crypto"]["kdfparams"])
        from perpcli.keys.hashing import keccak256

        iv = bytes.fromhex(doc["crypto"]["cipherparams"]["iv"])
        ct = keystore._aes_ctr(dk[:16], iv, SECRET)
        doc["crypto"]["ciphertext"] = ct.hex()
        doc["crypto"]["mac"] = keccak256(dk[16:32] + ct).hex()
        assert keystore.decrypt(doc, "pw") == SECRET
    # geth's standard n=2^18, r=8, p=1 and eth-account's pbkdf2 default c=10^6 pass the checks
    keystore._kdf_call("pw", "scrypt", {"n": 1 << 18, "r": 8, "p": 1, "salt": "00", "dklen": 32}, "x")
    keystore._kdf_call("pw", "pbkdf2", {"c": 1_000_000, "salt": "00", "dklen": 32, "prf": "hmac-sha256"}, "x")


def test_hostile_keystore_on_import_is_one_line_exit_4(capsys, monkeypatch, tmp_path):
    f = tmp_path / "hostile.json"
    f.write_text(json.dumps(_doc("scrypt", n=1 << 19, r=8, p=1000)))
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    r = invoke(["keys", "import-keystore", "h", str(f)], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and "p=1000" in r.err and str(f) in r.err


def test_perp_refuses_to_write_a_keystore_it_would_not_read(capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_KEYS_SCRYPT_N", str(1 << 21))
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    r = invoke(["keys", "new", "big"], capsys)
    assert r.code == ExitCode.USAGE and "scrypt_n" in r.err


# The child announces on stderr when the derivation starts (a wrapper around hashlib's
# function) so SIGINT lands in the middle of it. Its pbkdf2 count is raised past the limit so
# the derivation takes far longer than the test waits.
CHILD = r"""
import hashlib, sys
from perpcli.keys import keystore
keystore.MAX_PBKDF2_C = 10**9
real = hashlib.pbkdf2_hmac
def announced(*args, **kwargs):
    sys.stderr.write("deriving\n"); sys.stderr.flush()
    return real(*args, **kwargs)
hashlib.pbkdf2_hmac = announced
from perpcli.cli.main import run
sys.argv = ["perp", "keys", "import-keystore", "slow", sys.argv[1]]
run()
"""


def test_ctrl_c_interrupts_a_slow_derivation_promptly(tmp_path):
    f = tmp_path / "slow.json"
    f.write_text(json.dumps(_doc("pbkdf2", c=300_000_000)))
    env = {**os.environ, "PERPCLI_PASSPHRASE": "pw"}
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(f)], cwd=str(REPO), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert p.stderr.readline() == "deriving\n"
        time.sleep(0.3)
        sent = time.monotonic()
        p.send_signal(signal.SIGINT)
        code = p.wait(timeout=30)
        elapsed = time.monotonic() - sent
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert code == ExitCode.INTERRUPTED, err
    assert elapsed < 2.0, f"exit took {elapsed:.1f}s after Ctrl-C"
    assert "Traceback" not in err
