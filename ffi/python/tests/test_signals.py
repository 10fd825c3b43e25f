"""Names and signals: the C core's registry and signal policy, as a Python
program meets them. A process removes the names it created when it ends by
a signal it left alone; a forked child never removes its parent's names; a
program that handles a signal itself decides when it ends.

Each scenario runs in a fresh interpreter, so that pytest's own signal
dispositions play no part."""
import os
import signal

import shmpipe

FORKED_POOL = """
import multiprocessing, os, sys, time, shmpipe
name = sys.argv[1]
writer = shmpipe.create_writer(name, 4096)

def sleep(_):
    time.sleep(60)

if __name__ == "__main__":
    pool = multiprocessing.get_context("fork").Pool(2)
    pids = [child.pid for child in pool._pool]
    pool.map_async(sleep, range(2))
    time.sleep(0.3)  # the workers are busy in sleep()
    pool.terminate()  # SIGTERM to every worker
    pool.join()
    print("workers", len(pids), "exit codes", [child.exitcode for child in pool._pool], flush=True)
    print("still there", os.path.exists(shmpipe.shm_path(name)), flush=True)
    with shmpipe.open_reader(name) as reader:
        writer.send(b"after the pool")
        print("received", reader.recv(timeout=5).copy().decode(), flush=True)
    writer.close()
    print("gone after close", not os.path.exists(shmpipe.shm_path(name)), flush=True)
"""


def test_a_forked_pool_terminated_leaves_its_parents_channel(name, spawn):
    child = spawn(FORKED_POOL, name)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.splitlines() == ["workers 2 exit codes [-15, -15]", "still there True", "received after the pool", "gone after close True"], out + err


FORKED_CHILD = """
import os, signal, sys, time, shmpipe
name, own = sys.argv[1], sys.argv[2]
writer = shmpipe.create_writer(name, 4096)
ready_r, ready_w = os.pipe()
pid = os.fork()
if pid == 0:
    shmpipe.create_reader(own, 4096)  # the child's own name, which its death removes
    os.write(ready_w, b"x")
    time.sleep(60)
    os._exit(0)
os.read(ready_r, 1)
os.kill(pid, signal.SIGTERM)
_, status = os.waitpid(pid, 0)
print("child killed by", signal.Signals(os.WTERMSIG(status)).name if os.WIFSIGNALED(status) else status, flush=True)
print("parent's still there", os.path.exists(shmpipe.shm_path(name)), flush=True)
print("child's gone", not os.path.exists(shmpipe.shm_path(own)), flush=True)
with shmpipe.open_reader(name) as reader:
    writer.send(b"after the child")
    print("received", reader.recv(timeout=5).copy().decode(), flush=True)
writer.close()
"""


def test_a_forked_child_killed_by_sigterm_removes_only_its_own_names(name, spawn):
    own = name + "-child"
    child = spawn(FORKED_CHILD, name, own)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    assert out.splitlines() == ["child killed by SIGTERM", "parent's still there True", "child's gone True",
                                "received after the child"], out + err
    assert not os.path.exists(shmpipe.shm_path(name)) and not os.path.exists(shmpipe.shm_path(own))


SLEEPER = """
import sys, time, shmpipe
reader = shmpipe.create_reader(sys.argv[1], 4096)
print("ready", flush=True)
time.sleep(60)
"""


def _killed_by(signum, name, spawn, code=SLEEPER):
    child = spawn(code, name)
    assert child.stdout.readline() == "ready\n"
    assert os.path.exists(shmpipe.shm_path(name))
    child.send_signal(signum)
    child.wait(timeout=10)
    return child


def test_a_process_killed_by_sigterm_dies_by_it_and_its_names_go(name, spawn):
    child = _killed_by(signal.SIGTERM, name, spawn)
    assert child.returncode == -signal.SIGTERM
    assert not os.path.exists(shmpipe.shm_path(name))


def test_a_process_killed_by_sighup_dies_by_it_and_its_names_go(name, spawn):
    child = _killed_by(signal.SIGHUP, name, spawn)
    assert child.returncode == -signal.SIGHUP
    assert not os.path.exists(shmpipe.shm_path(name))


def test_ctrl_c_stays_keyboardinterrupt_and_the_names_go_at_exit(name, spawn):
    # "ready" inside the try: a KeyboardInterrupt before it would end the process by SIGINT, as Python does
    code = SLEEPER.replace('print("ready", flush=True)\ntime.sleep(60)',
                           "try:\n    print('ready', flush=True)\n    time.sleep(60)\nexcept KeyboardInterrupt:\n"
                           "    print('interrupted', flush=True)")
    assert "except KeyboardInterrupt" in code
    child = _killed_by(signal.SIGINT, name, spawn, code)
    assert child.returncode == 0
    assert child.stdout.read() == "interrupted\n"
    assert not os.path.exists(shmpipe.shm_path(name))


OWN_HANDLER = """
import signal, sys, time, shmpipe
def graceful(signum, _frame):
    writer.close(timeout=0)
    print("handled", signal.Signals(signum).name, flush=True)
    sys.exit(0)
if sys.argv[2] == "before":
    signal.signal(signal.SIGTERM, graceful)
writer = shmpipe.create_writer(sys.argv[1], 4096)
if sys.argv[2] == "after":
    signal.signal(signal.SIGTERM, graceful)
print("ready", flush=True)
time.sleep(60)
print("not interrupted", flush=True)
"""


def _own_handler(when, name, spawn):
    child = spawn(OWN_HANDLER, name, when)
    assert child.stdout.readline() == "ready\n"
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=10)
    assert (child.returncode, out) == (0, "handled SIGTERM\n"), err
    assert not os.path.exists(shmpipe.shm_path(name))


def test_a_sigterm_handler_set_before_the_first_channel_is_left_to_the_program(name, spawn):
    _own_handler("before", name, spawn)


def test_a_sigterm_handler_set_after_the_first_channel_replaces_the_librarys(name, spawn):
    _own_handler("after", name, spawn)
