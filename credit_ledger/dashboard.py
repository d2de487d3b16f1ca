"""The project's dashboard: one Streamlit page per exposure, over the published marts.

    make dashboard      (streamlit run credit_ledger/dashboard.py)

It reads the file a passed build publishes (`$CREDITS_PUBLISH_PATH`, default
`credits.duckdb`, relative to the directory it runs in; credit_ledger/build.py),
read-only, with a new connection for every query: a build replaces the file by
an atomic rename, so a held connection would keep showing the old build, and
each rerun (a filter change, a refresh) sees the newest one.

With `DBT_TARGET=postgres` it reads the `marts` of the PostgreSQL build
instead (profiles.yml's `postgres` output: the CREDITS_PG_* variables and
their defaults), in a read-only transaction at UTC on a new connection for
every query. The SQL is the same on both engines; `postgres_query` only
swaps the placeholders and types the columns as DuckDB's `.df()` does.

Every figure is a mart column, or a sum or count of mart rows under the
sidebar filters (date range, plan, user), which are SQL `where` clauses on mart
columns; nothing here recomputes a balance, a ratio or revenue. Credits are
shown as milli / 1000 and money as minor units / 100 (the default
`currency_minor_units`), with the unit in the label.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence

import duckdb
import pandas as pd
import streamlit as st

from credit_ledger.build import Paths
from credit_ledger.load import postgres_settings

MILLI_PER_CREDIT = 1000
MINOR_PER_UNIT = 100  # var currency_minor_units (dbt_project.yml)
LOW_RUNWAY_DAYS = 14


def database_path() -> Path:
    """The published file, resolved as the build resolves it."""
    return Paths.from_env(os.environ, Path.cwd()).published


def reads_postgres() -> bool:
    """True when DBT_TARGET names the `postgres` output, as for `mf`."""
    return os.environ.get("DBT_TARGET") == "postgres"


def postgres_label() -> str:
    settings = postgres_settings()
    return (f"PostgreSQL {settings['user']}@{settings['host']}:{settings['port']}"
            f"/{settings['dbname']}")


# PostgreSQL type oids that DuckDB's `.df()` gives as float64 and datetime64
_PG_NUMERIC = 1700
_PG_DATES = {1082, 1114}


def postgres_query(sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """`query` on PostgreSQL: `?` placeholders become psycopg2's `%s`; numeric
    columns (sums of bigints, the credit and money divisions) become floats
    and dates datetimes, as DuckDB returns them, so pages and charts get the
    same frames."""
    import psycopg2

    con = psycopg2.connect(
        **postgres_settings(),
        options="-c timezone=UTC -c default_transaction_read_only=on",
    )
    try:
        with con.cursor() as cursor:
            cursor.execute(sql.replace("?", "%s"), list(params) or None)
            columns = [(d.name, d.type_code) for d in cursor.description]
            frame = pd.DataFrame.from_records(
                cursor.fetchall(), columns=[name for name, _ in columns])
    finally:
        con.close()
    for name, type_code in columns:
        if type_code == _PG_NUMERIC:
            frame[name] = frame[name].astype(float)
        elif type_code in _PG_DATES:
            frame[name] = pd.to_datetime(frame[name])
    return frame


def query(sql: str, params: Sequence[Any] = ()) -> pd.DataFrame:
    """Run one query on a fresh read-only connection, closed before returning."""
    if reads_postgres():
        return postgres_query(sql, params)
    with duckdb.connect(str(database_path()), read_only=True) as con:
        return con.execute(sql, list(params)).df()


def missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def credits(milli: Any) -> str:
    return "–" if missing(milli) else f"{milli / MILLI_PER_CREDIT:,.1f}"


def money(minor: Any) -> str:
    return "–" if missing(minor) else f"{minor / MINOR_PER_UNIT:,.2f}"


def count(value: Any) -> str:
    return f"{0 if missing(value) else int(value):,}"


def ratio(value: Any) -> str:
    return "–" if missing(value) else f"{value:.1%}"


@dataclass(frozen=True)
class Filters:
    """The sidebar's choices; each page applies those its marts have columns for."""

    start: date
    end: date
    plan_id: int | None
    user_id: int | None

    def where(
        self,
        *,
        day: str | None = None,
        month: str | None = None,
        plan: str | None = None,
        user: str | None = None,
        plan_of_user: str | None = None,
    ) -> tuple[str, list[Any]]:
        """A `where` clause over the named columns, and its parameters.

        `day`: a date column within the range; `month`: a month-start column
        whose month overlaps the range; `plan`: a plan id column; `user`: a user
        id column; `plan_of_user`: a user id column whose user's current plan
        (dim_users) is the chosen plan, for marts without a plan column.
        """
        clauses: list[str] = []
        params: list[Any] = []
        if day:
            clauses.append(f"{day} between ? and ?")
            params += [self.start, self.end]
        if month:
            clauses.append(f"{month} between date_trunc('month', cast(? as timestamp)) and ?")
            params += [self.start, self.end]
        if plan and self.plan_id is not None:
            clauses.append(f"{plan} = ?")
            params.append(self.plan_id)
        if plan_of_user and self.plan_id is not None:
            clauses.append(
                f"{plan_of_user} in (select user_id from marts.dim_users where plan_id = ?)"
            )
            params.append(self.plan_id)
        if user and self.user_id is not None:
            clauses.append(f"{user} = ?")
            params.append(self.user_id)
        return " where " + (" and ".join(clauses) or "true"), params


