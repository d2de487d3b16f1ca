"""An independent, plain-Python reading of ledger semantics sections 9-10
(lot value, revenue recognition, deferred revenue, projected expiry), as
specified in /work/notes/money-spec.md, written for clarity and exactness:
Python ints and fractions.Fraction only, no SQL.

Input: the FIFO reference result (reference_fifo.run_fifo) plus the facts the
FIFO walk does not carry (credit types, meta_data, debits' services, plans,
subscriptions, seed prices and breakage rates, the method, as_of, and each
user's 30-day usage S).

Deliberately unlike the SQL:

* the projection is the literal sequential cursor walk of section 10 in time
  (exact rational cursor, lot after lot), not the min-plus formula
  D_k = min(D_{k-1} + R_k, cap_k). Projected credits are rounded half away
  from zero *cumulatively* (the lot's rounded cumulative use after it minus
  before it, section 9's rule for splits). With that rounding the two
  readings give identical credits: round() is monotone and R_k is an
  integer, so round(E_k) = round(min(E_{k-1} + R_k, x_k))
  = min(round(E_{k-1}) + R_k, round(x_k)), the spec's recursion with
  D = round(E). (Rounding each lot's own exact use instead,
  round(E_k - E_{k-1}), can differ by 1 milli from the spec after a lot that
  a partial expiry cut off at a fractional cumulative use.)
* the exhaustion moment is the walk's exact moment (the cursor, rounded to
  the microsecond once). A moment derived from the rounded cumulative
  credits D_k instead would differ when E_k is fractional (an earlier lot
  was cut off by its expiry at a fractional use): by |D_k - E_k| * T / S,
  up to half a milli-credit of time (21.6 minutes when S = 1 credit per 30
  days). `exhausted_at_slack_us` is that bound per lot (0 when E_k is an
  integer); the models must match the walk exactly, and the lots with a
  slack show that they do where it matters.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any, Iterable, Mapping

from reference_fifo import Lot, Result

MINOR = 100  # var currency_minor_units
SCALE = 1000  # var credit_scale
T_US = 30 * 24 * 3600 * 1_000_000  # 30 days in microseconds
EPOCH = datetime(1970, 1, 1)

LIST_PRICED = ("purchase", "allocation")  # is_value_estimated when they fall back


def round_half_away(x: Fraction | int) -> int:
    """Round a rational half away from zero."""
    x = Fraction(x)
    sign = -1 if x < 0 else 1
    return sign * math.floor(abs(x) + Fraction(1, 2))


def to_us(moment: datetime) -> int:
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=us)


def month_start(moment: datetime | date) -> date:
    return date(moment.year, moment.month, 1)


# --- inputs -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LotFacts:
    lot_id: int
    credit_type: str
    meta_data: str | None = None  # the raw meta_data text of the ledger row


@dataclass(frozen=True, slots=True)
class Debit:
    debit_id: int
    user_id: int
    occurred_at: datetime
    service_name: str | None = None


@dataclass(frozen=True, slots=True)
class Plan:
    plan_id: int
    price: float | None  # currency units, as read (a float, like staging)
    monthly_credits: float | None
    billing_interval: str | None = "month"


@dataclass(frozen=True, slots=True)
class Subscription:
    subscription_id: int
    user_id: int
    plan_id: int | None
    starts_at: datetime
    ends_at: datetime | None = None


@dataclass(slots=True)
class MoneyInputs:
    fifo: Result
    lots: Mapping[int, LotFacts]
    debits: Mapping[int, Debit]
    plans: Mapping[int, Plan]
    subscriptions: Iterable[Subscription]
    credit_prices: Mapping[str, Fraction]  # currency units per credit
    breakage_rates: Mapping[str, Fraction]
    as_of: datetime
    usage_30d: Mapping[int, int]  # S per user, milli-credits
    method: str = "at_expiry"


# --- outputs ----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class LotValue:
    value_minor: int
    is_value_estimated: bool
    value_source: str  # meta_price | plan_price | list_price


@dataclass(frozen=True, slots=True)
class Recognition:
    lot_id: int
    user_id: int
    debit_id: int | None
    recognition_kind: str  # usage | debt_repayment | breakage
    recognised_at: datetime
    credits_milli: int
    revenue_minor: int
    credit_type: str
    service_name: str | None
    plan_id: int | None
    lot_step: int
    cumulative_credits_milli: int
    cumulative_revenue_minor: int


@dataclass(frozen=True, slots=True)
class DeferredMonth:
    month_start: date
    credit_type: str
    opening_deferred_minor: int
    billed_minor: int
    usage_revenue_minor: int
    breakage_revenue_minor: int
    closing_deferred_minor: int


@dataclass(frozen=True, slots=True)
class Projection:
    lot_id: int
    user_id: int
    usage_30d_milli: int  # S, the input
    projected_used_milli: int
    projected_expired_milli: int
    projected_expired_minor: int
    # microseconds since 1970 (the walk can run past Python's year 9999)
    projected_exhausted_us: int | None
    projected_expires_at: datetime | None
    exhausted_at_slack_us: int  # see the module docstring

    @property
    def projected_exhausted_at(self) -> datetime | None:
        return None if self.projected_exhausted_us is None else from_us(
            self.projected_exhausted_us)


@dataclass(slots=True)
class MoneyResult:
    values: dict[int, LotValue] = field(default_factory=dict)
    recognitions: list[Recognition] = field(default_factory=list)
    deferred: dict[int, int] = field(default_factory=dict)  # lot_id -> deferred at as_of
    roll_forward: list[DeferredMonth] = field(default_factory=list)
    projections: dict[int, Projection] = field(default_factory=dict)


# --- lot value ----------------------------------------------------------------

def _json_text(value: Any) -> str | None:
    """json_extract_string of a parsed JSON value."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)


