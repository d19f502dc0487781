"""What an import run wrote: a set of story ids kept a bit per id, so memory does not follow N."""

from __future__ import annotations

from collections.abc import Iterator


class StoryIds:
    """A set of story ids in a bit each: what a run wrote, in memory that does not grow with
    every id (a block of 65,536 ids takes 8 KB; a set of a million ints would take tens of MB)."""

    def __init__(self) -> None:
        self._blocks: dict[int, bytearray] = {}
        self._count = 0

    def add(self, pk: int) -> None:
        block = self._blocks.get(pk >> 16)
        if block is None:
            block = self._blocks[pk >> 16] = bytearray(8192)
        byte, bit = (pk & 0xFFFF) >> 3, 1 << (pk & 7)
        if not block[byte] & bit:
            block[byte] |= bit
            self._count += 1

    def __contains__(self, pk: int) -> bool:
        block = self._blocks.get(pk >> 16)
        return block is not None and bool(block[(pk & 0xFFFF) >> 3] & (1 << (pk & 7)))

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[int]:
        """The ids in increasing order."""
        for high in sorted(self._blocks):
            block = self._blocks[high]
            for byte in range(8192):
                if value := block[byte]:
                    for bit in range(8):
                        if value & (1 << bit):
                            yield (high << 16) | (byte << 3) | bit
