"""The training service: trainings off the caller's thread, Stop that stops, slots held until the worker is
idle, the budget, the fair queue, owners that leave, workers that die, several seeds."""

from __future__ import annotations

import os
import signal
import time

import pytest

from procrustes_core import ProcrustesError, TrainConfig
from procrustes_core.config import check_seeds
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.training.budget import Budget, price
from procrustes_core.training.seeds import run_seeds
from procrustes_core.training.service import DEAD_WORKER, TrainingService

QUICK = TrainConfig(n_samples=1000, ratio=10, width=4, epochs=2, batch_size=64)
LONG = TrainConfig(n_samples=4000, ratio=10, width=16, epochs=200, batch_size=32)


def until(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def service():
    found = TrainingService(workers=2, every_seconds=0.05, abandon_seconds=3600)
    yield found
    found.close()


def test_a_job_trains_every_run_on_every_seed_and_streams_step_and_epoch_events(service):
    job = service.submit("learner", [("ERM", QUICK), ("MFW", QUICK.replace(mixer="mfw"))], seeds=[0, 1],
                         variants={"LA": PostHoc(la_tau=1.0)})
    until(lambda: not service.view(job).training)
    tasks = service.view(job).job.tasks
    assert sorted((t.label, t.seed) for t in tasks) == [("ERM", 0), ("ERM", 1), ("MFW", 0), ("MFW", 1)]
    assert all(t.status == "finished" and len(t.history.records) == 2 for t in tasks)
    assert all("LA" in t.history.records[-1].variants and t.history.threads == 1 for t in tasks)
    assert service.busy_workers() == 0


def test_a_job_can_ask_for_the_test_predictions_at_the_end(service):
    job = service.submit("predictions", [("ERM", QUICK)], seeds=[0], extras=("probabilities",))
    until(lambda: not service.view(job).training)
    task = service.view(job).job.tasks[0]
    probabilities, labels = task.probabilities["probabilities"], task.probabilities["labels"]
    assert len(probabilities) == len(labels) > 0 and len(probabilities[0]) == len(task.history.counts)
    assert all(abs(sum(row) - 1) < 1e-3 for row in probabilities)


def test_stop_ends_within_one_step_event_and_frees_the_slot_only_when_the_worker_is_idle(service):
    job = service.submit("stopper", [("long", LONG)])
    until(lambda: service.view(job).job.tasks[0].steps)  # computing
    service.stop(job)
    at_stop = service.view(job).job.tasks[0].epochs_done
    assert service.view(job).job.tasks[0].status == "stopping"  # the worker has not said it is idle yet
    until(lambda: service.view(job).job.tasks[0].status == "stopped")
    task = service.view(job).job.tasks[0]
    # it stopped inside the epoch it was in (one more may have ended while the stop was on its way)
    assert "stopped by the learner" in task.history.stopped and task.epochs_done <= at_stop + 1
    until(lambda: service.busy_workers() == 0, timeout=5)


def test_a_view_is_a_snapshot_that_does_not_grow_while_a_page_reads_it(service):
    job = service.submit("reader", [("long", LONG)])
    until(lambda: service.view(job).job.tasks[0].epochs_done >= 1)
    seen = service.view(job).job.tasks[0]
    records, steps = len(seen.history.records), len(seen.steps)
    until(lambda: service.view(job).job.tasks[0].epochs_done > records)
    service.stop(job)
    assert len(seen.history.records) == records and len(seen.steps) == steps  # a page's data stay consistent
    until(lambda: not service.view(job).training, timeout=10)


def test_a_ctrl_c_in_the_caller_does_not_kill_its_workers(service):
    job = service.submit("interrupted", [("quick", QUICK)])
    until(lambda: not service.view(job).training)
    pids = [service._pool.pid(w) for w in range(2)]
    for pid in pids:
        os.kill(pid, signal.SIGINT)  # what a notebook's interrupt sends the whole process group
    # a worker handles a pending signal before it runs anything else: a job on both workers comes after it
    again = service.submit("interrupted", [("quick", QUICK), ("quick too", QUICK)])
    until(lambda: not service.view(again).training)
    assert [t.status for t in service.view(again).job.tasks] == ["finished", "finished"]
    assert all(service._pool.alive(w) for w in range(2)) and [service._pool.pid(w) for w in range(2)] == pids


def test_a_new_job_replaces_the_owners_previous_one(service):
    first = service.submit("replacer", [("long", LONG)])
    until(lambda: service.view(first).job.tasks[0].status == "running")
    second = service.submit("replacer", [("quick", QUICK)])
    until(lambda: not service.view(second).training)
    until(lambda: not service.view(first).job.tasks[0].active)  # its worker says when it is idle
    assert service.view(first).job.tasks[0].status == "stopped"
    assert "replaced" in service.view(first).job.tasks[0].history.stopped


def test_a_job_with_a_free_slot_is_training_as_soon_as_it_is_submitted(service):
    """The page drawn right after Train must not see "queued" (it would refresh at the queued rate)."""
    until(lambda: service.busy_workers() == 0)
    job = service.submit("eager", [("quick", QUICK)])
    view = service.view(job)  # no waiting: straight after submit
    assert view.status != "queued" and view.job.tasks[0].status == "running" and view.position is None
    until(lambda: not service.view(job).training)


def test_the_queue_is_fair_and_tells_each_waiting_job_its_position():
    trainer = TrainingService(workers=1, every_seconds=0.05, abandon_seconds=3600)
    try:
        busy = trainer.submit("a", [("long", LONG)])
        until(lambda: trainer.view(busy).job.tasks[0].status == "running")
        more_a = trainer.submit("a2", [(f"a{i}", QUICK) for i in range(3)])
        b = trainer.submit("b", [("b", QUICK)])
        assert trainer.view(more_a).position == 0 and trainer.view(b).position == 1  # round robin: a2, b, a2 ...
        assert trainer.view(b).wait_seconds is not None and trainer.view(b).status == "queued"
        assert trainer.live_jobs() == 3
        trainer.stop(b)  # Stop frees a place in the queue at once
        assert trainer.view(b).position is None and trainer.view(b).status == "stopped"
        assert trainer.live_jobs() == 2
        trainer.stop(busy)
        until(lambda: not trainer.view(more_a).training)
        assert trainer.live_jobs() == 0
        assert all(t.status == "finished" for t in trainer.view(more_a).job.tasks)
    finally:
        trainer.close()


def test_an_owner_runs_at_most_its_share_of_the_slots():
    trainer = TrainingService(workers=2, owner_slots=1, every_seconds=0.05, abandon_seconds=3600)
    try:
        unstacked = LONG.replace(attention="se")  # no stacked form: one request per seed
        job = trainer.submit("greedy", [("long", unstacked)], seeds=[0, 1])
        until(lambda: any(t.epochs_done >= 1 for t in trainer.view(job).job.tasks))  # scheduled, then an epoch
        assert sorted(t.status for t in trainer.view(job).job.tasks) == ["queued", "running"]
        other = trainer.submit("other", [("quick", QUICK)])
        until(lambda: not trainer.view(other).training)  # the free slot served the other owner
        trainer.stop(job)
    finally:
        trainer.close()


def test_an_owner_who_left_has_its_trainings_stopped():
    gone = set()
    trainer = TrainingService(workers=1, owner_alive=lambda owner: owner not in gone, every_seconds=0.05)
    try:
        job = trainer.submit("tab", [("long", LONG)])
        until(lambda: trainer.view(job).job.tasks[0].status == "running")
        gone.add("tab")  # the browser tab closed
        until(lambda: trainer.view(job).job.tasks[0].status == "stopped", timeout=10)
        assert "the learner left" in trainer.view(job).job.tasks[0].history.stopped
    finally:
        trainer.close()


def test_a_killed_worker_ends_its_training_in_one_line_and_the_others_carry_on(service):
    job = service.submit("victim", [("long", LONG)])
    until(lambda: service.view(job).job.tasks[0].epochs_done >= 1)
    worker = service.view(job).job.tasks[0].worker
    os.kill(service._pool.pid(worker), signal.SIGKILL)
    until(lambda: not service.view(job).training, timeout=20)
    task = service.view(job).job.tasks[0]
    assert task.status == "failed" and "\n" not in task.error and "stopped unexpectedly" in task.error
    assert task.epochs_done >= 1 and task.history.records  # the epochs so far are kept
    after = service.submit("survivor", [("quick", QUICK)])
    until(lambda: not service.view(after).training)
    assert service.view(after).status == "finished"


def test_a_request_over_the_budget_is_refused_before_anything_runs():
    budget = Budget(max_tflop=0.001)
    trainer = TrainingService(workers=1, budget=budget)
    try:
        with pytest.raises(ProcrustesError, match="PROCRUSTES_MAX_TFLOP"):
            trainer.submit("x", [("big", TrainConfig(epochs=30))])
        with pytest.raises(ProcrustesError, match=r"^seeds=\[1, 1\]: each seed once"):
            trainer.submit("x", [("quick", QUICK)], seeds=[1, 1])
        assert trainer.jobs() == []
    finally:
        trainer.close()


def test_a_training_that_fails_at_start_reports_one_line():
    trainer = TrainingService(workers=1, every_seconds=0.05)
    try:
        job = trainer.submit("x", [("bad layer", QUICK.replace(mixer="mfw", mfw_layer="block5", model="mlp"))])
        until(lambda: not trainer.view(job).training)
        task = trainer.view(job).job.tasks[0]
        assert task.status == "failed" and task.error.startswith("mfw_layer='block5'")
    finally:
        trainer.close()


def test_prices_count_what_the_sampler_visits_and_the_parameters():
    plain, over = price(QUICK), price(QUICK.replace(sampler="oversample"))
    assert over.samples_per_epoch > plain.samples_per_epoch and over.flops > plain.flops
    assert price(QUICK.replace(width=8)).parameters > plain.parameters
    assert price(QUICK, seeds=3).flops == pytest.approx(3 * plain.flops)
    with pytest.raises(ProcrustesError, match="PROCRUSTES_MAX_PARAMETERS"):
        Budget().check(TrainConfig(dataset="digits", model="resnet32", width=1024))
    with pytest.raises(ProcrustesError, match="PROCRUSTES_MAX_GENERATED_SAMPLES"):
        Budget().check(TrainConfig(n_samples=400_000))


def test_run_seeds_trains_settings_on_the_same_seeds_in_parallel():
    found = run_seeds({"ERM": QUICK, "MFW": QUICK.replace(mixer="mfw")}, seeds=[3, 4], workers=2)
    assert {name: [h.config.seed for h in hs] for name, hs in found.items()} == {"ERM": [3, 4], "MFW": [3, 4]}
    again = run_seeds(QUICK, seeds=[3, 4], workers=1)
    assert [h.last.balanced_acc for h in again] == [h.last.balanced_acc for h in found["ERM"]]  # deterministic


def test_workers_never_re_run_the_callers_main_script(page_script_as_main):
    fresh = TrainingService(workers=2, every_seconds=0.05, abandon_seconds=3600)  # workers spawned now
    try:
        job = fresh.submit("learner", [("ERM", QUICK)], seeds=[3, 4])
        until(lambda: not fresh.view(job).training)
        tasks = fresh.view(job).job.tasks
    finally:
        fresh.close()
    assert sorted(t.seed for t in tasks) == [3, 4] and all(t.status == "finished" for t in tasks)


def test_run_seeds_keeps_its_workers_between_calls_and_ends_them_when_idle(monkeypatch):
    from procrustes_core.training import seeds as seeds_module

    monkeypatch.setattr(seeds_module, "IDLE_SECONDS", 0.5)
    first = run_seeds(QUICK, seeds=[5], workers=3)  # a pool size no other test uses
    pool = seeds_module._SHARED[3]
    pids = {pool._pool.pid(w) for w in range(3)}
    again = run_seeds(QUICK, seeds=[5], workers=3)
    assert seeds_module._SHARED[3] is pool and {pool._pool.pid(w) for w in range(3)} == pids
    assert first[0].last.balanced_acc == again[0].last.balanced_acc
    until(lambda: 3 not in seeds_module._SHARED, timeout=20)
    until(lambda: not any(pool._pool.alive(w) for w in range(3)), timeout=20)


@pytest.mark.parametrize("seeds, message", [([], "give at least one seed"), ([1, 1], "each seed once"),
                                            ([-1], "expected seeds from 0"), (["x"], "expected whole numbers"),
                                            (list(range(70)), "at most 64")])
def test_bad_seed_lists_are_one_line(seeds, message):
    with pytest.raises(ProcrustesError, match=message):
        check_seeds(seeds)


@pytest.mark.slow
def test_the_service_trains_on_a_ray_cluster_and_streams_events_back():
    ray = pytest.importorskip("ray", reason="Ray is in the dev extra: pip install -e '.[dev]'")
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the head trains nothing
    cluster.add_node(num_cpus=2)
    trainer = None
    try:
        trainer = TrainingService(workers=2, backend="ray", address=cluster.address, every_seconds=0.05,
                                  abandon_seconds=3600)
        job = trainer.submit("learner", [("ERM", QUICK)], seeds=[0, 1], variants={"LA": PostHoc(la_tau=1.0)})
        until(lambda: not trainer.view(job).training, timeout=180)
        tasks = trainer.view(job).job.tasks
        assert all(t.status == "finished" and len(t.history.records) == 2 for t in tasks), \
            [(t.status, t.error) for t in tasks]
        local = run_seeds(QUICK, seeds=[0, 1], workers=1)[0]  # stacked as on the cluster
        assert tasks[0].history.last.balanced_acc == local.last.balanced_acc  # the same numbers on the cluster
        long = trainer.submit("learner", [("long", LONG)])
        until(lambda: trainer.view(long).job.tasks[0].steps, timeout=120)
        trainer.stop(long)
        until(lambda: trainer.view(long).job.tasks[0].status == "stopped", timeout=20)
        victim = trainer.submit("learner", [("long", LONG)])  # an actor that dies mid-training
        until(lambda: trainer.view(victim).job.tasks[0].epochs_done >= 1, timeout=120)
        ray.kill(trainer._pool._actors[trainer.view(victim).job.tasks[0].worker])
        until(lambda: not trainer.view(victim).training, timeout=60)
        task = trainer.view(victim).job.tasks[0]
        assert task.status == "failed" and "stopped unexpectedly" in task.error and task.history.records
        after = trainer.submit("learner", [("ERM", QUICK)])  # the slot is back, on a new actor
        until(lambda: not trainer.view(after).training, timeout=120)
        assert trainer.view(after).status == "finished"
    finally:
        if trainer is not None:
            trainer.close()
        ray.shutdown()
        cluster.shutdown()


def test_a_ray_address_nobody_answers_is_one_line_at_once():
    pytest.importorskip("ray")
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ProcrustesError, match=f"no Ray cluster answers at '127.0.0.1:{port}'"):
        TrainingService(workers=1, backend="ray", address=f"127.0.0.1:{port}")
    import ray

    assert not ray.is_initialized()  # nothing left connected