def meta_price_minor(meta_data: str | None) -> int | None:
    """A purchase's meta_data.price in minor units, or None when missing.

    Read exactly (the decimal text, no float), rounded half away from zero
    once; missing unless 0 <= price < 1e12."""
    if not meta_data:
        return None
    try:
        meta = json.loads(meta_data)
    except ValueError:
        return None
    if not isinstance(meta, dict):
        return None
    text = _json_text(meta.get("price"))
    if text is None:
        return None
    try:
        price = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        return None
    if price < 0 or price >= 10**12:
        return None
    return round_half_away(price * MINOR)


def plan_at(subscriptions: Iterable[Subscription], user_id: int,
            moment: datetime) -> int | None:
    """The plan of the subscription running at `moment` (starts_at <= t <
    ends_at, open when ends_at is null); the latest started, then the highest
    subscription id, wins."""
    running = [s for s in subscriptions
               if s.user_id == user_id and s.starts_at <= moment
               and (s.ends_at is None or moment < s.ends_at)]
    if not running:
        return None
    return max(running, key=lambda s: (s.starts_at, s.subscription_id)).plan_id


def plan_price_minor(plan: Plan | None, granted_milli: int) -> int | None:
    """An allocation's value from its plan, None when the plan cannot price it."""
    if plan is None or plan.price is None or plan.monthly_credits is None:
        return None
    if not math.isfinite(plan.price) or abs(plan.price) >= 1e12:
        return None
    price_minor = round_half_away(Fraction(plan.price * MINOR))  # staging's price_minor_units
    monthly_milli = round_half_away(Fraction(plan.monthly_credits * SCALE))
    if monthly_milli == 0:
        return None
    months = 12 if (plan.billing_interval or "").strip().lower() == "year" else 1
    return round_half_away(Fraction(price_minor * granted_milli, monthly_milli * months))


