"""A venue a plugin registers (entry points, venues/registry.py) is configured as a built-in one
is: venues.<name>.url and .account, and the settings its VenueEntry declares, from the config
file and PERPCLI_VENUES_<NAME>_<KEY>, validated, with their source; a misspelled one is an error.
Built-in settings never pay for looking the plugins up."""

from __future__ import annotations

import importlib.metadata as md
import json
from decimal import Decimal

import pytest

from perpcli.app.portfolio import portfolio_venues
from perpcli.app.session import choose_venue
from perpcli.config.settings import Settings
from perpcli.domain.errors import ConfigError
from perpcli.venues import registry
from tests.support import invoke

DECLARED = (("depth", "int", 20, "Book levels to ask for."),
            ("fee_cap", "decimal", Decimal("0.5"), "Most fee in bp."),
            ("region", "str", "eu", "Which cluster."))


def plugin(settings=DECLARED) -> registry.VenueEntry:
    return registry.VenueEntry(
        name="fake-venue", factory="x:y",
        capabilities="perpcli.venues.hyperliquid.capabilities:hyperliquid_capabilities",
        capability_args=("fake-venue", "Fake", "testnet"), network="testnet", url="http://fake.default",
        settings=settings)


@pytest.fixture
def entry_points(monkeypatch):
    """The installed plugins: `installed["entry"]`; `installed["looked"]` counts the look-ups."""
    installed = {"entry": plugin(), "looked": 0}

    class EP:
        name = "fake-venue"

        def load(self):
            return lambda: installed["entry"]

    def points(group):
        installed["looked"] += 1
        return [EP()] if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(md, "entry_points", points)
    return installed


def load(tmp_path, text: str = "", env: dict | None = None) -> Settings:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return Settings.load(config_path=path, environ=env or {})


def test_a_plugin_venue_takes_its_url_account_and_declared_settings_from_file_and_environment(
        tmp_path, entry_points):
    s = load(tmp_path, '[venues.fake-venue]\nurl = "https://fake.example"\naccount = "main"\ndepth = 50\n'
                       'fee_cap = "0.25"\n', env={"PERPCLI_VENUES_FAKE_VENUE_REGION": "us"})
    assert (s.get("venues.fake-venue.depth"), s.get("venues.fake-venue.fee_cap")) == (50, Decimal("0.25"))
    assert s.get("venues.fake-venue.region") == "us"
    assert s.source("venues.fake-venue.region") == "env:PERPCLI_VENUES_FAKE_VENUE_REGION"
    assert s.source("venues.fake-venue.depth").startswith("file:")
    choice = choose_venue(s, venue="fake-venue")
    assert (choice.config.url, choice.account) == ("https://fake.example", "main")
    assert portfolio_venues(s) == ["fake-venue"]  # a plugin venue with an account is part of the book


def test_a_plugin_setting_nobody_set_reads_its_default(tmp_path, entry_points):
    s = load(tmp_path)
    assert entry_points["looked"] == 0  # nothing named a plugin setting: the plugins were not looked up
    assert s.get("venues.fake-venue.depth") == 20 and s.source("venues.fake-venue.depth") == "default"
    assert choose_venue(s, venue="fake-venue").config.url == "http://fake.default"
    with pytest.raises(KeyError):
        s.get("venues.fake-venue.nope")


@pytest.mark.parametrize(("text", "env", "message"), [
    ("[venues.fake-venue]\nnope = 1\n", {}, "unknown setting 'venues.fake-venue.nope'"),
    ("", {"PERPCLI_VENUES_FAKE_VENUE_NOPE": "1"}, "PERPCLI_VENUES_FAKE_VENUE_NOPE: unknown setting"),
    ("[venues.fake-venue]\ndepth = \"many\"\n", {}, "venues.fake-venue.depth: expected a whole number"),
    ("", {"PERPCLI_VENUES_FAKE_VENUE_FEE_CAP": "-1"}, "venues.fake-venue.fee_cap: expected a finite decimal"),
    ("[venues.other-venue]\nurl = \"https://x\"\n", {}, "unknown setting 'venues.other-venue.url'"),
])
def test_a_wrong_plugin_setting_is_refused_naming_it(tmp_path, entry_points, text, env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(tmp_path, text, env)


@pytest.mark.parametrize(("declared", "message"), [
    ((("depth", "float", 1.0, "x"),), "setting 'depth' of kind 'float' is not one"),
    ((("a.b", "int", 1, "x"),), "setting 'a.b' of kind 'int' is not one"),
    ((("url", "url", "http://x", "x"),), "setting 'url' is declared twice"),
    ((("depth", "int", "many", "x"),), "venue plugin 'fake-venue' default: venues.fake-venue.depth"),
    ((("depth", "int"),), "a setting must be \\(key, kind, default, doc\\)"),
])
def test_a_plugin_declaring_a_setting_wrongly_is_named(tmp_path, entry_points, declared, message):
    entry_points["entry"] = plugin(declared)
    with pytest.raises(ConfigError, match=message):
        load(tmp_path, "[venues.fake-venue]\naccount = \"main\"\n")


def test_built_in_settings_and_their_misspellings_never_look_the_plugins_up(tmp_path, entry_points):
    s = load(tmp_path, '[venues.devnet]\nurl = "http://127.0.0.1:9999"\n',
             env={"PERPCLI_VENUES_OSTIUM_DEVNET_PRICE_URL": "http://127.0.0.1:1/p"})
    assert s.get("venues.devnet.url") == "http://127.0.0.1:9999"
    with pytest.raises(KeyError):
        s.get("venues.aster.builder")  # a built-in venue without that setting: no look-up
    with pytest.raises(ConfigError, match="unknown setting 'venues.devnet.urll'"):
        load(tmp_path, '[venues.devnet]\nurll = "http://x"\n')
    assert entry_points["looked"] == 0


def test_config_show_lists_a_plugin_venues_settings(perpcli_home, entry_points, capsys, monkeypatch):
    monkeypatch.setenv("PERPCLI_VENUES_FAKE_VENUE_DEPTH", "5")
    r = invoke(["--json", "config", "show"], capsys, monkeypatch=monkeypatch)
    assert r.code == 0, r.err
    rows = {row["key"]: row for row in json.loads(r.out)["settings"]}
    assert rows["venues.fake-venue.depth"]["value"] == 5
    assert rows["venues.fake-venue.depth"]["source"] == "env:PERPCLI_VENUES_FAKE_VENUE_DEPTH"
    assert rows["venues.fake-venue.region"]["value"] == "eu" and "venues.fake-venue.url" in rows
