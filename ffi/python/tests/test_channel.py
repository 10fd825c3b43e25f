"""Bytes through a channel from Python: real processes, real shared memory."""
import errno
import os
import pickle
import signal
import time

import pytest

import shmpipe

WRITER = """
import sys, shmpipe
with shmpipe.open_writer(sys.argv[1]) as w:
    for i in range(int(sys.argv[2])):
        w.send(i.to_bytes(4, "little") * (1 + i % 300))
    print("done", flush=True)
"""


def test_records_cross_processes_intact(name, spawn):
    count = 20_000
    with shmpipe.create_reader(name, capacity=64 * 1024) as reader:
        child = spawn(WRITER, name, str(count))
        seen = 0
        for message in reader:
            assert bytes(message.data) == seen.to_bytes(4, "little") * (1 + seen % 300)
            seen += 1
        assert seen == count
        assert child.wait(timeout=30) == 0


def test_claim_commit_abort_and_copy(name):
    with shmpipe.create_reader(name, capacity=8192) as reader, shmpipe.open_writer(name) as writer:
        view = writer.claim(100)
        view[:5] = b"hello"
        writer.commit(5)
        writer.claim(10)
        writer.abort()
        writer.send("wörld")
        first = reader.recv(timeout=1)
        kept = first.copy()
        assert bytes(first.data) == b"hello"
        first.release()
        assert first.released and kept == b"hello"
        with pytest.raises(ValueError):
            bytes(first.data)  # released views cannot be read
        assert bytes(reader.recv(timeout=1).data) == "wörld".encode()
        with pytest.raises(shmpipe.ShmpipeError) as state:
            writer.commit()
        assert state.value.code == "ESTATE"


def test_errors_name_the_segment_and_the_cause(name):
    with pytest.raises(shmpipe.ShmpipeError) as missing:
        shmpipe.open_reader(name)
    assert (missing.value.code, missing.value.errno, missing.value.segment, missing.value.op) == ("ENOENT", -errno.ENOENT, name, "open")
    # The core's sentence, as the other bindings word it.
    assert str(missing.value) == (f'open on segment "{name}" failed: {os.strerror(errno.ENOENT)} [ENOENT]. '
                                  "No channel by that name exists: start the side that creates it first, or check the name")
    with pytest.raises(shmpipe.ShmpipeError) as bad:
        shmpipe.create_writer("../etc", capacity=4096)
    assert bad.value.code == "EBADARG" and "A channel name is 1-200 characters" in str(bad.value)
    with pytest.raises(shmpipe.ShmpipeError) as nul:
        shmpipe.create_writer("a\0b", capacity=4096)
    assert nul.value.code == "EBADARG" and not os.path.exists(shmpipe.shm_path("a"))
    with shmpipe.create_writer(name, capacity=4096) as writer:
        with pytest.raises(shmpipe.ShmpipeError) as exists:
            shmpipe.create_reader(name, capacity=4096)
        assert exists.value.code == "EEXIST"
        with pytest.raises(shmpipe.ShmpipeError) as too_large:
            writer.send(b"x" * 5000)
        assert too_large.value.code == "ETOOLARGE" and too_large.value.op == "send"
        assert "A 5000-byte record does not fit: this channel carries at most 4032 bytes" in str(too_large.value)
        with pytest.raises(shmpipe.ShmpipeError) as busy:
            shmpipe.open_writer(name)
        assert busy.value.code == "EINUSE" and "already this channel's writer" in str(busy.value)


def test_misuse_is_worded_by_the_core_too(name):
    with shmpipe.create_reader(name, capacity=4096) as reader:
        with pytest.raises(shmpipe.ShmpipeError) as negative:
            reader.recv(timeout=-1)
        assert negative.value.code == "EBADARG" and str(negative.value).startswith(f'recv on segment "{name}" failed: invalid argument [EBADARG]. Timeout')
    with pytest.raises(shmpipe.ShmpipeError) as closed:
        reader.recv()
    assert (closed.value.code, closed.value.op) == ("ECLOSED", "recv") and "This reader was closed" in str(closed.value)
    copied = pickle.loads(pickle.dumps(closed.value))  # errors cross process boundaries whole
    assert (copied.code, copied.errno, copied.segment, copied.op, str(copied)) == \
        (closed.value.code, closed.value.errno, name, "recv", str(closed.value))


def test_other_users_segments_are_opened_only_when_asked(name):
    with shmpipe.create_writer(name, capacity=4096) as writer:
        os.chown(shmpipe.shm_path(name), os.getuid() + 4321, -1)
        with pytest.raises(shmpipe.ShmpipeError) as refused:
            shmpipe.open_reader(name)
        assert refused.value.code == "EACCES" and "allow-other-owner" in str(refused.value)
        with shmpipe.open_reader(name, allow_other_owner=True) as reader:
            writer.send(b"across users")
            assert bytes(reader.recv(timeout=1).data) == b"across users"


