"""Seeded generator of a realistic prepaid-credit ledger export.

Writes the app's five source tables (credit_events, credit_histories, users,
plans, subscriptions) to DIR as csv or parquet, with realistic dirt at low
rates in credit_histories (and a few disagreeing users.credits snapshots)::

    python -m credit_ledger.generate --out DIR [--users N] [--months M]
        [--seed S] [--start YYYY-MM-DD] [--format csv|parquet] [--clean]

Same arguments give byte-identical files: every random draw comes from one
``random.Random(seed)`` consumed in a fixed order (no wall clock, no hash()).

Rows are generated user by user inside time windows (calendar months, split
further for very large user counts). Each window is sorted, given row ids
and chained, then written as one csv block or parquet row group, so memory
stays bounded while ids still increase with created_at over the whole export.
The app's balance chain (previous_amount) is computed first; the dirt is then
applied on top of it, so each kind of dirt is exactly what it claims to be.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import gc
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from credit_ledger.ledger_files import COLUMNS

US = 1_000_000
DAY = 86_400
MONTH = 30.436875 * DAY
USERS_PER_WINDOW = 50_000  # more users split each month into several windows
MIN_DIRT = 3  # each kind of dirt appears at least this often in a dirty run

_I, _F, _S, _T = pa.int64(), pa.float64(), pa.string(), pa.timestamp("us")
TYPES: dict[str, tuple[pa.DataType, ...]] = {
    "credit_events": (_I, _S, _S, _S, _F, _F, _T, _T),
    "credit_histories": (_I, _I, _I, _S, _I, _F, _F, _S, _S, _T, _T),
    "users": (_I, _S, _I, _F, _F, _T, _T, _T),
    "plans": (_I, _S, _S, _F, _F, _S, _T),
    "subscriptions": (_I, _I, _I, _S, _T, _T, _T, _T),
}

# id, name, event_type as the app spells it, calculation_type, value, min_amount
EVENTS: tuple[tuple[int, str, str, str, float, float], ...] = (
    (1, "monthly_allocation", "bonus", "fixed", 0.0, 0.0),
    (2, "welcome_bonus", "Bonus", "fixed", 25.0, 20.0),
    (3, "referral_bonus", "bonus ", "fixed", 25.0, 25.0),
    (4, "credit_purchase", "bonus", "fixed", 100.0, 50.0),
    (5, "refund", "BONUS", "fixed", 0.0, 0.0),
    (6, "admin_credit", "bonus", "fixed", 10.0, 0.0),
    (7, "video_generation", "usage", "fixed", 2.5, 0.25),
    (8, "caption_generation", "Usage", "fixed", 0.1, 0.1),
    (9, "faceless_video", "usage", "percentage", 15.0, 0.5),
    (10, "real_clone", "USAGE", "fixed", 5.0, 0.5),
    (11, "voice_generation", "usage", "fixed", 0.3, 0.03),
    (12, "asset_generation", " usage", "fixed", 0.75, 0.75),
    (13, "late_payment_penalty", "penalty", "fixed", 5.0, 5.0),
    (14, "abuse_penalty", "Penalty", "fixed", 25.0, 25.0),
    (15, "admin_debit", "penalty", "fixed", 10.0, 0.0),
)
# id, name, tier, monthly_credits, price (per billing interval), billing_interval
PLANS: tuple[tuple[int, str, str, float, float, str], ...] = (
    (1, "Basic Monthly", "basic", 100.0, 9.0, "month"),
    (2, "Basic Yearly", "basic", 100.0, 90.0, "year"),
    (3, "Pro Monthly", "pro", 500.0, 29.0, "month"),
    (4, "Pro Yearly", "pro", 500.0, 290.0, "year"),
    (5, "Enterprise Monthly", "enterprise", 2500.0, 199.0, "month"),
    # a retired plan: the app's plans row says 0 credits, its subscribers are
    # still granted 50 a month (a lot with no usable plan value)
    (6, "Starter (legacy)", "basic", 0.0, 5.0, "month"),
)
PLAN_CREDITS = {p[0]: p[3] for p in PLANS}
GRANT_CREDITS = {**PLAN_CREDITS, 6: 50.0}  # credits a subscriber gets a month
YEARLY = {p[0] for p in PLANS if p[5] == "year"}
PLAN_PICK = (1,) * 34 + (2,) * 14 + (3,) * 28 + (4,) * 14 + (5,) * 10 + (6,) * 4
USAGE_PICK = (7,) * 28 + (8,) * 20 + (9,) * 10 + (10,) * 7 + (11,) * 22 + (12,) * 13
CREDITABLE = {7: "video", 8: "caption", 9: "faceless", 10: "real_clone",
              11: "voice", 12: "asset"}
PACKS = ((50.0, 5.0),) * 8 + ((100.0, 9.0),) * 7 + ((250.0, 20.0),) * 4 + ((1000.0, 70.0),)
BONUS_EVENTS = (1, 2, 3, 4, 6)
META_EVENTS = (1, 2, 3, 4)
# meta_data.price of a credit purchase (the whole lot, currency units): rate
# of each spelling other than the pack's price as a JSON number
PRICE_KINDS = (("missing", 0.10), ("text", 0.07), ("zero", 0.03),
               ("negative", 0.025), ("unparseable", 0.025))
UNPARSEABLE_PRICES = ("abc", "n/a")

# Churn: share of users who cancel their last subscription; of those, the
# share whose usage fades first (the rest cancel abruptly while active); and
# the share of the others whose usage fades although they stay.
CANCEL_RATE = 0.18
FADE_BEFORE_CANCEL = 0.75
FADE_AND_STAY = 0.12
STRAY_ALLOCATION = 0.3  # cancellers granted once more after the end (a late job)

# Dirt in credit_histories: kind -> rate per row. "Value" kinds are real app
# values the chain includes; "chain" kinds break previous_amount; the rest
# damage the exported row only.
VALUE_DIRT = {"float_noise": 0.002, "sub_milli": 0.002,
              "usage_positive": 0.0015, "bonus_negative": 0.0015}
CHAIN_DIRT = {"concurrent_write": 0.002, "dropped_row": 0.0015, "balance_edit": 0.0015}
ROW_DIRT = {"repeated_id": 0.003, "null_amount": 0.001, "non_numeric_amount": 0.001,
            "bad_created_at": 0.0015, "null_user_id": 0.001, "null_id": 0.001,
            "unknown_event": 0.001, "malformed_meta": 0.0015, "empty_meta": 0.0015}
NOISE_PAIRS = ((0.1, 0.2), (0.7, 0.1), (0.2, 0.4), (1.1, 2.2), (0.3, 0.6))
NON_NUMERIC = ("abc", "12,5", "N/A")
UNKNOWN_EVENTS = (99, 1234)
BALANCE_JUMPS = (5.0, 10.0, -2.5)
SNAPSHOT_OFFSETS = (-5.0, 3.0, -2.0, 10.0, 1.5)

# Slots of a generated credit_histories row (a list, mutated in place).
TS, UID, SEQ, EV, AMT, CTYPE, CID, DESC, META, UPD, STYLE, REF, ID = range(13)


class Clock:
    """Second/microsecond offsets from the start date's midnight (UTC)."""

    def __init__(self, start: date, months: int, fmt: str) -> None:
        self.start = start
        self.fmt = fmt
        self.base_us = (start - date(1970, 1, 1)).days * DAY * US
        self.end = self.add_months(0, months)
        self._days: dict[int, str] = {}
        self._tod = [f"{h:02d}:{m:02d}:{s:02d}"
                     for h in range(24) for m in range(60) for s in range(60)]

    def add_months(self, sec: int, k: int) -> int:
        """The k-th monthly anniversary of `sec` (day clamped to month end)."""
        d, tod = divmod(sec, DAY)
        day = self.start + timedelta(days=d)
        y, m = divmod(day.month - 1 + k, 12)
        y += day.year
        dim = calendar.monthrange(y, m + 1)[1]
        return (date(y, m + 1, min(day.day, dim)) - self.start).days * DAY + tod

    def day(self, d: int) -> str:
        text = self._days.get(d)
        if text is None:
            text = self._days[d] = (self.start + timedelta(days=d)).isoformat()
        return text

    def text(self, ts: int, style: int = 0) -> str:
        """`2025-03-01 10:00:00`, `2025-03-01T10:00:00Z` or with microseconds."""
        s, us = divmod(ts, US)
        d, t = divmod(s, DAY)
        if style == 0:
            return f"{self.day(d)} {self._tod[t]}"
        if style == 1:
            return f"{self.day(d)}T{self._tod[t]}Z"
        return f"{self.day(d)} {self._tod[t]}.{us:06d}"

    def iso(self, sec: int) -> str:
        d, t = divmod(sec, DAY)
        return f"{self.day(d)}T{self._tod[t]}Z"

    def out(self, sec: int | None) -> Any:
        """A whole-second timestamp as the output format wants it."""
        if sec is None:
            return None
        return self.text(sec * US) if self.fmt == "csv" else self.base_us + sec * US

    def impossible(self, ts: int) -> str:
        """The row's time on a day its month does not have (e.g. 2025-02-29)."""
        day = self.day(ts // US // DAY)
        y, m = int(day[:4]), int(day[5:7])
        return f"{day[:8]}{calendar.monthrange(y, m)[1] + 1} {self._tod[ts // US % DAY]}"


@dataclass(slots=True)
class User:
    uid: int
    signup: int
    stop: int  # no activity from here on (the cancellation, or the period's end)
    until: int  # no rows at all from here on (the last allocation is before it)
    lam: float  # usage rows per month
    intensity: float  # share of the plan's monthly credits spent per month
    welcome: bool
    referral: int | None
    past_due: bool
    plan: int = 0
    deleted: int | None = None
    fade: tuple[int, int, float] | None = None  # activity 1 -> floor from a to b
    stray: int | None = None  # an allocation after the subscription ended
    monthly: float = 0.0
    allocs: list[tuple[int, int, float]] = field(default_factory=list)
    pos: int = 0
    seq: int = 0

    def activity(self, sec: int) -> float:
        """Share of the user's usual usage (and purchases) at second `sec`."""
        if self.fade is None or sec <= self.fade[0]:
            return 1.0
        a, b, floor = self.fade
        if sec >= b:
            return floor
        return 1.0 - (1.0 - floor) * (sec - a) / (b - a)


@dataclass
class LedgerStats:
    rows: dict[str, int]
    dirt: dict[str, int]


class _Sink:
    """One output table: csv written incrementally, or parquet row groups."""

    def __init__(self, out_dir: Path, table: str, fmt: str) -> None:
        self.table, self.fmt, self.rows = table, fmt, 0
        path = out_dir / f"{table}.{fmt}"
        if fmt == "csv":
            self._handle = path.open("w", newline="", encoding="utf-8")
            self._csv = csv.writer(self._handle, lineterminator="\n")
            self._csv.writerow(COLUMNS[table])
        else:
            self._schema = pa.schema(list(zip(COLUMNS[table], TYPES[table])))
            self._parquet = pq.ParquetWriter(path, self._schema)

    def write(self, rows: list[list[Any]]) -> None:
        if not rows:
            return
        self.rows += len(rows)
        if self.fmt == "csv":
            self._csv.writerows(rows)  # floats print as repr(), None as empty
            return
        arrays = [pa.array(col, type=t) for col, t in zip(zip(*rows), TYPES[self.table])]
        self._parquet.write_table(pa.Table.from_arrays(arrays, schema=self._schema))

    def close(self) -> None:
        if self.fmt == "csv":
            self._handle.close()
        else:
            self._parquet.close()


def _usage(ev: int, x: float) -> tuple[float, str]:
    """A usage charge worth about `x` credits, priced per unit as the app does."""
    if ev == 7:
        m = max(1, int(x * 4 + 0.5)) / 10
        return -(2.5 * m), f"Video generation ({m} min)"
    if ev == 8:
        n = max(1, int(x * 10 + 0.5))
        return -(0.1 * n), f"Caption generation ({n} captions)"
    if ev == 9:
        m = max(1, int(x / 0.2875 + 0.5)) / 10
        return -round(2.5 * m * 1.15, 2), f"Faceless video ({m} min)"
    if ev == 10:
        m = max(1, int(x * 2 + 0.5)) / 10
        return -(5.0 * m), f"Real clone ({m} min)"
    if ev == 11:
        s = max(1, int(x / 0.03 + 0.5))
        return -(0.3 * (s / 10)), f"Voice generation ({s} s)"
    n = max(1, int(x / 0.75 + 0.5))
    return -(0.75 * n), f"Asset generation ({n} assets)"


class _Ledger:
    """All generator state; `run()` writes the five tables."""

    def __init__(self, users: int, months: int, seed: int, start: date,
                 fmt: str, dirty: bool) -> None:
        if fmt not in ("csv", "parquet"):
            raise ValueError(f"unknown format {fmt!r}: use csv or parquet")
        if users < 1 or months < 1:
            raise ValueError("users and months must be positive")
        self.n_users, self.months, self.fmt, self.dirty = users, months, fmt, dirty
        self.rng = random.Random(seed)
        self.clock = Clock(start, months, fmt)
        self.users: list[User] = []
        self.subs: list[list[Any]] = []
        self.bal = [0.0] * (users + 1)
        self.last_prev = [0.0] * (users + 1)
        self.last_ts = [0] * (users + 1)
        self.cid = [1] * 13  # next creditable_id per usage event
        self.next_id = 1
        self.dirt = {k: 0 for k in (*VALUE_DIRT, *CHAIN_DIRT, *ROW_DIRT, "credits_snapshot")}
        self._lost_last: set[int] = set()  # users whose last row was dropped

    # ---------------------------------------------------------------- setup
    def _setup(self) -> None:
        rand, clock, end = self.rng.random, self.clock, self.clock.end
        signups = sorted(int(rand() * 0.6 * end) for _ in range(self.n_users))
        segments: list[tuple[int, int, int, int, str, int | None, int | None]] = []
        for uid, signup in enumerate(signups, 1):
            plan = PLAN_PICK[int(rand() * len(PLAN_PICK))]
            spans: list[list[Any]] = [[signup, plan, None, None, "active"]]
            if rand() < 0.15 and end - signup > 30 * DAY:  # one plan change
                at = signup + 7 * DAY + int(rand() * (end - signup - 21 * DAY))
                other = PLAN_PICK[int(rand() * len(PLAN_PICK))]
                new_plan = other if other != plan else plan % len(PLANS) + 1
                spans[0][2:] = [at, at, "canceled"]
                spans.append([at, new_plan, None, None, "active"])
            stop, until, deleted = end, end, None
            fade: tuple[int, int, float] | None = None
            stray: int | None = None
            last = spans[-1]
            room = end - last[0] - 8 * DAY
            if rand() < CANCEL_RATE and room > DAY:
                # no activity after cancelling; the subscription (and its
                # allocations) runs to the end of the paid month or year
                canceled = last[0] + 7 * DAY + int(rand() * room)
                step = 12 if last[1] in YEARLY else 1
                k = step
                while clock.add_months(last[0], k) <= canceled:
                    k += step
                ends = clock.add_months(last[0], k)
                last[2:] = [ends, canceled, "canceled"]
                stop, until = canceled, min(ends, end)
                if rand() < FADE_BEFORE_CANCEL:  # fades over 3-8 weeks, then
                    quiet = int(rand() * 21 * DAY)  # silent 0-3 weeks
                    faded = canceled - quiet
                    fade = (faded - (21 + int(rand() * 35)) * DAY, faded, 0.0)
                if rand() < STRAY_ALLOCATION and ends + 7 * DAY < end:
                    stray = ends + 3600 + int(rand() * 20 * 3600)
                    until = stray + 1
                if rand() < 0.4 and ends + 21 * DAY < end:
                    deleted = ends + DAY + int(rand() * 20 * DAY)
            elif rand() < FADE_AND_STAY and end - signup > 60 * DAY:
                a = signup + 30 * DAY + int(rand() * (end - signup - 60 * DAY))
                fade = (a, a + (21 + int(rand() * 35)) * DAY, 0.35 * rand())
            past_due = False
            if last[4] == "active":
                r = rand()
                if r < 0.03:
                    last[4], past_due = "past_due", True
                elif r < 0.09 and len(spans) == 1:
                    last[4] = "trialing"
            heavy = rand() < 0.03  # spends more than the plan grants
            lam = 5.5 + 10.0 * rand()
            intensity = 1.1 + 0.4 * rand() if heavy else 0.1 + 0.65 * rand()
            welcome = rand() < 0.7
            referral = None
            if rand() < 0.2 and stop - signup > 2 * DAY:
                referral = signup + DAY + int(rand() * (stop - signup - 2 * DAY))
            user = User(uid, signup, stop, until, lam, intensity, welcome, referral,
                        past_due, plan=last[1], deleted=deleted, fade=fade, stray=stray)
            self.users.append(user)
            for k, (starts, plan_id, ends, canceled, status) in enumerate(spans):
                segments.append((starts, uid, k, plan_id, status, ends, canceled))
        segments.sort()
        for sub_id, (starts, uid, _, plan_id, status, ends_at, canceled_at) in enumerate(
                segments, 1):
            self.subs.append([sub_id, uid, plan_id, status, starts, ends_at, canceled_at,
                              starts])
            user, credits = self.users[uid - 1], GRANT_CREDITS[plan_id]
            k, until = 0, min(end, end if ends_at is None else ends_at)
            while (t := clock.add_months(starts, k)) < until:
                user.allocs.append((t, sub_id, credits))
                k += 1
        for user in self.users:
            if user.stray is not None:
                # the renewal job ran before the cancellation reached it: one
                # more allocation of the last subscription after it ended
                _, sub_id, credits = user.allocs[-1]
                user.allocs.append((user.stray, sub_id, credits))

    # ----------------------------------------------------------- generation
    def _stamp(self, sec: int) -> tuple[int, int]:
        """A row time and its spelling: plain 60%, ISO `Z` 25%, fractional 15%."""
        r = self.rng.random()
        if r < 0.6:
            return sec * US, 0
        if r < 0.85:
            return sec * US, 1
        return sec * US + 1 + int(self.rng.random() * 999_999), 2

    def _price(self, price: float) -> str:
        """The `, "price": ...` part of a purchase's meta_data (may be empty)."""
        r = self.rng.random()
        for kind, rate in PRICE_KINDS:
            if r >= rate:
                r -= rate
                continue
            if kind == "missing":
                return ""
            if kind == "text":
                return f', "price": "{price:.2f}"'
            if kind == "zero":
                return ', "price": 0'  # a free pack: a real price of 0
            if kind == "negative":
                return f', "price": {-price}'
            return f', "price": "{UNPARSEABLE_PRICES[int(r / rate * 2)]}"'
        return f', "price": {price}'

    def _user_window(self, u: User, a: int, b: int, rows: list[list[Any]]) -> None:
        """Append user `u`'s rows with created_at in [a, b)."""
        rand, stamp, clock, uid = self.rng.random, self._stamp, self.clock, u.uid

        def row(ts: int, style: int, ev: int, amount: float, desc: str,
                meta: str | None = None, ctype: str | None = None) -> list[Any]:
            u.seq += 1
            upd = ts
            if rand() < 0.01:  # updated again later
                upd = ts + (60 + int(rand() * 10 * DAY)) * US
            r = [ts, uid, u.seq, ev, amount, ctype, None, desc, meta, upd, style, None, 0]
            rows.append(r)
            return r

        allocs = u.allocs
        while u.pos < len(allocs) and allocs[u.pos][0] < b:
            t, sub_id, credits = allocs[u.pos]
            u.pos += 1
            u.monthly = credits
            ts, style = stamp(t)
            period = clock.day(t // DAY)[:7]
            row(ts, style, 1, credits, f"Monthly allocation ({period})",
                f'{{"subscription_id": {sub_id}, "period": "{period}"}}')
            if t == u.signup and u.welcome:
                later = t + 1 + int(rand() * 600)
                if rand() < 0.5 or later >= b:
                    ws, wstyle = ts, style  # same instant as the allocation
                else:
                    ws, wstyle = stamp(later)
                row(ws, wstyle, 2, float(20 + int(rand() * 31)), "Welcome bonus",
                    f'{{"expires_at": "{clock.iso(ws // US + 30 * DAY)}"}}')
        lo, hi = max(a, u.signup + 60), min(b, u.stop)
        if hi <= lo:
            return
        span, frac = hi - lo, (hi - lo) / MONTH
        if u.referral is not None and a <= u.referral < b:
            ts, style = stamp(u.referral)
            row(ts, style, 3, 25.0, "Referral bonus",
                f'{{"referrer_id": {1 + int(rand() * self.n_users)}, '
                f'"expires_at": "{clock.iso(u.referral + 14 * DAY)}"}}')
        fading = u.fade is not None
        for _ in range(int(frac / 3 + rand())):
            credits, price = PACKS[int(rand() * len(PACKS))]
            sec = lo + int(rand() * span)
            if fading and rand() >= u.activity(sec):
                continue
            ts, style = stamp(sec)
            order = f'"order_id": "ord_{self.rng.getrandbits(40):010x}"'
            row(ts, style, 4, credits, f"Credit purchase ({int(credits)} credits)",
                f"{{{order}{self._price(price)}}}")
        per_use = u.intensity * u.monthly / u.lam
        last: list[Any] | None = None
        for _ in range(int(u.lam * frac * (0.6 + 0.8 * rand()) + rand())):
            if last is not None and rand() < 0.003:
                ts, style = last[TS], last[STYLE]  # a batch: same instant
            else:
                sec = lo + int(rand() * span)
                if fading and rand() >= u.activity(sec):
                    continue  # usage thinned out as the user fades
                ts, style = stamp(sec)
            ev = USAGE_PICK[int(rand() * 100)]
            amount, desc = _usage(ev, per_use * (0.3 + 1.4 * rand()))
            last = row(ts, style, ev, amount, desc, None, CREDITABLE[ev])
            if rand() < 0.03:  # the job failed: refunded a little later
                rs = ts // US + 300 + int(rand() * DAY)
                if rs < hi:
                    rts, rstyle = stamp(rs)
                    refund = row(rts, rstyle, 5, -amount, f"Refund: {desc}", None,
                                 CREDITABLE[ev])
                    refund[REF] = last
        r = rand() / frac
        if r < 0.02:
            ts, style = stamp(lo + int(rand() * span))
            if r < 0.006:
                row(ts, style, 6, (10.0, 25.0, 50.0)[int(rand() * 3)], "Admin credit",
                    '{"admin_id": 3, "reason": "support"}')
            elif r < 0.012 or (u.past_due and r < 0.02):
                row(ts, style, 13, -5.0, "Late payment penalty", '{"reason": "late_payment"}')
            elif r < 0.014:
                row(ts, style, 14, -25.0, "Abuse penalty", '{"reason": "abuse"}')
            elif r < 0.018:
                row(ts, style, 15, -(7.5, 10.0, 12.5)[int(rand() * 3)], "Admin debit",
                    '{"admin_id": 3, "reason": "correction"}')

    def _windows(self) -> Iterator[tuple[int, int]]:
        split = -(-self.n_users // USERS_PER_WINDOW)
        for k in range(self.months):
            a, b = self.clock.add_months(0, k), self.clock.add_months(0, k + 1)
            cuts = [a + (b - a) * j // split for j in range(split + 1)]
            yield from zip(cuts, cuts[1:])

    # ------------------------------------------------------------------ dirt
    def _pick(self, rows: list[list[Any]], kind: str, rate: float, last_window: bool,
              ok: Callable[[int], bool], used: set[int]) -> list[int]:
        """Random row positions for one kind of dirt, never reusing a row."""
        n, rand = len(rows), self.rng.random
        k = int(n * rate + rand())
        if last_window:
            k = max(k, MIN_DIRT - self.dirt[kind])
        picks: list[int] = []
        tries = 0
        while len(picks) < k and tries < 200 * k and n:
            tries += 1
            i = int(rand() * n)
            if i not in used and ok(i):
                used.add(i)
                picks.append(i)
        return picks

    def _plan_dirt(self, rows: list[list[Any]], last_window: bool
                   ) -> tuple[dict[int, tuple[str, float]], dict[int, str]]:
        """Apply value dirt to `rows`; return chain dirt and row dirt by position."""
        used: set[int] = set()
        last_of_user: dict[int, int] = {r[UID]: i for i, r in enumerate(rows)}

        def pick(kind: str, rate: float, ok: Callable[[int], bool]) -> list[int]:
            return self._pick(rows, kind, rate, last_window, ok, used)

        def usage(i: int) -> bool:
            return bool(7 <= rows[i][EV] <= 12)

        for i in pick("float_noise", VALUE_DIRT["float_noise"], usage):
            a, b = NOISE_PAIRS[self.dirt["float_noise"] % len(NOISE_PAIRS)]
            rows[i][AMT] = -(a + b)  # first one is -(0.1 + 0.2)
            self.dirt["float_noise"] += 1
        for i in pick("sub_milli", VALUE_DIRT["sub_milli"], usage):
            tenths = 500 + int(self.rng.random() * 4_500)
            digit = 1 + int(self.rng.random() * 9)
            rows[i][AMT] = -(tenths * 10 + digit) / 10_000  # e.g. -1.2345
            self.dirt["sub_milli"] += 1
        for i in pick("usage_positive", VALUE_DIRT["usage_positive"], usage):
            rows[i][AMT] = abs(rows[i][AMT])  # a reversal of the charge
            self.dirt["usage_positive"] += 1
        for i in pick("bonus_negative", VALUE_DIRT["bonus_negative"],
                      lambda i: rows[i][EV] in BONUS_EVENTS):
            rows[i][AMT] = -abs(rows[i][AMT])  # a claw-back booked on a bonus event
            self.dirt["bonus_negative"] += 1
        chain: dict[int, tuple[str, float]] = {}
        for i in pick("concurrent_write", CHAIN_DIRT["concurrent_write"],
                      lambda i: rows[i][SEQ] > 1):
            chain[i] = ("concurrent_write", 0.0)
        for i in pick("dropped_row", CHAIN_DIRT["dropped_row"],
                      lambda i: i < last_of_user[rows[i][UID]]):
            chain[i] = ("dropped_row", 0.0)
        edits = pick("balance_edit", CHAIN_DIRT["balance_edit"], lambda i: True)
        for j, i in enumerate(edits, self.dirt["balance_edit"]):
            chain[i] = ("balance_edit", BALANCE_JUMPS[j % len(BALANCE_JUMPS)])
        damage: dict[int, str] = {}
        for kind, rate in ROW_DIRT.items():
            ok = (lambda i: rows[i][EV] in META_EVENTS) if kind.endswith("meta") else (
                lambda i: True)
            for i in pick(kind, rate, ok):
                damage[i] = kind
        return chain, damage

    def _damage(self, kind: str, o: list[Any], r: list[Any]) -> list[Any] | None:
        """Damage exported row `o` (of generated row `r`) in place; may return a copy."""
        n = self.dirt[kind]
        self.dirt[kind] += 1
        csv_out = self.fmt == "csv"
        if kind == "repeated_id":
            copy = list(o)
            if n % 3 == 0:  # re-exported after a later update
                later = max(r[UPD], r[TS]) + (3600 + int(self.rng.random() * 5 * DAY)) * US
                copy[10] = self.clock.text(later, r[STYLE]) if csv_out else (
                    self.clock.base_us + later)
            elif n % 3 == 1:
                copy[7] = f"{o[7]} (edited)"
            return copy
        if kind == "null_amount":
            o[5] = None
        elif kind == "non_numeric_amount":
            o[5] = NON_NUMERIC[n % 3] if csv_out else None
        elif kind == "bad_created_at":
            bad = ("not-a-date", self.clock.impossible(r[TS]), "")[n % 3]
            o[9] = bad if csv_out else None
        elif kind == "null_user_id":
            o[1] = None
        elif kind == "null_id":
            o[0] = None
        elif kind == "unknown_event":
            o[2] = UNKNOWN_EVENTS[n % 2]
        elif kind == "malformed_meta":
            meta = o[8]
            cut = meta.find(': "')
            o[8] = "not json" if n % 2 else meta[: cut + 10 if cut > 0 else len(meta) // 2]
        elif kind == "empty_meta":
            o[8] = None if n % 2 == 0 else "{}"
        return None

    # ----------------------------------------------------------------- chain
    def _emit(self, rows: list[list[Any]], last_window: bool) -> list[list[Any]]:
        """Sort one window, assign ids, chain balances, apply dirt; return output rows."""
        rows.sort(key=itemgetter(TS))  # stable: ties stay in (user, seq) order
        chain, damage = self._plan_dirt(rows, last_window) if self.dirty else ({}, {})
        bal, last_prev, last_ts, cid = self.bal, self.last_prev, self.last_ts, self.cid
        csv_out, text, base = self.fmt == "csv", self.clock.text, self.clock.base_us
        dropped = {i for i, (kind, _) in chain.items() if kind == "dropped_row"}
        rid, dirty, lost_last = self.next_id, self.dirty, self._lost_last
        out: list[list[Any]] = []
        for i, r in enumerate(rows):
            ts, u, _, ev, amount, ctype, _, desc, meta, upd, style, ref, _ = r
            r[ID] = rid
            c = None
            if ctype is not None:
                if ref is None:
                    c = cid[ev]
                    cid[ev] = c + 1
                else:
                    c = ref[CID]
                    meta = f'{{"refunded_history_id": {ref[ID]}}}'
                r[CID] = c
            prev = bal[u]
            if chain and i in chain:
                kind, jump = chain[i]
                if kind == "concurrent_write":
                    if u in lost_last:
                        kind = ""  # its partner row is not in the export: skip
                    else:
                        prev = last_prev[u]  # both writes read the same balance
                elif kind == "balance_edit":
                    prev += jump
                if kind:
                    self.dirt[kind] += 1
            bal[u] = prev + amount
            last_prev[u] = prev
            last_ts[u] = ts
            created = text(ts, style) if csv_out else base + ts
            updated = created if upd == ts else (text(upd, style) if csv_out else base + upd)
            out.append([rid, u, ev, ctype, c, amount, prev, desc, meta, created, updated])
            rid += 1
            if dirty:
                (lost_last.add if i in dropped else lost_last.discard)(u)
        self.next_id = rid
        if not dirty:
            return out
        final: list[list[Any]] = []
        for i, o in enumerate(out):
            if i in dropped:
                continue  # the app counted it, the export lost it
            copy = self._damage(damage[i], o, rows[i]) if i in damage else None
            final.append(o)
            if copy is not None:
                final.append(copy)
        return final

    # ---------------------------------------------------------------- output
    def run(self, out_dir: Path) -> LedgerStats:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._setup()
        clock = self.clock
        created, updated = -400 * DAY + 9 * 3600, -30 * DAY + 9 * 3600
        sinks = {t: _Sink(out_dir, t, self.fmt) for t in COLUMNS}
        sinks["credit_events"].write([[*e, clock.out(created), clock.out(updated)]
                                      for e in EVENTS])
        sinks["plans"].write([[*p, clock.out(created)] for p in PLANS])
        sinks["subscriptions"].write([[*s[:4], *map(clock.out, s[4:])] for s in self.subs])
        windows = list(self._windows())
        for w, (a, b) in enumerate(windows):
            rows: list[list[Any]] = []
            for u in self.users:
                if u.signup < b and u.until > a:
                    self._user_window(u, a, b, rows)
            sinks["credit_histories"].write(self._emit(rows, w == len(windows) - 1))
        off: dict[int, float] = {}
        if self.dirty:
            k = max(MIN_DIRT, round(0.015 * self.n_users))
            for j, uid in enumerate(sorted(self.rng.sample(range(1, self.n_users + 1),
                                                           min(k, self.n_users)))):
                off[uid] = SNAPSHOT_OFFSETS[j % len(SNAPSHOT_OFFSETS)]
            self.dirt["credits_snapshot"] = len(off)
        users = []
        for u in self.users:
            last = max(u.signup, self.last_ts[u.uid] // US, u.deleted or 0)
            credits = self.bal[u.uid] + off.get(u.uid, 0.0)
            users.append([u.uid, f"user{u.uid}@example.com", u.plan, credits,
                          GRANT_CREDITS[u.plan], clock.out(u.signup), clock.out(last),
                          clock.out(u.deleted)])
        sinks["users"].write(users)
        for sink in sinks.values():
            sink.close()
        rows_per_table = {t: s.rows for t, s in sinks.items()}
        return LedgerStats(rows_per_table, self.dirt if self.dirty else {})


def generate_ledger(out_dir: Path, users: int, months: int, seed: int = 42,
                    start: date = date(2025, 1, 1), fmt: str = "csv",
                    dirty: bool = True) -> LedgerStats:
    """Write the ledger; return row counts per table and dirt counts per kind."""
    collecting = gc.isenabled()
    gc.disable()  # millions of small acyclic lists: the cycle collector only costs time
    try:
        return _Ledger(users, months, seed, start, fmt, dirty).run(Path(out_dir))
    finally:
        if collecting:
            gc.enable()


def generate(out_dir: Path, users: int, months: int, seed: int = 42,
             start: date = date(2025, 1, 1), fmt: str = "csv",
             dirty: bool = True) -> dict[str, int]:
    """Write the ledger to `out_dir`; return the row count of each table."""
    return generate_ledger(out_dir, users, months, seed, start, fmt, dirty).rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m credit_ledger.generate",
        description="Write a seeded, realistic (and slightly dirty) credit ledger export.")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    parser.add_argument("--users", type=int, default=240)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2025, 1, 1),
                        help="first day of the ledger (YYYY-MM-DD)")
    parser.add_argument("--format", dest="fmt", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--clean", action="store_true", help="no dirt at all")
    args = parser.parse_args(argv)
    stats = generate_ledger(args.out, args.users, args.months, args.seed, args.start,
                            args.fmt, dirty=not args.clean)
    for table, count in stats.rows.items():
        print(f"{table:<18} {count:>12,} rows")
    for kind, count in stats.dirt.items():
        print(f"  dirt {kind:<20} {count:>6}")


if __name__ == "__main__":
    main()
