"""Money movements and API keys: transfer (perp <-> spot), send, withdraw, agent approve/list/revoke.

These are user-signed actions: only the account's own key may sign them (an agent key is
refused here, exit 4, before anything is signed). Each asks for confirmation (or --yes).
"""

from __future__ import annotations

import typer

from perpcli.cli.number_params import whole

agent_app = typer.Typer(help="Agent (API) keys that trade for your account.", no_args_is_help=True)


def _master_trading(precheck=None):
    """Session + trading side, refusing agent keys (they cannot sign transfers or approvals).
    `precheck(market_data)` validates input by the venue's rules before any key is read."""
    from perpcli.cli import venue_cmd
    from perpcli.domain.errors import AuthError

    s = venue_cmd.session()
    if precheck is not None:
        try:
            precheck(s.market)
        except BaseException:
            s.close()
            raise
    trading = s.trading()
    role = trading.resolve_account()
    if role.role != "user":
        s.close()
        raise AuthError(
            f"key {trading.signer_address} is an agent for {role.account} on {s.venue}; transfers, withdrawals"
            " and agent approvals must be signed by the account's own key"
        )
    return s, trading


def _run(what, build, precheck=None, *, action: str | None = None) -> None:
    """Build (and sign) the action, confirm it, send it. `what` is the confirmation text, or a
    function of the action's detail when the text needs values the venue checked. `action`
    names the result (`send`, `withdraw`) where the venue signs several under one kind."""
    import dataclasses

    from perpcli.app import actions
    from perpcli.cli import context, venue_cmd
    from perpcli.cli.commands.trade import _emit_action

    opts = context.current()
    s, trading = _master_trading(precheck)
    with s:
        prepared, detail = build(s, trading)
        if not opts.dry_run:
            venue_cmd.require_yes_or_confirm(what(detail) if callable(what) else what)
        out, reqs = actions.run_prepared(trading, prepared, dry_run=opts.dry_run, detail=detail)
    if action:
        out = dataclasses.replace(out, action=action)
    _emit_action(out, reqs)


def register(app: typer.Typer) -> None:
    @app.command("transfer", help="Move USDC between your perp and spot balances.")
    def transfer(
        amount: str = typer.Argument(..., help="USDC amount."),
        to: str = typer.Option(..., "--to", help="perp or spot"),
    ) -> None:
        from perpcli.app.order_plan import parse_decimal
        from perpcli.domain.errors import UsageError

        if to not in ("perp", "spot"):
            raise UsageError("--to must be perp or spot")
        amt = parse_decimal(amount, what="AMOUNT")

        def build(s, t):
            return t.prepare_transfer("usd_class", amt, to_perp=to == "perp"), {"amount": amt, "to": to}

        _run(f"move {amt} USDC to {to} on {_venue_name()}", build)

    @app.command("send", help="Send USDC from your perp balance to another address.")
    def send(
        destination: str = typer.Argument(..., help="0x address."),
        amount: str = typer.Argument(..., help="USDC amount."),
    ) -> None:
        from perpcli.app.order_plan import parse_decimal

        amt = parse_decimal(amount, what="AMOUNT")

        def build(s, t):
            dest = s.market.check_address(destination, what="destination")
            return t.prepare_transfer("usd_send", amt, destination=dest), {"amount": amt, "destination": dest}

        _run(lambda d: f"send {amt} USDC to {d['destination']} on {_venue_name()}", build,
             precheck=lambda md: md.check_address(destination, what="destination"), action="send")

    @app.command("withdraw", help="Withdraw USDC to Arbitrum (venue fee applies).")
    def withdraw(
        amount: str = typer.Argument(..., help="USDC amount."),
        to: str = typer.Option(None, "--to", help="Destination address (default: your own)."),
    ) -> None:
        from perpcli.app.order_plan import parse_decimal

        amt = parse_decimal(amount, what="AMOUNT")

        def build(s, t):
            dest = s.market.check_address(to, what="--to") if to else t.account_address
            detail = {"amount": amt, "destination": dest}
            fee = s.market.capabilities.withdraw_fee
            if fee:
                detail["fee"] = parse_decimal(fee, what="fee")
                detail["arrives"] = amt - detail["fee"]
            return t.prepare_transfer("withdraw", amt, destination=dest), detail

        def what(d) -> str:
            fee = (f" (venue fee {d['fee']} USDC: {d['arrives']} USDC arrives)" if "fee" in d
                   else " (the venue's withdrawal fee applies)")
            return f"withdraw {amt} USDC to {d['destination']} on {_venue_name()}{fee}"

        _run(what, build, precheck=(lambda md: md.check_address(to, what="--to")) if to else None,
             action="withdraw")

    app.add_typer(agent_app, name="agent")


def _venue_name() -> str:
    from perpcli.cli import context
    from perpcli.config import settings

    return context.current().venue or settings.current().get("default.venue")


