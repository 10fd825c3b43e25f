"""shmpipe: hand bytes and Arrow record batches between processes through
POSIX shared memory, over the same C core as the TypeScript library.

    import shmpipe
    with shmpipe.ArrowReader(shmpipe.open_reader("ticks")) as reader:
        for batch in reader:      # pyarrow.RecordBatch, buffers in shared memory
            ...
"""
from .arrow import ArrowReader, ArrowWriter, copy_batch
from .batch import Batch
from .channel import (DEFAULT_BATCH_RECORDS, DEFAULT_CAPACITY, DEFAULT_READY_TIMEOUT, DEFAULT_SPIN, DEFAULT_TIMEOUT, Message,
                      Reader, Writer, create_reader, create_writer, open_reader, open_writer)
from .errors import ShmpipeError
from .pickling import GoneTable
from .pipeline import channel_name
from .segment import NAME_PREFIX, shm_path, unlink
from .table import PublishedTable, open_table, publish, unpublish

__all__ = [
    "ArrowReader", "ArrowWriter", "Batch", "copy_batch", "DEFAULT_BATCH_RECORDS", "DEFAULT_CAPACITY", "DEFAULT_READY_TIMEOUT", "DEFAULT_SPIN", "DEFAULT_TIMEOUT",
    "Message", "Reader", "Writer", "create_reader", "create_writer", "open_reader", "open_writer", "ShmpipeError", "NAME_PREFIX", "shm_path", "unlink",
    "PublishedTable", "GoneTable", "open_table", "publish", "unpublish", "channel_name",
]