def sidebar_filters() -> Filters:
    first, last = query(
        "select min(activity_date), max(activity_date) from marts.fct_burn_rate_daily"
    ).iloc[0]
    plans = query("select plan_id, plan_name from marts.dim_plans order by plan_id")
    plan_names = dict(zip(plans.plan_id.astype(int), plans.plan_name))
    st.sidebar.header("Filters")
    chosen = st.sidebar.date_input(
        "Date range", value=(first, last), min_value=first, max_value=last, key="dates"
    )
    start, end = (tuple(chosen) + (last,))[:2] if isinstance(chosen, tuple) else (chosen, chosen)
    plan_id = st.sidebar.selectbox(
        "Plan",
        [None, *plan_names],
        format_func=lambda p: "All plans" if p is None else f"{plan_names[p]} ({p})",
        key="plan",
    )
    user_id = st.sidebar.number_input(
        "User id", value=None, min_value=0, step=1, placeholder="All users", key="user"
    )
    st.sidebar.caption(
        "Filters apply where a mart has the column: dates to days and months, plan "
        "to the plan at the time (or the user's current plan where a mart has no "
        "plan), user to per-user marts. Each section says which apply."
    )
    return Filters(start, end, plan_id, None if user_id is None else int(user_id))


def metrics(figures: Sequence[tuple[str, str]], per_row: int = 4) -> None:
    for first in range(0, len(figures), per_row):
        row = figures[first:first + per_row]
        for column, (label, value) in zip(st.columns(per_row), row):
            column.metric(label, value)


def table(frame: pd.DataFrame) -> None:
    """A mart query's rows, formatted by the unit its column names carry."""
    config: dict[str, Any] = {}
    for name in frame.columns:
        if "(credits" in name:
            config[name] = st.column_config.NumberColumn(format="%.1f")
        elif "(currency units)" in name:
            config[name] = st.column_config.NumberColumn(format="%.2f")
        elif "(days)" in name:
            config[name] = st.column_config.NumberColumn(format="%.1f")
        elif name.startswith(("Utilisation", "Observed")):
            config[name] = st.column_config.NumberColumn(format="percent")
        elif "month" in name.lower():
            config[name] = st.column_config.DateColumn(format="YYYY-MM")
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config)


