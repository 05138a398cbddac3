"""Keys: keystore v3 interop with eth-account, storage permissions, key sources, and bad input."""

from __future__ import annotations

import json
import os
import stat

import pytest

from perpcli.cli.exit_codes import ExitCode
from perpcli.domain.errors import AuthError
from perpcli.keys import keystore, sources
from perpcli.keys.signer import Signer, recover_address
from tests.support import ALICE_KEY, SDK_TEST_KEY, invoke, register_secret, run_perp

ALICE_ADDR = Signer.from_hex(ALICE_KEY).address


def _import(capsys, monkeypatch, name="alice", key=ALICE_KEY, pw="correct horse"):
    monkeypatch.setenv("PERPCLI_PASSPHRASE", pw)
    return invoke(["keys", "import", name], capsys, monkeypatch=monkeypatch, stdin=key + "\n")


def test_signer_repr_is_redacted_and_cannot_be_pickled():
    import pickle

    s = Signer.from_hex(ALICE_KEY, name="alice")
    assert ALICE_KEY[2:] not in repr(s) and "redacted" in repr(s)
    assert ALICE_KEY[2:] not in str(s)
    with pytest.raises(TypeError):
        pickle.dumps(s)
    digest = bytes(range(32))
    sig = s.sign_digest(digest)
    assert recover_address(digest, sig.r, sig.s, sig.v) == s.address


def test_keystore_written_by_perp_decrypts_with_eth_account(capsys, monkeypatch, perpcli_home):
    from eth_account import Account

    r = _import(capsys, monkeypatch)
    assert r.code == 0, r.err
    assert r.out.strip() == ALICE_ADDR
    doc = json.loads((perpcli_home / "keys" / "alice.json").read_text())
    assert doc["version"] == 3 and doc["crypto"]["kdf"] == "scrypt"
    assert "0x" + Account.decrypt(doc, "correct horse").hex().removeprefix("0x") == ALICE_KEY


def test_perp_keys_new_decrypts_with_eth_account(capsys, monkeypatch, perpcli_home):
    from eth_account import Account

    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw-new")
    r = invoke(["keys", "new", "fresh", "--json"], capsys)
    assert r.code == 0, r.err
    info = r.json()
    doc = json.loads((perpcli_home / "keys" / "fresh.json").read_text())
    secret = bytes(Account.decrypt(doc, "pw-new"))
    register_secret(secret.hex())
    assert Account.from_key(secret).address.lower() == info["address"]


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_keystore_from_eth_account_imports(capsys, monkeypatch, tmp_path, kdf):
    from eth_account import Account

    doc = Account.encrypt(SDK_TEST_KEY, "geth-pw", kdf=kdf, iterations=1024 if kdf == "pbkdf2" else 1024)
    f = tmp_path / "UTC--key.json"
    f.write_text(json.dumps(doc))
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "geth-pw")
    r = invoke(["keys", "import-keystore", "imported", str(f)], capsys)
    assert r.code == 0, r.err
    expected = Account.from_key(SDK_TEST_KEY).address.lower()
    assert r.out.strip() == expected
    signer = sources.unlock("imported")
    assert signer.address == expected


def test_key_files_are_0600_in_a_0700_folder(capsys, monkeypatch, perpcli_home):
    assert _import(capsys, monkeypatch).code == 0
    d = perpcli_home / "keys"
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert stat.S_IMODE((d / "alice.json").stat().st_mode) == 0o600


def test_list_shows_names_and_addresses_only(capsys, monkeypatch):
    _import(capsys, monkeypatch)
    r = invoke(["keys", "list", "--json"], capsys)
    assert r.code == 0
    rows = r.json()
    assert [(x["name"], x["address"], x["source"]) for x in rows] == [("alice", ALICE_ADDR, "keystore")]
    r = invoke(["keys", "list"], capsys)
    assert "alice" in r.out and ALICE_ADDR in r.out
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.out == ALICE_ADDR + "\n"


def test_wrong_passphrase_exit_4(capsys, monkeypatch):
    _import(capsys, monkeypatch)
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "wrong")
    with pytest.raises(AuthError, match="wrong passphrase"):
        sources.unlock("alice")


def test_wrong_passphrase_on_import_keystore_exit_4(capsys, monkeypatch, tmp_path):
    doc = keystore.encrypt(bytes.fromhex(SDK_TEST_KEY[2:]), "right", address=Signer.from_hex(SDK_TEST_KEY).address,
                           scrypt_n=1024)
    f = tmp_path / "k.json"
    f.write_text(json.dumps(doc))
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "wrong")
    r = invoke(["keys", "import-keystore", "x", str(f)], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and "wrong passphrase" in r.err


@pytest.mark.parametrize("bad", ["0x1234", "zz" * 32, "0x" + "00" * 32, "0x" + "ff" * 32])
def test_malformed_private_key_exit_4_without_echo(capsys, monkeypatch, bad):
    r = _import(capsys, monkeypatch, key=bad)
    assert r.code == ExitCode.AUTH
    assert "malformed private key" in r.err and bad.removeprefix("0x") not in r.err
    assert r.err.count("\n") == 1


def test_world_readable_key_file_refused(capsys, monkeypatch, perpcli_home):
    _import(capsys, monkeypatch)
    path = perpcli_home / "keys" / "alice.json"
    os.chmod(path, 0o644)
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.code == ExitCode.AUTH
    assert "accessible by other users" in r.err and "chmod 600" in r.err


def test_malformed_keystore_file(capsys, monkeypatch, tmp_path):
    f = tmp_path / "junk.json"
    f.write_text("{not json")
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "x")
    r = invoke(["keys", "import-keystore", "junk", str(f)], capsys)
    assert r.code == ExitCode.AUTH and "not a keystore" in r.err
    r = invoke(["keys", "import-keystore", "junk", str(tmp_path / "none.json")], capsys)
    assert r.code == ExitCode.USAGE and "cannot read" in r.err


