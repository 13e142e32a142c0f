"""The comparison: means and differences against an independent computation, the percentile
bootstrap's interval against the standard library's quantiles, and a clear effect stated as
clear while no effect is not."""

from __future__ import annotations

import random
import statistics

import pytest

from coplib.domain.errors import InvalidInputError
from coplib.simulation import compare, run_sweep
from coplib.simulation.compare import bootstrap_interval
from tests.simulation.tiny import tiny


def _reference_interval(b: list[float], v: list[float], seed: str, resamples: int) -> tuple[float, float]:
    """The same bootstrap written out plainly, with the statistics module's quantiles."""
    rng = random.Random(seed)
    diffs = []
    for _ in range(resamples):
        mb = statistics.fmean([b[rng.randrange(len(b))] for _ in b])
        mv = statistics.fmean([v[rng.randrange(len(v))] for _ in v])
        diffs.append(mv - mb)
    cuts = statistics.quantiles(diffs, n=40, method="inclusive")  # 2.5 % steps
    return cuts[0], cuts[-1]


def test_the_bootstrap_interval_is_the_percentile_interval_of_the_resampled_differences() -> None:
    b = [0.2, 0.35, 0.3, 0.25, 0.4, 0.33]
    v = [0.5, 0.45, 0.6, 0.52, 0.4, 0.58]
    (low, high), rel = bootstrap_interval(b, v, rng=random.Random("s"), resamples=800, confidence=0.95)
    ref_low, ref_high = _reference_interval(b, v, "s", 800)
    assert low == pytest.approx(ref_low)
    assert high == pytest.approx(ref_high)
    assert rel is not None and rel[0] > 0


def test_means_and_differences_are_those_of_the_runs() -> None:
    sweep = run_sweep(
        tiny(weeks=2), runs=3, variants={"on": {}, "off": {"communities.help.answer_guarantee": False}}, workers=1
    )
    comparison = compare(sweep, resamples=200)
    d = next(x for x in comparison.differences if x.metric == "questions")
    on = [r.communities["help"]["metrics"]["questions"] for r in sweep.runs["on"]]
    off = [r.communities["help"]["metrics"]["questions"] for r in sweep.runs["off"]]
    assert d.baseline_mean == pytest.approx(statistics.fmean(on))
    assert d.variant_mean == pytest.approx(statistics.fmean(off))
    assert d.difference == pytest.approx(statistics.fmean(off) - statistics.fmean(on))
    assert d.difference_low is not None and d.difference_high is not None
    assert d.difference_low <= d.difference <= d.difference_high
    assert comparison.baseline == "on"
    assert len(comparison.verdict(["questions"])) == 1


def test_a_variant_identical_to_the_baseline_shows_no_clear_difference() -> None:
    sweep = run_sweep(tiny(weeks=2), runs=4, variants={"a": {}, "b": {"weeks": 2}}, workers=1)
    comparison = compare(sweep, resamples=300)
    for d in comparison.differences:
        assert d.difference in (0, None)
        assert not d.clear


def test_the_comparison_is_reproducible() -> None:
    sweep = run_sweep(tiny(weeks=1), runs=3, variants={"on": {}, "off": {"weeks": 1, "seed": 9}}, workers=1)
    assert compare(sweep, resamples=200).to_dict() == compare(sweep, resamples=200).to_dict()


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"baseline": "nope"}, "$.baseline"),
        ({"confidence": 1.0}, "$.confidence"),
        ({"metrics": ["karma"]}, "$.metrics"),
    ],
)
def test_bad_comparison_arguments_are_refused(kwargs: dict[str, object], path: str) -> None:
    sweep = run_sweep(tiny(weeks=1), runs=1, workers=1)
    with pytest.raises(InvalidInputError) as caught:
        compare(sweep, **kwargs)  # type: ignore[arg-type]
    assert caught.value.errors[0].path == path