def credit_burn(f: Filters) -> None:
    st.title("Credit burn")
    where, params = f.where(day="activity_date", user="user_id", plan_of_user="user_id")
    # the last day in the range: balances, averages and runway as of that day
    last_day = (
        "activity_date = (select max(activity_date)"
        f" from marts.fct_burn_rate_daily{where})"
    )
    last = query(
        "select max(activity_date) as day, sum(closing_balance_milli) as balance,"
        " sum(consumed_30d_avg_milli) as avg30,"
        " count(*) filter (where runway_days < ?) as low"
        f" from marts.fct_burn_rate_daily{where} and {last_day}",
        [LOW_RUNWAY_DAYS, *params, *params],
    ).iloc[0]
    totals = query(
        "select sum(consumed_milli) as consumed, sum(usage_count) as uses"
        f" from marts.fct_burn_rate_daily{where}",
        params,
    ).iloc[0]
    st.caption(
        "fct_burn_rate_daily: dates, user, plan (the user's current plan). Balance, "
        f"30-day average and runway as of the range's last day ({last.day:%Y-%m-%d})."
        if not missing(last.day) else "fct_burn_rate_daily: no day in the filters."
    )
    metrics([
        ("Consumed (credits)", credits(totals.consumed)),
        ("Usage events", count(totals.uses)),
        ("Burn, 30-day average (credits/day)", credits(last.avg30)),
        ("Closing balance (credits)", credits(last.balance)),
        (f"Users with runway < {LOW_RUNWAY_DAYS} days", count(last.low)),
    ])

    st.subheader(f"Users with less than {LOW_RUNWAY_DAYS} days of runway")
    table(query(
        "select user_id as \"User\", closing_balance_milli / 1000.0 as \"Balance (credits)\","
        " consumed_30d_avg_milli / 1000.0 as \"30-day average (credits/day)\","
        " runway_days as \"Runway (days)\""
        f" from marts.fct_burn_rate_daily{where} and {last_day} and runway_days < ?"
        " order by runway_days, user_id",
        [*params, *params, LOW_RUNWAY_DAYS],
    ))

    left, right = st.columns(2)
    with left:
        st.subheader("Consumed per day by plan (credits)")
        st.caption("fct_burn_by_plan_daily (plan at the time of use): dates, plan.")
        where_plan, params_plan = f.where(day="activity_date", plan="burn.plan_id")
        by_plan = query(
            "select burn.activity_date, coalesce(plans.plan_name, 'no plan') as plan,"
            " burn.consumed_milli / 1000.0 as consumed"
            " from marts.fct_burn_by_plan_daily as burn"
            " left join marts.dim_plans as plans on burn.plan_id = plans.plan_id"
            f"{where_plan}",
            params_plan,
        )
        if not by_plan.empty:
            st.line_chart(by_plan.pivot_table(
                index="activity_date", columns="plan", values="consumed", aggfunc="sum"
            ))
    with right:
        st.subheader("Consumed per month by service (credits)")
        st.caption("fct_burn_by_service_monthly: dates.")
        where_service, params_service = f.where(month="month_start")
        by_service = query(
            "select month_start, service_name, consumed_milli / 1000.0 as consumed"
            f" from marts.fct_burn_by_service_monthly{where_service}",
            params_service,
        )
        if not by_service.empty:
            st.bar_chart(by_service.pivot_table(
                index="month_start", columns="service_name", values="consumed",
                aggfunc="sum",
            ))


def plan_utilisation(f: Filters) -> None:
    st.title("Plan utilisation")
    where, params = f.where(month="month_start", plan="plan_id")
    rows = query(
        "select plan_id, plan_name, month_start, subscriber_count, allocated_milli,"
        " used_milli, expired_milli, remaining_milli, utilisation_ratio,"
        " settled_allocation_count, settled_allocated_milli, settled_used_milli,"
        " settled_utilisation_ratio"
        f" from marts.fct_plan_utilisation{where} order by month_start desc, plan_id",
        params,
    )
    st.caption(
        "fct_plan_utilisation, per plan and month of grant: dates, plan. Current: "
        "every allocation, open ones included; settled: only allocations that can no "
        "longer change (used up or expired)."
    )
    if rows.empty:
        st.info("No plan and month in the filters.")
        return
    labels = [f"{r.plan_name} · {r.month_start:%Y-%m}" for r in rows.itertuples()]
    chosen = st.selectbox("Plan and month", range(len(rows)), format_func=labels.__getitem__)
    row = rows.iloc[chosen]
    metrics([
        ("Utilisation, current", ratio(row.utilisation_ratio)),
        ("Utilisation, settled", ratio(row.settled_utilisation_ratio)),
        ("Allocated (credits)", credits(row.allocated_milli)),
        ("Used (credits)", credits(row.used_milli)),
        ("Settled allocated (credits)", credits(row.settled_allocated_milli)),
        ("Settled used (credits)", credits(row.settled_used_milli)),
        ("Subscribers", count(row.subscriber_count)),
    ])
    left, right = st.columns(2)
    for column, kind, name in [(left, "current", "utilisation_ratio"),
                               (right, "settled", "settled_utilisation_ratio")]:
        column.subheader(f"Utilisation by month, {kind}")
        column.line_chart(rows.pivot_table(
            index="month_start", columns="plan_name", values=name
        ))
    st.subheader("Plans by month")
    table(pd.DataFrame({
        "Plan": rows.plan_name,
        "Month": rows.month_start,
        "Subscribers": rows.subscriber_count,
        "Allocated (credits)": rows.allocated_milli / MILLI_PER_CREDIT,
        "Used (credits)": rows.used_milli / MILLI_PER_CREDIT,
        "Expired (credits)": rows.expired_milli / MILLI_PER_CREDIT,
        "Open (credits)": rows.remaining_milli / MILLI_PER_CREDIT,
        "Utilisation, current": rows.utilisation_ratio,
        "Settled allocations": rows.settled_allocation_count,
        "Settled allocated (credits)": rows.settled_allocated_milli / MILLI_PER_CREDIT,
        "Settled used (credits)": rows.settled_used_milli / MILLI_PER_CREDIT,
        "Utilisation, settled": rows.settled_utilisation_ratio,
    }))


