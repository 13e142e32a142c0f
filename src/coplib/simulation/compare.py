"""Comparing variants of a scenario: each metric's mean over the runs of each variant, the
difference against the baseline, and a confidence interval by the bootstrap over runs.

The interval: the runs of the baseline and of the variant are resampled with replacement,
each on its own (they are independent samples: different runs of a stochastic model), the
difference of the means (and its relative form, against the baseline's mean) computed for each
of `resamples` draws, and the interval read from the draws' percentiles (the percentile
bootstrap). The resampling generator is seeded by the sweep's base seed, so the verdict is as
reproducible as the runs. A run where a metric is undefined (no question asked, say) does not
count for it. With few runs the interval is wide: that is the point of stating it.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterable, Sequence
from typing import Any, Final

import attrs

from coplib.domain.errors import InvalidInputError
from coplib.simulation.model import METRICS, rounded
from coplib.simulation.runner import Sweep

__all__ = ["Comparison", "Difference", "bootstrap_interval", "compare"]

DEFAULT_RESAMPLES: Final = 2000
DEFAULT_CONFIDENCE: Final = 0.95


@attrs.frozen
class Difference:
    """One metric of one community: the variant against the baseline."""

    variant: str
    community: str
    metric: str
    runs: int  # runs of each side where the metric is defined (the smaller count)
    baseline_mean: float | None
    variant_mean: float | None
    difference: float | None
    difference_low: float | None
    difference_high: float | None
    relative: float | None  # (variant - baseline) / baseline
    relative_low: float | None
    relative_high: float | None

    @property
    def clear(self) -> bool:
        """The interval of the difference leaves out zero."""
        lo, hi = self.difference_low, self.difference_high
        return lo is not None and hi is not None and (lo > 0 or hi < 0)

    def sentence(self, baseline: str, confidence: float = DEFAULT_CONFIDENCE) -> str:
        level = f"{confidence:.0%}"
        if self.baseline_mean is None or self.variant_mean is None:
            return f"{self.variant} vs {baseline}: {self.metric}: not enough runs where it is defined"
        head = f"{self.variant} vs {baseline}: {self.metric} {self.variant_mean:.3g} vs {self.baseline_mean:.3g}"
        if self.relative is not None and self.relative_low is not None and self.relative_high is not None:
            return (
                f"{head}: {self.relative:+.0%} ({level} CI {self.relative_low:+.0%} to {self.relative_high:+.0%})"
            ).replace("%", " %")
        return f"{head}: {self.difference:+.3g} ({level} CI {self.difference_low:+.3g} to {self.difference_high:+.3g})"


@attrs.frozen
class Comparison:
    """Every metric of every community, each variant against the baseline."""

    baseline: str
    confidence: float
    resamples: int
    seeds: tuple[int, ...]
    differences: tuple[Difference, ...]

    def verdict(self, metrics: Iterable[str] | None = None) -> list[str]:
        wanted = set(metrics) if metrics is not None else None
        return [
            d.sentence(self.baseline, self.confidence) for d in self.differences if wanted is None or d.metric in wanted
        ]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = rounded(
            {
                "baseline": self.baseline,
                "confidence": self.confidence,
                "resamples": self.resamples,
                "method": "percentile bootstrap over runs, each variant resampled on its own",
                "seeds": list(self.seeds),
                "differences": [attrs.asdict(d) for d in self.differences],
            }
        )
        return out


def bootstrap_interval(
    baseline: Sequence[float], variant: Sequence[float], *, rng: random.Random, resamples: int, confidence: float
) -> tuple[tuple[float, float], tuple[float, float] | None]:
    """The percentile-bootstrap interval of mean(variant) - mean(baseline), and of its
    relative form (None when a resampled baseline mean is zero)."""
    diffs: list[float] = []
    rels: list[float] = []
    relative_ok = True
    nb, nv = len(baseline), len(variant)
    for _ in range(resamples):
        b = sum(baseline[rng.randrange(nb)] for _ in range(nb)) / nb
        v = sum(variant[rng.randrange(nv)] for _ in range(nv)) / nv
        diffs.append(v - b)
        if b == 0:
            relative_ok = False
        elif relative_ok:
            rels.append((v - b) / b)
    return _percentiles(diffs, confidence), (_percentiles(rels, confidence) if relative_ok else None)


def _percentiles(values: list[float], confidence: float) -> tuple[float, float]:
    ordered = sorted(values)
    tail = (1 - confidence) / 2
    n = len(ordered)

    def at(q: float) -> float:  # linear interpolation between order statistics
        pos = q * (n - 1)
        low = int(pos)
        high = min(low + 1, n - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)

    return at(tail), at(1 - tail)


def compare(
    sweep: Sweep,
    *,
    baseline: str | None = None,
    metrics: Sequence[str] = METRICS,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
) -> Comparison:
    """Each variant of `sweep` against `baseline` (its first variant by default)."""
    names = list(sweep.runs)
    base = baseline if baseline is not None else names[0]
    if base not in sweep.runs:
        raise InvalidInputError.field("$.baseline", f"no variant {base!r}; the sweep has {', '.join(names)}")
    if not 0.5 <= confidence < 1:
        raise InvalidInputError.field("$.confidence", f"must be from 0.5 to below 1, got {confidence!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, int) or not 100 <= resamples <= 1_000_000:
        raise InvalidInputError.field("$.resamples", f"must be a whole number from 100 to 1000000, got {resamples!r}")
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InvalidInputError.field("$.metrics", f"unknown metric {unknown[0]!r}; known: {', '.join(METRICS)}")
    rng = random.Random(f"coplib-compare:{sweep.seeds[0] if sweep.seeds else 0}")
    out: list[Difference] = []
    communities = list(sweep.runs[base][0].communities) if sweep.runs[base] else []
    for variant in names:
        if variant == base:
            continue
        for community in communities:
            for metric in metrics:
                b = _values(sweep.runs[base], community, metric)
                v = _values(sweep.runs[variant], community, metric)
                out.append(_difference(variant, community, metric, b, v, rng, resamples, confidence))
    return Comparison(base, confidence, resamples, sweep.seeds, tuple(out))


def _values(results: Iterable[Any], community: str, metric: str) -> list[float]:
    values = []
    for result in results:
        value = result.communities[community]["metrics"][metric]
        if value is not None:
            values.append(float(value))
    return values


def _difference(
    variant: str,
    community: str,
    metric: str,
    b: list[float],
    v: list[float],
    rng: random.Random,
    resamples: int,
    confidence: float,
) -> Difference:
    if len(b) < 2 or len(v) < 2:
        mb = statistics.fmean(b) if b else None
        mv = statistics.fmean(v) if v else None
        return Difference(variant, community, metric, min(len(b), len(v)), mb, mv, None, None, None, None, None, None)
    mb, mv = statistics.fmean(b), statistics.fmean(v)
    (dlo, dhi), rel = bootstrap_interval(b, v, rng=rng, resamples=resamples, confidence=confidence)
    relative = (mv - mb) / mb if mb else None
    return Difference(
        variant=variant,
        community=community,
        metric=metric,
        runs=min(len(b), len(v)),
        baseline_mean=mb,
        variant_mean=mv,
        difference=mv - mb,
        difference_low=dlo,
        difference_high=dhi,
        relative=relative if rel is not None else None,
        relative_low=rel[0] if rel is not None and relative is not None else None,
        relative_high=rel[1] if rel is not None and relative is not None else None,
    )


def sweep_document(sweep: Sweep, comparison: Comparison | None = None) -> dict[str, Any]:
    """The JSON document of a sweep: every run (`RunResult.to_dict`) by variant, the changed
    keys of each variant and, with several variants, the comparison."""
    document: dict[str, Any] = {
        "schema": "coplib.simulation.sweep/1",
        "scenario": sweep.scenario.name,
        "seeds": list(sweep.seeds),
        "variants": {name: dict(values) for name, values in sweep.variants.items()},
        "runs": {name: [r.to_dict() for r in results] for name, results in sweep.runs.items()},
    }
    if comparison is not None:
        document["comparison"] = comparison.to_dict()
        document["verdict"] = comparison.verdict()
    return document
