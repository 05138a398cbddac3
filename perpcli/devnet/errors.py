"""The venue's error texts, in one table (protocol notes §a.2.2).

Per-order errors and whole-action errors carry these exact strings; clients match them by
substring. Texts marked [devnet] were not found in any source: they are this emulator's best
wording, kept here so they can be corrected in one place.
"""

from __future__ import annotations


class Errors:
    """The venue's error texts (protocol notes §a.2.2). Texts marked [devnet] were not found in
    any source; they are this emulator's best wording, kept in one place to fix later."""

    TICK = "Price must be divisible by tick size."
    INVALID_PRICE = "Order has invalid price."
    INVALID_SIZE = "Order has invalid size."
    ZERO_SIZE = "Order has zero size."
    MIN_VALUE = "Order must have minimum value of $10."
    MARGIN = "Insufficient margin to place order."
    REDUCE_ONLY = "Reduce only order would increase position."
    ALO_CROSS = "Post only order would have immediately matched, bbo was {bid}@{ask}."
    IOC_NO_MATCH = "Order could not immediately match against any resting orders."
    TPSL_PRICE = "Invalid TP/SL price."
    NO_LIQUIDITY = "No liquidity available for market order."
    PRICE_BAND = "Order price cannot be more than 80% away from the reference price"
    TIER_LIMIT = "Order would cause position to exceed margin tier limit at current leverage"
    CANCEL_MISSING = "Order was never placed, already canceled, or filled."
    LEVERAGE = "Invalid leverage value"
    SCHEDULE_VOLUME = "Cannot set scheduled cancel time until enough volume traded. Required: ${req}."
    WITHDRAW_BALANCE = "Insufficient balance for withdrawal"
    TRANSFER_BALANCE = "Insufficient balance for token transfer"
    # [devnet] wording below
    INVALID_ASSET = "Invalid asset."
    INVALID_DEX = "Unknown dex {dex!r}"
    SEND_NOT_COLLATERAL = "Only the collateral token may enter or leave a perp dex"
    SPOT_ORDER_KIND = "Spot orders cannot be trigger or reduce-only orders."
    SPOT_BALANCE = "Insufficient spot balance asset={asset}"
    SUB_OF_SUB = "Sub-accounts cannot create sub-accounts"
    SUB_NAME = "Invalid sub-account name"
    SUB_NAME_TAKEN = "Sub-account name already in use"
    SUB_TOO_MANY = "Too many sub-accounts"
    SUB_NOT_YOURS = "Invalid sub-account transfer: not a sub-account of the user"
    REFERRAL_CODE_INVALID = "Invalid referral code"
    REFERRER_VOLUME = "Cannot create referral code until enough volume traded. Required: ${req}."
    REFERRER_HAS_CODE = "Referral code already registered"
    REFERRAL_CODE_TAKEN = "Referral code already taken"
    REFERRAL_CODE_UNKNOWN = "Referral code does not exist"
    REFERRAL_SELF = "Cannot refer yourself"
    REFERRAL_ALREADY = "Referrer already set"
    NO_REWARDS = "No rewards to claim"
    # [devnet] wording: account abstraction the devnet does not model, and a user-signed
    # abstraction action naming another user than its signer
    ABSTRACTION_NOT_MODELLED = "{mode} is not available on this devnet: each perp dex keeps its own collateral"
    ABSTRACTION_USER = "Invalid user: {user} does not match signer {signer}"
    DUPLICATE_CLOID = "Duplicate cloid."
    TOO_MANY_ORDERS = "Too many open orders."
    SCHEDULE_TOO_EARLY = "Scheduled cancel time too early, must be at least 5 seconds from now."
    SCHEDULE_TOO_MANY = "Too many scheduled cancel triggers today."
    EMPTY_BATCH = "Empty batch."
    TPSL_NOT_TRIGGER = "TP/SL orders must be trigger orders."
    TPSL_NOT_REDUCE_ONLY = "TP/SL orders must be reduce only."
    CROSS_NOT_ALLOWED = "Cross margin is not allowed for this asset."
    SWITCH_WITH_POSITION = "Cannot switch leverage type with open position."
    NO_ISOLATED_POSITION = "No isolated position to update."
    ISOLATED_MARGIN = "Insufficient margin to remove from isolated position."
    LEVERAGE_MARGIN = "Insufficient margin for leverage update."
    AGENT_LIMIT = "Too many named agents."
    AGENT_VALID_UNTIL = "Invalid agent valid_until: must be a time in the future."
    AMOUNT = "Invalid amount."
