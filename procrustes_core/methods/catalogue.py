"""The catalogue of methods: every method by name, what it does, its formula, the settings that
select it and the knobs that tune it — plain data, no torch.

``METHODS`` (name → ``Method``) is what ``procrustes methods``, docs/methods.md, the app and the
lessons list; ``config.py`` takes its choices of loss, sampler and mixer from here.
``check_combination(config)`` rejects runs whose pieces contradict each other (the Trainer calls
it first; front ends call it to show the problem before training). The objects the training loop
calls are built in ``build.py``.

A run combines one loss, one sampler, one mixer, a loss-weight schedule and post-hoc steps. The
one rule: **a run corrects for the class prior at most once** — by a re-balancing sampler, a
re-weighting or prior-adjusting loss, DRW, gradient scaling, or a post-hoc step, not by two of them
(the second would push the classifier past balance, towards the minor classes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ProcrustesError, shown

if TYPE_CHECKING:  # the config imports this module, never the other way round at run time
    from ..config import TrainConfig

KINDS = ("loss", "sampler", "mixer", "schedule", "post-hoc")

# The strength to start from when weakening is turned on (the config's default ``mfw_strength``).
# With the config's other MFW defaults it did best on a validation split of MNIST-1D step-100 among
# the variants in benchmarks/results/reproduce_study*.md.
RECOMMENDED_STRENGTH = 0.5

MFW_LAYERS = ("input", "block1", "block2", "block3", "block4", "block5", "penultimate", "random")
MFW_SCHEDULES = ("constant", "warmup", "linear", "cosine", "until-equal")
RAMPS = ("constant", "linear", "cosine")  # how a loss-weight curriculum moves from uniform to full
SYNTHETIC = ("smote", "borderline-smote")  # samplers that synthesise feature vectors
IMAGE_DATASETS = ("mnist", "fashion-mnist", "cifar10", "cifar100")  # digits' 8x8 pictures count as vectors


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
    _m("none", "mixer", "no mixing: every sample is seen as it is (plain training)",
       "h_i unchanged", {"mixer": "none"}),
    _m("mfw", "mixer", "major feature weakening: mix major-class features with other samples', keep the label",
       "h_i ← λ_i h_i + (1 − λ_i) h_j,  λ_i = 1 − s·w_{y_i}·u_i,  w_c = ((n_c − n_min)/(n_max − n_min))^γ",
       {"mixer": "mfw"},
       ("mfw_strength", "mfw_layer", "mfw_schedule", "mfw_until", "mfw_gamma", "mfw_coef", "mfw_alpha",
        "mfw_prob", "mfw_weights", "mfw_detach", "mfw_after_norm"),
       reference="Procrustean Training for Imbalanced Deep Learning, arXiv 2104.01769 (our formulation)"),
    _m("mixup", "mixer", "mixup: blend pairs of inputs and their labels",
       "x̃ = λ x_i + (1 − λ) x_j,  target λ y_i + (1 − λ) y_j,  λ ~ Beta(α, α)", {"mixer": "mixup"},
       ("mixup_alpha",), reference="mixup: Beyond Empirical Risk Minimization, ICLR 2018"),
    _m("remix", "mixer", "remix: mixup whose label goes to the minor class of an imbalanced pair",
       "λ_y = 0 if n_i/n_j ≥ κ and λ < τ;  1 if n_i/n_j ≤ 1/κ and 1 − λ < τ;  else λ", {"mixer": "remix"},
       ("mixup_alpha", "remix_kappa", "remix_tau"),
       reference="Remix: Rebalanced Mixup, ECCV 2020 workshops"),
    # ---------------------------------------------------------------- schedules
    _m("drw", "schedule", "deferred re-weighting: plain training first, class-balanced weights after an epoch",
       "w_c = 1 for the first E epochs, then ∝ (1 − β)/(1 − β^n_c)",
       {"drw_epoch": 24, "cb_beta": 0.9999}, ("drw_epoch", "cb_beta"), corrects_prior=True,
       reference="Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss, NeurIPS 2019 (LDAM-DRW: "
                 "E = 160 of 200 epochs, β = 0.9999; 24 is the same 80 % of the default 30 epochs)"),
    _m("weight-curriculum", "schedule", "curriculum of class weights: from uniform to the loss's weights",
       "w(e) = 1 + ρ(e)(w − 1),  ρ linear or cosine, full at e = until·E",
       {"loss": "weighted-ce", "weight_schedule": "linear"}, ("weight_schedule", "weight_until")),
    _m("mfw-curriculum", "schedule", "curriculum of MFW strength: warm-up only, linear or cosine decay",
       "s(e) = s for e < until·E (warmup), s(1 − e/(until·E)) (linear), s·½(1 + cos(π e/(until·E))) (cosine)",
       {"mixer": "mfw", "mfw_schedule": "cosine"}, ("mfw_schedule", "mfw_until")),
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


def method_settings(*names: str) -> dict[str, Any]:
    """The settings that select each named method, merged in order."""
    settings: dict[str, Any] = {}
    for name in names:
        if name not in METHODS:
            raise ProcrustesError(f"method={shown(name)}: expected one of {', '.join(METHODS)}")
        settings.update(METHODS[name].settings)
    return settings


# ------------------------------------------------------------------ combinations


def prior_corrections(config: TrainConfig) -> list[str]:
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


def check_combination(config: TrainConfig) -> None:
    """Raise a one-line ``ProcrustesError`` naming the fields if ``config`` combines contradicting methods."""
    if config.sampler in SYNTHETIC and config.dataset in IMAGE_DATASETS:
        raise ProcrustesError(f"sampler={config.sampler!r} with dataset={config.dataset!r}: SMOTE interpolates "
                              "feature vectors (mnist1d, digits, toy2d), not images; use sampler='oversample'")
    corrections = prior_corrections(config)
    if len(corrections) > 1:
        raise ProcrustesError(f"{corrections[0]} and {corrections[1]}: both correct for the class prior; "
                              "a run corrects it once, so keep one of them")
    if config.weight_schedule != "constant" and not (config.loss in ("weighted-ce", "cb-ce")
                                                     or config.grad_scale != "none"):
        raise ProcrustesError(f"weight_schedule={config.weight_schedule!r} with loss={config.loss!r}: there are no "
                              "class weights to schedule; use loss='weighted-ce' or 'cb-ce', or grad_scale='adaptive'")
    if config.drw_epoch >= config.epochs:
        raise ProcrustesError(f"drw_epoch={config.drw_epoch}: re-weighting would start after the last epoch "
                              f"(epochs={config.epochs}); use 0 (off) or fewer plain epochs than the run has")
    if config.tau_norm and config.loss == "ldam" and config.ldam_cosine:
        raise ProcrustesError(f"tau_norm={config.tau_norm:g} with loss='ldam' and ldam_cosine=true: the cosine "
                              "classifier's weights are already normalised; set ldam_cosine=false or tau_norm=0")


def compatible(config: TrainConfig) -> bool:
    try:
        check_combination(config)
    except ProcrustesError:
        return False
    return True
