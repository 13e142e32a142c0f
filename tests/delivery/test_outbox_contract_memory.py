"""The in-memory store passes the outbox conformance kit."""

from __future__ import annotations

import pytest

from coplib.adapters.storage.memory import MemoryStore
from coplib.testing.outbox_contract import OutboxContract, StoreFactory


class TestMemoryStoreOutbox(OutboxContract):
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        # One shared object is the whole database: every "connection" is that object.
        shared = MemoryStore()
        return lambda: shared
