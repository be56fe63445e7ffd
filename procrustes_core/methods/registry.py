"""Every method by name: what it does in one line, its formula, the settings that select it and its knobs.

``METHODS`` (name → ``Method``) is what ``procrustes methods``, docs/methods.md, the app and the
lessons list. ``check_combination(config)`` rejects runs whose pieces contradict each other (the
Trainer calls it first; front ends call it to show the problem before training), and
``build_methods(config, data, model)`` turns a config into the objects the training loop calls.

A run combines one loss, one sampler, one mixer, a class-weight schedule and post-hoc steps. The
one rule: **a run corrects for the class prior at most once** — by a re-balancing sampler, a
re-weighting or prior-adjusting loss, DRW, gradient scaling, or a post-hoc step, not by two of them
(the second would push the classifier past balance, towards the minor classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ProcrustesError
from .losses import Loss, build_loss, effective_number_weights
from .mfw import RECOMMENDED_STRENGTH, MajorFeatureWeakening, count_weights
from .mixers import FeatureWeakening, Mixer, Mixup, Remix
from .samplers import IMAGE_DATASETS, SYNTHETIC, Sampler, build_sampler
from .schedules import ClassWeights, DeferredReweighting, GradientScaling

KINDS = ("loss", "sampler", "mixer", "schedule", "post-hoc")


@dataclass(frozen=True)
class Method:
    """One method: its name (as in the config and the UI), what it does, and how to turn it on."""

    name: str
    kind: str  # one of KINDS
    description: str  # one line
    formula: str
    settings: dict[str, Any]  # the config values that select it
    params: tuple[str, ...] = ()  # config fields that tune it
    corrects_prior: bool = False  # re-balances classes (at most one such method per run)
    reference: str = ""

    def defaults(self) -> dict[str, Any]:
        """Default value of each of its knobs."""
        from ..config import TrainConfig

        default = TrainConfig()
        return {p: getattr(default, p) for p in self.params}


def _m(*args: Any, **kwargs: Any) -> Method:
    return Method(*args, **kwargs)


METHODS: dict[str, Method] = {m.name: m for m in [
    # ---------------------------------------------------------------- losses
    _m("ce", "loss", "cross-entropy, every sample counts the same (plain ERM)",
       "ℓ = −log p_y,  p = softmax(z)", {"loss": "ce"}),
    _m("weighted-ce", "loss", "cross-entropy weighted by inverse class frequency",
       "L = Σ w_{y_i} ℓ_i / Σ w_{y_i},  w_c ∝ 1/n_c,  Σ_c w_c = C", {"loss": "weighted-ce"},
       ("weight_schedule", "weight_until"), corrects_prior=True),
    _m("cb-ce", "loss", "class-balanced cross-entropy: weights from the effective number of samples",
       "w_c ∝ (1 − β) / (1 − β^n_c),  Σ_c w_c = C", {"loss": "cb-ce"},
       ("cb_beta", "weight_schedule", "weight_until"), corrects_prior=True,
       reference="Class-Balanced Loss Based on Effective Number of Samples, CVPR 2019"),
    _m("focal", "loss", "focal loss: easy, well-classified samples count less",
       "ℓ = −(1 − p_y)^γ log p_y", {"loss": "focal"}, ("focal_gamma",),
       reference="Focal Loss for Dense Object Detection, ICCV 2017"),
    _m("ldam", "loss", "label-distribution-aware margin: larger margins for smaller classes",
       "ℓ = CE(z − s·Δ_y·e_y),  Δ_c ∝ n_c^(−1/4),  max Δ = m;  cosine head: z = s·cos θ",
       {"loss": "ldam"}, ("ldam_max_margin", "ldam_scale", "ldam_cosine"),
       reference="Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss, NeurIPS 2019"),
    _m("balanced-softmax", "loss", "balanced softmax: the training prior is added to the logits in the loss",
       "ℓ = CE(z + log n_c)", {"loss": "balanced-softmax"}, corrects_prior=True,
       reference="Balanced Meta-Softmax for Long-Tailed Visual Recognition, NeurIPS 2020"),
    _m("la-loss", "loss", "logit-adjusted loss: τ·log prior added to the logits during training",
       "ℓ = CE(z + τ·log π),  π_c = n_c / Σ n", {"loss": "la-loss"}, ("la_loss_tau",), corrects_prior=True,
       reference="Long-tail Learning via Logit Adjustment, ICLR 2021"),
    _m("cdt", "loss", "class-dependent temperatures: smaller classes' logits divided more in training, so they grow",
       "ℓ = CE(z_c / a_c),  a_c = (n_max / n_c)^γ", {"loss": "cdt"}, ("cdt_gamma",), corrects_prior=True,
       reference="Identifying and Compensating for Feature Deviation in Imbalanced Deep Learning, 2020"),
    # ---------------------------------------------------------------- samplers
    _m("instance", "sampler", "every training sample once per epoch, shuffled",
       "P(class c) = n_c / N", {"sampler": "instance"}),
    _m("class-balanced", "sampler", "every class drawn equally often (with replacement)",
       "P(sample i) ∝ 1 / n_{y_i},  P(class c) = 1 / C", {"sampler": "class-balanced"}, corrects_prior=True),
    _m("square-root", "sampler", "classes drawn in proportion to the square root of their size",
       "P(class c) ∝ √n_c", {"sampler": "square-root"}, corrects_prior=True),
    _m("oversample", "sampler", "random over-sampling: smaller classes repeated up to the largest",
       "each class → n_max samples per epoch (repeats drawn at random)", {"sampler": "oversample"},
       corrects_prior=True),
    _m("undersample", "sampler", "random under-sampling: every class cut to the smallest, redrawn each epoch",
       "each class → n_min samples per epoch", {"sampler": "undersample"}, corrects_prior=True),
    _m("smote", "sampler", "SMOTE: synthetic minor-class points between a sample and a same-class neighbour",
       "x_new = x + u·(x_nn − x),  u ~ U(0, 1),  x_nn among the k = 5 nearest (feature vectors only)",
       {"sampler": "smote"}, corrects_prior=True,
       reference="SMOTE: Synthetic Minority Over-sampling Technique, JAIR 2002"),
    _m("borderline-smote", "sampler", "Borderline-SMOTE: SMOTE only from minor samples near the class border",
       "as SMOTE, seeds = minor samples with more than half of their m = 10 neighbours in other classes",
       {"sampler": "borderline-smote"}, corrects_prior=True,
       reference="Borderline-SMOTE, ICIC 2005"),
    # ---------------------------------------------------------------- mixers
    _m("mfw", "mixer", "major feature weakening: mix major-class features with other samples', keep the label",
       "h_i ← λ_i h_i + (1 − λ_i) h_j,  λ_i = 1 − s·w_{y_i}·u_i,  w_c = ((n_c − n_min)/(n_max − n_min))^γ",
       {"mixer": "mfw", "mfw_strength": RECOMMENDED_STRENGTH},
       ("mfw_strength", "mfw_layer", "mfw_schedule", "mfw_until", "mfw_gamma", "mfw_coef", "mfw_alpha",
        "mfw_prob", "mfw_weights"),
       reference="Procrustean Training for Imbalanced Deep Learning, arXiv 2104.01769 (our formulation)"),
    _m("mixup", "mixer", "mixup: blend pairs of inputs and their labels",
       "x̃ = λ x_i + (1 − λ) x_j,  target λ y_i + (1 − λ) y_j,  λ ~ Beta(α, α)", {"mixer": "mixup"},
       ("mixup_alpha",), reference="mixup: Beyond Empirical Risk Minimization, ICLR 2018"),
    _m("remix", "mixer", "remix: mixup whose label goes to the minor class of an imbalanced pair",
       "λ_y = 0 if n_i/n_j ≥ κ and λ < τ;  1 if n_i/n_j ≤ 1/κ and 1 − λ < τ;  else λ", {"mixer": "remix"},
       ("mixup_alpha", "remix_kappa", "remix_tau"),
       reference="Remix: Rebalanced Mixup, ECCV 2020 workshops"),
    # ---------------------------------------------------------------- schedules
    _m("drw", "schedule", "deferred re-weighting: plain training first, class-balanced weights from an epoch on",
       "w_c = 1 before epoch E, then ∝ (1 − β)/(1 − β^n_c)", {"drw_epoch": 20}, ("drw_epoch", "cb_beta"),
       corrects_prior=True,
       reference="Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss, NeurIPS 2019 (LDAM-DRW)"),
    _m("weight-curriculum", "schedule", "curriculum of class weights: from uniform to the loss's weights",
       "w(e) = 1 + ρ(e)(w − 1),  ρ linear or cosine, full at e = until·E",
       {"loss": "weighted-ce", "weight_schedule": "linear"}, ("weight_schedule", "weight_until")),
    _m("mfw-curriculum", "schedule", "curriculum of MFW strength: warm-up only, linear or cosine decay",
       "s(e) = s for e < until·E (warmup), s(1 − e/(until·E)) (linear), s·½(1 + cos(π e/(until·E))) (cosine)",
       {"mfw_strength": RECOMMENDED_STRENGTH, "mfw_schedule": "cosine"}, ("mfw_schedule", "mfw_until")),
    _m("grad-scale", "schedule", "adaptive gradient scaling: lift each class's total feature gradient",
       "w_c = min((max_k G_k / G_c)^q, n_max/n_c),  G_c = n_c · mean ‖∂ℓ/∂h‖ of class c (last epoch)",
       {"grad_scale": "adaptive"}, ("grad_scale_power", "weight_schedule", "weight_until"), corrects_prior=True),
    # ---------------------------------------------------------------- post-hoc
    _m("logit-adjustment", "post-hoc", "post-hoc logit adjustment: divide the training prior out at evaluation",
       "z_c ← z_c − τ·log π_c", {"la_tau": 1.0}, ("la_tau",), corrects_prior=True,
       reference="Long-tail Learning via Logit Adjustment, ICLR 2021"),
    _m("tau-norm", "post-hoc", "τ-normalised classifier: class weight vectors divided by their norm^τ",
       "z_c ← W_c·h / ‖W_c‖^τ + b_c", {"tau_norm": 1.0}, ("tau_norm",), corrects_prior=True,
       reference="Decoupling Representation and Classifier for Long-Tailed Recognition, ICLR 2020"),
]}

LOSSES = tuple(name for name, m in METHODS.items() if m.kind == "loss")
SAMPLERS = tuple(name for name, m in METHODS.items() if m.kind == "sampler")
MIXERS = tuple(name for name, m in METHODS.items() if m.kind == "mixer")


def methods_of(kind: str) -> list[Method]:
    return [m for m in METHODS.values() if m.kind == kind]


# ------------------------------------------------------------------ combinations


def prior_corrections(config: Any) -> list[str]:
    """The settings of ``config`` that each correct for the class prior, as ``field=value`` texts."""
    found = []
    if METHODS[config.loss].corrects_prior:
        found.append(f"loss={config.loss!r}")
    if METHODS[config.sampler].corrects_prior:
        found.append(f"sampler={config.sampler!r}")
    if config.drw_epoch:
        found.append(f"drw_epoch={config.drw_epoch}")
    if config.grad_scale != "none":
        found.append(f"grad_scale={config.grad_scale!r}")
    if config.la_tau:
        found.append(f"la_tau={config.la_tau:g}")
    if config.tau_norm:
        found.append(f"tau_norm={config.tau_norm:g}")
    return found


def check_combination(config: Any) -> None:
    """Raise a one-line ``ProcrustesError`` naming the fields if ``config`` combines contradicting methods."""
    if config.mixer != "mfw" and config.mfw_strength > 0:
        raise ProcrustesError(f"mixer={config.mixer!r} and mfw_strength={config.mfw_strength:g}: a run has one "
                              f"mixer; set mfw_strength=0 to use {config.mixer}, or mixer='mfw'")
    if config.sampler in SYNTHETIC:
        build_sampler(config.sampler, dataset=config.dataset)  # refuses images
    corrections = prior_corrections(config)
    if len(corrections) > 1:
        raise ProcrustesError(f"{corrections[0]} and {corrections[1]}: both correct for the class prior; "
                              "a run corrects it once, so keep one of them")
    if config.weight_schedule != "constant" and not (config.loss in ("weighted-ce", "cb-ce")
                                                     or config.grad_scale != "none"):
        raise ProcrustesError(f"weight_schedule={config.weight_schedule!r} with loss={config.loss!r}: there are no "
                              "class weights to schedule; use loss='weighted-ce' or 'cb-ce', or grad_scale='adaptive'")
    if config.drw_epoch > config.epochs:
        raise ProcrustesError(f"drw_epoch={config.drw_epoch}: after the last epoch (epochs={config.epochs}); "
                              "use 0 (off) or an epoch within the run")
    if config.tau_norm and config.loss == "ldam" and config.ldam_cosine:
        raise ProcrustesError(f"tau_norm={config.tau_norm:g} with loss='ldam' and ldam_cosine=true: the cosine "
                              "classifier's weights are already normalised; set ldam_cosine=false or tau_norm=0")


def compatible(config: Any) -> bool:
    try:
        check_combination(config)
    except ProcrustesError:
        return False
    return True


# ------------------------------------------------------------------ building a run's methods


@dataclass
class RunMethods:
    """The objects one run's training loop calls."""

    loss: Loss
    sampler: Sampler
    mixer: Mixer | None  # None: no mixing at all (plain training, or MFW at strength 0)
    weights: ClassWeights
    la_tau: float = 0.0
    tau_norm: float = 0.0


