"""The narrator: sentences about a run, each pinned to the epoch where it became true.

The paper's story, stated in a learner's run's own numbers:

    under-fit   "Epoch 6: minor classes (5–9) at 0 % training accuracy vs 99 % for major — under-fit.
                 Their feature gradients are 87× larger."
    caught up   "Epoch 11: the minor classes caught up in training (91 % vs 100 %)."
    over-fit    "Epoch 14: minor training 100 %, test 19 % — over-fit."
    weakening   "MFW weakened the major classes until epoch 15."
    mfw-effect  "Until epoch 15, while MFW weakened the major classes, the minor classes' feature gradients
                 averaged 49× the major classes' — still far from even; at epoch 15 the minor classes are
                 at 4 % training accuracy vs 97 % for major (without MFW: ...)."
    test-above-train  "Epoch 3: the minor classes' test accuracy (45 %) is above their training
                 accuracy (20 %): ..." and why (post-hoc logit adjustment, or samples not yet fitted)
    balanced    "Without post-hoc logit adjustment the model favours the major classes: ..."

and, where the run does not show a step of the story, a sentence that says so. The app pins these to
its charts, the lessons print them, and ``procrustes report`` writes them into the report. Several
seeds are narrated through their mean (``analysis.seeds.mean_history``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

from ..methods.schedules import MAJOR_FITTED, caught_up, strength_at
from .history import RunHistory
from .phases import FITTED, OVERFIT_EXCESS_GAP, UNDERFIT_FRACTION, overfit_span, underfit_span

EVEN_RATIO = 3.0  # minor/major feature gradients within this factor read as close to even
# The under-fit sentence waits until the major classes are fitted (MAJOR_FITTED, the clearest moment);
# "caught up" is methods.schedules.caught_up, the rule MFW's until-equal schedule stops by.


@dataclass(frozen=True)
class Statement:
    """One sentence, the epoch it belongs to (0: the run as a whole), and what it is about."""

    epoch: int
    kind: str  # under-fit | gradients | caught-up | over-fit | weakening | mfw-effect | test-above-train
    #            | no-under-fit | no-over-fit | prior
    text: str


NAMED_AT_MOST = 4  # a group of more classes is named only when its names are a run of digits ("5–9")
NAMES_LENGTH = 40  # longer lists of names are left out: the sentence must stay readable


def _digit_run(names: list[str]) -> str | None:
    """``"5–9"`` for consecutive digit names, ``"1, 3, 5"`` for a few others; None if they are not all numbers."""
    if not all(n.isdigit() for n in names):
        return None
    values = sorted(int(n) for n in names)
    if len(values) > 2 and values == list(range(values[0], values[-1] + 1)):
        return f"{values[0]}–{values[-1]}"
    return ", ".join(str(v) for v in values) if len(values) <= NAMED_AT_MOST + 2 else None


def group_names(history: RunHistory, group: str) -> str:
    """The names of a group's classes when there are few (``"fraud"``, ``"5–9"`` for digits); else ``""``."""
    members = history.groups.get(group, [])
    if not members or len(history.class_names) < max(members) + 1:
        return ""
    names = [str(history.class_names[c]) for c in members]
    short = _digit_run(names)
    if short is None and len(names) <= NAMED_AT_MOST:
        short = ", ".join(names)
    return short if short is not None and len(short) <= NAMES_LENGTH else ""


def _name_classes(statement: Statement, history: RunHistory) -> Statement:
    """Name each group's classes at their first mention in a sentence: "the minor classes (fraud)"."""
    text = statement.text
    for group in history.groups:
        names = group_names(history, group)
        if names:  # not "the minor classes' …": the possessive reads badly with a name after it
            text = re.sub(rf"\b{re.escape(group)} classes(?!')", f"{group} classes ({names})", text, count=1)
    return replace(statement, text=text) if text != statement.text else statement


def _pct(x: float) -> str:
    return f"{100 * x:.0f} %"


def _weakening(history: RunHistory, epochs: list[int], head: str) -> list[Statement]:
    """When MFW weakened the major classes, from the config's schedule (the evaluated epochs may skip
    some; ``until-equal`` depends on the run, so its recorded strengths are used)."""
    config = history.config
    if config.mixer != "mfw" or config.mfw_strength <= 0:
        return []
    if config.mfw_schedule == "until-equal":
        on = [e for e, r in zip(epochs, history.records) if r.mfw_strength > 0]
    else:
        on = [e + 1 for e in range(config.epochs)
              if strength_at(config.mfw_schedule, config.mfw_strength, e, config.epochs, config.mfw_until) > 0]
    if not on:
        return []
    shape = {"linear": ", decaying linearly", "cosine": ", decaying along a half cosine"}.get(config.mfw_schedule, "")
    text = (f"MFW weakened the {head} classes' features at strength {config.mfw_strength:g}{shape} "
            + (f"until epoch {on[-1]}." if on[-1] < config.epochs else "throughout."))
    return [Statement(min(on[-1], epochs[-1]), "weakening", text)] if on[0] <= epochs[-1] else []


