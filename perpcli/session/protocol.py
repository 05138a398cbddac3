"""What travels over the session socket, and where the socket lives.

One request per connection: the client writes one JSON document and shuts its side down; the
agent answers with one JSON document and closes. The one exception is the feed (`perp watch`
attached to the session, session/feed.py): a connection that stays open, in length-prefixed
frames both ways. Its first byte tells them apart: a JSON request starts with "{", a frame with
the high byte of its length, which MAX_FRAME keeps at zero. Requests carry the command line as typed and
the bits of the client's environment that change what a command prints (terminal flags, colour
and width variables, PERPCLI_* settings) — never a key or a passphrase, which the client does
not have and the agent never sends.

Stdlib only, and no perpcli import: the thin client imports this module on every command.
"""

from __future__ import annotations

import json
import os
import socket
import struct

VERSION = 1
MAX_MESSAGE = 8 * 1024 * 1024  # a reply holds a command's whole stdout; refuse anything wilder

# Secrets the client never forwards: the agent holds its own unlocked key.
SECRET_ENV = ("PERPCLI_PRIVATE_KEY", "PERPCLI_PASSPHRASE")
# Variables outside PERPCLI_* that change how output is drawn (rich reads them).
DISPLAY_ENV = ("NO_COLOR", "FORCE_COLOR", "TERM", "COLORTERM", "COLUMNS", "LINES", "TZ")


def session_dir() -> str:
    """The agent's folder: PERPCLI_HOME/session, else the platform's state folder."""
    home = os.environ.get("PERPCLI_HOME")
    if home:
        return os.path.join(os.path.expanduser(home), "session")
    from platformdirs import user_state_dir  # only when PERPCLI_HOME is unset

    return os.path.join(user_state_dir("perpcli"), "session")


def socket_path() -> str:
    return os.path.join(session_dir(), "agent.sock")


def forwarded_env(environ: dict[str, str] | os._Environ) -> dict[str, str]:
    """The client's variables the agent must see to run the command as the client would."""
    return {k: v for k, v in environ.items()
            if (k.startswith("PERPCLI_") and k not in SECRET_ENV) or k in DISPLAY_ENV}


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a connected Unix socket (SO_PEERCRED)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid


def peer_allowed(uid: int, own_uid: int) -> bool:
    """Only the user who started the agent may use it (root included: it is not that user)."""
    return uid == own_uid


def encode(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


def read_all(sock: socket.socket) -> bytes:
    """Everything until the peer shuts its side down; refuses a message over MAX_MESSAGE."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_MESSAGE:
            raise ValueError("session message too large")
        chunks.append(chunk)


# ----- the feed's frames ----------------------------------------------------------------------
# A frame is a 4-byte big-endian length, then that many bytes: one kind byte and the body.
# FRAME_TEXT: a text frame exactly as the venue sent it (UTF-8); FRAME_JSON: a control document.
FRAME_TEXT = b"F"
FRAME_JSON = b"J"
MAX_FRAME = 8 * 1024 * 1024  # under 2**24: a frame's first byte is always 0, never "{"
_LENGTH = struct.Struct(">I")


def frame(kind: bytes, body: bytes) -> bytes:
    if len(body) + 1 > MAX_FRAME:
        raise ValueError("session frame too large")
    return _LENGTH.pack(len(body) + 1) + kind + body


def frame_length(header: bytes) -> int:
    """The length a frame header announces (kind byte and body); refuses anything over MAX_FRAME."""
    (size,) = _LENGTH.unpack(header)
    if not 1 <= size <= MAX_FRAME:
        raise ValueError("not a session frame")
    return size


HEADER_SIZE = _LENGTH.size


def is_framed(first_byte: bytes) -> bool:
    """A connection that starts with a frame (the feed), not a JSON request."""
    return first_byte == b"\0"


def decode(data: bytes) -> dict:
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise ValueError("not a perpcli session message of this version")
    return doc
