"""Random command sequences leave the SQLite store in the same observable state as the
in-memory reference, across closing and reopening too."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from coplib.testing.differential import SQLiteDatabase, differential_machine
from tests.scale import examples

SQLiteMatchesMemory = differential_machine(SQLiteDatabase, "SQLiteMatchesMemory")

TestSQLiteStoreBehavesLikeTheMemoryStore = SQLiteMatchesMemory.TestCase
TestSQLiteStoreBehavesLikeTheMemoryStore.settings = settings(
    max_examples=examples(30),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


SQLiteFollowingMatchesMemory = differential_machine(SQLiteDatabase, "SQLiteFollowingMatchesMemory", follow="manual")

TestSQLiteStoreBehavesLikeTheMemoryStoreWithALogFollower = SQLiteFollowingMatchesMemory.TestCase
TestSQLiteStoreBehavesLikeTheMemoryStoreWithALogFollower.settings = settings(
    max_examples=examples(15),
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