def finance_reconciliation(f: Filters) -> None:
    st.title("Finance reconciliation")
    where, params = f.where(user="user_id", plan_of_user="user_id")
    st.caption(
        "fct_ledger_reconciliation, per user as of the last ledger row: user, plan "
        "(the user's current plan); dates do not apply."
    )
    totals = query(
        "select count(*) filter (where status = 'reconciled') as reconciled,"
        " count(*) filter (where status <> 'reconciled') as not_reconciled,"
        " sum(concurrent_write_count) as concurrent, sum(gap_count) as gaps,"
        " sum(quarantined_row_count) as quarantined"
        f" from marts.fct_ledger_reconciliation{where}",
        params,
    ).iloc[0]
    metrics([
        ("Users reconciled", count(totals.reconciled)),
        ("Users not reconciled", count(totals.not_reconciled)),
        ("Chain breaks: concurrent writes", count(totals.concurrent)),
        ("Chain breaks: gaps", count(totals.gaps)),
        ("Quarantined rows (users' ledgers)", count(totals.quarantined)),
    ])
    left, right = st.columns(2)
    with left:
        st.subheader("Users by status")
        table(query(
            "select status as \"Status\", count(*) as \"Users\""
            f" from marts.fct_ledger_reconciliation{where}"
            " group by status order by 2 desc, 1",
            params,
        ))
    with right:
        st.subheader("Quarantined rows by reason")
        st.caption(
            "stg_ledger__quarantined_credit_histories: user, plan (rows without a "
            "readable user appear only when neither filter is set)."
        )
        table(query(
            "select quarantine_reason as \"Reason\", count(*) as \"Rows\""
            f" from staging.stg_ledger__quarantined_credit_histories{where}"
            " group by quarantine_reason order by 2 desc, 1",
            params,
        ))
    st.subheader("Users that do not reconcile, with the reason")
    table(query(
        "select user_id as \"User\", status as \"Reason\","
        " quarantined_row_count as \"Quarantined rows\","
        " concurrent_write_count as \"Concurrent writes\", gap_count as \"Gaps\","
        " ledger_balance_milli / 1000.0 as \"Ledger balance (credits)\","
        " app_chain_balance_milli / 1000.0 as \"App chain balance (credits)\","
        " credits_snapshot_milli / 1000.0 as \"users.credits (credits)\","
        " lot_balance_milli / 1000.0 as \"Lot balance (credits)\""
        f" from marts.fct_ledger_reconciliation{where} and status <> 'reconciled'"
        " order by status, user_id",
        params,
    ))


