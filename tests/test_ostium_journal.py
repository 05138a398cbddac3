"""The broadcast journal: what a killed `perp` leaves for the next command to settle."""

from __future__ import annotations

import json

from perpcli.keys.signer import Signer
from perpcli.venues.ostium import calls
from perpcli.venues.ostium.journal import TxJournal
from perpcli.venues.ostium.transactions import Eip1559Tx, sign
from tests.support import REPO

KEY = json.loads((REPO / "tests" / "vectors" / "ostium_vectors.json").read_text())["test_account"]["private_key"]


def signed(nonce: int):
    tx = Eip1559Tx(chain_id=31337, nonce=nonce, max_priority_fee_per_gas=0, max_fee_per_gas=10**9, gas=100_000,
                   to="0x" + "11" * 20, data=calls.cancel_open_limit_order(5, nonce % 3))
    return sign(tx, Signer.from_hex(KEY))


def test_records_survive_and_are_forgotten_once_settled(tmp_path):
    signer_address = Signer.from_hex(KEY).address
    journal = TxJournal(31337, signer_address, directory=tmp_path)
    a, b = signed(1), signed(2)
    journal.record(a, "buy XAU")
    journal.record(b, "close XAU")
    later = TxJournal(31337, signer_address, directory=tmp_path)  # the next process
    assert [s.hash_hex for s in later.unsettled()] == [a.hash_hex, b.hash_hex]
    assert later.unsettled()[0].tx == a.tx and later.entries()[0]["label"] == "buy XAU"
    later.forget(a.hash_hex)
    assert [s.hash_hex for s in journal.unsettled()] == [b.hash_hex]
    later.forget(b.hash_hex)
    assert journal.unsettled() == [] and not journal.path.exists()


def test_a_torn_last_line_is_ignored(tmp_path):
    journal = TxJournal(31337, "0x" + "22" * 20, directory=tmp_path)
    journal.record(signed(3))
    with open(journal.path, "a") as f:
        f.write('{"hash": "0xab", "ra')  # killed mid-write: that broadcast never left
    assert len(journal.unsettled()) == 1


def test_the_journal_is_private(tmp_path):
    journal = TxJournal(31337, "0x" + "33" * 20, directory=tmp_path / "j")
    journal.record(signed(4))
    assert journal.path.stat().st_mode & 0o077 == 0 and (tmp_path / "j").stat().st_mode & 0o077 == 0
