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

Everything compares exactly, projected_exhausted_at to the microsecond, also
where the walk's exact cumulative use is fractional (a lot cut off by its
expiry part-way through a milli-credit: `exhausted_at_slack_us` > 0 marks
those lots, where a moment derived from rounded credits would be off).
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator

import pytest

from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR, run_dbt
from credit_ledger.ledger_files import write_ledger
from ledgers import MODELS_ONLY, Row, catalog, entry, with_app_chain
from reference_fifo import Event, Result, run_fifo
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
    # exact: 28.5 rounds to 29 (a float product would be 28.499999999999996)
    assert meta_price_minor('{"price": "0.285"}') == 29
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


# --- generated ledgers ------------------------------------------------------------

BASE = datetime(2024, 1, 1)
END = datetime(2024, 4, 10, 12, 0, 0)  # the last row (crafted user 9006): default as_of
MID = datetime(2024, 2, 14, 7, 30, 15, 250000)
RANDOM_USERS = 160

CREDIT_TYPE = {  # seeds/credit_type_rules.csv, by event name
    "monthly_allocation": ("allocation", timedelta(days=31)),
    "welcome_bonus": ("promotional", timedelta(days=30)),
    "referral_bonus": ("promotional", timedelta(days=14)),
    "credit_purchase": ("purchase", None),
    "refund": ("refund", None),
    "admin_credit": ("adjustment", None),
}
UNKNOWN_EVENT_ID = 77  # not in the catalog: typed `other`, never expires
DEBIT_EVENTS = {  # name -> (creditable_type, is usage)
    "video_generation": ("video", True),
    "caption_generation": ("caption", True),
    "late_payment_penalty": (None, False),
    "admin_debit": (None, False),
}

PLANS: list[Row] = [
    {"id": 1, "name": "Basic Monthly", "tier": "basic", "monthly_credits": 100.0,
     "price": 9.0, "billing_interval": "month"},
    {"id": 3, "name": "Pro Monthly", "tier": "pro", "monthly_credits": 500.0,
     "price": 29.0, "billing_interval": "month"},
    {"id": 20, "name": "Pro Yearly", "tier": "pro", "monthly_credits": 500.0,
     "price": 290.0, "billing_interval": "year"},
    {"id": 21, "name": "Free", "tier": "free", "monthly_credits": 50.0,
     "price": 0.0, "billing_interval": "month"},
    {"id": 22, "name": "No credits", "tier": "basic", "monthly_credits": 0.0,
     "price": 10.0, "billing_interval": "month"},
    {"id": 23, "name": "No price", "tier": "basic", "monthly_credits": 100.0,
     "price": None, "billing_interval": "month"},
    {"id": 24, "name": "Odd Yearly", "tier": "enterprise", "monthly_credits": 300.0,
     "price": 99.99, "billing_interval": " Year"},
]
for _plan in PLANS:
    _plan["created_at"] = "2023-01-01 00:00:00"

# (plan_id, starts_at, ends_at) per subscription of a random user
SUBSCRIPTION_SHAPES: list[list[tuple[int, datetime, datetime | None]]] = [
    [(1, BASE, None)], [(3, BASE, None)], [(20, BASE, None)], [(24, BASE, None)],
    [(21, BASE, None)], [(22, BASE, None)], [(23, BASE, None)], [],
    [(3, BASE, BASE + timedelta(days=40))],  # ended: later allocations have no plan
    [(1, BASE + timedelta(days=30), None)],  # started late
    [(1, BASE, None), (20, BASE + timedelta(days=45), None)],  # the latest start wins
]

