"""Spill-over by channel (blocsim.pipeline.channels) on russia-recession-2014-15 and small variants.

The channels run cumulatively in the order they first appear among [[after.measures]]; the
columns ``spillover_<channel>_pct`` add up to ``welfare_pct`` exactly; the labour channel is the
last step; run.json records the order and the numbers; reserved names are errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import blocsim
from blocsim.errors import ScenarioError
from blocsim.pipeline.channels import spillover_column
from blocsim.pipeline.scenario_run import run_scenario
from blocsim.scenario import load_scenario

NAME = "russia-recession-2014-15"
MEMBERS = ["RUS", "KAZ", "BLR", "KGZ", "ARM", "TJK"]


@pytest.fixture(scope="module")
def dataset():  # type: ignore[no-untyped-def]
    return blocsim.load_dataset("eaeu")


@pytest.fixture(scope="module")
def recession(dataset, tmp_path_factory):  # type: ignore[no-untyped-def]
    return run_scenario(NAME, tmp_path_factory.mktemp("run") / "out", dataset=dataset)


def test_channels_add_up_to_welfare(recession) -> None:  # type: ignore[no-untyped-def]
    order = ["productivity", "oil", "capital_flight", "remittances"]
    assert recession.meta["channels"]["order"] == order
    table = recession.countries
    total = table[[spillover_column(c) for c in order]].sum(axis=1)
    np.testing.assert_allclose(total, table["welfare_pct"], rtol=0, atol=1e-10)
    record = json.loads((recession.run_dir / "run.json").read_text(encoding="utf-8"))["channels"]
    assert set(record["spillover_pct"]) == set(MEMBERS)
    assert record["spillover_pct"]["KGZ"]["remittances"] == pytest.approx(
        float(table.set_index("country").loc["KGZ", "spillover_remittances_pct"]), abs=1e-12)


def test_each_step_is_the_cumulative_run(recession, dataset) -> None:  # type: ignore[no-untyped-def]
    """The first channel alone (labour off) gives spillover_productivity_pct; the capital flight
    costs Russia real income; remittances (the labour channel) hit the senders' families."""
    scenario = load_scenario(NAME)
    first = scenario.after.measures[0].model_copy(update={"channel": None})
    alone = scenario.model_copy(update={
        "after": scenario.after.model_copy(update={"measures": [first]}),
        "model": scenario.model.model_copy(update={"labour": False})})
    table = recession.countries.set_index("country")
    step = run_scenario(alone, dataset=dataset).countries.set_index("country")
    np.testing.assert_allclose(table.loc[MEMBERS, "spillover_productivity_pct"], step.loc[MEMBERS, "welfare_pct"],
                               rtol=0, atol=1e-12)
    assert table.loc["RUS", "spillover_capital_flight_pct"] < 0
    assert (table.loc[["KGZ", "TJK", "ARM"], "spillover_remittances_pct"] < 0).all()
    assert abs(table.loc["RUS", "spillover_remittances_pct"]) < abs(table.loc["KGZ", "spillover_remittances_pct"])


def test_untagged_changes_run_first_and_reserved_names_fail(dataset, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    scenario = load_scenario(NAME)
    measures = list(scenario.after.measures)
    measures[0] = measures[0].model_copy(update={"channel": None})
    variant = scenario.model_copy(update={"after": scenario.after.model_copy(update={"measures": measures[:2]}),
                                          "model": scenario.model.model_copy(update={"labour": False})})
    result = run_scenario(variant, dataset=dataset)
    assert result.meta["channels"]["order"] == ["other", "oil"]
    table = result.countries
    np.testing.assert_allclose(table["spillover_other_pct"] + table["spillover_oil_pct"], table["welfare_pct"],
                               rtol=0, atol=1e-10)
    reserved = [measures[1].model_copy(update={"channel": "remittances"})]
    bad = scenario.model_copy(update={"after": scenario.after.model_copy(update={"measures": reserved})})
    with pytest.raises(ScenarioError, match="reserves"):
        run_scenario(bad, dataset=dataset)


def test_cli_explain_shows_the_channels(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from blocsim.cli.main import app

    out = tmp_path / "run"
    shown = CliRunner().invoke(app, ["run", NAME, "--out", str(out), "--explain", "--no-store"])
    assert shown.exit_code == 0, shown.output
    assert "Spill-over by channel" in shown.output and "capital_flight" in shown.output
    as_json = CliRunner().invoke(app, ["run", NAME, "--out", str(out), "--explain", "--no-store", "--json"])
    assert as_json.exit_code == 0, as_json.output
    rows = {row["country"]: row for row in json.loads(as_json.stdout)["explanation"]}
    assert list(rows["KGZ"]["channels"]) == ["productivity", "oil", "capital_flight", "remittances"]
    assert sum(rows["KGZ"]["channels"].values()) == pytest.approx(rows["KGZ"]["welfare_pct"], abs=1e-10)


def test_report_has_the_channel_table(recession) -> None:  # type: ignore[no-untyped-def]
    from blocsim.report.html import channel_rows, write_report
    from blocsim.report.tables import load_run

    rows = channel_rows(load_run(recession.run_dir))
    assert [r["channel"] for r in rows] == ["productivity", "oil", "capital_flight", "remittances", "welfare_pct (sum)"]
    np.testing.assert_allclose(np.sum([r["values"] for r in rows[:-1]], axis=0), rows[-1]["values"], rtol=0,
                               atol=1e-10)
    html = write_report(recession.run_dir).read_text(encoding="utf-8")
    assert '<section id="channels">' in html and "capital_flight" in html


def test_band_draw_at_the_point_values_reproduces_the_point_run(recession) -> None:  # type: ignore[no-untyped-def]
    """The Monte Carlo bands solve the same model as the point run, capital-flow target included."""
    from blocsim.pipeline.bands import bands_plan, solve_values

    plan = bands_plan(recession)
    assert plan.problem.deficit_target is not None
    point = solve_values(plan, plan.point[None])[0]
    reference = recession.countries.set_index("country").loc[list(plan.problem.countries), list(plan.variables)]
    assert np.array_equal(point, reference.to_numpy().T, equal_nan=True)  # the same model, bit for bit


def test_steps_reuse_the_purged_baseline(dataset, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """With [model] deficits = "purged" the deficits are purged once per run, not once per channel step (the
    purge depends on the before state and the data only); each step still gives its own cumulative run."""
    import blocsim.equilibrium

    scenario = load_scenario(NAME)
    purged = scenario.model_copy(update={"model": scenario.model.model_copy(update={"deficits": "purged"})})
    first = scenario.after.measures[0].model_copy(update={"channel": None})
    alone = purged.model_copy(update={"after": purged.after.model_copy(update={"measures": [first]}),
                                      "model": purged.model.model_copy(update={"labour": False})})
    reference = run_scenario(alone, dataset=dataset).countries.set_index("country")
    purges = []
    real = blocsim.equilibrium.purge_deficits

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        purges.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(blocsim.equilibrium, "purge_deficits", counted)
    result = run_scenario(purged, dataset=dataset)
    assert result.meta["channels"]["order"] == ["productivity", "oil", "capital_flight", "remittances"]
    assert len(purges) == 1
    table = result.countries.set_index("country")
    np.testing.assert_allclose(table.loc[MEMBERS, "spillover_productivity_pct"],
                               reference.loc[MEMBERS, "welfare_pct"], rtol=0, atol=1e-12)
    columns = [spillover_column(c) for c in result.meta["channels"]["order"]]
    np.testing.assert_allclose(table[columns].sum(axis=1), table["welfare_pct"], rtol=0, atol=1e-10)
