"""API wallets (agents) for the devnet engine, as approveAgent defines them.

A mixin of `Engine`; the registry is engine state, so it is saved with the rest. An account
has one unnamed agent and up to three named ones: approving a new unnamed agent replaces the
old one, approving a known name replaces that agent; `name valid_until <ms>` sets an expiry.
An agent acts for its master (the server refuses it user-signed actions such as transfers).
"""

from __future__ import annotations

from perpcli.devnet.errors import Errors
from perpcli.devnet.records import ActionError, AgentRecord


class EngineAgents:
    """The agent registry; mixed into Engine."""

    def approve_agent(self, master: str, agent: str, name: str, now_ms: int) -> None:
        """Register `agent` for `master`. `name` may end in " valid_until <ms>". An unnamed
        approval replaces the previous unnamed agent; a known name replaces that named agent;
        at most 3 named agents."""
        self._advance(now_ms)
        master, agent = master.lower(), agent.lower()
        self._account(master, now_ms)
        valid_until = None
        marker = " valid_until "
        if marker in name:
            name, _, tail = name.rpartition(marker)
            try:
                valid_until = int(tail)
            except ValueError:
                raise ActionError(Errors.AGENT_VALID_UNTIL) from None
            if valid_until <= now_ms:
                # The venue refuses an approval that would be born expired.
                raise ActionError(Errors.AGENT_VALID_UNTIL)
        mine = [a for a in self._agents.values() if a.master == master and self._agent_live(a, now_ms)]
        if name and len([a for a in mine if a.name and a.name != name]) >= 3:
            raise ActionError(Errors.AGENT_LIMIT)
        for a in mine:
            if a.name == name and a.address != agent:
                # Replaced agents are kept, expired: their address must never turn into an
                # account of its own (a stale bot would otherwise trade an empty wallet).
                self._agents[a.address] = AgentRecord(a.master, a.address, a.name, now_ms)
        self._agents[agent] = AgentRecord(master, agent, name, valid_until)
        self._flush()

    @staticmethod
    def _agent_live(a: AgentRecord, now_ms: int) -> bool:
        return a.valid_until is None or now_ms < a.valid_until

    def resolve_signer(self, signer: str, now_ms: int) -> str | None:
        """The account a recovered signer acts for: its master if it is a live agent, itself if
        it is a known user, else None (the venue: "User or API Wallet … does not exist.").

        Never creates an account, auto-fund or not: a signature over bytes the venue would not
        hash recovers a random address, and that must surface as the venue's refusal rather
        than as a fresh funded wallet trading on the client's behalf. Accounts come into being
        when their own state is first read (`ensure_account`), by a deposit, or by receiving
        a transfer."""
        signer = signer.lower()
        a = self._agents.get(signer)
        if a is not None and self._agent_live(a, now_ms):
            return a.master
        if a is not None and signer not in self._accounts:
            return None  # an expired or replaced agent
        if signer in self._accounts:
            return signer
        return None

    def is_agent(self, address: str, now_ms: int) -> bool:
        a = self._agents.get(address.lower())
        return a is not None and self._agent_live(a, now_ms)

    def agents_of(self, master: str, now_ms: int) -> list[AgentRecord]:
        master = master.lower()
        return [a for a in self._agents.values() if a.master == master and self._agent_live(a, now_ms)]

    def user_role(self, address: str, now_ms: int) -> tuple[str, str | None]:
        """("user"|"agent"|"missing", master for agents)."""
        address = address.lower()
        a = self._agents.get(address)
        if a is not None and self._agent_live(a, now_ms):
            return "agent", a.master
        if address in self._accounts:
            return "user", None
        return "missing", None