def lot_value(lot: Lot, facts: LotFacts, inputs: MoneyInputs,
              by_user_subs: Mapping[int, list[Subscription]]) -> LotValue:
    value: int | None = None
    source = "list_price"
    if facts.credit_type == "purchase":
        value = meta_price_minor(facts.meta_data)
        source = "meta_price"
    elif facts.credit_type == "allocation":
        plan_id = plan_at(by_user_subs.get(lot.user_id, []), lot.user_id, lot.granted_at)
        value = plan_price_minor(inputs.plans.get(plan_id) if plan_id is not None else None,
                                 lot.granted_milli)
        source = "plan_price"
    if value is None:
        price = inputs.credit_prices.get(facts.credit_type, Fraction(0))
        value = round_half_away(price * MINOR * Fraction(lot.granted_milli, SCALE))
        return LotValue(value, facts.credit_type in LIST_PRICED, "list_price")
    return LotValue(value, False, source)


# --- recognition ----------------------------------------------------------------

def recognised_by_use(value: int, used: int, granted: int, method: str,
                      rate: Fraction) -> int:
    """The cumulative revenue the credits used so far recognise."""
    if method == "at_expiry":
        return round_half_away(Fraction(value * used, granted))
    if method == "proportional":
        return min(value, round_half_away(Fraction(value * used) / (granted * (1 - rate))))
    raise ValueError(f"unknown breakage_method {method!r}")


def run_money(inputs: MoneyInputs) -> MoneyResult:
    out = MoneyResult()
    by_user_subs: dict[int, list[Subscription]] = defaultdict(list)
    for sub in inputs.subscriptions:
        by_user_subs[sub.user_id].append(sub)
    lots = inputs.fifo.lots

    for lot_id, lot in lots.items():
        out.values[lot_id] = lot_value(lot, inputs.lots[lot_id], inputs, by_user_subs)

    pieces: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for debit_id, lot_id, _user, _at, kind, amount in inputs.fifo.allocations:
        if lot_id is not None:  # unfunded debt recognises nothing
            pieces[lot_id].append((debit_id, kind, amount))

    def debit_order(piece: tuple[Any, ...]) -> tuple[Any, ...]:
        debit = inputs.debits[piece[0]]
        return (debit.occurred_at, debit.debit_id)

    for lot_id, lot in lots.items():
        facts = inputs.lots[lot_id]
        value = out.values[lot_id].value_minor
        rate = inputs.breakage_rates.get(facts.credit_type, Fraction(0))
        mine = pieces.get(lot_id, [])
        steps = (sorted((p for p in mine if p[1] == "debt_repayment"), key=debit_order)
                 + sorted((p for p in mine if p[1] == "consumption"), key=debit_order))
        used = 0
        before = 0
        step = 0
        for debit_id, kind, amount in steps:
            debit = inputs.debits[debit_id]
            used += amount
            after = recognised_by_use(value, used, lot.granted_milli, inputs.method, rate)
            step += 1
            at = debit.occurred_at if kind == "consumption" else lot.granted_at
            out.recognitions.append(Recognition(
                lot_id, lot.user_id, debit_id,
                "usage" if kind == "consumption" else "debt_repayment",
                at, amount, after - before, facts.credit_type, debit.service_name,
                plan_at(by_user_subs.get(lot.user_id, []), lot.user_id, at),
                step, used, after))
            before = after
        assert used == lot.consumed_milli + lot.debt_repaid_milli
        is_expired = lot.expires_at is not None and lot.expires_at <= inputs.as_of
        if is_expired and lot.expired_milli > 0:
            step += 1
            at = max(lot.expires_at, lot.granted_at)
            out.recognitions.append(Recognition(
                lot_id, lot.user_id, None, "breakage", at, lot.expired_milli,
                value - before, facts.credit_type, None,
                plan_at(by_user_subs.get(lot.user_id, []), lot.user_id, at),
                step, used + lot.expired_milli, value))
            before = value
        out.deferred[lot_id] = value - before
        assert out.deferred[lot_id] >= 0
        assert not is_expired or out.deferred[lot_id] == 0

    out.roll_forward = roll_forward(inputs, out)
    out.projections = project(inputs, out)
    return out


# --- monthly roll-forward ----------------------------------------------------------

