"""The per-phase time record saved in results.json's extra_data."""

from __future__ import annotations

import json
from collections.abc import Callable

from autograder import timeline
from conftest import GradeFn


def test_phases_add_up_and_tests_fill_their_category() -> None:
    record = timeline.Timeline()
    record.add("start-up", 1.25)
    record.add("start-up", 0.25)
    record.test("a", "public", 2.0)
    record.test("b", "hidden", 0.5)
    record.test("c", "public", 1.0)
    record.add("negative", -3.0)
    assert record.phases == {"start-up": 1.5, "public": 3.0, "hidden": 0.5, "negative": 0.0}
    assert record.slowest(2) == [("a", 2.0), ("c", 1.0)]


def test_round_trip_through_json_drops_malformed_entries() -> None:
    record = timeline.Timeline()
    with record.phase("collection"):
        pass
    record.test("t", "performance", 0.1234567)
    saved = json.loads(json.dumps(record.as_dict()))
    assert saved["tests"] == {"t": 0.123}
    back = timeline.Timeline.from_dict({**saved, "tests": {"t": 0.123, "bad": "x"}})
    assert back.tests == {"t": 0.123} and set(back.phases) == {"collection", "performance"}
    assert timeline.Timeline.from_dict("nonsense").as_dict() == {"phases": {}, "tests": {}}


def test_process_age_is_a_small_positive_number() -> None:
    age = timeline.process_age()
    assert age is None or 0.0 <= age < 24 * 3600


def test_a_grading_records_its_phases_and_each_test(grade: GradeFn,
                                                    reference_source: Callable[[str], str]) -> None:
    """results.json's extra_data["timeline"] names every phase and times every graded test."""
    g = grade(reference_source("softmax_nll"), select="test_softmax_small or test_nll_loss_mean", isolation="plain")
    saved = g.data["extra_data"][timeline.KEY]
    assert {"start-up", "intake", timeline.GRADER_IMPORTS, "collection", "public", timeline.WORKER_START,
            "finish"} <= set(saved["phases"])
    assert set(saved["tests"]) == {t["name"] for t in g.data["tests"]}
    assert all(seconds > 0 for seconds in saved["tests"].values())
    assert saved["phases"][timeline.WORKER_START] > 0
