"""Market metadata in the marts: every market named where Gamma has it, counted either way."""

from __future__ import annotations

import json

from tests.dbt_project.conftest import world_time


def _gamma_by_condition(dataset) -> dict[str, dict]:
    now = world_time(dataset)
    return {m["conditionId"]: m for m in dataset.gamma.visible_markets(now)}


def test_every_condition_is_a_market_named_when_gamma_has_it(built_crossing, crossing_dataset):
    gamma = _gamma_by_condition(crossing_dataset)
    rows = built_crossing.query(
        "select condition_id, has_metadata, question, outcome_labels, category, market_url "
        "from marts.markets"
    )
    conditions = {r["condition_id"] for r in rows}
    assert conditions >= set(gamma), "every Gamma market of a known condition is a market"
    assert len(conditions - set(gamma)) >= 1, "the world has a market Gamma lacks"
    for row in rows:
        market = gamma.get(row["condition_id"])
        if market is None:
            assert not row["has_metadata"]
            assert row["question"] == row["condition_id"]
            assert row["category"] is None and row["market_url"] is None
            continue
        assert row["has_metadata"]
        assert row["question"] == market["question"]
        assert list(row["outcome_labels"]) == json.loads(market["outcomes"])
        assert row["category"] in {
            "politics", "sports", "crypto", "economics", "finance",
            "tech", "culture", "weather", "mentions",
        }  # fmt: skip
        assert row["market_url"].endswith("/" + market["slug"])
    assert len({r["category"] for r in rows if r["category"]}) >= 3


def test_positions_carry_question_and_outcome_label(built_crossing, crossing_dataset):
    gamma = _gamma_by_condition(crossing_dataset)
    rows = built_crossing.query(
        "select condition_id, token_id, outcome_index, question, outcome_label, category "
        "from marts.trader_markets"
    )
    named = unnamed = 0
    for row in rows:
        market = gamma.get(row["condition_id"])
        if market is None:
            # still counted, shown by its id
            assert row["question"] == row["condition_id"] and row["outcome_label"] is None
            unnamed += 1
            continue
        tokens = json.loads(market["clobTokenIds"])
        labels = json.loads(market["outcomes"])
        assert row["question"] == market["question"]
        assert row["outcome_label"] == labels[tokens.index(row["token_id"])]
        assert labels[row["outcome_index"]] == row["outcome_label"]
        named += 1
    assert named and unnamed, "positions in markets with and without metadata"