def test_a_worker_loads_what_a_first_training_needs_before_its_first_task():
    """The first chart must not wait for torch's optimiser to import its compiler (about 1.5 s)."""
    import subprocess
    import sys

    code = ("import sys; from procrustes_core.training.worker import warm_up; "
            "before = 'torch._dynamo' in sys.modules; warm_up(); print(before, 'torch._dynamo' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "True"]


def _mean_epochs(view) -> int:
    """The epochs a page's mean curve over the job's seeds reaches now (as the pages draw it)."""
    from procrustes_core.analysis.seeds import mean_history

    histories = [t.history for t in view.job.tasks if t.history is not None]
    return len(mean_history(histories).records) if histories else 0


def test_a_runs_seeds_train_as_one_request_in_one_slot_and_the_mean_curve_never_steps_back(service):
    until(lambda: service.busy_workers() == 0)
    quick = QUICK.replace(epochs=4)
    job = service.submit("stacker", [("ERM", quick)], seeds=[0, 1, 2])
    reached = []
    while service.view(job).training:
        view = service.view(job)
        reached.append(_mean_epochs(view))
        assert service.busy_workers() <= 1  # the three seeds hold one slot
        time.sleep(0.02)  # a page's refresh, not a bound: the loop ends when the job does
    view = service.view(job)
    tasks = view.job.tasks
    assert [t.seed for t in tasks] == [0, 1, 2] and all(t.status == "finished" for t in tasks)
    assert len({t.worker for t in tasks}) == 1 and all(len(t.history.records) == 4 for t in tasks)
    reached.append(_mean_epochs(view))
    assert reached == sorted(reached) and reached[-1] == 4  # never back to an earlier epoch


def test_a_stacked_request_is_one_place_in_the_queue_priced_at_its_measured_cost():
    trainer = TrainingService(workers=1, every_seconds=0.05, abandon_seconds=3600)
    try:
        busy = trainer.submit("a", [("long", LONG)])
        until(lambda: trainer.view(busy).job.tasks[0].status == "running")
        bundled = trainer.submit("b", [("ERM", QUICK)], seeds=[0, 1, 2, 3])
        after = trainer.submit("c", [("quick", QUICK)])
        assert trainer.view(bundled).position == 0 and trainer.view(after).position == 1  # four seeds, one place
        cost = trainer._tasks[trainer.view(bundled).job.tasks[0].serial].price
        assert cost.stacked and cost.seeds == 4 and cost.effort < cost.flops
        trainer.stop(busy)
        until(lambda: not trainer.view(after).training)
        assert all(t.status == "finished" for t in trainer.view(bundled).job.tasks)
    finally:
        trainer.close()


def test_stopping_a_stacked_job_stops_every_seed_of_its_request(service):
    job = service.submit("stacked stopper", [("long", LONG)], seeds=[0, 1])
    until(lambda: all(t.steps for t in service.view(job).job.tasks))
    service.stop(job)
    until(lambda: not service.view(job).training)
    tasks = service.view(job).job.tasks
    assert all(t.status == "stopped" and "stopped by the learner" in t.history.stopped for t in tasks)
    until(lambda: service.busy_workers() == 0)


def test_a_killed_worker_fails_every_seed_of_its_stacked_request_with_the_epochs_so_far(service):
    job = service.submit("stacked victim", [("long", LONG)], seeds=[0, 1])
    until(lambda: all(t.epochs_done >= 1 for t in service.view(job).job.tasks))
    os.kill(service._pool.pid(service.view(job).job.tasks[0].worker), signal.SIGKILL)
    until(lambda: not service.view(job).training)
    for task in service.view(job).job.tasks:
        assert task.status == "failed" and "stopped unexpectedly" in task.error and task.history.records
        assert task.error == DEAD_WORKER.format(epochs=task.epochs_done)


def test_a_front_with_the_machine_to_itself_splits_a_runs_seeds_into_stacks_for_every_worker(service):
    until(lambda: service.busy_workers() == 0)
    job = service.submit("cli", [("ERM", QUICK)], seeds=[0, 1, 2, 3, 4], parts=2)
    bundles = {}
    for task in service.view(job).job.tasks:
        bundles.setdefault(service._tasks[task.serial].bundle, []).append(task.seed)
    assert sorted(bundles.values()) == [[0, 1, 2], [3, 4]]
    until(lambda: not service.view(job).training)
    tasks = service.view(job).job.tasks
    assert all(t.status == "finished" for t in tasks) and len({t.worker for t in tasks}) == 2
