"""Identifiers: new ones ordered by time, derived ones placed beside what they derive from.

A store files rows by id in B-trees. Random ids (UUID version 4) land each new row on a random
page of every index on them, so that each commit writes one page per new id and per index,
most of them nearly full of old rows. Ids that begin with the time they were made (UUID
version 7, RFC 9562: 48 bits of Unix milliseconds, then random bits) are appended where the
last ones went: a command writes the same few pages.

Ids derived from others (a message from its event, a ledger entry from its contribution) must
stay deterministic: the same cause gives the same id, which is what makes them idempotent.
`derived_id` keeps the name-based UUID version 5 of the cause, but when the anchor is a
time-ordered id it takes the anchor's time prefix, so that derived rows are filed beside their
cause. Every id is 32 lowercase hex digits.
"""

from __future__ import annotations

import hashlib
import os
import time
from typing import Final

_HEX: Final = frozenset("0123456789abcdef")


def time_ordered_id() -> str:
    """A new UUID version 7 as 32 hex digits: the current Unix time in milliseconds, then 74
    random bits (with the version and variant bits of RFC 9562)."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76
        | ((rand >> 64) & 0xFFF) << 64
        | 0b10 << 62
        | (rand & 0x3FFF_FFFF_FFFF_FFFF)
    )
    return f"{value:032x}"


def is_time_ordered(value: str) -> bool:
    """Whether `value` is a UUID version 7 written as 32 lowercase hex digits."""
    return len(value) == 32 and value[12] == "7" and value[16] in "89ab" and _HEX.issuperset(value)


def name_based_id(namespace: bytes, name: str) -> str:
    """``uuid.uuid5(UUID(bytes=namespace), name).hex``, without building UUID objects."""
    digest = bytearray(hashlib.sha1(namespace + name.encode("utf-8"), usedforsecurity=False).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


def derived_id(namespace: bytes, name: str, anchor: str) -> str:
    """The id derived from `name` (deterministic: `name_based_id`), filed beside `anchor`:
    when `anchor` is time-ordered, its 48-bit time prefix replaces the first 12 hex digits
    (the other 74 bits of the name's hash keep derived ids apart)."""
    derived = name_based_id(namespace, name)
    if is_time_ordered(anchor):
        return anchor[:12] + derived[12:]
    return derived
