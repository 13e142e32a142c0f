"""New ids are ordered by time (UUID version 7); derived ids are deterministic and, when their
anchor is time-ordered, filed beside it."""

from __future__ import annotations

import time
import uuid

from hypothesis import given
from hypothesis import strategies as st

from coplib.domain.ids import derived_id, is_time_ordered, name_based_id, time_ordered_id

NAMESPACE = uuid.UUID("4d3b8a52-92f4-4f0b-a3c7-6a0e1f5c2d18").bytes


def test_a_new_id_is_a_version_7_uuid_carrying_the_time_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = time_ordered_id()
    after = time.time_ns() // 1_000_000

    parsed = uuid.UUID(hex=made)
    assert made == parsed.hex and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert before <= int(made[:12], 16) <= after
    assert is_time_ordered(made)


def test_ids_made_in_later_milliseconds_sort_after_earlier_ones() -> None:
    made = []
    for _ in range(5):
        made.append(time_ordered_id())
        time.sleep(0.002)
    assert made == sorted(made)


def test_ten_thousand_new_ids_are_all_different() -> None:
    assert len({time_ordered_id() for _ in range(10_000)}) == 10_000


@given(st.text())
def test_a_name_based_id_is_the_standard_uuid5(name: str) -> None:
    assert name_based_id(NAMESPACE, name) == uuid.uuid5(uuid.UUID(bytes=NAMESPACE), name).hex


@given(st.text(), st.text())
def test_a_derived_id_is_deterministic_and_filed_beside_a_time_ordered_anchor(name: str, other: str) -> None:
    anchor = time_ordered_id()
    derived = derived_id(NAMESPACE, name, anchor)

    assert derived == derived_id(NAMESPACE, name, anchor)
    assert derived[:12] == anchor[:12] and derived[12:] == name_based_id(NAMESPACE, name)[12:]
    assert len(derived) == 32 and uuid.UUID(hex=derived).hex == derived
    if other != name:
        assert derived_id(NAMESPACE, other, anchor) != derived


@given(st.text(), st.text(max_size=40).filter(lambda a: not is_time_ordered(a)))
def test_beside_any_other_anchor_a_derived_id_is_the_plain_uuid5(name: str, anchor: str) -> None:
    assert derived_id(NAMESPACE, name, anchor) == name_based_id(NAMESPACE, name)


def test_only_version_7_hex_ids_count_as_time_ordered() -> None:
    assert not is_time_ordered(uuid.uuid4().hex)
    assert not is_time_ordered(time_ordered_id().upper())
    assert not is_time_ordered("id-0001")
    assert not is_time_ordered(str(uuid.UUID(hex=time_ordered_id())))  # with dashes