PURCHASE_META = [
    None, '{"price": "5"}', '{"price": 12.34}', '{"price": 0}', '{"price": "0"}',
    '{"price": "-3"}', '{"price": "abc"}', '{"price": "0.285"}', '{not json',
    '{"note": "no price"}', '{"price": null}', '{"price": "19.99"}', '{"price": 1e3}',
]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class MoneyLedger:
    rows: list[Row] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    facts: dict[int, LotFacts] = field(default_factory=dict)
    debits: dict[int, Debit] = field(default_factory=dict)
    usage: list[tuple[int, datetime, int]] = field(default_factory=list)  # usage debits

    def grant(self, row_id: int, user_id: int, event: str | int, milli: int, at: datetime,
              meta: str | None = None, meta_expires: datetime | None = None) -> None:
        if isinstance(event, str):
            ctype, period = CREDIT_TYPE[event]
        else:
            ctype, period = "other", None
        expires = meta_expires if meta_expires is not None else (
            at + period if period is not None else None)
        self.rows.append(entry(row_id, user_id, event, milli / 1000, _stamp(at),
                               meta_data=meta))
        self.events.append(Event(user_id, row_id, at, milli, expires))
        self.facts[row_id] = LotFacts(row_id, ctype, meta)

    def debit(self, row_id: int, user_id: int, event: str, milli: int, at: datetime) -> None:
        creditable, is_usage = DEBIT_EVENTS[event]
        extra = {} if creditable is None else {"creditable_type": creditable,
                                               "creditable_id": row_id % 17}
        self.rows.append(entry(row_id, user_id, event, -milli / 1000, _stamp(at), **extra))
        self.events.append(Event(user_id, row_id, at, -milli))
        self.debits[row_id] = Debit(row_id, user_id, at, SERVICES.get(creditable))
        if is_usage:
            self.usage.append((user_id, at, milli))

    def subscribe(self, user_id: int, plan_id: int, starts: datetime,
                  ends: datetime | None = None) -> None:
        self.subscriptions.append(
            Subscription(len(self.subscriptions) + 1, user_id, plan_id, starts, ends))

    def tables(self) -> dict[str, list[Row]]:
        user_ids = sorted({int(r["user_id"]) for r in self.rows})
        tables = catalog(user_ids)
        tables["plans"] = PLANS
        tables["subscriptions"] = [
            {"id": s.subscription_id, "user_id": s.user_id, "plan_id": s.plan_id,
             "status": "active", "starts_at": _stamp(s.starts_at),
             "ends_at": None if s.ends_at is None else _stamp(s.ends_at),
             "created_at": _stamp(s.starts_at)}
            for s in self.subscriptions
        ]
        tables["credit_histories"] = with_app_chain(self.rows)
        return tables

    def usage_30d(self, as_of: datetime) -> dict[int, int]:
        """fct_burn_rate_daily.consumed_30d_milli on the as_of day: usage
        debits of the 30 calendar days ending on as_of's date, up to as_of."""
        first_day = as_of.date() - timedelta(days=29)
        totals: dict[int, int] = {}
        for user_id, at, milli in self.usage:
            if first_day <= at.date() and at <= as_of:
                totals[user_id] = totals.get(user_id, 0) + milli
        return totals


def _read_seed(name: str) -> list[dict[str, str]]:
    with (PROJECT_DIR / "seeds" / f"{name}.csv").open(newline="") as handle:
        return list(csv.DictReader(handle))


SERVICES: dict[str | None, str] = {
    r["creditable_type"]: r["service_name"] for r in _read_seed("services")}