def build_methods(config: Any, data: Any, num_positions: int, mix_at: int | None) -> RunMethods:
    """The loss, sampler, mixer and class-weight schedule of ``config`` for ``data``'s counts."""
    c, counts = config, list(data.counts)
    loss = build_loss(c.loss, counts, focal_gamma=c.focal_gamma, cb_beta=c.cb_beta,
                      ldam_max_margin=c.ldam_max_margin, ldam_scale=c.ldam_scale, ldam_cosine=c.ldam_cosine,
                      la_loss_tau=c.la_loss_tau, cdt_gamma=c.cdt_gamma)
    sampler = build_sampler(c.sampler, seed=c.seed, dataset=c.dataset)
    mixer: Mixer | None = None
    if c.mixer == "mfw" and c.mfw_strength > 0:
        weakening = MajorFeatureWeakening(count_weights(counts, c.mfw_gamma), c.mfw_coef, c.mfw_alpha, c.mfw_prob,
                                          seed=[c.seed, 11])
        mixer = FeatureWeakening(weakening, mix_at, num_positions, c.mfw_strength, c.mfw_schedule, c.epochs,
                                 c.mfw_until, c.mfw_weights, c.mfw_gamma, seed=c.seed)
    elif c.mixer == "mixup":
        mixer = Mixup(c.mixup_alpha, seed=c.seed)
    elif c.mixer == "remix":
        mixer = Remix(counts, c.mixup_alpha, c.remix_kappa, c.remix_tau, seed=c.seed)
    if c.drw_epoch:
        weights: ClassWeights = DeferredReweighting(effective_number_weights(counts, c.cb_beta), c.drw_epoch)
    elif c.grad_scale == "adaptive":
        weights = GradientScaling(counts, c.grad_scale_power, c.weight_schedule, c.epochs, c.weight_until)
    else:
        weights = ClassWeights(loss.class_weights, c.weight_schedule, c.epochs, c.weight_until)
    return RunMethods(loss, sampler, mixer, weights, c.la_tau, c.tau_norm)


def recipe_config(base: Any, *names: str, **changes: Any) -> Any:
    """``base`` with the settings that select each named method applied (then ``changes``)."""
    settings: dict[str, Any] = {}
    for name in names:
        if name not in METHODS:
            raise ProcrustesError(f"method={name!r}: expected one of {', '.join(METHODS)}")
        settings.update(METHODS[name].settings)
    settings.update(changes)
    return base.replace(**settings)


__all__ = ["IMAGE_DATASETS", "KINDS", "LOSSES", "METHODS", "MIXERS", "Method", "RunMethods", "SAMPLERS",
           "build_methods", "check_combination", "compatible", "methods_of", "prior_corrections",
           "recipe_config"]
