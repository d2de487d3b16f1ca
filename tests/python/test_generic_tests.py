"""The in-house generic tests (tests/generic) pass on good data and fail,
with the right number of failing rows, on bad data.

A throwaway dbt project in a temp dir uses the project's generic tests over
two small seeds.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from credit_ledger.dbt_runner import PROJECT_DIR, DbtResult, run_dbt

SEEDS = {
    "items": "id,kind,amount,parent_id\n1,a,5,10\n2,a,7,11\n3,b,-1,12\n3,b,50,99\n",
    "parents": "id,active\n10,true\n11,true\n12,false\n",
    "twins": "id\n1\n2\n3\n4\n",
}

SCHEMA = """
version: 2
seeds:
  - name: items
    data_tests:
      - unique_combination_of_columns:
          name: combo_good
          arguments: {combination_of_columns: [id, amount]}
      - unique_combination_of_columns:
          name: combo_bad
          arguments: {combination_of_columns: [id, kind]}
      - expression_is_true:
          name: expr_good
          arguments: {expression: "amount > -10"}
      - expression_is_true:
          name: expr_bad
          arguments: {expression: "amount > 0"}
      - expression_is_true:
          name: expr_where_good
          arguments: {expression: "amount > 0", where_condition: "kind = 'a'"}
      - expression_is_true:
          name: expr_where_config_good
          arguments: {expression: "amount > 0"}
          config: {where: "kind = 'a'"}
      - equal_row_count:
          name: count_good
          arguments: {compare_model: ref('twins')}
      - equal_row_count:
          name: count_bad
          arguments: {compare_model: ref('parents')}
    columns:
      - name: amount
        data_tests:
          - accepted_range:
              name: range_good
              arguments: {min_value: -1, max_value: 50}
          - accepted_range:
              name: range_bad
              arguments: {min_value: 0, max_value: 10}
          - accepted_range:
              name: range_exclusive_bad
              arguments: {min_value: -1, max_value: 50, inclusive: false}
      - name: parent_id
        data_tests:
          - relationships_where:
              name: rel_good
              arguments: {to: ref('parents'), field: id, from_condition: "id < 3"}
          - relationships_where:
              name: rel_bad
              arguments: {to: ref('parents'), field: id}
          - relationships_where:
              name: rel_parent_condition_bad
              arguments: {to: ref('parents'), field: id, to_condition: "active"}
"""

EXPECTED = {
    "combo_good": ("pass", 0), "combo_bad": ("fail", 1),
    "expr_good": ("pass", 0), "expr_bad": ("fail", 1), "expr_where_good": ("pass", 0),
    "expr_where_config_good": ("pass", 0),
    "count_good": ("pass", 0), "count_bad": ("fail", 1),
    "range_good": ("pass", 0), "range_bad": ("fail", 2), "range_exclusive_bad": ("fail", 2),
    "rel_good": ("pass", 0), "rel_bad": ("fail", 1), "rel_parent_condition_bad": ("fail", 2),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> DbtResult:
    project = tmp_path_factory.mktemp("generic_tests")
    shutil.copytree(PROJECT_DIR / "tests" / "generic", project / "tests" / "generic")
    # equal_row_count and dbt's `model` argument use the test scope macros
    (project / "macros").mkdir()
    shutil.copy(PROJECT_DIR / "macros" / "test_scope.sql", project / "macros")
    (project / "seeds").mkdir()
    for name, text in SEEDS.items():
        (project / "seeds" / f"{name}.csv").write_text(text)
    (project / "seeds" / "_schema.yml").write_text(SCHEMA)
    (project / "dbt_project.yml").write_text(
        "name: generic_tests_check\nversion: '1.0'\nconfig-version: 2\n"
        "profile: credit_ledger\n"
    )
    (project / "profiles.yml").write_text((PROJECT_DIR / "profiles.yml").read_text())
    result = run_dbt(["build"], db_path=project / "db.duckdb", work_dir=project,
                     project_dir=project)
    assert result.results, result.output[-4000:]
    return result


@pytest.mark.parametrize("test_name", sorted(EXPECTED))
def test_generic_test_outcome(run: DbtResult, test_name: str) -> None:
    expected_status, expected_failures = EXPECTED[test_name]
    [result] = [r for r in run.results if r["unique_id"].split(".")[2] == test_name]
    assert (result["status"], result["failures"]) == (expected_status, expected_failures)
