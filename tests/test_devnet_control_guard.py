"""The devnet's control endpoints against hostile callers: browsers, DNS rebinding, path tricks.

Every request here is written byte by byte on a raw loopback socket, so the tests control each
header exactly as a browser or an attacker would send it.
"""

from __future__ import annotations

import json
import os
import socket

import pytest

from perpcli.devnet.control_guard import control_refusal, is_loopback_name, split_host_header
from perpcli.devnet.server import DevnetConfig, start_in_thread

pytestmark = pytest.mark.timeout(60)

KEYSTORE = b'{"crypto": "the only copy of the user\'s key"}'


def raw_post(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    """One HTTP/1.1 request with exactly these headers; returns (status, body)."""
    lines = [f"POST {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
    lines += [f"Content-Length: {len(body)}", "Connection: close", "", ""]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall("\r\n".join(lines).encode() + body)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), rest


def json_headers(port: int, **extra: str) -> dict[str, str]:
    return {"Host": f"127.0.0.1:{port}", "Content-Type": "application/json", **extra}


@pytest.fixture
def stateful(tmp_path):
    state_dir = tmp_path / "devnet"
    state_dir.mkdir()
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, state_file=state_dir / "state.json"))
    try:
        yield handle, state_dir
    finally:
        handle.stop()


def port_of(handle) -> int:
    return handle.devnet.port


def test_a_browser_text_plain_post_cannot_overwrite_a_keystore(stateful, tmp_path):
    handle, _ = stateful
    keystore = tmp_path / "keystore.json"
    keystore.write_bytes(KEYSTORE)
    port = port_of(handle)
    body = json.dumps({"path": str(keystore)}).encode()
    # What a web page's <form enctype="text/plain"> or fetch(no-cors) sends: no preflight needed.
    status, _ = raw_post(port, "/devnet/save", body, {"Host": f"127.0.0.1:{port}", "Content-Type": "text/plain",
                                                       "Origin": "https://evil.example"})
    assert status in (403, 415)
    status, _ = raw_post(port, "/devnet/save", body, {"Host": f"127.0.0.1:{port}", "Content-Type": "text/plain"})
    assert status == 415
    assert keystore.read_bytes() == KEYSTORE


def test_origin_and_foreign_host_are_refused_even_with_json(stateful):
    handle, _ = stateful
    port = port_of(handle)
    fund = json.dumps({"user": "0x" + "12" * 20, "amount": "1"}).encode()
    assert raw_post(port, "/devnet/fund", fund, json_headers(port, Origin=f"http://127.0.0.1:{port}"))[0] == 403
    assert raw_post(port, "/devnet/fund", fund, json_headers(port, Origin="null"))[0] == 403
    # DNS rebinding: the browser thinks it talks to evil.example, which now resolves to 127.0.0.1.
    rebound = {"Host": f"evil.example:{port}", "Content-Type": "application/json"}
    assert raw_post(port, "/devnet/fund", fund, rebound)[0] == 403
    assert raw_post(port, "/devnet/fund", fund, {"Host": "127.0.0.1:1", "Content-Type": "application/json"})[0] == 403
    assert raw_post(port, "/devnet/fund", fund, {"Content-Type": "application/json"})[0] == 403  # no Host
    assert raw_post(port, "/devnet/status", b"{}", json_headers(port, Origin="https://evil.example"))[0] == 403
    # What a local program sends is still fine, under any loopback spelling.
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}"):
        status, data = raw_post(port, "/devnet/fund", fund, {"Host": host, "Content-Type": "application/json"})
        assert status == 200, (host, data)
    status, _ = raw_post(port, "/devnet/status", b"{}", json_headers(port, **{"Content-Type": "application/json; charset=utf-8"}))
    assert status == 200


