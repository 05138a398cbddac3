"""A module-scoped `fakex` fixture: the fake venue served on loopback and plugged in through
its entry point, as a third-party venue would be. Test modules write
`fakex = fake_venue_fixture()` and open it with `registry.get_entry("fakex").config(url=FAKE_URL)`."""

from __future__ import annotations

import sys

import pytest

FAKE_URL = "fake://default"  # the fake venue's own default: no setting names a plugin's URL


def fake_venue_fixture(venue: str = "fakex"):
    @pytest.fixture(scope="module")
    def fakex(tmp_path_factory):
        from tests.fake_venue.exchange import RUNNING, FakeExchange
        from tests.fake_venue.server import FakeVenueServer
        from tests.test_venue_contract import install_plugin

        exchange = FakeExchange(venue=venue)
        server = FakeVenueServer(exchange).start()
        RUNNING[FAKE_URL] = (exchange, server.ws_url)
        plugin_dir = install_plugin(tmp_path_factory.mktemp("plugin"))
        yield exchange
        RUNNING.pop(FAKE_URL, None)
        server.stop()
        if str(plugin_dir) in sys.path:
            sys.path.remove(str(plugin_dir))

    return fakex
