"""The fidelity study's report: paired comparisons read from its cache of finished runs, the mechanism,
the findings, the chosen settings confirmed on fresh seeds, and the saved results the app and lessons show.
Run through ``fidelity.py`` (``--report`` only rewrites it from the cache)."""

from __future__ import annotations

import json

import numpy as np
from fidelity import (
    PLAIN,
    PRODUCT,
    Comparison,
    ablation_runs,
    budget_runs,
    key_of,
    network_runs,
    remedy_runs,
)

from procrustes_core.analysis.compare import paired_comparison

from common import machine

# ---------------------------------------------------------------- the report


def result(done: dict, config: dict, seed: int, eval_every: int, extra: dict) -> dict | None:
    return done.get(key_of(dict(config, seed=seed, eval_every=eval_every), extra))


def erm_result(done: dict, c: Comparison, seed: int) -> dict | None:
    return result(done, c.erm, seed, c.every("erm"), {})


def mfw_result(done: dict, c: Comparison, seed: int) -> dict | None:
    return result(done, c.mfw, seed, c.every("mfw"), c.extra)


def compare(done: dict, c: Comparison, split: str = "test", erm_field: str | None = None,
            mfw_field: str | None = None):
    """The paired comparison of ``c`` on the seeds that have both runs (None if none has)."""
    erm_field = erm_field or f"{split}_bal_la"
    mfw_field = mfw_field or f"{split}_bal_la"
    pairs = [(s, erm_result(done, c, s), mfw_result(done, c, s)) for s in c.seeds]
    pairs = [(s, a, b) for s, a, b in pairs if a is not None and b is not None]
    if not pairs:
        return None
    return paired_comparison([a[erm_field] for _, a, _ in pairs], [b[mfw_field] for _, _, b in pairs],
                             [s for s, _, _ in pairs], "ERM + LA", "MFW + LA")


def row(done: dict, c: Comparison, split: str = "test") -> str:
    cmp = compare(done, c, split)
    if cmp is None:
        return f"| {c.label} | not run | | | | |"
    mean, lo, hi = cmp.interval
    seconds = np.mean([mfw_result(done, c, s)["seconds"] for s in cmp.seeds])
    return (f"| {c.label} | {np.mean(cmp.a_values):.3f} | {np.mean(cmp.b_values):.3f} | "
            f"**{mean:+.1f}** [{lo:+.1f}, {hi:+.1f}] | {cmp.wins}/{cmp.n} | {seconds:.0f} s |")


HEADER = ("| setting | ERM + LA | MFW + LA | MFW + LA − ERM + LA (points, 95 % interval) | seeds better | "
          "s per run |\n|---|---|---|---|---|---|")