def test_save_writes_only_the_state_file(stateful, tmp_path):
    handle, state_dir = stateful
    port = port_of(handle)
    state = state_dir / "state.json"
    victim = tmp_path / "keystore.json"
    victim.write_bytes(KEYSTORE)
    outside = [
        str(victim),
        str(state_dir / ".." / "keystore.json"),
        str(state_dir / "other.json"),  # inside the folder, but not the state file
        "keystore.json",  # relative to the devnet's working directory
    ]
    linked = tmp_path / "linked"
    linked.symlink_to(state_dir, target_is_directory=True)
    outside.append(str(linked / "state.json"))  # the same file reached through a symlinked folder
    for path in outside:
        status, data = raw_post(port, "/devnet/save", json.dumps({"path": path}).encode(), json_headers(port))
        assert status == 403, (path, data)
    assert victim.read_bytes() == KEYSTORE
    assert not (state_dir / "other.json").exists()
    for body in ({}, {"path": str(state)}, {"path": str(state_dir / "." / "state.json")}):
        status, data = raw_post(port, "/devnet/save", json.dumps(body).encode(), json_headers(port))
        assert status == 200, (body, data)
        assert json.loads(data)["path"] == str(state)
    assert json.loads(state.read_text())["version"] == 1


def test_save_never_writes_through_a_planted_symlink(stateful, tmp_path):
    """Another local user who can write the state folder plants symlinks at the names the save
    uses (the state file and its old fixed temp name); the save must replace them, not follow."""
    handle, state_dir = stateful
    port = port_of(handle)
    victim = tmp_path / "keystore.json"
    victim.write_bytes(KEYSTORE)
    (state_dir / "state.json.tmp").symlink_to(victim)
    (state_dir / "state.json").symlink_to(victim)
    status, data = raw_post(port, "/devnet/save", b"{}", json_headers(port))
    assert status == 200, data
    assert victim.read_bytes() == KEYSTORE
    state = state_dir / "state.json"
    assert not state.is_symlink() and json.loads(state.read_text())["version"] == 1
    assert os.stat(state).st_mode & 0o077 == 0  # private: the state names every account


def test_save_without_a_state_file_writes_nothing(tmp_path):
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0))
    try:
        port = handle.devnet.port
        target = tmp_path / "anywhere.json"
        status, _ = raw_post(port, "/devnet/save", json.dumps({"path": str(target)}).encode(), json_headers(port))
        assert status == 403
        assert not target.exists()
    finally:
        handle.stop()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("127.0.0.1:8787", ("127.0.0.1", 8787)),
        ("[::1]:8787", ("[::1]", 8787)),
        ("localhost", ("localhost", 80)),
        ("[::1]", ("[::1]", 80)),
        ("::1:8787", None),
        ("127.0.0.1:", None),
        ("127.0.0.1:99999999", None),
        ("", None),
    ],
)
def test_host_header_parsing(value, expected):
    assert split_host_header(value) == expected


def test_loopback_names():
    assert all(map(is_loopback_name, ["127.0.0.1", "127.9.9.9", "[::1]", "localhost", "LocalHost"]))
    assert not any(map(is_loopback_name, ["10.0.0.1", "0.0.0.0", "evil.example", "localhost.evil.example",
                                          "127.0.0.1.nip.io", "[::]"]))


def test_control_refusal_rules():
    ok = {"host": "127.0.0.1:9", "content-type": "application/json"}
    assert control_refusal(ok, 9) is None
    assert control_refusal({**ok, "origin": "http://127.0.0.1:9"}, 9)[0] == 403
    assert control_refusal({**ok, "host": "127.0.0.1:10"}, 9)[0] == 403
    assert control_refusal({**ok, "content-type": "application/x-www-form-urlencoded"}, 9)[0] == 415
    assert control_refusal({"host": "127.0.0.1:9"}, 9)[0] == 415


def test_a_state_file_that_cannot_be_written_is_a_clean_error(tmp_path, caplog, capsys):
    from tests.support import invoke

    missing = tmp_path / "no-such-folder" / "state.json"
    result = invoke(["devnet", "--port", "0", "--state", str(missing)], capsys)
    assert result.code == 2 and "does not exist" in result.err
    handle = start_in_thread(DevnetConfig(port=0, market_interval=0, state_file=missing))
    try:
        port = handle.devnet.port
        status, data = raw_post(port, "/devnet/save", b"{}", json_headers(port))
        assert status == 400 and "cannot write" in json.loads(data)["error"]
    finally:
        handle.devnet.config.state_file = None  # nothing to save on the way out
        handle.stop()
    assert not [r for r in caplog.records if r.exc_info]
