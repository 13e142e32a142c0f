"""Scripted and simulated communities driven through the real engine.

`coplib.simulation.demo` is the scripted story of ``coplib demo``. The rest is the simulation
(docs/simulation.md): try a policy on a simulated community before deploying it.

    from coplib.simulation import load_scenario, run_sweep, compare

    scenario = load_scenario("mutual-help")                      # or a TOML file
    sweep = run_sweep(scenario, runs=20, variants={
        "guarantee on": {},
        "guarantee off": {"communities.help.answer_guarantee": False},
    })
    print("\\n".join(compare(sweep).verdict(["still_asking"])))

A scenario (`Scenario`, from TOML or Python values) gives the organisation, its communities and
their charters, the population by persona with each persona's behaviour and reactions, the
horizon and the seed; `CommunityModel` runs it once on a real engine (``memory://`` or any
store URL), `run_sweep` runs it N times per variant through any `concurrent.futures.Executor`,
`compare` states each variant against the baseline with bootstrap confidence intervals, and
`calibrate` fits a scenario's rates to a community's real history and measures how well the
simulation then predicts the rest.
"""

from __future__ import annotations

from coplib.simulation.calibration import Calibration, MonthError, calibrate
from coplib.simulation.compare import Comparison, Difference, compare, sweep_document
from coplib.simulation.model import METRICS, CommunityModel, DataCollector, RunResult, run_model
from coplib.simulation.personas import PERSONAS, Behaviour, Persona, Reactions, default_behaviour
from coplib.simulation.runner import Sweep, dumps, replay, run_one, run_sweep, to_csv, to_dataframe
from coplib.simulation.scenario import (
    BUILTIN_SCENARIOS,
    CommunitySpec,
    Group,
    MissingExtraError,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
    parse_scenario,
)

__all__ = [
    "BUILTIN_SCENARIOS",
    "METRICS",
    "PERSONAS",
    "Behaviour",
    "Calibration",
    "CommunityModel",
    "CommunitySpec",
    "Comparison",
    "DataCollector",
    "Difference",
    "Group",
    "MissingExtraError",
    "MonthError",
    "Persona",
    "Reactions",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "Sweep",
    "builtin_scenarios",
    "calibrate",
    "compare",
    "default_behaviour",
    "dumps",
    "load_scenario",
    "parse_scenario",
    "replay",
    "run_model",
    "run_one",
    "run_sweep",
    "sweep_document",
    "to_csv",
    "to_dataframe",
]