def finance_revenue(f: Filters) -> None:
    st.title("Finance revenue")
    where, params = f.where(day="recognised_date", plan="plan_id", user="user_id")
    kinds = query(
        "select recognition_kind, sum(revenue_minor) as revenue"
        f" from marts.fct_revenue_recognition{where} group by recognition_kind",
        params,
    )
    by_kind = dict(zip(kinds.recognition_kind, kinds.revenue))
    where_month, params_month = f.where(month="month_start")
    deferred = query(
        "select sum(billed_minor) as billed, sum(closing_deferred_minor) filter ("
        " where month_start = (select max(month_start)"
        f" from marts.fct_deferred_revenue_monthly{where_month})) as closing"
        f" from marts.fct_deferred_revenue_monthly{where_month}",
        [*params_month, *params_month],
    ).iloc[0]
    st.caption(
        "fct_revenue_recognition: dates, plan (at the time), user. "
        "fct_deferred_revenue_monthly, fct_service_revenue_monthly, "
        "fct_breakage_cohorts: dates (months that overlap the range)."
    )
    metrics([
        ("Revenue recognised (currency units)", money(kinds.revenue.sum())),
        ("Usage revenue (currency units)", money(by_kind.get("usage", 0))),
        ("Debt repayment revenue (currency units)", money(by_kind.get("debt_repayment", 0))),
        ("Breakage revenue (currency units)", money(by_kind.get("breakage", 0))),
        ("Billed (currency units)", money(deferred.billed)),
        ("Deferred revenue, closing (currency units)", money(deferred.closing)),
    ])

    st.subheader("Revenue recognised per month (currency units)")
    monthly = query(
        "select date_trunc('month', cast(recognised_date as timestamp)) as month,"
        " recognition_kind, revenue_minor / 100.0 as revenue"
        f" from marts.fct_revenue_recognition{where}",
        params,
    )
    if not monthly.empty:
        st.bar_chart(monthly.pivot_table(
            index="month", columns="recognition_kind", values="revenue", aggfunc="sum"
        ))

    st.subheader("Deferred revenue roll-forward")
    table(query(
        "select month_start as \"Month\", credit_type as \"Credit type\","
        " opening_deferred_minor / 100.0 as \"Opening (currency units)\","
        " billed_minor / 100.0 as \"Billed (currency units)\","
        " usage_revenue_minor / 100.0 as \"Usage revenue (currency units)\","
        " breakage_revenue_minor / 100.0 as \"Breakage revenue (currency units)\","
        " closing_deferred_minor / 100.0 as \"Closing (currency units)\""
        f" from marts.fct_deferred_revenue_monthly{where_month}"
        " order by month_start desc, credit_type",
        params_month,
    ))

    st.subheader("Revenue by service")
    table(query(
        "select month_start as \"Month\", service_name as \"Service\","
        " item_count as \"Items\", consumed_milli / 1000.0 as \"Consumed (credits)\","
        " revenue_minor / 100.0 as \"Revenue (currency units)\","
        " credits_per_item_milli / 1000.0 as \"Per item (credits)\","
        " revenue_per_item_minor / 100.0 as \"Per item (currency units)\""
        f" from marts.fct_service_revenue_monthly{where_month}"
        " order by month_start desc, service_name",
        params_month,
    ))

    st.subheader("Breakage by grant cohort")
    where_cohort, params_cohort = f.where(month="grant_month")
    table(query(
        "select grant_month as \"Grant month\", credit_type as \"Credit type\","
        " lot_count as \"Lots\", granted_milli / 1000.0 as \"Granted (credits)\","
        " used_milli / 1000.0 as \"Used (credits)\","
        " expired_milli / 1000.0 as \"Expired (credits)\","
        " open_milli / 1000.0 as \"Open (credits)\","
        " breakage_minor / 100.0 as \"Breakage (currency units)\","
        " observed_breakage_rate as \"Observed breakage rate\""
        f" from marts.fct_breakage_cohorts{where_cohort}"
        " order by grant_month desc, credit_type",
        params_cohort,
    ))


