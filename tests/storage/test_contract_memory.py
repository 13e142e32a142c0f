"""The in-memory store passes the conformance kit."""

from __future__ import annotations

import pytest

from coplib.adapters.storage.memory import MemoryStore
from coplib.testing.contract import StoreContract, StoreFactory


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        # One shared object is the whole database: every "connection" is that object.
        shared = MemoryStore()
        return lambda: shared

    @pytest.fixture
    def supports_reopen(self) -> bool:
        return False
