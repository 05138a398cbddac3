"""Settling orders whose answer never came, the same way on every venue that has client order
ids and a way to spend a nonce: look each order up by client id a few times; still unseen, spend
the request's nonce so the original can never execute, and if that spend lost (the original
landed after all) look once more. What stays unseen is rejected when the nonce was spent (safe to
sign again) and unknown otherwise. Nothing is ever resent. Pure: the look-up, the spend and the
sleep are the adapter's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from perpcli.domain.errors import ErrorKind
from perpcli.venues.base import Ack, AckStatus


def _all_found(acks: list[Ack | None]) -> bool:
    return all(a is not None for a in acks)


def settle_unanswered(
    cloids: Sequence[str],
    look_up: Callable[[int, str], Ack | None],
    spend_nonce: Callable[[], bool | None],
    sleep: Callable[[float], None],
    *,
    polls: int,
    interval_s: float,
    complete: Callable[[list[Ack | None]], bool] = _all_found,
) -> tuple[list[Ack | None], bool | None]:
    """(what was found per order, the spend's verdict: True spent, False already used, None not
    tried or no answer). `look_up(i, cloid)` may raise: a failed look-up is no answer yet.
    `complete(acks)` says the request is settled (it may fill in orders it can vouch for)."""
    acks: list[Ack | None] = [None] * len(cloids)

    def poll() -> None:
        for i, cloid in enumerate(cloids):
            if acks[i] is None and cloid:
                try:
                    acks[i] = look_up(i, cloid)
                except Exception:  # noqa: BLE001 - still unknown: try again, or spend the nonce
                    acks[i] = None

    for attempt in range(polls):
        poll()
        if complete(acks):
            return acks, None
        if attempt + 1 < polls:
            sleep(interval_s)
    spent = spend_nonce()
    if spent is False:  # the spend lost: the original landed after all
        poll()
        complete(acks)
    return acks, spent


def unanswered_acks(acks: list[Ack | None], cloids: Sequence[str], spent: bool | None, *,
                    rejected: str, unknown: str) -> list[Ack]:
    """The final answer per order: found, else rejected (nonce spent) or unknown, in each
    venue's words."""
    out = []
    for ack, cloid in zip(acks, cloids, strict=True):
        if ack is not None:
            out.append(ack)
        elif spent is True:
            out.append(Ack(AckStatus.REJECTED, cloid=cloid, error=rejected, error_kind=ErrorKind.NONCE))
        else:
            out.append(Ack(AckStatus.UNKNOWN, cloid=cloid, error=unknown))
    return out