def test_bad_names_and_duplicates(capsys, monkeypatch):
    r = _import(capsys, monkeypatch, name="../evil")
    assert r.code == ExitCode.USAGE and "bad key name" in r.err
    assert _import(capsys, monkeypatch).code == 0
    r = _import(capsys, monkeypatch)
    assert r.code == ExitCode.USAGE and "already exists" in r.err


def test_no_passphrase_source_off_terminal_is_refused(capsys, monkeypatch):
    r = run_perp(["keys", "new", "x"])
    assert r.code == ExitCode.USAGE
    assert "PERPCLI_PASSPHRASE" in r.err


def test_empty_passphrase_refused(capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "")
    r = invoke(["keys", "new", "x"], capsys)
    assert r.code == ExitCode.USAGE and "must not be empty" in r.err


def test_passphrase_file(capsys, monkeypatch, tmp_path):
    pf = tmp_path / "pw"
    pf.write_text("from-file\n")
    r = invoke(["keys", "import", "alice", "--passphrase-file", str(pf)], capsys, monkeypatch=monkeypatch,
               stdin=ALICE_KEY + "\n")
    assert r.code == 0, r.err
    assert sources.unlock("alice", passphrase_file=str(pf)).address == ALICE_ADDR


def test_remove_needs_yes_off_terminal_and_keeps_a_copy(capsys, monkeypatch, perpcli_home):
    _import(capsys, monkeypatch)
    r = invoke(["keys", "remove", "alice"], capsys)
    assert r.code == ExitCode.USAGE and "--yes" in r.err
    assert (perpcli_home / "keys" / "alice.json").exists()
    r = invoke(["keys", "remove", "alice", "--yes"], capsys)
    assert r.code == 0
    assert not (perpcli_home / "keys" / "alice.json").exists()
    assert list((perpcli_home / "keys" / ".removed").glob("alice-*.json"))
    assert invoke(["keys", "list", "--json"], capsys).json() == []


def test_resolve_signer_order(capsys, monkeypatch):
    with pytest.raises(AuthError, match="no key"):
        sources.resolve_signer(None)
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", SDK_TEST_KEY)
    s = sources.resolve_signer(None, warn=True)
    assert s.address == Signer.from_hex(SDK_TEST_KEY).address
    err = capsys.readouterr().err
    assert "PERPCLI_PRIVATE_KEY" in err and SDK_TEST_KEY[2:] not in err
    _import(capsys, monkeypatch)
    assert sources.resolve_signer("alice").address == ALICE_ADDR
    assert sources.resolve_signer(ALICE_ADDR).address == ALICE_ADDR
    monkeypatch.delenv("PERPCLI_PRIVATE_KEY")
    assert sources.resolve_signer(None).address == ALICE_ADDR  # the only key


