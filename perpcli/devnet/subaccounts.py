"""Sub-accounts, referral codes, builder rewards and isolated-only top-ups for the devnet engine.

A mixin of `Engine`. A sub-account is an account of its own (balances, positions, orders,
histories) whose master may act for it: the master signs with `vaultAddress` set to the
sub-account, and moves perp USDC in and out with `subAccountTransfer`. Its address is a hash
of (master, creation sequence), as the venue derives one the master cannot choose. Referral
codes follow the venue's stages: a user must trade before registering a code, and a user may
be referred once, by someone else's code.
"""

from __future__ import annotations

from decimal import Decimal
from hashlib import blake2b

from perpcli.devnet.amounts import ZERO
from perpcli.devnet.errors import Errors
from perpcli.devnet.records import ActionError

MAX_SUB_ACCOUNTS = 10
REFERRER_VOLUME = Decimal(10_000)  # traded volume before a user may create a referral code
_MICRO = Decimal("0.000001")


class EngineSubAccounts:
    """Sub-accounts (name, address, master), referral codes, builder rewards and
    `topUpIsolatedOnlyMargin`."""

    # -- sub-accounts --------------------------------------------------------------------------

    def create_sub_account(self, master: str, name: str, now_ms: int) -> str:
        """The `createSubAccount` action: a new empty account the master acts for; its address."""
        self._advance(now_ms)
        master = master.lower()
        if master in self._sub_master:
            raise ActionError(Errors.SUB_OF_SUB)
        name = name.strip()
        if not name or len(name) > 16:
            raise ActionError(Errors.SUB_NAME)
        subs = self._subs.setdefault(master, [])
        if any(n == name for n, _ in subs):
            raise ActionError(Errors.SUB_NAME_TAKEN)
        if len(subs) >= MAX_SUB_ACCOUNTS:
            raise ActionError(Errors.SUB_TOO_MANY)
        self._seq += 1
        address = "0x" + blake2b(b"sub:%s:%d" % (master.encode(), self._seq), digest_size=20).hexdigest()
        subs.append((name, address))
        self._sub_master[address] = master
        self._account(address, now_ms, auto=False)
        self._flush()
        return address

    def sub_accounts_of(self, master: str) -> list[tuple[str, str]]:
        """(name, address) of the master's sub-accounts, oldest first."""
        return list(self._subs.get(master.lower(), ()))

    def master_of(self, address: str) -> str | None:
        """The master of a sub-account, or None for any other address."""
        return self._sub_master.get(address.lower())

    def sub_account_transfer(self, master: str, sub: str, is_deposit: bool, usd_micros: int, now_ms: int) -> None:
        """`subAccountTransfer`: move perp USDC (in millionths, as the action carries it)
        between the master and one of its sub-accounts, bounded by the sender's withdrawable."""
        self._advance(now_ms)
        master, sub = master.lower(), sub.lower()
        if self._sub_master.get(sub) != master:
            raise ActionError(Errors.SUB_NOT_YOURS)
        usdc = Decimal(usd_micros) * _MICRO
        if usdc <= 0:
            raise ActionError(Errors.AMOUNT)
        source, dest = (self._account(master, now_ms), self._accounts[sub])
        if not is_deposit:
            source, dest = dest, source
        if self._withdrawable(source) < usdc:
            raise ActionError(Errors.TRANSFER_BALANCE)
        source.usdc -= usdc
        dest.usdc += usdc
        details = (("user", source.address), ("destination", dest.address))
        self._ledger(source, "subAccountTransfer", usdc, details)
        self._ledger(dest, "subAccountTransfer", usdc, details)
        self._flush()

    def sub_account_spot_transfer(
        self, master: str, sub: str, is_deposit: bool, token: str, amount: Decimal, now_ms: int
    ) -> None:
        """`subAccountSpotTransfer`: move a spot token between the master and its sub-account."""
        self._advance(now_ms)
        master, sub = master.lower(), sub.lower()
        if self._sub_master.get(sub) != master:
            raise ActionError(Errors.SUB_NOT_YOURS)
        if not amount.is_finite() or amount <= 0 or self.markets.spot_token_by_name(token) is None:
            raise ActionError(Errors.AMOUNT)
        source, dest = self._account(master, now_ms), self._accounts[sub]
        if not is_deposit:
            source, dest = dest, source
        if self.spot_free(source, token) < amount:
            raise ActionError(Errors.TRANSFER_BALANCE)
        source.spot[token] -= amount
        dest.spot[token] = dest.spot.get(token, ZERO) + amount
        details = (("token", token), ("amount", amount), ("user", source.address), ("destination", dest.address))
        self._ledger(source, "spotTransfer", ZERO, details)
        self._ledger(dest, "spotTransfer", ZERO, details)
        self._flush()

    # -- referrals -----------------------------------------------------------------------------

    def register_referrer(self, user: str, code: str, now_ms: int) -> None:
        """`registerReferrer`: claim a referral code (after enough traded volume)."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        code = code.strip().upper()
        if not code or len(code) > 20 or not code.isalnum():
            raise ActionError(Errors.REFERRAL_CODE_INVALID)
        if acct.cum_volume < REFERRER_VOLUME:
            raise ActionError(Errors.REFERRER_VOLUME.format(req=REFERRER_VOLUME))
        if acct.address in self._referral_codes.values():
            raise ActionError(Errors.REFERRER_HAS_CODE)
        if code in self._referral_codes:
            raise ActionError(Errors.REFERRAL_CODE_TAKEN)
        self._referral_codes[code] = acct.address
        self._flush()

    def set_referrer(self, user: str, code: str, now_ms: int) -> None:
        """`setReferrer`: be referred by the owner of `code`, once, and never by oneself."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        code = code.strip().upper()
        referrer = self._referral_codes.get(code)
        if referrer is None:
            raise ActionError(Errors.REFERRAL_CODE_UNKNOWN)
        if referrer == acct.address:
            raise ActionError(Errors.REFERRAL_SELF)
        if acct.address in self._referred_by:
            raise ActionError(Errors.REFERRAL_ALREADY)
        self._referred_by[acct.address] = (referrer, code, now_ms)
        self._flush()

    def referral_code_of(self, user: str) -> str | None:
        user = user.lower()
        return next((c for c, owner in self._referral_codes.items() if owner == user), None)

    def referred_by(self, user: str) -> tuple[str, str] | None:
        """(referrer, code) that referred `user`, or None."""
        row = self._referred_by.get(user.lower())
        return None if row is None else (row[0], row[1])

    def referrals_of(self, referrer: str) -> list[tuple[str, int]]:
        """(user, time joined) of everyone `referrer` referred."""
        referrer = referrer.lower()
        return [(u, t) for u, (r, _c, t) in self._referred_by.items() if r == referrer]

    # -- builder rewards -----------------------------------------------------------------------

    def credit_builder(self, builder: str, fee: Decimal) -> None:
        """A fill paid `fee` to `builder`: it accrues as the builder's unclaimed reward (the
        venue pays builders through the referral reward claim, not straight into the account)."""
        row = self._builder_rewards.get(builder)
        if row is None:
            row = self._builder_rewards[builder] = [ZERO, ZERO]
        row[0] += fee
        row[1] += fee

    def builder_rewards(self, user: str) -> tuple[Decimal, Decimal]:
        """(builder fees earned all time, builder fees not yet claimed) of `user`."""
        earned, unclaimed = self._builder_rewards.get(user.lower(), (ZERO, ZERO))
        return earned, unclaimed

    def claimed_rewards(self, user: str) -> Decimal:
        return self._claimed_rewards.get(user.lower(), ZERO)

    def claim_rewards(self, user: str, now_ms: int) -> Decimal:
        """`claimRewards`: every unclaimed reward into the perp balance, one `rewardsClaim` row."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        row = self._builder_rewards.get(acct.address)
        amount = row[1] if row is not None else ZERO
        if amount <= 0:
            raise ActionError(Errors.NO_REWARDS)
        row[1] = ZERO
        acct.usdc += amount
        self._claimed_rewards[acct.address] = self.claimed_rewards(acct.address) + amount
        self._ledger(acct, "rewardsClaim", amount, (("amount", amount),))
        self._flush()
        return amount

    # -- isolated-only margin ------------------------------------------------------------------

    def top_up_isolated_only_margin(self, user: str, asset: int, leverage: Decimal, now_ms: int) -> None:
        """`topUpIsolatedOnlyMargin`: add margin to an isolated position until its margin
        backs it at `leverage` (notional at the mark / leverage); never removes margin."""
        self._advance(now_ms)
        acct = self._account(user, now_ms)
        m = self.markets.perp_by_asset(asset)
        if m is None:
            raise ActionError(Errors.INVALID_ASSET)
        pos = acct.positions.get(m.name)
        if pos is None or pos.is_cross:
            raise ActionError(Errors.NO_ISOLATED_POSITION)
        if not leverage.is_finite() or leverage < 1 or leverage > m.max_leverage:
            raise ActionError(Errors.LEVERAGE)
        ntl = abs(pos.szi) * self._mark[m.name]
        need = ntl / leverage - (pos.iso_margin + self._upnl(pos))
        need = max(need, ZERO).quantize(_MICRO)
        if need > 0:
            self.update_isolated_margin(user, asset, need, now_ms)
        else:
            self._flush()

    def sub_state_json(self) -> dict:
        return {
            "subs": {m: [list(s) for s in subs] for m, subs in self._subs.items()},
            "referral_codes": dict(self._referral_codes),
            "referred_by": {u: list(row) for u, row in self._referred_by.items()},
            "builder_rewards": {b: [str(e), str(u)] for b, (e, u) in self._builder_rewards.items()},
            "claimed_rewards": {u: str(v) for u, v in self._claimed_rewards.items()},
        }

    def load_sub_state(self, data: dict | None) -> None:
        data = data or {}
        self._subs = {m: [(n, a) for n, a in subs] for m, subs in data.get("subs", {}).items()}
        self._sub_master = {a: m for m, subs in self._subs.items() for _n, a in subs}
        self._referral_codes = dict(data.get("referral_codes", {}))
        self._referred_by = {u: (r, c, t) for u, (r, c, t) in data.get("referred_by", {}).items()}
        self._builder_rewards = {
            b: [Decimal(e), Decimal(u)] for b, (e, u) in data.get("builder_rewards", {}).items()
        }
        self._claimed_rewards = {u: Decimal(v) for u, v in data.get("claimed_rewards", {}).items()}
