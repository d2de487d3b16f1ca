"""The money models (ledger semantics sections 9-10) equal an independent
plain-Python reference (reference_money.py), row for row.

* In-process: the reference itself on tiny hand-computed cases.
* dbt level: seeded random ledgers covering every valuation, recognition and
  projection case, plus crafted users (ids 9001-9006) whose figures are
  written out by hand below, combined into one ledger and built three times
  (default as_of with at_expiry and data tests; a mid as_of; proportional),
  the last two models only. int_credit_lots.value_minor/is_value_estimated,
  fct_revenue_recognition, fct_deferred_revenue_monthly and
  fct_projected_expiry are compared with the reference.

Credits compare exactly. projected_exhausted_at compares exactly except
where the walk's exact cumulative use is fractional (see reference_money):
there within the reference's `exhausted_at_slack_us`.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, run_dbt
from credit_ledger.ledger_files import write_ledger
from ledgers import EVENTS, MODELS_ONLY, Row, catalog, entry, with_app_chain
from reference_fifo import Event, Lot, Result, run_fifo
from reference_money import (
    T_US, Debit, LotFacts, MoneyInputs, MoneyResult, Plan, Subscription,
    meta_price_minor, round_half_away, run_money, to_us,
)

# --- tiny in-process cases ----------------------------------------------------

D0 = datetime(2024, 1, 1)


def _tiny(events: list[Event], facts: dict[int, LotFacts], debits: dict[int, Debit],
          as_of: datetime, *, usage: dict[int, int] | None = None,
          plans: dict[int, Plan] | None = None, subs: list[Subscription] | None = None,
          method: str = "at_expiry", rates: dict[str, Fraction] | None = None,
          prices: dict[str, Fraction] | None = None) -> MoneyResult:
    return run_money(MoneyInputs(
        fifo=run_fifo(events, as_of=as_of), lots=facts, debits=debits,
        plans=plans or {}, subscriptions=subs or [],
        credit_prices=prices if prices is not None else {"purchase": Fraction("0.08")},
        breakage_rates=rates or {}, as_of=as_of, usage_30d=usage or {}, method=method))


def _three_thirds(method: str, rates: dict[str, Fraction] | None = None) -> MoneyResult:
    events = [Event(1, 1, D0, 3000), Event(1, 2, D0 + timedelta(days=1), -1000),
              Event(1, 3, D0 + timedelta(days=2), -1000), Event(1, 4, D0 + timedelta(days=3), -1000)]
    facts = {1: LotFacts(1, "purchase", '{"price": "1.00"}')}
    debits = {i: Debit(i, 1, D0 + timedelta(days=i - 1), "Video generation") for i in (2, 3, 4)}
    return _tiny(events, facts, debits, D0 + timedelta(days=3), method=method, rates=rates)


def test_reference_three_thirds_at_expiry() -> None:
    money = _three_thirds("at_expiry")
    assert money.values[1].value_minor == 100
    assert [r.revenue_minor for r in money.recognitions] == [33, 34, 33]
    assert [r.cumulative_revenue_minor for r in money.recognitions] == [33, 67, 100]
    assert money.deferred == {1: 0}


def test_reference_three_thirds_proportional_is_capped() -> None:
    # used / (granted * 0.95): 35.09 -> 35, 70.18 -> 70, 105.3 -> capped at 100
    money = _three_thirds("proportional", {"purchase": Fraction("0.05")})
    assert [r.revenue_minor for r in money.recognitions] == [35, 35, 30]


def test_reference_lot_values() -> None:
    assert meta_price_minor('{"price": "12.5"}') == 1250
    assert meta_price_minor('{"price": 0}') == 0
    assert meta_price_minor('{"price": -1}') is None
    assert meta_price_minor('{"price": "abc"}') is None
    assert meta_price_minor('{"price": null}') is None
    assert meta_price_minor('{not json') is None
    assert meta_price_minor('{"price": "0.285"}') == 28  # float: 28.499999999999996
    plans = {1: Plan(1, 120.0, 100.0, "year"), 2: Plan(2, 9.0, 100.0, "month"),
             3: Plan(3, 9.0, 0.0, "month")}
    subs = [Subscription(1, 1, 1, D0), Subscription(2, 2, 2, D0),
            Subscription(3, 3, 3, D0), Subscription(4, 4, 2, D0, D0 + timedelta(days=1))]
    events = [Event(u, u, D0 + timedelta(days=2), 100_000) for u in (1, 2, 3, 4)]
    facts = {u: LotFacts(u, "allocation") for u in (1, 2, 3, 4)}
    money = _tiny(events, facts, {}, D0 + timedelta(days=2), plans=plans, subs=subs,
                  prices={"allocation": Fraction("0.05")})
    got = {u: (v.value_minor, v.is_value_estimated) for u, v in money.values.items()}
    # yearly 120.00 / 12 per 100 credits; monthly 9.00; monthly_credits 0 and
    # no running subscription fall back to the list price 0.05 per credit
    assert got == {1: (1000, False), 2: (900, False), 3: (500, True), 4: (500, True)}


def test_reference_debt_repayment_and_breakage() -> None:
    # debit 2 credits with no lot (debt), then a 4-credit lot worth 2.00
    # expiring 10 days later; 1 credit consumed, the rest expires
    t1, t2 = D0 + timedelta(days=1), D0 + timedelta(days=2)
    events = [Event(1, 1, D0, -2000), Event(1, 2, t1, 4000, t1 + timedelta(days=10)),
              Event(1, 3, t2, -1000)]
    facts = {2: LotFacts(2, "purchase", '{"price": 2}')}
    debits = {1: Debit(1, 1, D0, "Captions"), 3: Debit(3, 1, t2, None)}
    money = _tiny(events, facts, debits, D0 + timedelta(days=20))
    got = [(r.recognition_kind, r.debit_id, r.recognised_at, r.credits_milli, r.revenue_minor)
           for r in money.recognitions]
    assert got == [("debt_repayment", 1, t1, 2000, 100), ("usage", 3, t2, 1000, 50),
                   ("breakage", None, t1 + timedelta(days=10), 1000, 50)]
    rows = [(m.month_start, m.opening_deferred_minor, m.billed_minor, m.usage_revenue_minor,
             m.breakage_revenue_minor, m.closing_deferred_minor) for m in money.roll_forward]
    assert rows == [(date(2024, 1, 1), 0, 200, 150, 50, 0)]


def test_reference_projection_walk() -> None:
    # S = 3 credits / 30 days. A promo lot of 5 expiring in 10 days uses 1,
    # expires 4; then a never-expiring lot of 2 runs out 20 days after that.
    as_of = D0 + timedelta(days=40)
    events = [Event(1, 1, D0, 5000, as_of + timedelta(days=10)), Event(1, 2, D0, 2000),
              Event(1, 3, as_of, 0)]
    facts = {1: LotFacts(1, "promotional"), 2: LotFacts(2, "purchase", '{"price": 1}')}
    money = _tiny(events, facts, {}, as_of, usage={1: 3000})
    p1, p2 = money.projections[1], money.projections[2]
    assert (p1.projected_used_milli, p1.projected_expired_milli, p1.projected_exhausted_at,
            p1.projected_expires_at) == (1000, 4000, None, as_of + timedelta(days=10))
    assert (p2.projected_used_milli, p2.projected_expired_milli, p2.projected_exhausted_at,
            p2.projected_expires_at) == (2000, 0, as_of + timedelta(days=30), None)
    assert p2.exhausted_at_slack_us == 0
    # nobody used anything: the expiring lot expires whole, the other stays
    idle = _tiny(events, facts, {}, as_of, usage={})
    assert (idle.projections[1].projected_used_milli, idle.projections[1].projected_expired_milli,
            idle.projections[2].projected_used_milli, idle.projections[2].projected_expired_milli,
            idle.projections[2].projected_exhausted_at) == (0, 5000, 0, 0, None)


def test_reference_projection_fractional_cursor() -> None:
    # S = 3 milli / 30 days: 0.1 milli in the first lot's last day (rounds to
    # 0, 5 expire); the next lot of 1 milli runs out 10 days after that
    # expiry (the walk); the spec's D-based moment is 0.1 milli of time earlier
    as_of = D0
    events = [Event(1, 1, D0, 5, as_of + timedelta(days=1)), Event(1, 2, D0, 1)]
    facts = {1: LotFacts(1, "promotional"), 2: LotFacts(2, "refund")}
    money = _tiny(events, facts, {}, as_of, usage={1: 3})
    p1, p2 = money.projections[1], money.projections[2]
    assert (p1.projected_used_milli, p1.projected_expired_milli) == (0, 5)
    assert (p2.projected_used_milli, p2.projected_exhausted_at) == (1, as_of + timedelta(days=11))
    spec_moment = as_of + timedelta(microseconds=round_half_away(Fraction(1 * T_US, 3)))
    assert abs(to_us(spec_moment) - to_us(p2.projected_exhausted_at)) <= p2.exhausted_at_slack_us