def random_user(rng: random.Random, ledger: MoneyLedger, user_id: int, next_id: int) -> int:
    for plan_id, starts, ends in rng.choice(SUBSCRIPTION_SHAPES):
        ledger.subscribe(user_id, plan_id, starts, ends)
    n_rows = rng.choice([1, 3, 6, 10, 20, 40])
    span = rng.choice([95, 95, 95, 45])  # 45 days: no usage in the last 30
    pool = sorted(BASE + timedelta(seconds=rng.randrange(span * 86_400))
                  for _ in range(max(2, n_rows // 2)))
    for _ in range(n_rows):
        row_id, next_id = next_id, next_id + 1
        at = rng.choice(pool)
        kind = rng.choices(
            ["purchase", "allocation", "promo_meta", "promo_rule", "referral", "refund",
             "adjustment", "other", "usage", "penalty", "zero"],
            weights=[3, 3, 2, 1, 1, 1, 1, 0.5, 8, 1, 0.5])[0]
        milli = rng.choice([1, 250, 1000, 3000, 10_000, 100_000, rng.randint(1, 60_000)])
        if kind == "purchase":
            meta = rng.choice(PURCHASE_META)
            meta_expires = None
            if rng.random() < 0.1:  # a purchase carrying its own expiry
                meta_expires = at + timedelta(days=rng.choice([3, 20, 90]))
                meta = json.dumps({"price": "7.5", "expires_at": _iso(meta_expires)})
            ledger.grant(row_id, user_id, "credit_purchase", milli, at, meta, meta_expires)
        elif kind == "allocation":
            ledger.grant(row_id, user_id, "monthly_allocation", milli, at)
        elif kind == "promo_meta":
            expires = at + rng.choice([timedelta(hours=-2), timedelta(0), timedelta(days=1),
                                       timedelta(days=5), timedelta(days=20),
                                       timedelta(days=60), timedelta(days=200)])
            ledger.grant(row_id, user_id, "welcome_bonus", milli, at,
                         json.dumps({"expires_at": _iso(expires)}), expires)
        elif kind == "promo_rule":
            ledger.grant(row_id, user_id, "welcome_bonus", milli, at)
        elif kind == "referral":
            ledger.grant(row_id, user_id, "referral_bonus", milli, at,
                         '{"price": "3"}')  # ignored: not a purchase
        elif kind == "refund":
            ledger.grant(row_id, user_id, "refund", milli, at)
        elif kind == "adjustment":
            ledger.grant(row_id, user_id, "admin_credit", milli, at)
        elif kind == "other":
            ledger.grant(row_id, user_id, UNKNOWN_EVENT_ID, milli, at)
        elif kind == "usage":
            ledger.debit(row_id, user_id, rng.choice(["video_generation", "caption_generation"]),
                         milli, at)
        elif kind == "penalty":
            ledger.debit(row_id, user_id, rng.choice(["late_payment_penalty", "admin_debit"]),
                         milli, at)
        else:
            ledger.rows.append(entry(row_id, user_id, "video_generation", 0.0, _stamp(at)))
    return next_id


def crafted_users(ledger: MoneyLedger) -> None:
    """The hand-computed users (figures in test_crafted_by_hand)."""
    d = datetime
    # 9001: 3 credits bought for 1.00, used 1 + 1 + 1
    ledger.grant(900101, 9001, "credit_purchase", 3000, d(2024, 3, 1, 10), '{"price": "1.00"}')
    for i in (2, 3, 4):
        ledger.debit(900100 + i, 9001, "video_generation", 1000, d(2024, 3, i, 10))
    # 9002: yearly plan 290.00 for 500 credits a month; 500 allocated, 100
    # used, the rest expires on 2024-04-05
    ledger.subscribe(9002, 20, BASE)
    ledger.grant(900201, 9002, "monthly_allocation", 500_000, d(2024, 3, 5))
    ledger.debit(900202, 9002, "video_generation", 100_000, d(2024, 3, 10))
    # 9003: monthly plan 9.00 for 100 credits; 30 used; a purchase without a
    # price; both open at as_of; S = 30 credits
    ledger.subscribe(9003, 1, BASE)
    ledger.grant(900301, 9003, "credit_purchase", 10_000, d(2024, 3, 20))
    ledger.grant(900302, 9003, "monthly_allocation", 100_000, d(2024, 4, 1))
    ledger.debit(900303, 9003, "video_generation", 30_000, d(2024, 4, 2))
    # 9004: 2 credits owed, repaid by a 4-credit purchase for 2 (a JSON number)
    ledger.debit(900401, 9004, "caption_generation", 2000, d(2024, 3, 25, 12))
    ledger.grant(900402, 9004, "credit_purchase", 4000, d(2024, 3, 26, 12), '{"price": 2}')
    # 9005: a promotional lot expired on arrival
    ledger.grant(900501, 9005, "welcome_bonus", 5000, d(2024, 3, 1),
                 json.dumps({"expires_at": "2024-02-28T00:00:00Z"}), d(2024, 2, 28))
    # ... and a purchase of 1 credit for 0.50 in November 2023, never used:
    # December has a purchase roll-forward row where nothing happened
    ledger.grant(900502, 9005, "credit_purchase", 1000, d(2023, 11, 15), '{"price": 0.5}')
    # 9006: no subscription, no usage: an allocation at list price, and a
    # refund lot that is the ledger's last row
    ledger.grant(900601, 9006, "monthly_allocation", 20_000, d(2024, 4, 1))
    ledger.grant(900602, 9006, "refund", 1000, END)


@pytest.fixture(scope="module")
def money_ledger(tmp_path_factory: pytest.TempPathFactory) -> tuple[MoneyLedger, Path]:
    rng = random.Random(20250611)
    ledger = MoneyLedger()
    next_id = 1
    for user_id in range(1, RANDOM_USERS + 1):
        next_id = random_user(rng, ledger, user_id, next_id)
    crafted_users(ledger)
    assert max(e.at for e in ledger.events) == END
    folder = tmp_path_factory.mktemp("money") / "ledger"
    write_ledger(folder, ledger.tables())
    return ledger, folder


@dataclass(frozen=True)
class Config:
    as_of: datetime | None
    method: str
    command: tuple[str, ...]


SELECT = ("--select", "+int_credit_lots", "+fct_revenue_recognition",
          "+fct_deferred_revenue_monthly", "+fct_projected_expiry")
CONFIGS = {
    # the first build also runs the data tests of the selected models
    "default": Config(None, "at_expiry", ("build", *SELECT, "--exclude-resource-type",
                                          "unit_test", "--indirect-selection", "cautious")),
    "mid": Config(MID, "at_expiry", (*MODELS_ONLY, *SELECT)),
    "proportional": Config(None, "proportional", (*MODELS_ONLY, *SELECT)),
}


@dataclass
class Built:
    db: BuiltLedger
    money: MoneyResult
    fifo: Result
    seconds: float


def _seed_fractions(name: str, column: str) -> dict[str, Fraction]:
    return {r["credit_type"]: Fraction(r[column].strip()) for r in _read_seed(name)}


@pytest.fixture(scope="module")
def builds(money_ledger: tuple[MoneyLedger, Path],
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Build each configuration once, on first use; with its reference."""
    ledger, folder = money_ledger
    cache: dict[str, Built] = {}
    failed: dict[str, str] = {}  # a failed build fails its tests once, not rebuilt
    plans = {int(p["id"]): Plan(int(p["id"]), p["price"], p["monthly_credits"],
                                p["billing_interval"]) for p in PLANS}

    def get(name: str) -> Built:
        if name in failed:
            pytest.fail(failed[name])
        if name not in cache:
            config = CONFIGS[name]
            work = tmp_path_factory.mktemp(f"money-{name}")
            dbt_vars = {"ledger_path": str(folder), "ledger_format": "csv",
                        "as_of": None if config.as_of is None else str(config.as_of),
                        "breakage_method": config.method}
            result = run_dbt(list(config.command), db_path=work / "credits.duckdb",
                             work_dir=work, dbt_vars=dbt_vars)
            if not result.ok:
                failed[name] = f"dbt {name} failed:\n{result.output[-8000:]}"
                pytest.fail(failed[name])
            failed[name] = f"the reference failed for {name}"  # until it is done
            as_of = config.as_of or END
            fifo = run_fifo(ledger.events, as_of=as_of)
            money = run_money(MoneyInputs(
                fifo=fifo, lots=ledger.facts, debits=ledger.debits, plans=plans,
                subscriptions=ledger.subscriptions,
                credit_prices=_seed_fractions("credit_prices", "price_per_credit"),
                breakage_rates=_seed_fractions("breakage_rates", "breakage_rate"),
                as_of=as_of, usage_30d=ledger.usage_30d(as_of), method=config.method))
            del failed[name]
            cache[name] = Built(BuiltLedger(result, work / "credits.duckdb"), money, fifo,
                                result.elapsed_s)
        return cache[name]

    yield get


# --- comparison -------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """A timestamptz as naive UTC, like the reference's datetimes."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    return value


def assert_same_rows(got: dict[Any, tuple[Any, ...]], expected: dict[Any, tuple[Any, ...]],
                     what: str, columns: tuple[str, ...]) -> None:
    missing = sorted(set(expected) - set(got), key=repr)
    extra = sorted(set(got) - set(expected), key=repr)
    differ = sorted((k for k in set(got) & set(expected) if got[k] != expected[k]), key=repr)
    if missing or extra or differ:
        lines = [f"{what}: {len(missing)} missing, {len(extra)} extra, {len(differ)} differ "
                 f"(of {len(expected)} expected); columns {columns}"]
        lines += [f"  missing {k}: expected {expected[k]}" for k in missing[:8]]
        lines += [f"  extra {k}: got {got[k]}" for k in extra[:8]]
        lines += [f"  differ {k}:\n    expected {expected[k]}\n    got      {got[k]}"
                  for k in differ[:12]]
        pytest.fail("\n".join(lines))


def _rows(built: Built, sql: str) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in built.db.dicts(sql)]


@pytest.mark.parametrize("config", list(CONFIGS))
def test_lot_values(builds: Any, config: str) -> None:
    built = builds(config)
    expected = {lot_id: (v.value_minor, v.is_value_estimated, v.value_source)
                for lot_id, v in built.money.values.items()}
    got = {r["lot_id"]: (r["value_minor"], r["is_value_estimated"], r["value_source"])
           for r in _rows(built, "select * from intermediate.int_credit_lots")}
    assert_same_rows(got, expected, "int_credit_lots",
                     ("value_minor", "is_value_estimated", "value_source"))


RECOGNITION_COLUMNS = ("user_id", "recognised_at", "credits_milli", "revenue_minor",
                       "credit_type", "service_name", "plan_id")
RECOGNITION_EXTRA = ("lot_step", "cumulative_credits_milli", "cumulative_revenue_minor")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_revenue_recognition(builds: Any, config: str) -> None:
    built = builds(config)
    rows = _rows(built, "select * from marts.fct_revenue_recognition")
    extra = tuple(c for c in RECOGNITION_EXTRA if not rows or c in rows[0])
    columns = RECOGNITION_COLUMNS + extra
    expected = {(r.lot_id, r.debit_id, r.recognition_kind): tuple(getattr(r, c) for c in columns)
                for r in built.money.recognitions}
    assert len(expected) == len(built.money.recognitions)  # the key is unique
    got = {(r["lot_id"], r["debit_id"], r["recognition_kind"]): tuple(r[c] for c in columns)
           for r in rows}
    assert len(got) == len(rows), "fct_revenue_recognition: (lot, debit, kind) not unique"
    assert_same_rows(got, expected, "fct_revenue_recognition", columns)


DEFERRED_COLUMNS = ("opening_deferred_minor", "billed_minor", "usage_revenue_minor",
                    "breakage_revenue_minor", "closing_deferred_minor")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_deferred_revenue_monthly(builds: Any, config: str) -> None:
    built = builds(config)
    expected = {(m.month_start, m.credit_type): tuple(getattr(m, c) for c in DEFERRED_COLUMNS)
                for m in built.money.roll_forward}
    got = {}
    for r in _rows(built, "select * from marts.fct_deferred_revenue_monthly"):
        month = r["month_start"]
        month = month.date() if isinstance(month, datetime) else month
        got[month, r["credit_type"]] = tuple(r[c] for c in DEFERRED_COLUMNS)
    assert_same_rows(got, expected, "fct_deferred_revenue_monthly", DEFERRED_COLUMNS)
    # and per lot: value less everything recognised
    got_lots = dict(built.db.rows(
        "select lots.lot_id, lots.value_minor - coalesce(sum(rec.revenue_minor), 0) "
        "from intermediate.int_credit_lots as lots "
        "left join marts.fct_revenue_recognition as rec on lots.lot_id = rec.lot_id "
        "group by lots.lot_id, lots.value_minor"))
    assert_same_rows({k: (v,) for k, v in got_lots.items()},
                     {k: (v,) for k, v in built.money.deferred.items()},
                     "deferred per lot", ("deferred_minor",))


PROJECTION_COLUMNS = ("user_id", "usage_30d_milli", "projected_used_milli", "projected_expired_milli",
                      "projected_expired_minor", "projected_expires_at")


@pytest.mark.parametrize("config", list(CONFIGS))
def test_projected_expiry(builds: Any, config: str) -> None:
    built = builds(config)
    rows = {r["lot_id"]: r for r in _rows(
        built, "select * exclude (projected_exhausted_at), "
               "epoch_us(projected_exhausted_at) as exhausted_us "
               "from marts.fct_projected_expiry")}
    expected = {lot_id: tuple(getattr(p, c) for c in PROJECTION_COLUMNS)
                for lot_id, p in built.money.projections.items()}
    got = {lot_id: tuple(r[c] for c in PROJECTION_COLUMNS) for lot_id, r in rows.items()}
    assert_same_rows(got, expected, "fct_projected_expiry", PROJECTION_COLUMNS)
    # the exhaustion moment: the walk's, exactly (to the microsecond)
    wrong = []
    for lot_id, p in built.money.projections.items():
        at, want = rows[lot_id]["exhausted_us"], p.projected_exhausted_us
        if at != want:
            wrong.append((lot_id, want, at, p.exhausted_at_slack_us))
    assert not wrong, f"projected_exhausted_at (lot, expected, got, slack µs): {wrong[:12]}"


def test_generated_ledgers_cover_every_case(builds: Any, money_ledger: Any) -> None:
    ledger, _ = money_ledger
    built = builds("default")
    money, fifo = built.money, built.fifo
    sources = {(ledger.facts[i].credit_type, v.value_source, v.is_value_estimated)
               for i, v in money.values.items()}
    for case in [("purchase", "meta_price", False), ("purchase", "list_price", True),
                 ("allocation", "plan_price", False), ("allocation", "list_price", True),
                 ("promotional", "list_price", False), ("refund", "list_price", False),
                 ("adjustment", "list_price", False), ("other", "list_price", False)]:
        assert case in sources, case
    assert {p.plan_id for p in ledger.subscriptions} >= {1, 3, 20, 21, 22, 23, 24}
    kinds = {r.recognition_kind for r in money.recognitions}
    assert kinds == {"usage", "debt_repayment", "breakage"}
    assert any(r.revenue_minor == 0 and r.recognition_kind == "usage" for r in money.recognitions)
    assert any(lot.expires_at is not None and lot.expires_at <= lot.granted_at
               for lot in fifo.lots.values())
    assert any(a[4] == "unfunded" for a in fifo.allocations)
    projections = money.projections.values()
    assert any(p.projected_exhausted_us for p in projections)
    assert any(p.projected_expired_milli and p.projected_used_milli for p in projections)
    assert any(p.exhausted_at_slack_us for p in projections)
    usage = ledger.usage_30d(END)
    idle = {p.user_id for p in projections if not usage.get(p.user_id)}
    assert len(idle) > 5
    never = [fifo.lots[p.lot_id] for p in projections if fifo.lots[p.lot_id].expires_at is None]
    assert any(lot.user_id in idle for lot in never) and any(
        lot.user_id not in idle for lot in never)
    assert len({m.month_start for m in money.roll_forward}) >= 5
    # a month where nothing happened but something is deferred
    assert any(m.opening_deferred_minor and not (m.billed_minor or m.usage_revenue_minor
               or m.breakage_revenue_minor) for m in money.roll_forward)
    assert len(money.recognitions) > 1000


def test_crafted_by_hand(builds: Any) -> None:
    """Figures worked out by hand for the crafted users (sample seeds: list
    prices allocation 0.05 and purchase 0.08 per credit; breakage rates
    allocation 0.60, purchase 0.05; as_of 2024-04-10 12:00, so the 30-day
    usage window is 2024-03-12 .. 2024-04-10)."""
    prices = _seed_fractions("credit_prices", "price_per_credit")
    rates = _seed_fractions("breakage_rates", "breakage_rate")
    assert (prices["allocation"], prices["purchase"], prices.get("promotional", 0),
            prices.get("refund", 0)) == (Fraction("0.05"), Fraction("0.08"), 0, 0)
    assert (rates["allocation"], rates["purchase"]) == (Fraction("0.6"), Fraction("0.05"))
    d = datetime

    def values(built: Built) -> dict[int, tuple[int, bool]]:
        return {r["lot_id"]: (r["value_minor"], r["is_value_estimated"]) for r in _rows(
            built, "select * from intermediate.int_credit_lots where user_id > 9000")}

    def recognitions(built: Built) -> list[tuple[Any, ...]]:
        return sorted(
            ((r["lot_id"], r["debit_id"], r["recognition_kind"], r["recognised_at"],
              r["credits_milli"], r["revenue_minor"], r["service_name"], r["plan_id"])
             for r in _rows(built, "select * from marts.fct_revenue_recognition "
                                   "where user_id > 9000")), key=repr)

    def projections(built: Built) -> list[tuple[Any, ...]]:
        return sorted(
            ((r["lot_id"], r["projected_used_milli"], r["projected_expired_milli"],
              r["projected_expired_minor"], r["projected_exhausted_at"],
              r["projected_expires_at"])
             for r in _rows(built, "select * from marts.fct_projected_expiry "
                                   "where user_id > 9000")), key=repr)

    video, captions = "Video generation", "Captions"
    default, proportional = builds("default"), builds("proportional")
    lot_values = {
        900101: (100, False),  # meta price "1.00"
        900201: (2417, False),  # 290.00 / 12 * 500 / 500 = 24.1666..
        900301: (80, True),  # no price: 10 credits at 0.08
        900302: (900, False),  # 9.00 * 100 / 100
        900402: (200, False),  # meta price 2
        900501: (0, False),  # promotional
        900502: (50, False),  # meta price 0.5
        900601: (100, True),  # no plan: 20 credits at 0.05
        900602: (0, False),  # refund
    }
    assert values(default) == lot_values
    assert values(proportional) == lot_values

    assert recognitions(default) == sorted([
        # 1/3, 2/3, 3/3 of 1.00: cumulative 33, 67, 100
        (900101, 900102, "usage", d(2024, 3, 2, 10), 1000, 33, video, None),
        (900101, 900103, "usage", d(2024, 3, 3, 10), 1000, 34, video, None),
        (900101, 900104, "usage", d(2024, 3, 4, 10), 1000, 33, video, None),
        # 100 of 500 credits of 24.17: 483.4 -> 483; the rest at expiry
        (900201, 900202, "usage", d(2024, 3, 10), 100_000, 483, video, 20),
        (900201, None, "breakage", d(2024, 4, 5), 400_000, 1934, None, 20),
        (900302, 900303, "usage", d(2024, 4, 2), 30_000, 270, video, 1),
        # repaid when the purchase arrives: half of 2.00
        (900402, 900401, "debt_repayment", d(2024, 3, 26, 12), 2000, 100, captions, None),
        # expired on arrival: breakage at granted_at
        (900501, None, "breakage", d(2024, 3, 1), 5000, 0, None, None),
    ], key=repr)
    assert recognitions(proportional) == sorted([
        # used / 0.95 of 3 credits: 35.09 -> 35, 70.18 -> 70, capped at 100
        (900101, 900102, "usage", d(2024, 3, 2, 10), 1000, 35, video, None),
        (900101, 900103, "usage", d(2024, 3, 3, 10), 1000, 35, video, None),
        (900101, 900104, "usage", d(2024, 3, 4, 10), 1000, 30, video, None),
        # 2417 * 100 / (500 * 0.4) = 1208.5 -> 1209 (half away from zero);
        # true-up 2417 - 1209 = 1208
        (900201, 900202, "usage", d(2024, 3, 10), 100_000, 1209, video, 20),
        (900201, None, "breakage", d(2024, 4, 5), 400_000, 1208, None, 20),
        # 900 * 30 / (100 * 0.4) = 675
        (900302, 900303, "usage", d(2024, 4, 2), 30_000, 675, video, 1),
        # 200 * 2 / (4 * 0.95) = 105.26 -> 105
        (900402, 900401, "debt_repayment", d(2024, 3, 26, 12), 2000, 105, captions, None),
        (900501, None, "breakage", d(2024, 3, 1), 5000, 0, None, None),
    ], key=repr)

    # 9003: S = 30 credits / 30 days = 1 credit a day. The allocation (70
    # left) expires 2024-05-02 00:00, 21.5 days after as_of: 21.5 used, 48.5
    # expire; at_expiry breakage 900 - round(900 * 51.5 / 100) = 900 - 464;
    # proportional 900 - min(900, round(900 * 51.5 / 40)) = 0: the use so far
    # already recognised the whole value. The purchase (10) then runs from
    # 2024-05-02 for 10 days.
    # 9004: S = 2 credits, 2 left: exactly 30 days. 9005, 9006: no usage.
    common = [
        (900301, 10_000, 0, 0, d(2024, 5, 12), None),
        (900402, 2000, 0, 0, d(2024, 5, 10, 12), None),
        (900502, 0, 0, 0, None, None),  # S = 0, never expires
        (900601, 0, 20_000, 100, None, d(2024, 5, 2)),
        (900602, 0, 0, 0, None, None),
    ]
    assert projections(default) == sorted(
        [(900302, 21_500, 48_500, 436, None, d(2024, 5, 2)), *common], key=repr)
    assert projections(proportional) == sorted(
        [(900302, 21_500, 48_500, 0, None, d(2024, 5, 2)), *common], key=repr)
