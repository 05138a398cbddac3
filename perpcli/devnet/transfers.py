"""Transfers for the devnet engine: usdClassTransfer (perp <-> spot USDC), usdSend, spotSend,
withdraw3, and the devnet's faucets. Every movement leaves a ledger row (userNonFundingLedgerUpdates).

A mixin of `Engine`. What may leave the perp balance is the ledger's withdrawable (cross value
minus max(initial margin incl. resting orders, 10% of notional)).
"""

from __future__ import annotations

from decimal import Decimal
from hashlib import blake2b

from perpcli.devnet import margin_rules as mr
from perpcli.devnet.accounts import Account
from perpcli.devnet.amounts import ZERO
from perpcli.devnet.errors import Errors
from perpcli.devnet.records import ActionError, LedgerUpdate, UserLedger


class EngineTransfers:
    """Balance movements between perp, spot and other users; mixed into Engine."""


    def usd_class_transfer(self, user: str, usdc: Decimal, to_perp: bool, now_ms: int) -> None:
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        if not usdc.is_finite() or usdc <= 0:
            raise ActionError(Errors.AMOUNT)
        if to_perp:
            if self.spot_free(acct, "USDC") < usdc:
                raise ActionError(Errors.TRANSFER_BALANCE)
            acct.spot["USDC"] = acct.spot.get("USDC", ZERO) - usdc
            acct.usdc += usdc
        else:
            if self._withdrawable(acct) < usdc:
                raise ActionError(Errors.TRANSFER_BALANCE)
            acct.usdc -= usdc
            acct.spot["USDC"] = acct.spot.get("USDC", ZERO) + usdc
        self._ledger(acct, "accountClassTransfer", usdc, (("toPerp", to_perp),))
        self._flush()

    def usd_send(self, user: str, destination: str, usdc: Decimal, now_ms: int) -> None:
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        if not usdc.is_finite() or usdc <= 0:
            raise ActionError(Errors.AMOUNT)
        if self._withdrawable(acct) < usdc:
            raise ActionError(Errors.TRANSFER_BALANCE)
        dest = self._account(destination.lower(), now_ms, auto=False)  # holds what was sent
        acct.usdc -= usdc
        dest.usdc += usdc
        details = (("user", acct.address), ("destination", dest.address), ("fee", ZERO))
        self._ledger(acct, "internalTransfer", usdc, details)
        self._ledger(dest, "internalTransfer", usdc, details)
        self._flush()

    def spot_send(
        self, user: str, destination: str, token: str, amount: Decimal, now_ms: int, nonce: int | None = None
    ) -> None:
        """spotSend: move a spot token balance (by token name, e.g. "USDC", "PURR") to another user.
        `nonce` is the action's, which the venue shows on both ledger rows."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        if not amount.is_finite() or amount <= 0 or self.markets.spot_token_by_name(token) is None:
            raise ActionError(Errors.AMOUNT)
        if self.spot_free(acct, token) < amount:  # what open orders hold cannot leave
            raise ActionError(Errors.TRANSFER_BALANCE)
        dest = self._account(destination.lower(), now_ms, auto=False)  # holds what was sent
        acct.spot[token] = acct.spot[token] - amount
        dest.spot[token] = dest.spot.get(token, ZERO) + amount
        details = (
            ("token", token),
            ("amount", amount),
            ("usdcValue", self._usdc_value(token, amount)),
            ("user", acct.address),
            ("destination", dest.address),
            ("fee", ZERO),
            ("nativeTokenFee", ZERO),
            ("nonce", nonce),
            ("feeToken", ""),
        )
        self._ledger(acct, "spotTransfer", ZERO, details)
        self._ledger(dest, "spotTransfer", ZERO, details)
        self._flush()

    def _usdc_value(self, token: str, amount: Decimal) -> Decimal:
        """What `amount` of a spot token is worth in USDC at its pair's mid (0 when unpriced)."""
        if token == "USDC":
            return amount
        tok = self.markets.spot_token_by_name(token)
        mids = self.all_mids("")
        for pair in self.markets.spot_pairs:
            if tok is not None and pair.base == tok.index and pair.name in mids:
                return (amount * mids[pair.name]).quantize(Decimal("0.000001"))
        return ZERO

    def fund_spot(self, user: str, token: str, amount: Decimal, now_ms: int) -> None:
        """Credit a spot token balance (devnet faucet for spot tokens)."""
        self._advance(now_ms)
        if not amount.is_finite() or amount <= 0 or self.markets.spot_token_by_name(token) is None:
            raise ActionError(Errors.AMOUNT)
        acct = self._account(user, now_ms, auto=False)
        acct.spot[token] = acct.spot.get(token, ZERO) + amount
        self._buf_accounts[acct.address] = None
        self._flush()

    def withdraw(self, user: str, destination: str, usdc: Decimal, now_ms: int) -> None:
        """withdraw3: the amount leaves the perp balance; the bridge fee is taken out of it."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        if not usdc.is_finite() or usdc <= self.config.withdraw_fee:
            raise ActionError(Errors.AMOUNT)
        if self._withdrawable(acct) < usdc:
            raise ActionError(Errors.WITHDRAW_BALANCE)
        acct.usdc -= usdc
        self._ledger(
            acct, "withdraw", usdc, (("nonce", now_ms), ("fee", self.config.withdraw_fee), ("destination", destination.lower()))
        )
        self._flush()

    def send_asset(
        self,
        user: str,
        destination: str,
        source_dex: str,
        destination_dex: str,
        token: str,
        amount: Decimal,
        now_ms: int,
        nonce: int | None = None,
    ) -> None:
        """sendAsset: move `token` between the user's perp dexs and spot (`""` = default perp
        dex, a builder dex name, or `"spot"`), to the user or to another one. Each perp dex
        holds its own collateral, so only the collateral token enters or leaves a perp dex,
        and what leaves it is bounded by that dex's withdrawable. Both sides log a `send` row."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        for dex in (source_dex, destination_dex):
            if dex != "spot" and self.markets.dex_by_name(dex) is None:
                raise ActionError(Errors.INVALID_DEX.format(dex=dex))
        if not amount.is_finite() or amount <= 0 or self.markets.spot_token_by_name(token) is None:
            raise ActionError(Errors.AMOUNT)
        collateral = self.markets.spot_tokens[self.markets.collateral_token].name
        if token != collateral and (source_dex != "spot" or destination_dex != "spot"):
            raise ActionError(Errors.SEND_NOT_COLLATERAL)
        if source_dex == "spot":
            if self.spot_free(acct, token) < amount:
                raise ActionError(Errors.TRANSFER_BALANCE)
        elif self._withdrawable(acct, source_dex) < amount:
            raise ActionError(Errors.TRANSFER_BALANCE)
        dest = self._account(destination.lower(), now_ms, auto=False)  # holds what was sent
        if source_dex == "spot":
            acct.spot[token] -= amount
        else:
            self._dex_wallet(acct, source_dex).usdc -= amount
        if destination_dex == "spot":
            dest.spot[token] = dest.spot.get(token, ZERO) + amount
        else:
            self._dex_wallet(dest, destination_dex).usdc += amount
        details = (
            ("user", acct.address),
            ("destination", dest.address),
            ("sourceDex", source_dex),
            ("destinationDex", destination_dex),
            ("token", token),
            ("amount", amount),
            ("usdcValue", amount if token == collateral else ZERO),
            ("fee", ZERO),
            ("nativeTokenFee", ZERO),
            ("nonce", now_ms if nonce is None else nonce),
            ("feeToken", ""),
        )
        self._ledger(acct, "send", amount if token == collateral else ZERO, details)
        if dest is not acct:
            self._ledger(dest, "send", amount if token == collateral else ZERO, details)
        self._flush()

    def _withdrawable(self, acct: Account, dex: str = "") -> Decimal:
        return mr.withdrawable(self._summary(acct, dex), self._balance(acct, dex)[1])

    def _ledger(self, acct: Account, kind: str, usdc: Decimal, details) -> None:
        self._seq += 1
        h = "0x" + blake2b(b"ledger%d" % self._seq, digest_size=32).hexdigest()
        upd = LedgerUpdate(acct.address, self.now_ms, h, kind, usdc, tuple(details))
        acct.ledger.append(upd)
        if len(acct.ledger) > (acct.history_limit or self.config.history_limit):
            del acct.ledger[0]
        self._events.append(UserLedger(acct.address, upd))
        self._buf_accounts[acct.address] = None
