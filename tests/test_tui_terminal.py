"""`perp demo` in a real pseudo-terminal: the live app starts on the in-process devnet, shows
the streamed book, quits on `q` with exit 0, and leaves the terminal as it found it (alternate
screen left, cursor shown, mouse reporting off)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

from perpcli.devnet.ostium.anvil import anvil_binary
from tests.support import REPO, record, register_secret


def read_until(fd: int, needle: bytes, buf: bytearray, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return needle in buf
            if not chunk:
                return needle in buf
            buf.extend(chunk)
            if needle in buf:
                return True
    return needle in buf


def test_demo_runs_in_a_terminal_and_quits_cleanly():
    master, slave = pty.openpty()
    os.set_blocking(master, True)
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="140", LINES="40")
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 140, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "perpcli", "demo", "--port", "0"], stdin=slave, stdout=slave,
                            stderr=slave, cwd=str(REPO), env=env, close_fds=True, start_new_session=True)
    os.close(slave)
    out = bytearray()
    try:
        # The demo shows both devnet faces: the status line has one health badge per venue.
        assert read_until(master, b"aster-devnet", out, 30), "the Aster face never showed"
        assert read_until(master, b"mid ", out, 20), "no book was drawn"
        if anvil_binary() is not None:  # the demo's Ostium chain: its tab and health badge too
            assert read_until(master, b"ostium-devnet", out, 20), "the Ostium tab never showed"
        os.write(master, b"q")
        # Keep reading while it exits: a full pty buffer would block the app's last repaint.
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            read_until(master, b"\x00never", out, 0.2)
        assert proc.wait(1) == 0
        read_until(master, b"\x00never", out, 1.0)  # drain what is left
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        os.close(master)
        record("perp demo (pty)", out[-4000:])
    tail = bytes(out[out.rfind(b"\x1b[?1049h"):])
    assert b"\x1b[?1049l" in tail  # back from the alternate screen
    assert b"\x1b[?25h" in tail  # cursor visible again
    assert b"\x1b[?1000l" in tail  # mouse reporting off
    assert b"Traceback" not in out
    # The demo key never reaches the screen (and the suite's leak check now knows it too).
    from perpcli.cli.demo_setup import demo_key_path

    key = next(ln for ln in demo_key_path().read_text().splitlines() if ln and not ln.startswith("#"))
    register_secret(key)
    assert key.lower().removeprefix("0x").encode() not in bytes(out).lower()
