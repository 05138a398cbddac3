"""Across every command the suite ran, no private key appeared in stdout, stderr, logs or exception text.

conftest.py orders this file last. The transcript holds everything tests read from the CLI
(in-process and subprocess), what pytest captured, and failure text; logs are every file
under each test's PERPCLI_HOME except key files (keystores hold keys encrypted; `perp demo`'s
devnet-only key is a plain `.key` file by design).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests import support


def test_find_leaks_detects_a_key_in_any_form():
    secret = support.ALICE_KEY[2:]
    assert support.find_leaks(f"oops {secret.upper()} here", {secret})
    assert support.find_leaks(f"0x{secret}", {secret})
    assert not support.find_leaks("0x" + "ab" * 20, {secret})


def test_known_secrets_include_the_vectors_keys():
    secrets = support.known_secrets()
    assert support.SDK_TEST_KEY[2:] in secrets
    assert len(secrets) >= 5  # the SDK, Rust, nktkas and generated keys of the vectors file


def test_no_private_key_reached_any_output_or_log():
    secrets = support.known_secrets()
    transcript = support.TRANSCRIPT
    assert transcript.exists(), "the suite recorded no CLI output at all"
    leaks = support.find_leaks(transcript.read_text(errors="replace"), secrets)
    assert not leaks, f"private keys found in test output: {leaks}"
    homes = Path(os.environ["PERPCLI_TEST_HOMES"])
    for path in homes.rglob("*"):
        if not path.is_file() or "keys" in path.relative_to(homes).parts or path.suffix == ".key":
            continue  # key files hold keys by design (keystores encrypted; the devnet demo key)
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        leaks = support.find_leaks(text, secrets)
        assert not leaks, f"private keys found in {path}: {leaks}"
