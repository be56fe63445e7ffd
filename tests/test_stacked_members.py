"""Members of different methods in one stack (``StackedTrainer.of_members``): each keeps what it has alone.

Configs with one ``stack_key`` (the same network, data and loop; any method) train in one stacked network.
Nothing in a stacked layer mixes two members, and a member without a mixer is passed over by the others'
mixes (not mixed with λ = 1), so a member's numbers are bitwise those of the same config and seed in a
stack of its own config at the same place in a stack of the same size, whichever config is beside it.
"""

from __future__ import annotations

import pytest

from procrustes_core.errors import ProcrustesError
from procrustes_core.methods.posthoc import PostHoc
from procrustes_core.training.stacked import StackedTrainer, run_members, stack_key


def _records(history) -> list[dict]:
    records = [r.to_dict() for r in history.records]
    for record in records:
        record.pop("seconds")
    return records


def _trained(trainer: StackedTrainer) -> StackedTrainer:
    list(trainer.epochs())
    return trainer


def test_erm_and_mfw_share_a_stack_key_and_the_network_or_loop_do_not(tiny):
    erm = tiny
    assert stack_key(erm) is not None
    for method in (dict(mixer="mfw", mfw_layer="penultimate", mfw_strength=0.5), dict(la_tau=1.0),
                   dict(loss="la-loss"), dict(loss="focal", focal_gamma=2.0), dict(sampler="class-balanced"),
                   dict(seed=5)):
        assert stack_key(erm.replace(**method)) == stack_key(erm), method
    for shape in (dict(width=16), dict(lr=0.1), dict(batch_size=32), dict(epochs=3), dict(ratio=20),
                  dict(optimizer="adam"), dict(sampler="undersample"), dict(augment="shift")):
        assert stack_key(erm.replace(**shape)) != stack_key(erm), shape
    assert stack_key(erm.replace(bbn=True)) is None


def test_members_of_different_shapes_are_refused_in_one_line(tiny):
    with pytest.raises(ProcrustesError, match="^not stackable: the members differ") as err:
        StackedTrainer.of_members([(tiny, 0), (tiny.replace(width=16), 0)])
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("mfw", [dict(mfw_layer="penultimate"), dict(mfw_layer="random", mfw_detach=True)],
                         ids=["penultimate", "random-detached"])
def test_a_member_of_a_joint_erm_and_mfw_stack_has_the_records_of_its_own_configs_stack(tiny, mfw):
    erm = tiny.replace(la_tau=1.0)
    with_mfw = tiny.replace(mixer="mfw", mfw_strength=0.9, mfw_schedule="constant", **mfw)
    variants = {"LA": PostHoc(la_tau=1.0)}
    joint = _trained(StackedTrainer.of_members([(erm, 0), (with_mfw, 1)], variants))
    erm_alone = _trained(StackedTrainer(erm, [0, 1], variants))
    mfw_alone = _trained(StackedTrainer(with_mfw, [0, 1], variants))
    assert joint.keys == [0, 1] and joint.seeds == [0, 1]
    assert joint.histories[0].config == erm_alone.histories[0].config
    assert joint.histories[1].config == mfw_alone.histories[1].config
    assert _records(joint.histories[0]) == _records(erm_alone.histories[0])
    assert _records(joint.histories[1]) == _records(mfw_alone.histories[1])
    assert _records(joint.histories[0])[-1]["mfw_strength"] == 0.0
    assert _records(joint.histories[1])[-1]["mfw_strength"] == pytest.approx(0.9)


def test_a_members_records_do_not_depend_on_the_other_config_in_its_stack(tiny):
    erm = tiny
    beside_mfw = _trained(StackedTrainer.of_members([(erm, 3), (tiny.replace(mixer="mfw", mfw_strength=0.9), 3)]))
    beside_focal = _trained(StackedTrainer.of_members([(erm, 3), (tiny.replace(loss="focal", la_tau=2.0), 3)]))
    assert _records(beside_mfw.histories[0]) == _records(beside_focal.histories[0])
    assert _records(beside_mfw.histories[1]) != _records(beside_focal.histories[1])


