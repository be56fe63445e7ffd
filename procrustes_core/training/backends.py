"""Where trainings run: ``serial`` (in the caller's thread), ``local`` (worker processes on this machine)
and ``ray`` (one actor per slot on a Ray cluster). Each is a row of slots with one interface:

    backend.ready(slot) / start(slot, request) / stop(slot, serial) / alive(slot) / restart(slot)
    backend.collect(timeout) -> [(slot, event), ...]        backend.close()

A slot trains one ``TrainRequest`` at a time with ``worker.train_and_ship`` and its events come back
through ``collect``; an ``Idle`` event frees it. A local slot or Ray actor that dies (kill -9, out of
memory) reads as not ``alive``; ``restart`` puts a fresh one in its place. ``open_backend`` builds one.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any, Union

from ..errors import ProcrustesError, shown
from . import worker as worker_module
from .messages import Event, Idle, TrainRequest
from .spawn import bare_main

BACKENDS = ("serial", "local", "ray")


def open_backend(name: str, workers: int | None, address: str | None = None,
                 warm: bool = False) -> Backend:
    """A backend of ``workers`` slots (Ray: ``workers`` None takes the cluster's CPUs); one line if
    ``name`` is unknown or Ray is not there. ``warm``: the first local worker loads torch at once."""
    if name not in BACKENDS:
        raise ProcrustesError(f"backend={shown(name)}: expected one of {', '.join(BACKENDS)}")
    if name == "serial":
        return SerialBackend()
    if name == "local":
        return LocalBackend(workers or 1, warm)
    return RayBackend(workers, address)


Backend = Union["SerialBackend", "LocalBackend", "RayBackend"]


def one_line(err: BaseException) -> str:
    """An error as one line: a ProcrustesError's own message, else its type and first line."""
    try:
        text = str(err).strip()
    except Exception:  # noqa: BLE001 - an error whose message cannot be made is still named by its type
        text = ""
    text = shown(text.splitlines()[0], 300, quote=False) if text else ""
    if isinstance(err, ProcrustesError):
        return text
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class SerialBackend:
    """One slot: the caller's own thread trains a request when it is started (no stop from outside)."""

    slots = 1

    def __init__(self) -> None:
        self._events: list[tuple[int, Event]] = []

    def ready(self, slot: int) -> bool:
        return True

    def alive(self, slot: int) -> bool:
        return True

    def start(self, slot: int, request: TrainRequest) -> None:
        worker_module.train_and_ship(request, lambda event: self._events.append((slot, event)), lambda: False)
        self._events.append((slot, Idle(request.serial)))

    def stop(self, slot: int | None, serial: int) -> None:
        pass

    def restart(self, slot: int) -> None:
        pass

    def collect(self, timeout: float) -> list[tuple[int, Event]]:
        found, self._events = self._events, []
        return found

    def close(self) -> None:
        pass


class LocalBackend:
    """Worker processes on this machine (spawned: a fresh interpreter, no inherited threads or locks, and
    never the caller's ``__main__`` script); each ends with its driver, even one killed with -9."""

    def __init__(self, workers: int, warm: bool = False):
        self.slots = workers
        self._warm = warm
        self._context = multiprocessing.get_context("spawn")
        self._outbox = self._context.Queue()
        self._workers: list[dict[str, Any]] = [self._spawn(i) for i in range(workers)]

    def _spawn(self, index: int) -> dict[str, Any]:
        inbox, stop = self._context.Queue(), self._context.Value("q", -1)
        # the first free slot takes a task first: a lone learner's always lands on slot 0, warmed up
        process = self._context.Process(target=worker_module.process_main,
                                        args=(inbox, self._outbox, stop, index, os.getpid(), self._warm and index == 0),
                                        name=f"procrustes-worker-{index}", daemon=True)
        with bare_main():
            process.start()
        return {"inbox": inbox, "stop": stop, "process": process}

    def ready(self, slot: int) -> bool:
        return self._workers[slot]["process"].is_alive()

    def start(self, slot: int, request: TrainRequest) -> None:
        self._workers[slot]["stop"].value = -1
        self._workers[slot]["inbox"].put(request)

    def stop(self, slot: int | None, serial: int) -> None:
        if slot is not None:
            self._workers[slot]["stop"].value = serial

    def alive(self, slot: int) -> bool:
        return self._workers[slot]["process"].is_alive()

    def pid(self, slot: int) -> int | None:
        return self._workers[slot]["process"].pid

    def restart(self, slot: int) -> None:
        self._workers[slot]["process"].join(timeout=1)
        self._workers[slot] = self._spawn(slot)

    def collect(self, timeout: float) -> list[tuple[int, Event]]:
        found = []
        try:
            found.append(self._outbox.get(timeout=timeout))
            while len(found) < 1000:
                found.append(self._outbox.get_nowait())
        except queue.Empty:
            pass
        except (EOFError, OSError):  # the queue's pipe broke with a killed worker: the next check restarts it
            pass
        return found

    def close(self) -> None:
        for worker in self._workers:
            try:
                worker["inbox"].put(None)
            except (OSError, ValueError):
                pass
        for worker in self._workers:
            worker["process"].join(timeout=3)
            if worker["process"].is_alive():
                worker["process"].kill()


def check_reachable(address: str | None, timeout: float = 3.0) -> None:
    """A ``host:port`` (or ``ray://host:port``) cluster address that accepts no connection is one line at
    once; Ray itself would wait minutes for it."""
    found = re.fullmatch(r"(?:ray://)?\[?([^\]/]+?)\]?:(\d+)", (address or "").strip())
    if not found:
        return  # no address (a local Ray instance) or "auto": Ray finds it
    try:
        socket.create_connection((found[1], int(found[2])), timeout=timeout).close()
    except OSError as err:
        raise ProcrustesError(f"backend='ray': no Ray cluster answers at {address!r} "
                              f"({err.strerror or type(err).__name__}); start one with `ray start --head` "
                              "or unset RAY_ADDRESS") from None


def connect_ray(address: str | None, workers: int | None = None) -> tuple[Any, bool]:
    """Ray joined to ``address`` (else RAY_ADDRESS, else a local Ray of ``workers`` CPUs started here), with
    this package shipped to every node; whether it was started here; one line if it is not there."""
    try:
        import ray
    except ImportError:
        raise ProcrustesError("backend='ray': Ray is not installed; pip install 'procrustes[cluster]'") from None
    if ray.is_initialized():
        return ray, False
    address = address or os.environ.get("RAY_ADDRESS") or None
    check_reachable(address)
    package = str(Path(__file__).resolve().parents[1])  # procrustes_core, shipped to every node
    local = {} if address else {"num_cpus": workers or os.cpu_count() or 1}
    try:
        ray.init(address=address, log_to_driver=False, runtime_env={"py_modules": [package]},
                 include_dashboard=False, **local)
    except Exception as err:  # noqa: BLE001 - Ray raises plain exceptions when it cannot connect or start
        where = f"cannot join the Ray cluster at {shown(address)}" if address else "the local Ray did not start"
        raise ProcrustesError(f"backend='ray': {where} ({shown(one_line(err), 120, quote=False)})") from None
    return ray, True


class RayBackend:
    """One Ray actor per slot, anywhere on the cluster; events are drained from each busy actor."""

    def __init__(self, workers: int | None, address: str | None):
        ray, self._own = connect_ray(address, workers)
        self._ray = ray
        self.slots = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._actor_class = ray.remote(num_cpus=1, max_concurrency=3)(RayWorker)
        self._actors = [self._actor_class.remote() for _ in range(self.slots)]
        self._runs: dict[int, Any] = {}
        self._pending: dict[int, Any] = {}  # each busy actor's outstanding drain call
        self._dead: set[int] = set()

    def ready(self, slot: int) -> bool:
        return slot not in self._dead

    def start(self, slot: int, request: TrainRequest) -> None:
        self._runs[slot] = self._actors[slot].run.remote(request)

    def stop(self, slot: int | None, serial: int) -> None:
        if slot is not None:
            self._actors[slot].stop.remote(serial)

    def alive(self, slot: int) -> bool:
        return slot not in self._dead

    def restart(self, slot: int) -> None:
        self._actors[slot] = self._actor_class.remote()
        self._dead.discard(slot)
        self._runs.pop(slot, None)
        self._pending.pop(slot, None)

    def collect(self, timeout: float) -> list[tuple[int, Event]]:
        """Events of the busy actors: one ``drain`` call outstanding per actor, harvested when it returns.
        A slow actor (starting up, its node busy) is waited for; only Ray's word that it died ends it."""
        ray = self._ray
        found: list[tuple[int, Event]] = []
        busy = list(self._runs)
        if not busy:
            time.sleep(timeout)
            return found
        for slot in busy:
            if slot not in self._pending:
                self._pending[slot] = self._actors[slot].drain.remote()
        waiting = {self._pending[s]: s for s in busy}
        ready, _ = ray.wait(list(waiting), num_returns=len(waiting), timeout=timeout)
        for ref in ready:
            slot = waiting[ref]
            del self._pending[slot]
            try:
                events = ray.get(ref)
            except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError, ray.exceptions.ActorDiedError):
                self._dead.add(slot)
                self._runs.pop(slot, None)
                continue
            found += [(slot, e) for e in events]
            if any(isinstance(e, Idle) for e in events):
                self._runs.pop(slot, None)
        if not found and len(ready) == len(waiting):
            time.sleep(timeout)  # every drain came back empty: wait before asking again
        return found

    def close(self) -> None:
        for actor in self._actors:
            try:
                self._ray.kill(actor)
            except Exception:  # noqa: BLE001 - already gone
                pass
        if self._own:
            self._ray.shutdown()


class RayWorker:
    """A Ray actor training one request at a time; ``drain`` and ``stop`` run beside ``run`` (threads)."""

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._stop_serial = -1

    def _emit(self, event: Event) -> None:
        with self._lock:
            self._events.append(event)

    def run(self, request: TrainRequest) -> None:
        self._stop_serial = -1
        worker_module.train_and_ship(request, self._emit, lambda: self._stop_serial == request.serial)
        self._emit(Idle(request.serial))

    def stop(self, serial: int) -> None:
        self._stop_serial = serial

    def drain(self) -> list[Event]:
        with self._lock:
            found, self._events = self._events, []
        return found