def mechanism(done: dict, c: Comparison) -> dict | None:
    """Per-epoch figures of one network, means over seeds: early gap, gradient ratio, over-fitting."""
    runs = {}
    for name, pick in (("ERM", erm_result), ("MFW", mfw_result)):
        found = [pick(done, c, s) for s in c.seeds]
        found = [r["series"] for r in found if r is not None]
        if not found:
            return None
        half = max(1, len(found[0]["gap"]) // 2)
        runs[name] = {
            "gap": float(np.mean([np.mean(r["gap"][:half]) for r in found])),
            "gap_first10": float(np.mean([np.mean(r["gap"][:10]) for r in found])),
            "grad_ratio": float(np.mean([np.mean(r["grad_ratio"][:half]) for r in found])),
            "tail_fit_epoch": float(np.mean([next((e for e, t in zip(r["epoch"], r["tail_train"]) if t >= 0.9),
                                                  np.nan) for r in found])),
            "tail_train": float(np.mean([r["tail_train"][-1] for r in found])),
            "tail_test": float(np.mean([r["tail_test"][-1] for r in found])),
        }
    return runs


def best(done: dict, comparisons: list[Comparison], split: str = "val") -> Comparison | None:
    """The comparison whose MFW + LA gain over ERM + LA is largest on ``split`` (mean over seeds)."""
    scored = [(compare(done, c, split), c) for c in comparisons]
    scored = [(s.mean, c) for s, c in scored if s is not None]
    return max(scored, key=lambda t: t[0])[1] if scored else None


def confirm_runs(done: dict, args) -> list[Comparison]:
    """The cheap setting and the paper setting chosen on validation, on fresh seeds and three profiles."""
    found = []
    cheap = best(done, budget_runs(args))
    paper = best(done, network_runs(args) + ablation_runs(args) + remedy_runs(args))
    for tag, chosen in (("cheap", cheap), ("paper", paper)):
        if chosen is None:
            continue
        for profile, ratio, name in (("step", 100.0, "step-100"), ("longtail", 100.0, "long-tailed-100"),
                                     ("step", 10.0, "step-10")):
            erm = dict(chosen.erm, profile=profile, ratio=ratio)
            mfw = dict(chosen.mfw, profile=profile, ratio=ratio)
            found.append(Comparison(f"confirm {tag}", f"{name}: {chosen.label}", erm, mfw, args.fresh, chosen.extra,
                                    eval_every=1))
    return found


def _fmt(cmp) -> str:
    mean, lo, hi = cmp.interval
    return f"{mean:+.1f} [{lo:+.1f}, {hi:+.1f}] points, {cmp.wins}/{cmp.n} seeds"


def findings(done: dict, args) -> list[str]:
    """The study's answers in a few sentences, every number computed from the cached runs."""
    nets = {c.label: c for c in network_runs(args)}
    lines = ["## What the study found", ""]
    got = {name: compare(done, c) for name, c in nets.items()}
    if all(v is not None for v in got.values()):
        plain, plain_bn = got[PLAIN], got["probe layout + BatchNorm"]
        ours, product = got["our layout, no BatchNorm"], got[PRODUCT]
        probe = [done.get(key_of({"probe": "plain", "bn": 0, "seed": s, "epochs": args.epochs}, {}))
                 for s in args.seeds]
        if all(p is not None for p in probe):
            reference = paired_comparison([p["erm_la"] for p in probe], [p["mfw_la"] for p in probe], args.seeds)
            _, lo_a, hi_a = plain.interval
            _, lo_b, hi_b = reference.interval
            same = lo_a <= hi_b and lo_b <= hi_a
            lines.append(f"- **Reproduced.** The product's trainer with the probe's plain network gains "
                         f"{_fmt(plain)}; the reference script on the same seeds {_fmt(reference)} — "
                         + ("the intervals overlap: the product reproduces the reference." if same else
                            "the intervals do not overlap: the product differs from the reference."))
        lines.append(f"- **BatchNorm and the layout decide the size of the gain.** Probe layout {_fmt(plain)}, with "
                     f"BatchNorm {_fmt(plain_bn)}; our layout {_fmt(ours)}, with BatchNorm (the product's default "
                     f"network) {_fmt(product)}.")
        m_plain, m_product = mechanism(done, nets[PLAIN]), mechanism(done, nets[PRODUCT])
        if m_plain and m_product:
            lines.append(
                "- **Mechanism.** MFW balances the feature gradients, as the paper says: the minor/major gradient "
                f"ratio over the first half falls from {m_plain['ERM']['grad_ratio']:.0f}× to "
                f"{m_plain['MFW']['grad_ratio']:.1f}× (plain) and from {m_product['ERM']['grad_ratio']:.0f}× to "
                f"{m_product['MFW']['grad_ratio']:.1f}× (ours + BatchNorm). It does *not* narrow the training-"
                "accuracy gap over the first half in our runs (major minus minor: "
                f"{m_plain['ERM']['gap']:.2f} → {m_plain['MFW']['gap']:.2f} plain, {m_product['ERM']['gap']:.2f} → "
                f"{m_product['MFW']['gap']:.2f} with BatchNorm); over the first 10 epochs it "
                f"{'narrows' if m_plain['MFW']['gap_first10'] < m_plain['ERM']['gap_first10'] else 'widens'} it "
                f"without BatchNorm ({m_plain['ERM']['gap_first10']:.2f} → {m_plain['MFW']['gap_first10']:.2f} plain) "
                f"and {'narrows' if m_product['MFW']['gap_first10'] < m_product['ERM']['gap_first10'] else 'widens'} "
                f"it with ({m_product['ERM']['gap_first10']:.2f} → {m_product['MFW']['gap_first10']:.2f}). Mostly "
                "it slows the fitting of the minor classes, so they over-fit less. Without BatchNorm the minor "
                f"classes end at {m_plain['MFW']['tail_train']:.0%} "
                f"training accuracy under MFW ({m_plain['ERM']['tail_train']:.0%} under ERM) and their test accuracy "
                f"rises from {m_plain['ERM']['tail_test']:.0%} to {m_plain['MFW']['tail_test']:.0%} before LA. With "
                f"BatchNorm, ERM fits them by epoch {m_product['ERM']['tail_fit_epoch']:.0f} (without: "
                f"{mechanism(done, nets['our layout, no BatchNorm'])['ERM']['tail_fit_epoch']:.0f}), and once "
                f"weakening stops at epoch {args.epochs // 2} MFW's network memorises them too (fitted by epoch "
                f"{m_product['MFW']['tail_fit_epoch']:.0f}, {m_product['MFW']['tail_train']:.0%} at the end): "
                "BatchNorm makes the few minor samples quick to memorise, which is the over-fitting MFW was "
                "holding back.")
    rem = {c.label: c for c in remedy_runs(args)}
    after = compare(done, rem[f"{PRODUCT}: mix after BatchNorm"])
    constant = rem[f"{PRODUCT}: constant schedule, running statistics re-estimated"]
    kept, recal = compare(done, constant), compare(done, constant, erm_field="test_bal_la",
                                                      mfw_field="test_bal_la_recalibrated")
    if after and kept and recal:
        lines.append(f"- **Remedies for BatchNorm.** Mixing after the next BatchNorm (so it normalises the un-mixed "
                     f"batch): {_fmt(after)}. Weakening for the whole run instead of the first half: {_fmt(kept)}; "
                     f"re-estimating its running statistics on un-mixed data afterwards: {_fmt(recal)} — the "
                     "running statistics of mixed batches explain little; weakening that lasts as long as the "
                     "network can still memorise explains more.")
    ablations = [(c.label, compare(done, c), compare(done, c, "val")) for c in ablation_runs(args)]
    ablations = [(label, test, val) for label, test, val in ablations if test is not None and val is not None]
    if ablations:
        def _side(sign: int) -> str:
            picked = [f"{label} {_fmt(test)} (validation {val.interval[0]:+.1f})" for label, test, val in ablations
                      if sign * test.interval[1] > 0 and sign * test.interval[2] > 0]
            return "; ".join(picked) or "none"

        lines.append(f"- **Ablations on the product's network** (one change at a time from the reference setting, "
                     f"whose own gain is {_fmt(got[PRODUCT])}" if all(v is not None for v in got.values()) else
                     "- **Ablations on the product's network** (one change at a time from the reference setting")
        lines[-1] += (f"). Gains beyond seed noise: {_side(1)}. Losses: {_side(-1)}. Detaching the partner's "
                      "features stops the minor sample's loss from pulling on the major partner's features; it is a "
                      "lead from the reference budget, not a default: the defaults were chosen on validation at a "
                      "learner's budget, where it was not among the candidates.")
    confirmed = [c for c in confirm_runs(done, args) if c.study == "confirm cheap"]
    if confirmed:
        found = [compare(done, c) for c in confirmed]
        names = ["step-100", "long-tailed-100", "step-10"]
        if all(f is not None for f in found):
            seconds = np.mean([mfw_result(done, confirmed[0], s)["seconds"] for s in found[0].seeds])
            lines.append(f"- **A learner's budget.** The best cheap setting on validation — "
                         f"{confirmed[0].label.split(': ', 1)[1]} — on fresh seeds: "
                         + "; ".join(f"{n} {_fmt(f)}" for n, f in zip(names, found))
                         + f" (about {seconds:.0f} s per run here, two at a time). The plain networks, which gain "
                         "most at 60 epochs, are under-trained at this budget and MFW costs them points there "
                         "(section 5): the gain depends on the network and the budget together.")
    paper = [c for c in confirm_runs(done, args) if c.study == "confirm paper"]
    if paper and all(compare(done, c) is not None for c in paper):
        lines.append("- **The paper setting** (" + paper[0].label.split(": ", 1)[1] + ") on fresh seeds: "
                     + "; ".join(f"{n} {_fmt(compare(done, c))}" for n, c in
                                 zip(["step-100", "long-tailed-100", "step-10"], paper)) + ".")
    best_erm = max((np.mean(compare(done, c).a_values), c.label) for c in nets.values() if compare(done, c))
    best_mfw = max((np.mean(compare(done, c).b_values), c.label) for c in nets.values() if compare(done, c))
    lines.append(f"- **Across networks.** The best ERM + LA is {best_erm[0]:.3f} ({best_erm[1]}), the best MFW + LA "
                 f"{best_mfw[0]:.3f} ({best_mfw[1]}): " + (
                     "MFW adds to a well-normalised network in the probe's layout — the best network with MFW beats "
                     "the best without it." if best_mfw[0] > best_erm[0] else
                     "MFW does not lift the best network beyond what normalisation already gives."))
    return lines + [""]


def report(done: dict, args) -> str:
    nets, remedies, ablations, budget = network_runs(args), remedy_runs(args), ablation_runs(args), budget_runs(args)
    lines = ["# Fidelity: major feature weakening across networks, settings and budgets", "",
             "Regenerate: `python benchmarks/fidelity.py` (stages core, budget, confirm, ablate; results cached in "
             "`benchmarks/results/fidelity_runs.jsonl`). MNIST-1D, balanced test accuracy at the last epoch; LA = "
             "post-hoc logit adjustment (tau = 1) on the same trained model; paired over seeds "
             f"{args.seeds[0]}–{args.seeds[-1]} (choosing) and {args.fresh[0]}–{args.fresh[-1]} (confirming); "
             "settings chosen on the validation split (30 per class), never on test. Unless a row says "
             "otherwise: 20,000 generated samples, step-100 (1,570 vs 15 training samples per class), "
             "60 epochs, SGD 0.05 cosine, batch 128, width 64, MFW after block 2 at s = 0.9 for the first half "
             "of training. One torch thread per run, two runs at a time on 2 cores.", ""]
    try:
        lines += findings(done, args)
    except (KeyError, TypeError, ValueError) as err:  # some stage not run yet: the tables below still stand
        lines += ["## What the study found", "", f"(not all stages have run yet: {err})", ""]
    probe = [done.get(key_of({"probe": "plain", "bn": 0, "seed": s, "epochs": args.epochs}, {})) for s in args.seeds]
    probe = [(s, p) for s, p in zip(args.seeds, probe) if p is not None]
    lines += ["## 1. The reference, reproduced inside the product", ""]
    if probe:
        cmp = paired_comparison([p["erm_la"] for _, p in probe], [p["mfw_la"] for _, p in probe],
                                [s for s, _ in probe], "ERM + LA", "MFW + LA")
        mean, lo, hi = cmp.interval
        lines += [f"The reference script (`shared/reference/mfw_probe.py --arch plain --bn 0`) on seeds "
                  f"{cmp.seeds[0]}–{cmp.seeds[-1]}: ERM + LA {np.mean(cmp.a_values):.3f}, MFW + LA "
                  f"{np.mean(cmp.b_values):.3f}, **{mean:+.1f}** [{lo:+.1f}, {hi:+.1f}] points, {cmp.wins}/{cmp.n} "
                  f"seeds. The product's trainer with `model=cnn1d-s1, norm=none` is the first row below.", ""]
    lines += ["## 2. Four networks, one setting (BatchNorm × layout)", "", HEADER]
    lines += [row(done, c) for c in nets]
    lines += ["", "## 3. The mechanism, in the paper's terms", "",
              "Means over seeds. *Gap*: major minus minor training accuracy (un-mixed training set, eval mode), "
              "averaged over the first half of training; *gradient ratio*: minor over major mean feature-gradient "
              "norm over the same epochs; *fitted*: first epoch the minor training accuracy reaches 0.9; last "
              "two columns: minor training and test accuracy at the last epoch (no LA).", "",
              "| network | run | gap (first half) | gap (first 10 epochs) | gradient ratio | minor fitted at epoch | "
              "minor train | minor test |", "|---|---|---|---|---|---|---|---|"]
    for c in nets:
        m = mechanism(done, c)
        if m is None:
            continue
        for name, v in m.items():
            lines.append(f"| {c.label} | {name} | {v['gap']:.3f} | {v['gap_first10']:.3f} | {v['grad_ratio']:.1f} | "
                         f"{v['tail_fit_epoch']:.1f} | {v['tail_train']:.3f} | {v['tail_test']:.3f} |")
    lines += ["", "### BatchNorm remedies", "", HEADER]
    for c in remedies:
        lines.append(row(done, c))
        if c.extra.get("recalibrate"):
            re_cmp = compare(done, c, erm_field="test_bal_la", mfw_field="test_bal_la_recalibrated")
            if re_cmp is not None:
                mean, lo, hi = re_cmp.interval
                lines.append(f"| ↳ the same runs, MFW's running statistics re-estimated on un-mixed data | "
                             f"{np.mean(re_cmp.a_values):.3f} | {np.mean(re_cmp.b_values):.3f} | **{mean:+.1f}** "
                             f"[{lo:+.1f}, {hi:+.1f}] | {re_cmp.wins}/{re_cmp.n} | |")
    lines += ["", f"## 4. Ablations on {PRODUCT}", "",
              "One change at a time from the reference setting (validation split would choose among them; the "
              "test split is shown). The constant schedule is under the remedies, and width, epochs and "
              "samples on all three networks in section 5.", "", HEADER]
    lines += [row(done, c) for c in ablations]
    lines += ["", "## 5. A learner's budget (width 32), chosen on validation", "",
              "Validation split, seeds as above; the test columns of the chosen rows are in section 6.", "",
              HEADER]
    lines += [row(done, c, "val") for c in budget]
    lines += ["", "## 6. The chosen settings on fresh seeds", "", HEADER]
    lines += [row(done, c) for c in confirm_runs(done, args)]
    lines += ["", "## 7. Across networks: does MFW add to normalisation, or stand in for it?", ""]
    erm_best, mfw_best = [], []
    for c in nets:
        cmp = compare(done, c)
        if cmp is not None:
            erm_best.append((np.mean(cmp.a_values), c.label))
            mfw_best.append((np.mean(cmp.b_values), c.label))
    if erm_best:
        top_erm, top_mfw = max(erm_best), max(mfw_best)
        lines += [f"Best ERM + LA of the four networks: {top_erm[0]:.3f} ({top_erm[1]}); best MFW + LA: "
                  f"{top_mfw[0]:.3f} ({top_mfw[1]}).", ""]
    lines += ["", f"Machine: {json.dumps(machine())}", ""]
    return "\n".join(lines)


def saved_results(done: dict, args) -> dict:
    """The confirmed settings' paired results, for the app's Compare page and the lessons to show as saved."""
    rows = []
    for c in confirm_runs(done, args):
        found = compare(done, c)
        if found is None:
            continue
        mean, lo, hi = found.interval
        rows.append({"study": c.study.replace("confirm ", ""), "setting": c.label,
                     "ERM + LA": round(float(np.mean(found.a_values)), 4),
                     "MFW + LA": round(float(np.mean(found.b_values)), 4),
                     "difference (points)": round(mean, 2), "95 % interval": f"[{lo:+.1f}, {hi:+.1f}]",
                     "seeds better": f"{found.wins}/{found.n}", "verdict": found.sentence(),
                     "seconds per run": round(float(np.mean([mfw_result(done, c, s)["seconds"] for s in found.seeds])),
                                              1)})
    return {"caption": "MFW + LA against ERM + LA on fresh seeds "
                       f"{args.fresh[0]}–{args.fresh[-1]} (not used to choose the settings), balanced test accuracy "
                       "at the last epoch, paired over seeds; 'cheap' is the story setting the app and lessons use, "
                       "'paper' the longer one.",
            "command": "python benchmarks/fidelity.py", "rows": rows}