def test_two_members_on_one_seed_are_told_apart_and_share_its_data(tiny):
    erm, la = tiny.replace(la_tau=0.0), tiny.replace(la_tau=1.5)
    trainer = StackedTrainer.of_members([(erm, 2), (la, 2)])
    assert trainer.data[0] is trainer.data[1]  # one seed's data, built once
    yielded = list(trainer.epochs())
    assert [sorted(r) for r in yielded] == [[0, 1]] * tiny.epochs
    first, second = trainer.histories[0].records[-1], trainer.histories[1].records[-1]
    assert first.train_acc == second.train_acc  # the same network trained (post-hoc scoring differs only)
    assert trainer.histories[0].config.la_tau == 0.0 and trainer.histories[1].config.la_tau == 1.5
    assert [h.config.seed for h in run_members([(erm, 4), (la, 4)])] == [4, 4]


def test_a_request_of_members_trains_them_as_one_stack_through_the_executor(tiny):
    from procrustes_core.training.executor import run_batch
    from procrustes_core.training.messages import TrainRequest

    erm, mfw = tiny, tiny.replace(mixer="mfw", mfw_strength=0.9)
    members = [(erm, 0), (mfw, 0), (mfw, 1)]
    request = TrainRequest(7, erm.to_dict(), tuple(s for _, s in members), {"LA": {"la_tau": 1.0, "tau_norm": 0.0}},
                           members=tuple(c.to_dict() for c, _ in members))
    came = []
    run_batch([request], lambda req, outcome: came.append(outcome), backend="serial")
    expected = _trained(StackedTrainer.of_members(members, {"LA": PostHoc(la_tau=1.0)}))
    assert [(o.config.mixer, o.seed) for o in came] == [("none", 0), ("mfw", 0), ("mfw", 1)]
    assert all(o.error is None and o.ended for o in came)
    for member, outcome in enumerate(came):
        assert _records(outcome.history) == _records(expected.histories[member])
    assert _records(came[0].history) != _records(came[1].history)  # two members on seed 0, told apart


def test_a_compare_on_one_slot_is_one_joint_stack_and_on_two_slots_two(tiny, monkeypatch):
    from procrustes_core.training.service import TrainingService

    monkeypatch.setenv("PROCRUSTES_STACKED_SEEDS", "joint")  # where it pays: on CUDA (joint_pays)

    erm, mfw = tiny, tiny.replace(mixer="mfw", mfw_strength=0.9)
    for workers, expected in [(1, [[("none", 0), ("none", 1), ("mfw", 0), ("mfw", 1)]]),
                              (2, [[("none", 0), ("none", 1)], [("mfw", 0), ("mfw", 1)]])]:
        service = TrainingService(workers=workers, abandon_seconds=3600)
        started = []
        start = service._pool.start
        service._pool.start = lambda slot, request, start=start, started=started: (
            started.append(request), start(slot, request))[1]
        try:
            job = service.submit("learner", [("ERM", erm), ("MFW", mfw)], seeds=[0, 1])
            done = service.view(job)
            while done.training:
                service._thread.join(0.05)  # the dispatcher's events arrive on its thread
                done = service.view(job)
        finally:
            service.close()
        assert [[(c["mixer"], s) for c, s in zip(r.member_configs(), r.seeds)] for r in started] == expected
        tasks = done.job.tasks
        assert all(t.status == "finished" and len(t.history.records) == tiny.epochs for t in tasks)
        if workers == 1:
            joint = _trained(StackedTrainer.of_members([(erm, 0), (erm, 1), (mfw, 0), (mfw, 1)]))
            for task, member in zip(tasks, range(4)):
                assert (task.config.mixer, task.seed) == expected[0][member]
                assert _records(task.history) == _records(joint.histories[member])


def test_a_benchmark_can_keep_each_config_in_a_stack_of_its_own(tiny, monkeypatch):
    mfw = tiny.replace(mixer="mfw")
    monkeypatch.setenv("PROCRUSTES_STACKED_SEEDS", "config")
    assert stack_key(tiny) != stack_key(mfw) and stack_key(tiny) == stack_key(tiny.replace(seed=4))
    monkeypatch.setenv("PROCRUSTES_STACKED_SEEDS", "1")
    assert stack_key(tiny) == stack_key(mfw)


def test_a_joint_stack_is_chosen_where_it_pays(tiny, monkeypatch):
    from procrustes_core.training.stacked import joint_pays

    monkeypatch.delenv("PROCRUSTES_STACKED_SEEDS", raising=False)
    assert not joint_pays(tiny.replace(device="cpu"))  # on a CPU two stacks of S cost less than one of 2S
    for setting, joint in (("joint", True), ("config", False), ("0", False)):
        monkeypatch.setenv("PROCRUSTES_STACKED_SEEDS", setting)
        assert joint_pays(tiny.replace(device="cpu")) is joint