@agent_app.command("approve", help="Create a new agent key NAME, store it encrypted, approve it for your account.")
def agent_approve(
    name: str = typer.Argument(..., help="Name for the key and the venue-side agent."),
    valid_days: int = typer.Option(
        None, "--valid-days", click_type=whole(1, 180), help="Expire after N days."
    ),
) -> None:
    import secrets
    import time

    from perpcli.app import actions
    from perpcli.cli import context, output, venue_cmd
    from perpcli.cli.commands.trade import _emit_action
    from perpcli.keys import store
    from perpcli.keys.signer import Signer

    store.check_name(name)
    if store.exists(name):
        from perpcli.domain.errors import UsageError

        raise UsageError(f"a key named {name!r} already exists; choose another name")
    opts = context.current()
    agent = Signer(secrets.token_bytes(32), name=name)
    until = time.time_ns() // 1_000_000 + valid_days * 86_400_000 if valid_days else None
    s, trading = _master_trading()
    with s:
        prepared = trading.prepare_approve_agent(agent.address, name, until)
        detail = {"name": name, "agent": agent.address, "account": trading.account_address, "valid_until": until}
        if opts.dry_run:
            _emit_action(*actions.run_prepared(trading, prepared, dry_run=True, detail=detail))
            return
        venue_cmd.require_yes_or_confirm(f"approve new agent {agent.address} ({name}) to trade for "
                                         f"{trading.account_address}")
        _save_agent_key(name, agent, master=trading.account_address, venue=s.venue)
        out, reqs = actions.run_prepared(trading, prepared, dry_run=False, detail=detail)
    if out.status == "ok":
        output.info(f"agent {name} ({agent.address}) approved; trade with --account {name}")
    _emit_action(out, reqs)


def _save_agent_key(name: str, agent, *, master: str, venue: str) -> None:
    """Encrypt the agent key before it is approved: an approved key that was never saved is lost.
    The file records whom it trades for and where, so it never becomes the default key and is
    refused on another venue."""
    from perpcli.cli import context
    from perpcli.config import settings
    from perpcli.domain.errors import UsageError
    from perpcli.keys import keystore, sources, store

    pw = sources.get_passphrase(purpose=f"encrypt agent key {name!r}", confirm=True,
                                passphrase_file=context.current().passphrase_file, missing_exit_auth=False)
    if not pw:
        raise UsageError("the passphrase must not be empty")
    doc = keystore.encrypt(agent.export_private_key_bytes(), pw, address=agent.address,
                           scrypt_n=settings.current().get("keys.scrypt_n"))
    doc[store.BINDING_FIELD] = store.agent_binding(master, venue)
    store.write(name, doc)


@agent_app.command("list", help="Named agents approved for your account.")
def agent_list() -> None:
    from perpcli.cli import venue_cmd

    with venue_cmd.session() as s:
        t = s.reader()
        rows = [{"venue": s.venue, "account": t.account_address, "name": a.name, "address": a.address,
                 "valid_until": a.valid_until_ms} for a in t.agents()]
    venue_cmd.emit_rows(rows, ["name", "address", "valid_until"])


@agent_app.command("revoke", help="Revoke the agent NAME (replaces it on the venue with a key nobody holds) "
                   "and archive its stored key to keys/.removed.")
def agent_revoke(name: str = typer.Argument(...)) -> None:
    import dataclasses
    import secrets

    from perpcli.cli import context, venue_cmd
    from perpcli.cli.commands.trade import _emit_action
    from perpcli.domain.errors import UsageError
    from perpcli.keys.signer import Signer

    opts = context.current()
    s, trading = _master_trading()
    with s:
        names = {a.name for a in trading.agents()}
        if name not in names:
            raise UsageError(f"no agent named {name!r} on {s.venue} (see `perp agent list`)")
        # The venue has no revoke: approving a fresh address under the same name replaces the old agent.
        burner = Signer(secrets.token_bytes(32)).address
        prepared = trading.prepare_approve_agent(burner, name, None)
        if not opts.dry_run:
            venue_cmd.require_yes_or_confirm(f"revoke agent {name}")
        from perpcli.app import actions

        out, reqs = actions.run_prepared(trading, prepared, dry_run=opts.dry_run, detail={"name": name,
                                                                                          "revoked": True})
    out = dataclasses.replace(out, action="agent_revoke")
    if out.status == "ok":
        archived = _archive_agent_key(name, trading.account_address)
        if archived:
            out.detail["archived_to"] = archived
    _emit_action(out, reqs)


def _archive_agent_key(name: str, master: str) -> str | None:
    """Move the revoked agent's stored key aside (keys/.removed): it can no longer sign for
    anyone, and a stale key beside the master only confuses key selection. Only a key stored as
    this master's agent is moved."""
    from perpcli.keys import store

    entry = next((e for e in store.list_keys() if e.name == name), None)
    if entry is None or entry.agent_for != master.lower():
        return None
    return str(store.remove(name))
