"""Sweeps: the same seeds give the same JSON whatever the executor and the number of workers
(in-process, threads, processes, a Dask cluster), and the results come as a table."""

from __future__ import annotations

import concurrent.futures
import csv
import io
import sys
from collections.abc import Iterator

import pytest

from coplib.domain.errors import InvalidInputError
from coplib.simulation import METRICS, MissingExtraError, dumps, run_sweep, sweep_document, to_csv, to_dataframe
from coplib.simulation.runner import Sweep
from tests.simulation.tiny import tiny

VARIANTS = {"on": {}, "off": {"communities.help.answer_guarantee": False}}


def _sweep(**kwargs: object) -> str:
    sweep = run_sweep(tiny(weeks=2), runs=3, variants=VARIANTS, **kwargs)  # type: ignore[arg-type]
    return dumps(sweep_document(sweep))


@pytest.fixture(scope="module")
def serial() -> str:
    return _sweep(workers=1)


def test_threads_give_the_json_of_one_worker(serial: str) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
        assert _sweep(executor=pool) == serial


def test_processes_give_the_json_of_one_worker(serial: str) -> None:
    assert _sweep(workers=2) == serial


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    import distributed  # the dev extra has it: a missing one fails the test, as it should

    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_a_dask_cluster_gives_the_json_of_one_worker(serial: str, dask_client: object) -> None:
    executor = dask_client.get_executor()  # type: ignore[attr-defined]
    assert isinstance(executor, concurrent.futures.Executor)
    assert _sweep(executor=executor) == serial


def test_every_variant_runs_with_the_same_seeds() -> None:
    sweep = run_sweep(tiny(weeks=1, seed=40), runs=2, variants=VARIANTS, workers=1)
    assert sweep.seeds == (40, 41)
    assert [r.seed for r in sweep.runs["on"]] == [r.seed for r in sweep.runs["off"]] == [40, 41]


def test_the_results_table_has_a_row_per_run_and_the_csv_holds_it() -> None:
    sweep = run_sweep(tiny(weeks=1), runs=2, variants=VARIANTS, workers=1)
    rows = sweep.table()
    assert len(rows) == 4
    assert list(rows[0])[:3] == ["variant", "seed", "community"]
    assert set(METRICS) <= set(rows[0])
    parsed = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert [(r["variant"], int(r["seed"])) for r in parsed] == [(r["variant"], r["seed"]) for r in rows]
    assert [int(r["questions"]) for r in parsed] == [r["questions"] for r in rows]
    weekly = sweep.weekly_table()
    assert len(weekly) == 4  # one week, two runs, two variants


def test_the_table_as_a_dataframe() -> None:
    sweep = run_sweep(tiny(weeks=1), runs=2, workers=1)
    frame = to_dataframe(sweep.table())
    assert list(frame["seed"]) == [7, 8]


def test_a_dataframe_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingExtraError, match=r"coplib\[simulation\]"):
        to_dataframe([])


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [({"runs": 0}, "$.runs"), ({"workers": 0}, "$.workers"), ({"runs": 2, "url": "sqlite:///one.db"}, "$.url")],
)
def test_bad_sweep_arguments_are_refused_before_anything_runs(kwargs: dict[str, object], path: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        run_sweep(tiny(), **kwargs)  # type: ignore[arg-type]
    assert caught.value.errors[0].path == path


def test_each_run_may_have_its_own_sqlite_file(tmp_path: object) -> None:
    url = f"sqlite:///{tmp_path}/run-{{seed}}.db"
    sweep: Sweep = run_sweep(tiny(weeks=1), runs=2, workers=1, url=url)
    memory = run_sweep(tiny(weeks=1), runs=2, workers=1)
    assert dumps(sweep_document(sweep)) == dumps(sweep_document(memory))