def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def roll_forward(inputs: MoneyInputs, out: MoneyResult) -> list[DeferredMonth]:
    billed: dict[tuple[str, date], int] = defaultdict(int)
    usage: dict[tuple[str, date], int] = defaultdict(int)
    breakage: dict[tuple[str, date], int] = defaultdict(int)
    first: dict[str, date] = {}
    for lot_id, lot in inputs.fifo.lots.items():
        ctype = inputs.lots[lot_id].credit_type
        month = month_start(lot.granted_at)
        billed[ctype, month] += out.values[lot_id].value_minor
        first[ctype] = min(first.get(ctype, month), month)
    for rec in out.recognitions:
        key = (rec.credit_type, month_start(rec.recognised_at))
        if rec.recognition_kind == "breakage":
            breakage[key] += rec.revenue_minor
        else:
            usage[key] += rec.revenue_minor
    last = month_start(inputs.as_of)
    rows: list[DeferredMonth] = []
    for ctype, month in sorted(first.items()):
        balance = 0
        while month <= last:
            key = (ctype, month)
            closing = balance + billed[key] - usage[key] - breakage[key]
            if balance or closing or billed[key] or usage[key] or breakage[key]:
                rows.append(DeferredMonth(month, ctype, balance, billed[key], usage[key],
                                          breakage[key], closing))
            balance = closing
            month = _next_month(month)
        # the last closing is what the open lots still defer
        assert balance == sum(d for lot_id, d in out.deferred.items()
                              if inputs.lots[lot_id].credit_type == ctype)
    return rows


# --- projection: the literal cursor walk -----------------------------------------------

def _fifo_priority(lot: Lot) -> tuple[Any, ...]:
    never = lot.expires_at is None
    return (never, lot.expires_at if not never else 0, lot.granted_at, lot.lot_id)


def project(inputs: MoneyInputs, out: MoneyResult) -> dict[int, Projection]:
    as_of_us = to_us(inputs.as_of)
    open_lots: dict[int, list[Lot]] = defaultdict(list)
    for lot in inputs.fifo.lots.values():
        if lot.remaining_milli > 0:
            assert lot.expires_at is None or lot.expires_at > inputs.as_of
            open_lots[lot.user_id].append(lot)
    result: dict[int, Projection] = {}
    for user_id, user_lots in open_lots.items():
        s = inputs.usage_30d.get(user_id, 0)
        cursor = Fraction(as_of_us)  # the moment the walk has reached (µs)
        used_exact = Fraction(0)  # E: exact credits used so far by the walk
        for lot in sorted(user_lots, key=_fifo_priority):
            r = lot.remaining_milli
            expires_us = None if lot.expires_at is None else to_us(lot.expires_at)
            before = used_exact
            if s == 0:
                pass  # uses nothing; an expiring lot expires whole
            elif expires_us is not None and expires_us <= cursor:
                pass  # expires before the cursor reaches it: whole
            else:
                runs_out = cursor + Fraction(r * T_US, s)
                if expires_us is None or runs_out <= expires_us:
                    used_exact += r
                    cursor = runs_out
                else:  # used from the cursor until it expires
                    used_exact += (expires_us - cursor) * Fraction(s, T_US)
                    cursor = Fraction(expires_us)
            used = round_half_away(used_exact) - round_half_away(before)
            expired = 0 if expires_us is None else r - used
            exhausted_us = None
            slack = 0
            if used == r and s > 0:
                exhausted_us = round_half_away(cursor)
                gap = abs(round_half_away(used_exact) - used_exact)
                slack = 0 if gap == 0 else math.ceil(gap * T_US / s) + 1
            expired_minor = 0
            if expired > 0:
                facts = inputs.lots[lot.lot_id]
                value = out.values[lot.lot_id].value_minor
                used_total = lot.consumed_milli + lot.debt_repaid_milli + used
                expired_minor = value - recognised_by_use(
                    value, used_total, lot.granted_milli, inputs.method,
                    inputs.breakage_rates.get(facts.credit_type, Fraction(0)))
            result[lot.lot_id] = Projection(
                lot.lot_id, user_id, s, used, expired, expired_minor, exhausted_us,
                lot.expires_at if expired > 0 else None, slack)
    return result
