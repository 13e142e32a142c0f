"""A small scenario for the tests: a dozen people over a few weeks (seconds to run)."""

from __future__ import annotations

from coplib.simulation import Scenario, parse_scenario

TINY_TOML = """\
name = "tiny"
weeks = 3
seed = 7

[organisation]
name = "Test works"

[communities.help]
name = "Help desk"
tags = ["pumps", "valves", "plc"]
answer_guarantee = true

[population.experts]
persona = "expert"
count = 2
expertise = ["pumps", "valves", "plc"]
tags_per_person = 2

[population.facilitator]
persona = "facilitator"
count = 1

[population.members]
persona = "regular"
count = 6
expertise = ["pumps", "plc"]
tags_per_person = 1

[population.newcomers]
persona = "newcomer"
count = 2
arrivals_per_week = 1.0
max_arrivals = 4

[personas.regular]
questions_per_week = 1.0
"""


def tiny(**changes: object) -> Scenario:
    scenario = parse_scenario(TINY_TOML, source="tiny.toml")
    return scenario.with_values(changes) if changes else scenario