def test_env_key_listed_and_malformed_env_key_exit_4(capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", SDK_TEST_KEY)
    rows = invoke(["keys", "list", "--json"], capsys).json()
    assert rows == [{"name": "PERPCLI_PRIVATE_KEY", "address": Signer.from_hex(SDK_TEST_KEY).address,
                     "source": "env", "path": None, "agent_for": None, "venue": None}]
    monkeypatch.setenv("PERPCLI_PRIVATE_KEY", "0xnothex")
    r = invoke(["keys", "list"], capsys)
    assert r.code == ExitCode.AUTH and "PERPCLI_PRIVATE_KEY: malformed private key" in r.err


def test_scrypt_n_must_be_a_power_of_two(capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_KEYS_SCRYPT_N", "1000")
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "pw")
    r = invoke(["keys", "new", "x"], capsys)
    assert r.code == ExitCode.USAGE and "power of two" in r.err


# --- passphrase files: only "\n" (or "\r\n") ends the first line ---------------------------------

@pytest.mark.parametrize("sep", ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_passphrase_file_is_not_cut_at_other_line_breaks(capsys, monkeypatch, tmp_path, perpcli_home, sep):
    monkeypatch.setenv("PERPCLI_KEYS_SCRYPT_N", "1024")
    whole = f"abc{sep}LONG-SECRET-TAIL"
    pf = tmp_path / "pw"
    pf.write_bytes((whole + "\nsecond line is ignored\n").encode("utf-8"))
    r = invoke(["keys", "import", "alice", "--passphrase-file", str(pf)], capsys, monkeypatch=monkeypatch,
               stdin=ALICE_KEY + "\n")
    assert r.code == 0, r.err
    doc = json.loads((perpcli_home / "keys" / "alice.json").read_text())
    with pytest.raises(AuthError, match="wrong passphrase"):
        keystore.decrypt(doc, "abc")
    assert keystore.decrypt(doc, whole) == bytes.fromhex(ALICE_KEY[2:])


def test_passphrase_file_crlf_and_no_final_newline(tmp_path):
    pf = tmp_path / "pw"
    pf.write_bytes(b"secret\r\nnext\n")
    assert sources.read_passphrase_file(str(pf)) == "secret"
    pf.write_bytes("s\u00e9cret".encode())
    assert sources.read_passphrase_file(str(pf)) == "s\u00e9cret"


def test_demo_key_file_is_split_at_newlines_only(perpcli_home):
    from perpcli.cli import demo_setup

    path = demo_setup.demo_key_path()
    path.parent.mkdir(parents=True)
    path.write_text("# a comment\u2028that goes on\n" + ALICE_KEY + "\n", encoding="utf-8")
    assert demo_setup.demo_key() == (path, ALICE_ADDR)


# --- files that cannot be read or are not UTF-8: one line naming the file, the right code ---------

def test_passphrase_file_not_utf8_exit_4(capsys, monkeypatch, tmp_path):
    _import(capsys, monkeypatch)
    monkeypatch.delenv("PERPCLI_PASSPHRASE")
    pf = tmp_path / "pw"
    pf.write_bytes(b"caf\xe9\n")
    r = invoke(["--passphrase-file", str(pf), "buy", "BTC", "0.001", "--limit", "1", "--dry-run"], capsys)
    assert r.code == ExitCode.AUTH, r.err
    assert r.err.count("\n") == 1 and str(pf) in r.err and "UTF-8" in r.err


def test_keystore_file_not_utf8_exit_4(capsys, monkeypatch, tmp_path):
    f = tmp_path / "k.json"
    f.write_bytes(b'{"version": 3, "x": "\xff"}')
    monkeypatch.setenv("PERPCLI_PASSPHRASE", "x")
    r = invoke(["keys", "import-keystore", "k", str(f)], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and str(f) in r.err and "UTF-8" in r.err


def test_stored_key_file_not_utf8_exit_4(capsys, monkeypatch, perpcli_home):
    _import(capsys, monkeypatch)
    path = perpcli_home / "keys" / "alice.json"
    path.write_bytes(b"\xff\xfe{}")
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and str(path) in r.err and "UTF-8" in r.err


def test_key_file_that_is_a_folder_exit_4(capsys, monkeypatch, perpcli_home):
    _import(capsys, monkeypatch)
    path = perpcli_home / "keys" / "alice.json"
    path.unlink()
    path.mkdir(mode=0o700)
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and str(path) in r.err


def test_key_file_permission_denied_exit_4(capsys, monkeypatch, perpcli_home):
    """Tests run as root, who can read anything: simulate the EACCES a user would get."""
    from pathlib import Path

    _import(capsys, monkeypatch)
    path = perpcli_home / "keys" / "alice.json"
    real = Path.read_bytes

    def denied(self):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", denied)
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: denied(self).decode())
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and str(path) in r.err and "Permission denied" in r.err


# --- key names and ownership ----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["alice\n", "alice\r", "alice/x", "\nalice"])
def test_key_name_with_a_line_break_is_refused(capsys, monkeypatch, name):
    from perpcli.domain.errors import UsageError
    from perpcli.keys import store

    with pytest.raises(UsageError, match="bad key name"):
        store.check_name(name)
    r = _import(capsys, monkeypatch, name=name)
    assert r.code == ExitCode.USAGE and "bad key name" in r.err


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


@needs_root
def test_key_file_owned_by_another_user_is_refused(capsys, monkeypatch, perpcli_home):
    _import(capsys, monkeypatch)
    path = perpcli_home / "keys" / "alice.json"
    os.chown(path, os.getuid() + 4242, -1)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and "owned by uid" in r.err and str(path) in r.err
    with pytest.raises(AuthError, match="owned by uid"):
        sources.unlock("alice")


def test_keys_folder_open_to_others_is_refused_with_chmod_hint(capsys, monkeypatch, perpcli_home):
    _import(capsys, monkeypatch)
    folder = perpcli_home / "keys"
    os.chmod(folder, 0o755)
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.code == ExitCode.AUTH
    assert r.err.count("\n") == 1 and f"chmod 700 {folder}" in r.err and "0755" in r.err
    os.chmod(folder, 0o700)
    assert invoke(["keys", "address", "alice"], capsys).code == 0


@needs_root
def test_keys_folder_owned_by_another_user_is_refused(capsys, monkeypatch, perpcli_home):
    _import(capsys, monkeypatch)
    folder = perpcli_home / "keys"
    os.chown(folder, os.getuid() + 4242, -1)
    r = invoke(["keys", "address", "alice"], capsys)
    assert r.code == ExitCode.AUTH and "keys folder" in r.err and "owned by uid" in r.err
