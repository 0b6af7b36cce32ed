"""hotmesh.engine.messages.guid: ids made a batch at a time, never handed out twice."""

from __future__ import annotations

import os
import re
import threading

from hotmesh.engine.messages import guid

ID = re.compile(r"^H[A-Za-z0-9_-]{22}$")


def test_ids_are_distinct_across_batches_and_well_formed() -> None:
    made = [guid() for _ in range(1000)]  # several batches
    assert len(set(made)) == len(made)
    assert all(ID.match(one) for one in made)
    assert re.match(r"^H[A-Za-z0-9_-]{10}$", guid(10))


def test_threads_never_take_the_same_id() -> None:
    taken: list[list[str]] = [[] for _ in range(4)]

    def take(into: list[str]) -> None:
        for _ in range(2000):
            into.append(guid())

    threads = [threading.Thread(target=take, args=(into,)) for into in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [one for into in taken for one in into]
    assert len(set(every)) == len(every) == 8000


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    guid()  # the parent holds a batch
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next id, then out at once
        os.write(write, guid().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert ID.match(child)
    assert child != guid()