def test_readers_see_records_read_only(name):
    with shmpipe.create_writer(name, capacity=8192) as writer, shmpipe.open_reader(name) as reader:
        writer.send(b"look, don't touch")
        message = reader.recv(timeout=1)
        assert message.data.readonly
        maps = [line.split() for line in open("/proc/self/maps") if line.rstrip().endswith(shmpipe.shm_path(name))]
        address = reader._segment.base + reader._segment.size - 1
        perms = [fields[1] for fields in maps if int(fields[0].split("-")[0], 16) <= address < int(fields[0].split("-")[1], 16)]
        assert perms == ["r--s"]  # the opener's data ring is mapped without write permission


def test_waits_time_out(name):
    with shmpipe.create_reader(name, capacity=4096) as reader, shmpipe.open_writer(name):
        started = time.monotonic()
        with pytest.raises(shmpipe.ShmpipeError) as timeout:
            reader.recv(timeout=0.25)
        assert timeout.value.code == "ETIMEOUT"
        assert 0.2 < time.monotonic() - started < 2


def test_a_killed_writer_is_detected(name, spawn):
    code = "import sys, time, shmpipe\nw = shmpipe.open_writer(sys.argv[1]); w.send(b'one'); print('ready', flush=True); time.sleep(60)"
    with shmpipe.create_reader(name, capacity=4096) as reader:
        child = spawn(code, name)
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert bytes(reader.recv(timeout=5).data) == b"one"
        started = time.monotonic()
        with pytest.raises(shmpipe.ShmpipeError) as gone:
            reader.recv(timeout=10)
        assert gone.value.code == "EPEERGONE"
        assert time.monotonic() - started < 2


def test_every_reader_sees_every_record(name):
    with shmpipe.create_writer(name, capacity=8192) as writer:
        first, second = shmpipe.open_reader(name), shmpipe.open_reader(name)
        for i in range(200):  # many laps round the ring: space comes back only when both released
            writer.send(i.to_bytes(4, "little") * 200)
            assert bytes(first.recv(timeout=1).data[:4]) == i.to_bytes(4, "little")
            assert bytes(second.recv(timeout=1).data[:4]) == i.to_bytes(4, "little")
        first.close()
        writer.send(b"after one left")
        assert bytes(second.recv(timeout=1).data) == b"after one left"
        second.close()
        with pytest.raises(shmpipe.ShmpipeError) as closed:
            writer.send(b"nobody left")
        assert closed.value.code == "ECLOSED"


def test_iteration_waits_as_long_as_the_writer_lives(name):
    """A slow upstream is not an error: loops wait without the default timeout."""
    with shmpipe.create_reader(name, 4096) as reader, shmpipe.open_writer(name) as writer:
        asked = []
        recv = reader.recv
        reader.recv = lambda **options: asked.append(options) or recv(**options)
        writer.send(b"one")
        writer.close()
        assert [message.copy() for message in reader] == [b"one"]
        assert asked == [{"timeout": None}, {"timeout": None}]


def test_a_reader_left_open_is_closed_at_exit(name, spawn):
    """Its writer then gets ECLOSED, not EPEERGONE a moment later."""
    with shmpipe.create_writer(name, 1 << 20) as writer:
        child = spawn("import shmpipe, sys; shmpipe.open_reader(sys.argv[1]); print('ready', flush=True)", name)
        assert child.stdout.readline() == "ready\n"
        assert child.wait(5) == 0
        with pytest.raises(shmpipe.ShmpipeError) as closed:
            writer.send(b"after")
        assert closed.value.code == "ECLOSED"


def test_open_waits_for_the_channel_to_be_created(name, spawn):
    with pytest.raises(shmpipe.ShmpipeError) as missing:
        shmpipe.open_writer(name, wait=0.03)
    assert missing.value.code == "ENOENT" and "for it to be created" in str(missing.value)
    child = spawn("import shmpipe, sys, time; time.sleep(0.2); r = shmpipe.create_reader(sys.argv[1], 4096); "
                  "print(r.recv(timeout=5).copy().decode(), flush=True)", name)
    with shmpipe.open_writer(name, wait=5) as writer:
        writer.send(b"found it")
    assert child.stdout.readline() == "found it\n"
    assert child.wait(5) == 0


LATE_READER = """
import sys, time, shmpipe
time.sleep(float(sys.argv[2]))
with shmpipe.open_reader(sys.argv[1], wait=5) as reader:
    print("attached", flush=True)
    print([message.copy().decode() for message in reader], flush=True)
"""


