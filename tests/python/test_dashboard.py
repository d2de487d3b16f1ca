"""The dashboard (credit_ledger/dashboard.py) in a real browser, over the sample's marts.

One Streamlit server on a free port, pointed at the sample's build (the
worker's shared build, conftest.py) through CREDITS_PUBLISH_PATH, and one
headless Debian Chromium driven by Playwright. Each page: its headline
figures equal the marts queried here, a sidebar filter (plan or user) moves
them to the marts' filtered values, and a screenshot lands in screenshots/
(git-ignored). The server stops at the end, also when a test fails.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from conftest import BuiltLedger
from credit_ledger.dbt_runner import PROJECT_DIR

DASHBOARD = PROJECT_DIR / "credit_ledger" / "dashboard.py"
SCREENSHOTS = PROJECT_DIR / "screenshots"
TIMEOUT_MS = 30_000
expect.set_options(timeout=TIMEOUT_MS)


def credits(milli: float) -> str:
    return f"{milli / 1000:,.1f}"


def money(minor: float) -> str:
    return f"{minor / 100:,.2f}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def marts(sample_build: BuiltLedger) -> BuiltLedger:
    return sample_build


@pytest.fixture(scope="module")
def server(marts: BuiltLedger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`streamlit run` on a free port; its URL. Stopped at the module's end."""
    port = free_port()
    work = tmp_path_factory.mktemp("dashboard")
    log_path = work / "streamlit.log"
    env = dict(os.environ, CREDITS_PUBLISH_PATH=str(marts.db_path))
    command = [
        sys.executable, "-m", "streamlit", "run", str(DASHBOARD),
        "--server.address", "127.0.0.1", "--server.port", str(port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--client.toolbarMode", "viewer",
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"streamlit exited {process.returncode}:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"streamlit did not answer in 60 s:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not on PATH: `apt-get install chromium` (or `make browser`)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def page(browser: Browser, server: str) -> Iterator[Page]:
    SCREENSHOTS.mkdir(exist_ok=True)
    opened = browser.new_page(viewport={"width": 1400, "height": 1000})
    opened.set_default_timeout(TIMEOUT_MS)
    yield opened
    opened.close()


def visit(page: Page, server: str, path: str, title: str) -> None:
    page.goto(f"{server}/{path}")
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()


def metric(page: Page, label: str) -> Locator:
    """The value of the `st.metric` labelled exactly `label`."""
    labelled = page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(
        f"^{re.escape(label)}$"))
    return page.locator('[data-testid="stMetric"]', has=labelled).locator(
        '[data-testid="stMetricValue"]')


def choose_plan(page: Page, plan_label: str) -> None:
    page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').click()
    page.get_by_role("option", name=plan_label, exact=True).click()


def choose_user(page: Page, user_id: int) -> None:
    field = page.locator('[data-testid="stSidebar"]').get_by_label("User id")
    field.fill(str(user_id))
    field.press("Enter")


def screenshot(page: Page, name: str) -> None:
    # the footer is written once the page's script has run to its end
    expect(page.get_by_text("Read-only from ")).to_be_visible()
    expect(page.locator('[data-testid="stStatusWidget"]')).to_be_hidden()
    page.wait_for_timeout(500)  # let the charts and tables draw
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def test_overview_links_every_page(page: Page, server: str) -> None:
    visit(page, server, "", "Credit ledger")
    for title in ["Credit burn", "Plan utilisation", "Finance reconciliation",
                  "Finance revenue", "Credit health"]:
        expect(page.locator('[data-testid="stMain"]').get_by_role(
            "link", name=title)).to_be_visible()
    screenshot(page, "overview")


def test_credit_burn(page: Page, server: str, marts: BuiltLedger) -> None:
    consumed = marts.scalar("select sum(consumed_milli) from marts.fct_burn_rate_daily")
    low = marts.scalar(
        "select count(*) from marts.fct_burn_rate_daily where runway_days < 14"
        " and activity_date = (select max(activity_date) from marts.fct_burn_rate_daily)")
    user_id, user_consumed = marts.rows(
        "select user_id, sum(consumed_milli) from marts.fct_burn_rate_daily"
        " group by user_id order by 2 desc, 1 limit 1")[0]
    visit(page, server, "credit-burn", "Credit burn")
    expect(metric(page, "Consumed (credits)")).to_have_text(credits(consumed))
    expect(metric(page, "Users with runway < 14 days")).to_have_text(str(low))
    screenshot(page, "credit-burn")

    choose_user(page, user_id)
    assert user_consumed != consumed
    expect(metric(page, "Consumed (credits)")).to_have_text(credits(user_consumed))


def test_plan_utilisation(page: Page, server: str, marts: BuiltLedger) -> None:
    plan_id, plan_name = 3, "Pro Monthly"
    latest, ratio, settled = marts.rows(
        "select month_start, utilisation_ratio, settled_utilisation_ratio"
        " from marts.fct_plan_utilisation where plan_id = ?"
        " order by month_start desc limit 1", [plan_id])[0]
    visit(page, server, "plan-utilisation", "Plan utilisation")
    expect(metric(page, "Utilisation, current")).to_be_visible()
    screenshot(page, "plan-utilisation")

    choose_plan(page, f"{plan_name} ({plan_id})")
    # the page's plan-month picker now starts at the plan's latest month
    expect(page.get_by_role("combobox", name="Plan and month")).to_have_value(
        f"{plan_name} · {latest:%Y-%m}")
    expect(metric(page, "Utilisation, current")).to_have_text(f"{ratio:.1%}")
    expect(metric(page, "Utilisation, settled")).to_have_text(
        "–" if settled is None else f"{settled:.1%}")


def test_finance_reconciliation(page: Page, server: str, marts: BuiltLedger) -> None:
    statuses = dict(marts.rows(
        "select status, count(*) from marts.fct_ledger_reconciliation group by 1"))
    gaps = marts.scalar("select sum(gap_count) from marts.fct_ledger_reconciliation")
    plan_reconciled = marts.scalar(
        "select count(*) from marts.fct_ledger_reconciliation where status = 'reconciled'"
        " and user_id in (select user_id from marts.dim_users where plan_id = 1)")
    visit(page, server, "finance-reconciliation", "Finance reconciliation")
    expect(metric(page, "Users reconciled")).to_have_text(f"{statuses['reconciled']:,}")
    expect(metric(page, "Users not reconciled")).to_have_text(
        f"{sum(statuses.values()) - statuses['reconciled']:,}")
    expect(metric(page, "Chain breaks: gaps")).to_have_text(f"{gaps:,}")
    screenshot(page, "finance-reconciliation")

    choose_plan(page, "Basic Monthly (1)")
    assert plan_reconciled != statuses["reconciled"]
    expect(metric(page, "Users reconciled")).to_have_text(f"{plan_reconciled:,}")


def test_finance_revenue(page: Page, server: str, marts: BuiltLedger) -> None:
    revenue, breakage = marts.rows(
        "select sum(revenue_minor),"
        " sum(revenue_minor) filter (where recognition_kind = 'breakage')"
        " from marts.fct_revenue_recognition")[0]
    closing = marts.scalar(
        "select sum(closing_deferred_minor) from marts.fct_deferred_revenue_monthly"
        " where month_start = (select max(month_start) from marts.fct_deferred_revenue_monthly)")
    plan_revenue = marts.scalar(
        "select sum(revenue_minor) from marts.fct_revenue_recognition where plan_id = 3")
    visit(page, server, "finance-revenue", "Finance revenue")
    expect(metric(page, "Revenue recognised (currency units)")).to_have_text(money(revenue))
    expect(metric(page, "Breakage revenue (currency units)")).to_have_text(money(breakage))
    expect(metric(page, "Deferred revenue, closing (currency units)")).to_have_text(
        money(closing))
    screenshot(page, "finance-revenue")

    choose_plan(page, "Pro Monthly (3)")
    expect(metric(page, "Revenue recognised (currency units)")).to_have_text(
        money(plan_revenue))


def test_credit_health(page: Page, server: str, marts: BuiltLedger) -> None:
    high, expiring = marts.rows(
        "select count(*) filter (where churn_risk = 'high'),"
        " sum(projected_breakage_90d_milli) from marts.fct_user_credit_health")[0]
    user_id, user_expiring = marts.rows(
        "select user_id, projected_breakage_90d_milli from marts.fct_user_credit_health"
        " where projected_breakage_90d_milli > 0 order by 2 desc, 1 limit 1")[0]
    visit(page, server, "credit-health", "Credit health")
    expect(metric(page, "Users at high churn risk")).to_have_text(str(high))
    expect(metric(page, "Expiring unused in 90 days (credits)")).to_have_text(credits(expiring))
    screenshot(page, "credit-health")

    choose_user(page, user_id)
    expect(metric(page, "Expiring unused in 90 days (credits)")).to_have_text(
        credits(user_expiring))


def test_without_a_published_database_it_says_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("CREDITS_PUBLISH_PATH", str(tmp_path / "missing.duckdb"))
    app = AppTest.from_file(str(DASHBOARD)).run(timeout=30)
    assert [w.value for w in app.warning] == [
        f"There is no published database at {tmp_path / 'missing.duckdb'} yet:"
        " run `make build` first."
    ]
