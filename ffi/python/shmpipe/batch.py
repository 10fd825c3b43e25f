"""Records received together (Reader.recv_batch, Reader.batches): one call
into the core takes up to `max_records` records and holds them under one
lease, so a small record costs no call of its own (a ctypes call costs
more than copying a small record). Every record is a read-only memoryview
of shared memory, whatever its size, valid until the batch is released;
after that the writer may overwrite what it showed."""
from typing import Iterator, List, Optional, Protocol

from ._core import STATE
from .errors import error


class BatchOwner(Protocol):
    name: str

    def _released_batch(self, batch: "Batch") -> None: ...


class Batch:
    """Records received together; each is a read-only memoryview of shared memory, valid until release()."""

    def __init__(self, owner: BatchOwner, mapped: memoryview, words: List[int], lease: int):
        self._owner: Optional[BatchOwner] = owner
        self.channel = owner.name
        self._mapped = mapped
        self._words = words  # offset, length of each record, from the mapping's start (checked by the core)
        self._lease = lease
        self._views: List[memoryview] = []  # handed out: released with the batch

    @property
    def released(self) -> bool:
        return self._owner is None

    def __len__(self) -> int:
        return len(self._words) // 2

    def __getitem__(self, index: int) -> memoryview:
        """Record `index` (negative counts from the end): a view of shared memory, valid until release()."""
        if self._owner is None:
            raise error(STATE, "recv", self.channel, "read a batch's records before releasing it (copy what you keep)")
        count = len(self._words) // 2
        if not -count <= index < count:
            raise IndexError(f"shmpipe: record {index} of a batch of {count}")
        at = 2 * (index % count)
        start = self._words[at]
        view = self._mapped[start:start + self._words[at + 1]]
        self._views.append(view)
        return view

    def __iter__(self) -> Iterator[memoryview]:
        for index in range(len(self)):
            yield self[index]

    def copy(self) -> List[bytes]:
        """The records in memory of your own, to keep after release()."""
        return [bytes(view) for view in self]

    def release(self) -> None:
        """Hands the records' space back to the writer; the views handed out stop working."""
        owner, self._owner = self._owner, None
        if owner is None:
            return
        for view in self._views:
            try:
                view.release()
            except BufferError:
                pass  # a numpy array or pyarrow buffer still uses it
        self._views = []
        owner._released_batch(self)

    def __enter__(self) -> "Batch":
        return self

    def __exit__(self, *_exc) -> None:
        self.release()