def test_a_creators_close_waits_for_a_late_reader_which_reads_everything(name, spawn):
    writer = shmpipe.create_writer(name, capacity=4096)
    for text in ("one", "two", "three"):
        writer.send(text)
    child = spawn(LATE_READER, name, "0.3")
    start = time.monotonic()
    writer.close(timeout=10)  # returns once a reader holds the records
    assert time.monotonic() - start > 0.1
    assert not os.path.exists(shmpipe.shm_path(name))
    out, err = child.communicate(timeout=10)
    assert out == "attached\n['one', 'two', 'three']\n", err


def test_a_creators_close_with_no_reader_ever_raises_eunread(name):
    writer = shmpipe.create_writer(name, capacity=4096)
    for text in ("one", "two", "three"):
        writer.send(text)
    start = time.monotonic()
    with pytest.raises(shmpipe.ShmpipeError) as lost:
        writer.close(timeout=0.1)
    assert time.monotonic() - start >= 0.1
    assert (lost.value.code, lost.value.op, lost.value.segment) == ("EUNREAD", "close", name)
    assert "3 records (384 bytes) written to it were never read: no reader opened the channel" in str(lost.value)
    assert writer.closed and not os.path.exists(shmpipe.shm_path(name))
    writer.close()  # once is enough


def test_a_close_that_waits_for_a_reader_says_so_once_first(name, spawn):
    child = spawn("import sys, shmpipe\n"
                  "w = shmpipe.create_writer(sys.argv[1], 4096)\n"
                  "w.send(b'one')\n"
                  "try:\n"
                  "    w.close(timeout=1.5)\n"
                  "except shmpipe.ShmpipeError as lost:\n"
                  "    print(lost.code)\n", name)
    out, err = child.communicate(timeout=10)
    assert out == "EUNREAD\n"
    lines = [line for line in err.splitlines() if "waits up to" in line]
    assert len(lines) == 1 and f'closing "{name}" waits up to 1.5 s for a reader' in lines[0], err


def test_a_reader_that_created_the_channel_reads_through_a_read_only_mapping(name, spawn):
    """As every reader: a write into a received record faults, it never
    changes what another reader of the record sees."""
    child = spawn("import ctypes, sys, shmpipe\n"
                  "reader = shmpipe.create_reader(sys.argv[1], 4096)\n"
                  "writer = shmpipe.open_writer(sys.argv[1])\n"
                  "writer.send(b'committed')\n"
                  "message = reader.recv(timeout=5)\n"
                  "print(bytes(message.data).decode(), flush=True)\n"
                  "ctypes.memset(message._address, 9, 4)\n"
                  "print('wrote', flush=True)\n", name)
    out, err = child.communicate(timeout=10)
    shmpipe.unlink(name)  # a crash removes nothing: the test does
    assert out == "committed\n" and child.returncode == -signal.SIGSEGV, (out, err)


def test_an_exception_leaving_a_writer_is_not_masked_or_delayed(name):
    start = time.monotonic()
    with pytest.raises(ValueError):
        with shmpipe.create_writer(name, capacity=4096) as writer:
            writer.send(b"lost to the error")
            raise ValueError("the program's own failure")
    assert time.monotonic() - start < 1 and not os.path.exists(shmpipe.shm_path(name))


def test_drain_waits_until_every_record_was_read(name, spawn):
    writer = shmpipe.create_writer(name, capacity=4096)
    writer.send(b"a")
    writer.send(b"b")
    with pytest.raises(shmpipe.ShmpipeError) as early:
        writer.drain(timeout=0.05)
    assert early.value.code == "ETIMEOUT"
    assert "2 records (256 bytes) were still unread when the wait ended: no reader has opened the channel yet" in str(early.value)
    child = spawn(LATE_READER, name, "0.1")
    writer.drain(timeout=10)
    writer.send(b"c")
    writer.drain(timeout=10)
    writer.close()
    out, err = child.communicate(timeout=10)
    assert out == "attached\n['a', 'b', 'c']\n", err


def test_a_creator_left_open_at_exit_says_what_it_lost(name, spawn):
    child = spawn("import sys, shmpipe; w = shmpipe.create_writer(sys.argv[1], 4096); w.send(b'one'); print('sent')", name)
    out, err = child.communicate(timeout=10)
    assert (child.returncode, out) == (0, "sent\n")
    assert f'close on segment "{name}" failed: records written to the channel were never read [EUNREAD]. ' \
           "1 record (128 bytes) written to it was never read" in err
    assert not os.path.exists(shmpipe.shm_path(name))
