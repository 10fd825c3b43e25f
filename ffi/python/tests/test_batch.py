"""Many records per call: Writer.send_batch and Reader.recv_batch /
batches(), in one process and across two, with the per-record API's
guarantees (order, bounds, timeouts, end of stream)."""
import array
import threading
import time

import pytest

import shmpipe

WRITER = """
import sys, shmpipe
with shmpipe.open_writer(sys.argv[1]) as w:
    count, i = int(sys.argv[2]), 0
    while i < count:
        n = min(1 + i % 97, count - i)
        w.send_batch([j.to_bytes(4, "little") * (1 + j % 50) for j in range(i, i + n)])
        i += n
"""


def error_of(call) -> shmpipe.ShmpipeError:
    with pytest.raises(shmpipe.ShmpipeError) as caught:
        call()
    return caught.value


def test_a_batch_arrives_as_records_sent_one_by_one_would(name):
    with shmpipe.create_reader(name, capacity=8192) as reader, shmpipe.open_writer(name) as writer:
        writer.send_batch(["hello", b"\x01\x02\x03", b"", memoryview(array.array("H", [0x0102, 0x0304]))[1:], bytearray(b"ba")])
        writer.send("after")
        batch = reader.recv_batch()
        assert isinstance(batch, shmpipe.Batch) and len(batch) == 6
        assert [bytes(view) for view in batch] == [b"hello", b"\x01\x02\x03", b"", b"\x04\x03", b"ba", b"after"]
        assert bytes(batch[-1]) == b"after" and batch[0].readonly
        with pytest.raises(IndexError):
            batch[6]
        with pytest.raises(IndexError):
            batch[-7]
        assert batch.copy()[0] == b"hello"


def test_max_records_bounds_a_batch_and_the_next_receive_releases_the_one_before(name):
    with shmpipe.create_reader(name, capacity=8192) as reader, shmpipe.open_writer(name) as writer:
        writer.send_batch([f"r{i}" for i in range(10)])
        first = reader.recv_batch(max_records=4)
        view = first[0]
        assert [bytes(v) for v in first] == [b"r0", b"r1", b"r2", b"r3"]
        second = reader.recv_batch(max_records=1000)
        assert first.released
        assert error_of(lambda: first[0]).code == "ESTATE"
        with pytest.raises(ValueError):  # the view handed out was released with its batch
            bytes(view)
        assert [bytes(v) for v in second] == [f"r{i}".encode() for i in range(4, 10)]
        writer.send("x")
        message = reader.recv()
        assert second.released and bytes(message.data) == b"x"
        for bad in (0, -1, 1.5, "2"):
            with pytest.raises(ValueError):
                reader.recv_batch(max_records=bad)


def test_a_batch_that_cannot_fit_waits_then_says_how_many_of_it_went(name):
    with shmpipe.create_reader(name, capacity=4096) as reader, shmpipe.open_writer(name) as writer:
        records = [bytes([i]) * 100 for i in range(30)]  # 21 fit
        error = error_of(lambda: writer.send_batch(records, timeout=0.02))
        assert error.code == "ETIMEOUT"
        assert "21 of the batch's 30 records were sent before it" in str(error)
        batch = reader.recv_batch()
        assert [view[0] for view in batch] == list(range(21))
        batch.release()
        writer.send_batch(records[21:], timeout=0)
        assert [view[0] for view in reader.recv_batch()] == list(range(21, 30))


def test_a_wait_over_several_slices_goes_on_from_where_it_was_and_counts_the_whole_batch(name):
    """Python waits in slices of 0.1 s (to see Ctrl-C): the batch goes on
    where the last slice stopped, and a failure counts all its records."""
    with shmpipe.create_reader(name, capacity=4096) as reader, shmpipe.open_writer(name) as writer:
        records = [bytes([i]) * 100 for i in range(50)]
        taken = []

        def read_once_later():
            time.sleep(0.15)  # after the first slice timed out with 21 sent
            batch = reader.recv_batch(timeout=5)
            taken.extend(view[0] for view in batch)
            batch.release()

        thread = threading.Thread(target=read_once_later)
        thread.start()
        error = error_of(lambda: writer.send_batch(records, timeout=0.35))
        thread.join()
        assert taken == list(range(21))
        assert error.code == "ETIMEOUT"
        assert "42 of the batch's 50 records were sent before it" in str(error)
        assert [view[0] for view in reader.recv_batch()] == list(range(21, 42))


def test_a_record_too_large_is_refused_with_its_place_and_nothing_is_sent(name):
    with shmpipe.create_reader(name, capacity=4096) as reader, shmpipe.open_writer(name) as writer:
        error = error_of(lambda: writer.send_batch([b"a", bytes(5000), b"c"]))
        assert error.code == "ETOOLARGE"
        assert "Record 1 of the batch (5000 bytes)" in str(error)
        assert error_of(lambda: reader.recv_batch(timeout=0)).code == "ETIMEOUT"
        writer.send_batch([])  # nothing to send: no record, no error
        assert error_of(lambda: reader.recv(timeout=0)).code == "ETIMEOUT"


def test_batches_end_at_end_of_stream_and_release_the_last(name):
    with shmpipe.create_reader(name, capacity=8192) as reader, shmpipe.open_writer(name) as writer:
        writer.send_batch(["a", "b", "c"])
        writer.send("d")
        writer.close()
        seen, batches = [], []
        for batch in reader.batches(max_records=2):
            if batches:
                assert batches[-1].released
            seen.extend(bytes(view) for view in batch)
            batches.append(batch)
        assert seen == [b"a", b"b", b"c", b"d"] and batches[-1].released
        assert reader.recv_batch() is None


def test_closing_the_reader_releases_its_batch(name):
    reader = shmpipe.create_reader(name, capacity=8192)
    with shmpipe.open_writer(name) as writer:
        writer.send_batch(["a", "b"])
        batch = reader.recv_batch()
        view = batch[1]
        reader.close()
        assert batch.released
        with pytest.raises(ValueError):
            bytes(view)
        assert error_of(lambda: reader.recv_batch()).code == "ECLOSED"


def test_batches_cross_processes_intact(name, spawn):
    count = 50_000
    with shmpipe.create_reader(name, capacity=64 * 1024) as reader:
        child = spawn(WRITER, name, str(count))
        seen = 0
        for batch in reader.batches():
            for view in batch:
                assert bytes(view) == seen.to_bytes(4, "little") * (1 + seen % 50)
                seen += 1
        assert seen == count
        assert child.wait(timeout=30) == 0, child.stderr.read()
