"""An endpoint closed by one thread while another waits in it: the waiter
ends with ECLOSED at once, and nothing touches the freed endpoint."""
import threading
import time

import pytest

import shmpipe


@pytest.mark.parametrize("end", ["reader", "writer"])
def test_close_while_another_thread_waits(name, end):
    with shmpipe.create_reader(name, 4096) as reader, shmpipe.open_writer(name) as writer:
        if end == "writer":
            while True:  # fill the ring, so that the next send waits
                try:
                    writer.send(b"x" * 1000, timeout=0)
                except shmpipe.ShmpipeError as full:
                    assert full.code == "ETIMEOUT"
                    break
        endpoint = reader if end == "reader" else writer
        wait = (lambda: reader.recv(timeout=None)) if end == "reader" else (lambda: writer.send(b"y", timeout=None))
        outcome = {}

        def waiter():
            try:
                wait()
            except shmpipe.ShmpipeError as error:
                outcome["code"] = error.code
            outcome["at"] = time.monotonic()

        thread = threading.Thread(target=waiter)
        thread.start()
        time.sleep(0.05)
        closed_at = time.monotonic()
        endpoint.close()
        thread.join(2)
        assert not thread.is_alive()
        assert outcome["code"] == "ECLOSED"
        assert outcome["at"] - closed_at < 0.1
