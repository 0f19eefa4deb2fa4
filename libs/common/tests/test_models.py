"""The one model lifecycle: load once under a lock, unload, load again; ``load_all``."""

from __future__ import annotations

import threading

import pytest

from globalpic_common.errors import ModelUnavailableError
from globalpic_common.models import Loadable, Model, load_all, unload_all


class Counting(Model):
    name = "counting"

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.loads = 0
        self.unloads = 0
        self.fail = fail
        self.gate = threading.Event()

    def _load(self) -> None:
        self.gate.wait(5)  # holds every caller at the lock until the test opens it
        if self.fail:
            raise ModelUnavailableError("no weights here")
        self.loads += 1

    def _unload(self) -> None:
        self.unloads += 1


def test_load_runs_once_however_many_threads_ask() -> None:
    model = Counting()
    threads = [threading.Thread(target=model.load) for _ in range(8)]
    for thread in threads:
        thread.start()
    model.gate.set()
    for thread in threads:
        thread.join()
    assert model.loads == 1 and model.loaded


def test_unload_then_load_loads_again() -> None:
    model = Counting()
    model.gate.set()
    model.unload()  # nothing loaded: nothing to release
    assert model.unloads == 0
    model.load()
    model.unload()
    assert not model.loaded and model.unloads == 1
    model.load()
    assert model.loaded and model.loads == 2


def test_a_failed_load_leaves_it_unloaded_and_raises_again() -> None:
    model = Counting(fail=True)
    model.gate.set()
    for _ in range(2):
        with pytest.raises(ModelUnavailableError):
            model.load()
    assert not model.loaded


def test_load_all_loads_what_is_loadable_and_passes_over_the_rest() -> None:
    model = Counting()
    model.gate.set()

    class Client:  # a gRPC client: waits for its peer, owns no weights
        def __init__(self) -> None:
            self.ready = False

        def load(self) -> None:
            self.ready = True

    client = Client()
    load_all(model, client, object(), len)
    assert model.loaded and client.ready and isinstance(client, Loadable)
    unload_all(model, client)
    assert not model.loaded and client.ready