def _mean_ratio(history: RunHistory, epochs: list[int]) -> float:
    """The minor/major feature-gradient ratio averaged over the evaluated ``epochs`` (nan if none is finite)."""
    ratios = dict(zip((r.epoch for r in history.records), history.gradient_ratio()))
    finite = [ratios[e] for e in epochs if e in ratios and math.isfinite(ratios[e])]
    return sum(finite) / len(finite) if finite else math.nan


def _mfw_effect(history: RunHistory, epochs: list[int], baseline: RunHistory | None) -> list[Statement]:
    """What weakening did on this run, in its own numbers (and a plain run's on the same seeds, when given).
    Nothing is assumed: on our BatchNorm network MFW after block 2 at s 0.9, partner detached (the story preset's),
    evens the feature gradients, narrows the training gap in the first quarter but widens it over the first
    half, and keeps the few minor samples from being memorised; at the penultimate features at s 0.5 it evens
    neither and gains less (benchmarks/results/story_mfw.md, fidelity.md)."""
    config, head, tail = history.config, history.head, history.tail
    on = [e for e, r in zip(epochs, history.records) if r.mfw_strength > 0]
    if config.mixer != "mfw" or not on:
        return []
    ratio = _mean_ratio(history, on)
    if not math.isfinite(ratio):
        return []
    last = on[-1]
    head_train, tail_train = history.head_tail("train_acc")
    i = epochs.index(last)
    text = (f"Until epoch {last}, while MFW weakened the {head} classes, the {tail} classes' feature gradients "
            f"averaged {ratio:.1f}× the {head} classes'")
    plain_gap = None
    if baseline is not None and baseline.records:
        base_epochs = [r.epoch for r in baseline.records]
        base_ratio = _mean_ratio(baseline, on)
        if math.isfinite(base_ratio):
            verdict = "MFW evened them" if ratio < base_ratio / 2 else "MFW did not even them on this run"
            text += f" ({base_ratio:.0f}× without MFW on the same seeds: {verdict})"
        if last in base_epochs:
            j = base_epochs.index(last)
            base_head, base_tail = baseline.head_tail("train_acc")
            plain_gap = (base_tail[j], base_head[j])
    text += (f" — {'close to even' if ratio <= EVEN_RATIO else 'still far from even'}; at epoch {last} the "
             f"{tail} classes are at {_pct(tail_train[i])} training accuracy vs {_pct(head_train[i])} for {head}")
    if plain_gap is not None:
        wider = head_train[i] - tail_train[i] > plain_gap[1] - plain_gap[0]
        text += (f" (without MFW: {_pct(plain_gap[0])} vs {_pct(plain_gap[1])} — the gap is "
                 f"{'wider' if wider else 'narrower'} with MFW")
        text += ": weakening slows the fitting of the few minor samples)" if wider else ")"
    return [Statement(min(last, epochs[-1]), "mfw-effect", text + ".")]


def _test_above_train(history: RunHistory) -> list[Statement]:
    """The first epoch where minor test accuracy sits above minor training accuracy, and why: training accuracy
    is read from the raw outputs while test accuracy is scored after the post-hoc step; or the few minor
    training samples are not fitted yet (MFW holds them back)."""
    config, tail = history.config, history.tail
    posthoc = config.la_tau > 0 or config.tau_norm > 0
    weakened = config.mixer == "mfw" and config.mfw_strength > 0
    if not (posthoc or weakened):  # plain training: a few points either way near 0 % is noise, not a story
        return []
    _, tail_train = history.head_tail("train_acc")
    _, tail_test = history.head_tail("test_acc")
    found = next(((r.epoch, tr, te) for r, tr, te in zip(history.records, tail_train, tail_test) if te >= tr + 0.05),
                 None)
    if found is None:
        return []
    epoch, train, test = found
    text = (f"Epoch {epoch}: the {tail} classes' test accuracy ({_pct(test)}) is above their training accuracy "
            f"({_pct(train)}): ")
    if posthoc:
        text += ("training accuracy is read from the network's raw outputs, test accuracy after the post-hoc "
                 f"step, which moves decisions towards the {tail} classes")
    held = weakened and train < FITTED
    if held:
        text += ("; and " if posthoc else "") + (f"MFW keeps the network from memorising the few {tail} training "
                                                 "samples, so they are not fitted")
    if not posthoc and not held:
        text += f"the network has not fitted the few {tail} training samples yet"
    return [Statement(epoch, "test-above-train", text + ".")]


