"""`perp keys ...`: create, import, list and remove encrypted signing keys.

Private keys are read from a hidden prompt or stdin, never from argv. Only names and
addresses are ever printed.
"""

from __future__ import annotations

import sys

import typer

keys_app = typer.Typer(help="Manage encrypted signing keys (keystore v3 files).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(keys_app, name="keys")


def _opts():
    from perpcli.cli import context

    return context.current()


def _new_passphrase(name: str) -> str:
    from perpcli.domain.errors import UsageError
    from perpcli.keys import sources

    pw = sources.get_passphrase(
        purpose=f"encrypt key {name!r}", confirm=True, passphrase_file=_opts().passphrase_file,
        missing_exit_auth=False,
    )
    if not pw:
        raise UsageError("the passphrase must not be empty")
    return pw


def _save(name: str, secret: bytes, address: str) -> None:
    from perpcli.cli import output
    from perpcli.config import settings
    from perpcli.keys import keystore, store

    store.check_name(name)
    if store.exists(name):
        from perpcli.domain.errors import UsageError

        raise UsageError(f"a key named {name!r} already exists; choose another name or remove it first")
    passphrase = _new_passphrase(name)
    doc = keystore.encrypt(secret, passphrase, address=address, scrypt_n=settings.current().get("keys.scrypt_n"))
    path = store.write(name, doc)
    if _opts().json:
        output.emit_json({"name": name, "address": address, "path": str(path)})
    else:
        sys.stdout.write(f"{address}\n")
        output.info(f"saved key {name!r} ({address}) to {path}")


@keys_app.command("new", help="Create a new random key, stored encrypted under NAME.")
def new(name: str = typer.Argument(..., help="A name for the key, e.g. 'trading'.")) -> None:
    from coincurve import PrivateKey  # key generation: OS randomness via libsecp256k1

    from perpcli.keys import store
    from perpcli.keys.process_guard import protect_key_material
    from perpcli.keys.signer import Signer

    store.check_name(name)
    protect_key_material()
    secret = PrivateKey().secret
    _save(name, secret, Signer(secret).address)


@keys_app.command("import", help="Import a private key (hex) from a hidden prompt or from stdin.")
def import_key(name: str = typer.Argument(..., help="A name for the key.")) -> None:
    from perpcli.domain.errors import UsageError
    from perpcli.keys import store
    from perpcli.keys.process_guard import protect_key_material
    from perpcli.keys.signer import Signer

    store.check_name(name)
    protect_key_material()  # the hex key is about to be in this process's memory
    if sys.stdin.isatty():
        import getpass

        raw = getpass.getpass("Private key (hex, hidden): ")
    else:
        raw = sys.stdin.readline()
    if not raw.strip():
        raise UsageError("no private key given (type it at the hidden prompt or pipe it on stdin)")
    signer = Signer.from_hex(raw)
    del raw
    _save(name, signer.export_private_key_bytes(), signer.address)


@keys_app.command("import-keystore", help="Import an existing keystore v3 JSON file (geth, Foundry, MetaMask).")
def import_keystore(
    name: str = typer.Argument(..., help="A name for the key."),
    file: str = typer.Argument(..., help="Path to the keystore JSON file."),
) -> None:
    from pathlib import Path

    from perpcli.cli import output
    from perpcli.domain.errors import AuthError, UsageError
    from perpcli.keys import files, keystore, sources, store
    from perpcli.keys.signer import Signer

    store.check_name(name)
    if store.exists(name):
        raise UsageError(f"a key named {name!r} already exists; choose another name or remove it first")
    text = files.read_utf8(Path(file).expanduser(), what="keystore file")
    doc = keystore.parse(text, source=file)
    passphrase = sources.get_passphrase(purpose=f"unlock {file}", passphrase_file=_opts().passphrase_file)
    signer = Signer(keystore.decrypt(doc, passphrase, source=file))
    declared = keystore.address_of(doc)
    if declared and declared != signer.address:
        raise AuthError(f"{file}: keystore declares {declared} but its key is {signer.address}")
    doc["address"] = signer.address.removeprefix("0x")
    path = store.write(name, doc)
    if _opts().json:
        output.emit_json({"name": name, "address": signer.address, "path": str(path)})
    else:
        sys.stdout.write(f"{signer.address}\n")
        output.info(f"imported key {name!r} ({signer.address}) to {path}")


@keys_app.command("list", help="List stored keys: names and addresses only.")
def list_keys() -> None:
    import os

    from perpcli.cli import output
    from perpcli.keys import sources, store

    rows = [{"name": e.name, "address": e.address, "source": "keystore", "path": str(e.path),
             "agent_for": e.agent_for, "venue": e.venue} for e in store.list_keys()]
    if os.environ.get(sources.ENV_KEY) is not None:
        env = sources.env_signer()
        rows.append({"name": sources.ENV_KEY, "address": env.address if env else None, "source": "env", "path": None,
                     "agent_for": None, "venue": None})
    if _opts().json:
        output.emit_json(rows)
    elif rows:
        output.emit_table(rows, ["name", "address", "source", "agent_for", "venue"])
    else:
        output.info("no keys yet: create one with `perp keys new NAME`")


@keys_app.command("address", help="Print the address of the key NAME.")
def address(name: str = typer.Argument(...)) -> None:
    from perpcli.cli import output
    from perpcli.domain.errors import AuthError
    from perpcli.keys import keystore, store

    doc = store.read(name)
    addr = keystore.address_of(doc)
    if addr is None:
        raise AuthError(f"key {name!r} does not declare its address; re-import it with `perp keys import-keystore`")
    if _opts().json:
        output.emit_json({"name": name, "address": addr})
    else:
        sys.stdout.write(addr + "\n")


@keys_app.command("remove", help="Remove the key NAME (moved aside to keys/.removed, not destroyed).")
def remove(name: str = typer.Argument(...)) -> None:
    from perpcli.cli import output
    from perpcli.cli.prompts import confirm
    from perpcli.keys import store

    store.check_name(name)
    if not store.exists(name):
        from perpcli.domain.errors import UsageError

        raise UsageError(f"no key named {name!r} (see `perp keys list`)")
    confirm(f"Remove key {name!r}? Funds held by its address need this key.", action=f"remove key {name!r}")
    dest = store.remove(name)
    if _opts().json:
        output.emit_json({"name": name, "removed": True, "moved_to": str(dest)})
    else:
        output.info(f"removed key {name!r}; the encrypted file was moved to {dest} (delete it to destroy the key)")


@keys_app.command(
    "reset-nonce",
    help="Reset a key's nonce state that a clock jump left far in the future (NAME or 0x-address).",
)
def reset_nonce(name: str = typer.Argument(..., help="A stored key's name, or a signer address.")) -> None:
    from perpcli.cli import output
    from perpcli.cli.prompts import confirm
    from perpcli.domain.errors import AuthError, UsageError
    from perpcli.keys import keystore, store
    from perpcli.keys.nonces import MicrosecondNonceAllocator, NonceAllocator

    if name.startswith("0x") and len(name) == 42:
        try:
            alloc = NonceAllocator(name)
        except ValueError:
            raise UsageError(f"{name!r} is not an address (0x followed by 40 hex digits)") from None
    else:
        address = keystore.address_of(store.read(name))  # the address only: nothing is decrypted
        if address is None:
            raise AuthError(f"key {name!r} does not declare its address; pass the signer address instead")
        alloc = NonceAllocator(address)
    confirm(f"Reset the nonce state of {alloc.address} to this computer's clock?",
            action=f"reset the nonce state of {alloc.address}")
    old, new, changed = alloc.reset()
    # the same key's microsecond state (Aster) is kept apart; a clock jump pushes it ahead too
    us_old, us_new, us_changed = MicrosecondNonceAllocator(alloc.address).reset()
    if _opts().json:
        output.emit_json({"address": alloc.address, "previous_last_nonce": old, "last_nonce": new,
                          "reset": changed, "microseconds": {"previous_last_nonce": us_old,
                                                             "last_nonce": us_new, "reset": us_changed}})
        return
    if us_changed:
        before = "unreadable" if us_old is None else str(us_old)
        output.info(f"reset the microsecond nonce state of {alloc.address}: last nonce {before} -> {us_new} (now)")
    if changed:
        before = "unreadable" if old is None else str(old)
        output.info(f"reset the nonce state of {alloc.address}: last nonce {before} -> {new} (now)")
    elif not us_changed:
        output.info(f"nothing to reset: the last nonce of {alloc.address} ({new}) is not far ahead "
                    "of the clock")