def credit_health(f: Filters) -> None:
    st.title("Credit health")
    where, params = f.where(plan="plan_id", user="user_id")
    st.caption(
        "fct_user_credit_health and fct_projected_expiry, as of the last ledger row: "
        "plan (the user's current plan), user. fct_churn_signal_backtest: dates."
    )
    totals = query(
        "select count(*) filter (where churn_risk = 'high') as high,"
        " count(*) filter (where churn_risk = 'medium') as medium,"
        " sum(projected_breakage_30d_milli) as c30,"
        " sum(projected_breakage_30d_minor) as m30,"
        " sum(projected_breakage_90d_milli) as c90,"
        " sum(projected_breakage_90d_minor) as m90"
        f" from marts.fct_user_credit_health{where}",
        params,
    ).iloc[0]
    metrics([
        ("Users at high churn risk", count(totals.high)),
        ("Users at medium churn risk", count(totals.medium)),
        ("Expiring unused in 30 days (credits)", credits(totals.c30)),
        ("Expiring unused in 30 days (currency units)", money(totals.m30)),
        ("Expiring unused in 90 days (credits)", credits(totals.c90)),
        ("Expiring unused in 90 days (currency units)", money(totals.m90)),
    ], per_row=3)

    st.subheader("Users by churn risk")
    table(query(
        "select user_id as \"User\", churn_risk as \"Churn risk\","
        " plan_tier as \"Plan tier\", subscription_status as \"Subscription\","
        " idle_days as \"Idle days\","
        " usage_30d_milli / 1000.0 as \"Used, last 30 days (credits)\","
        " usage_prior_30d_milli / 1000.0 as \"Used, 30 days before (credits)\","
        " balance_milli / 1000.0 as \"Balance (credits)\", runway_days as \"Runway (days)\","
        " projected_breakage_90d_milli / 1000.0 as \"Expiring in 90 days (credits)\""
        f" from marts.fct_user_credit_health{where}"
        " order by case churn_risk when 'high' then 0 when 'medium' then 1 else 2 end,"
        " projected_breakage_90d_milli desc, user_id",
        params,
    ))

    st.subheader("Open lots projected to expire unused")
    where_lot, params_lot = f.where(user="user_id", plan_of_user="user_id")
    table(query(
        "select user_id as \"User\", lot_id as \"Lot\", credit_type as \"Credit type\","
        " expires_at as \"Expires at\", remaining_milli / 1000.0 as \"Open (credits)\","
        " projected_expired_milli / 1000.0 as \"Projected to expire (credits)\","
        " projected_expired_minor / 100.0 as \"Projected to expire (currency units)\""
        f" from marts.fct_projected_expiry{where_lot} and projected_expired_milli > 0"
        " order by expires_at, lot_id",
        params_lot,
    ))

    st.subheader("Churn signal backtest: share cancelling in the next 30 days")
    where_bt, params_bt = f.where(month="month_start")
    backtest = query(
        "select month_start, churn_risk, cancellation_rate"
        f" from marts.fct_churn_signal_backtest{where_bt}",
        params_bt,
    )
    if not backtest.empty:
        st.line_chart(backtest.pivot_table(
            index="month_start", columns="churn_risk", values="cancellation_rate"
        ))


# (page, title, url path); the exposures in models/marts/_marts__exposures.yml
# link to http://localhost:8501/<url path>
PAGES: list[tuple[Callable[[Filters], None], str, str]] = [
    (credit_burn, "Credit burn", "credit-burn"),
    (plan_utilisation, "Plan utilisation", "plan-utilisation"),
    (finance_reconciliation, "Finance reconciliation", "finance-reconciliation"),
    (finance_revenue, "Finance revenue", "finance-revenue"),
    (credit_health, "Credit health", "credit-health"),
]


def source_or_stop() -> tuple[str, str]:
    """What the dashboard reads: a line for the overview and a caption, or
    a message and st.stop() when there is nothing to read."""
    if os.environ.get("DBT_TARGET") == "spark":
        st.error(
            "The dashboard reads the published DuckDB file or PostgreSQL, not Spark "
            "(README, Dashboard): unset DBT_TARGET to read credits.duckdb."
        )
        st.stop()
    if reads_postgres():
        import psycopg2

        label = postgres_label()
        try:
            postgres_query("select count(*) from marts.dim_plans")
        except psycopg2.Error as error:
            st.warning(
                f"Cannot read the marts in {label} (`dbt build --target postgres` "
                f"builds them; the CREDITS_PG_* variables say where): {error}"
            )
            st.stop()
        return (f"The marts of the last `dbt build --target postgres` in {label}, read in "
                "read-only transactions.",
                f"Read-only from {label}, schema marts, a new connection for every query.")
    path = database_path()
    if not path.exists():
        st.warning(f"There is no published database at {path} yet: run `make build` first.")
        st.stop()
    published = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return (f"The marts of the last build that passed, published {published:%Y-%m-%d %H:%M} "
            f"UTC as `{path}` and read read-only.",
            f"Read-only from {path}, opened again for every query.")


def main() -> None:
    st.set_page_config(page_title="Credit ledger", layout="wide")
    described, caption = source_or_stop()
    filters = sidebar_filters()
    pages = [
        st.Page(partial(render, filters), title=title, url_path=url)
        for render, title, url in PAGES
    ]

    def overview() -> None:
        st.title("Credit ledger")
        st.write(f"{described} One page per dashboard exposure:")
        for page in pages:
            st.page_link(page)

    home = st.Page(overview, title="Overview", url_path="overview", default=True)
    st.navigation([home, *pages]).run()
    st.caption(caption)


if __name__ == "__main__":
    main()