def narrate(history: RunHistory, finished: bool | None = None, seeds: int = 1,
            baseline: RunHistory | None = None) -> list[Statement]:
    """Every statement the run supports so far, in epoch order. ``finished``: the run has ended (then
    the absence of a phase is stated too); by default, when it reached its last epoch. ``baseline``: a
    plain run on the same seeds (Compare's), to set an MFW run's gradients and gap against."""
    if len(history.groups) < 2 or not history.records:
        return []
    finished = history.last.epoch >= history.config.epochs if finished is None else finished
    head, tail = history.head, history.tail
    head_train, tail_train = history.head_tail("train_acc")
    head_test, tail_test = history.head_tail("test_acc")
    ratios = history.gradient_ratio()
    epochs = [r.epoch for r in history.records]
    where = {e: i for i, e in enumerate(epochs)}
    of_seeds = f" (mean of {seeds} seeds)" if seeds > 1 else ""
    found: list[Statement] = []

    span = underfit_span(history)
    if span is not None:
        inside = [e for e in epochs if span[0] <= e <= span[1]]
        clear = next((e for e in inside if head_train[where[e]] >= MAJOR_FITTED), inside[-1])
        i = where[clear]
        found.append(Statement(clear, "under-fit",
                               f"Epoch {clear}: {tail} classes at {_pct(tail_train[i])} training accuracy vs "
                               f"{_pct(head_train[i])} for {head} — under-fit{of_seeds}."))
        finite = [e for e in inside if math.isfinite(ratios[where[e]])]
        if finite:
            peak = max(finite, key=lambda e: ratios[where[e]])
            ratio = ratios[where[peak]]
            if ratio > 1.5:
                found.append(Statement(peak, "gradients", f"Epoch {peak}: the {tail} classes' feature gradients "
                                                          f"are {ratio:.0f}× larger than the {head} classes'."))
        caught = next((e for e in epochs if e > span[1]
                       and caught_up(head_train[where[e]], tail_train[where[e]])), None)
        if caught is not None:
            i = where[caught]
            found.append(Statement(caught, "caught-up", f"Epoch {caught}: the {tail} classes caught up in training "
                                                        f"({_pct(tail_train[i])} vs {_pct(head_train[i])})."))
    elif finished:
        found.append(Statement(0, "no-under-fit",
                               f"No under-fit phase: the {tail} classes' training accuracy never fell below "
                               f"{UNDERFIT_FRACTION:g} × the {head} classes' at an evaluated epoch — the imbalance "
                               "is mild, or the classes are easy."))
    span = overfit_span(history)
    if span is not None:
        i = where[span[0]]
        found.append(Statement(span[0], "over-fit", f"Epoch {span[0]}: {tail} training {_pct(tail_train[i])}, test "
                                                    f"{_pct(tail_test[i])} — over-fit{of_seeds}."))
    elif finished:
        best = max(range(len(epochs)), key=lambda k: tail_train[k])
        if tail_train[best] < FITTED:
            reason = (f"the {tail} classes' training accuracy never reached {_pct(FITTED)} (at most "
                      f"{_pct(tail_train[best])}, epoch {epochs[best]})")
        else:
            reason = (f"whenever the {tail} classes were fitted, their train − test gap stayed within "
                      f"{_pct(OVERFIT_EXCESS_GAP)} of the {head} classes'")
        found.append(Statement(0, "no-over-fit", f"No over-fit phase: {reason}."))
    found += _weakening(history, epochs, head)
    found += _mfw_effect(history, epochs, baseline)
    found += _test_above_train(history)
    if history.config.la_tau == 0 and history.config.tau_norm == 0 and finished:
        last = history.last
        if last.group_test_acc.get(tail, 0) < last.group_test_acc.get(head, 0) - 0.2:
            found.append(Statement(0, "prior",
                                   f"At the end the {tail} classes reach {_pct(last.group_test_acc[tail])} test "
                                   f"accuracy vs {_pct(last.group_test_acc[head])} for {head}: the classifier "
                                   "still favours the classes it saw most. Post-hoc logit adjustment corrects that "
                                   "prior without training again."))
    return sorted((_name_classes(s, history) for s in found), key=lambda s: (s.epoch == 0, s.epoch))
