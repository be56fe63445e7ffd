"""The catalogue of methods: every method by name, what it does, its formula, the settings that
select it and the knobs that tune it — plain data, no torch.

``METHODS`` (name → ``Method``) is what ``procrustes methods``, docs/methods.md, the app and the
lessons list; the names of the choices are declared in ``names.py``, below the config, and this table describes each.
``check_combination(config)`` rejects runs whose pieces contradict each other (the Trainer calls
it first; front ends call it to show the problem before training). The objects the training loop
calls are built in ``build.py``.

A run combines one loss, one sampler, one mixer, a loss-weight schedule and post-hoc steps, and on
top of them an augmentation, a network variant (squeeze-and-excitation, the two-branch BBN) and a
transfer step (fine-tuning or a linear probe from a checkpoint, classifier re-training). The one
rule: **a run corrects for the class prior at most once** — by a re-balancing sampler, a
re-weighting or prior-adjusting loss, DRW, gradient scaling, BBN's reversed branch, classifier
re-training or a post-hoc step, not by two of them (the second would push the classifier past
balance, towards the minor classes).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ..config import TrainConfig
from ..data.registry import DATASETS, dataset_entry
from ..data.your_files import path_kind
from ..errors import ProcrustesError, shown
from ..names import (  # noqa: F401  (re-exported: the catalogue's names were declared here before)
    ATTENTIONS,
    AUGMENT_CLASSES,
    AUGMENTS,
    FINETUNES,
    LOSSES,
    MFW_LAYERS,
    MFW_SCHEDULES,
    MIXERS,
    RAMPS,
    RECOMMENDED_STRENGTH,
    SAMPLERS,
    SYNTHETIC,
)

KINDS = ("loss", "sampler", "mixer", "schedule", "post-hoc", "augmentation", "network", "transfer")
MFW_KNOBS = tuple(f.name for f in fields(TrainConfig) if f.name.startswith("mfw_"))  # every MFW setting tunes it
CHECKPOINT_PLACEHOLDER = "pretrained.pt"  # what the catalogue's transfer methods name: a saved checkpoint


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
       MFW_KNOBS,
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
    # ---------------------------------------------------------------- augmentation
    _m("augment", "augmentation", "augmentation of the training batches on the device: new views, same labels",
       "x̃_i = T(x_i) with probability q·p_{y_i};  signals: shift ±10 %, amplitude ×U(0.8, 1.2), noise 0.05·std, "
       "time warp;  images: crop + flip, rotation ±10°, scale ×U(0.9, 1.1)",
       {"augment": "signal"}, ("augment", "augment_classes", "augment_prob"),
       reference="Data Augmentation of Wearable Sensor Data for Parkinson's Disease Monitoring using "
                 "Convolutional Neural Networks, ICMI 2017 (shift, scaling, jitter, time warp)"),
    _m("minor-augment", "augmentation", "augment only the minor classes' samples: new views where data are scarce",
       "p_c = 1 for the tail group's classes, else 0;  augment_classes=inverse: p_c = 1 − n_c / n_max",
       {"augment": "signal", "augment_classes": "minor"}, ("augment", "augment_classes", "augment_prob")),
    # ---------------------------------------------------------------- network variants
    _m("se", "network", "squeeze-and-excitation: each convolution block re-weights its channels from their means",
       "s = σ(W₂ ReLU(W₁ mean(h))),  h_k ← s_k·h_k,  W₁: C → C/r,  W₂: C/r → C", {"attention": "se"},
       ("se_reduction",), reference="Squeeze-and-Excitation Networks, CVPR 2018"),
    _m("bbn", "network", "bilateral-branch network: a conventional and a re-balancing branch, handed over by "
       "cumulative learning",
       "z = 2(α W_c f_c(x_c) + (1 − α) W_r f_r(x_r)) + b,  L = α ℓ(z, y_c) + (1 − α) ℓ(z, y_r),  α = 1 − (e/E)²;  "
       "x_c instance-sampled, x_r with P(class c) ∝ 1/n_c;  α = ½ at evaluation",
       {"bbn": True}, (), corrects_prior=True,
       reference="BBN: Bilateral-Branch Network with Cumulative Learning for Long-Tailed Visual Recognition, "
                 "CVPR 2020"),
    # ---------------------------------------------------------------- transfer and decoupling
    _m("finetune", "transfer", "fine-tuning: start from a saved network (e.g. pre-trained on balanced data), "
       "train all of it",
       "θ₀ = θ_pre (every layer, the classifier too),  then the run's training",
       {"init_checkpoint": CHECKPOINT_PLACEHOLDER}, ("init_checkpoint", "finetune"),
       reference="How transferable are features in deep neural networks?, NeurIPS 2014"),
    _m("linear-probe", "transfer", "linear probe: frozen pre-trained features, a new linear classifier trained on them",
       "z = W h_pre(x) + b,  h_pre frozen (BatchNorm too),  only W, b trained (W, b new)",
       {"init_checkpoint": CHECKPOINT_PLACEHOLDER, "finetune": "linear-probe"}, ("init_checkpoint",),
       reference="How transferable are features in deep neural networks?, NeurIPS 2014"),
    _m("crt", "transfer", "classifier re-training: after the main epochs, a new classifier on frozen features, "
       "class-balanced sampling",
       "stage 2, E₂ more epochs: W, b re-drawn, features frozen,  P(sample i) ∝ 1/n_{y_i},  lr schedule restarted",
       {"classifier_retrain_epochs": 10}, ("classifier_retrain_epochs",), corrects_prior=True,
       reference="Decoupling Representation and Classifier for Long-Tailed Recognition, ICLR 2020 (cRT)"),
]}

for _kind, _names in (("loss", LOSSES), ("sampler", SAMPLERS), ("mixer", MIXERS)):
    if tuple(name for name, m in METHODS.items() if m.kind == _kind) != _names:  # names.py and this table agree
        raise ImportError(f"the catalogue's {_kind}es differ from names.py's: describe each name once in each")


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


def baseline_of(config: TrainConfig) -> TrainConfig:
    """The plain baseline (ERM) of ``config``: the same data, network, optimisation and seed, with every
    method of the catalogue switched off — loss, sampler, mixer, schedules, post-hoc steps, augmentation,
    BBN and transfer. The network's own variants (squeeze-and-excitation) are part of the model compared."""
    default = TrainConfig()
    off = {key: getattr(default, key) for m in METHODS.values() if not (m.kind == "network" and not m.corrects_prior)
           for key in m.settings}
    return config.replace(**off)


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
    if config.bbn:
        found.append("bbn=true")
    if config.classifier_retrain_epochs:
        found.append(f"classifier_retrain_epochs={config.classifier_retrain_epochs}")
    return found


def check_combination(config: TrainConfig) -> None:
    """Raise a one-line ``ProcrustesError`` naming the fields if ``config`` combines contradicting methods."""
    dataset = dataset_entry(config.dataset)
    kind = dataset.kind or (path_kind(config.data_path) if dataset.from_path else "")  # your data: the file's
    if config.sampler in SYNTHETIC and (not dataset.interpolable or (dataset.from_path and kind == "image")):
        vectors = ", ".join(name for name, entry in DATASETS.items() if entry.interpolable)
        raise ProcrustesError(f"sampler={config.sampler!r} with dataset={config.dataset!r}: SMOTE interpolates "
                              f"feature vectors ({vectors}), not images; use sampler='oversample'")
    if kind and kind not in AUGMENTS[config.augment]:
        needs = " or ".join(k + "s" for k in AUGMENTS[config.augment])
        raise ProcrustesError(f"augment={config.augment!r}: needs {needs}, dataset {config.dataset!r} holds {kind}s")
    if config.bbn and config.sampler != "instance":
        raise ProcrustesError(f"bbn=true with sampler={config.sampler!r}: BBN draws its branches' batches itself "
                              "(instance and reversed sampling); keep sampler='instance'")
    if config.finetune == "linear-probe" and config.init_checkpoint is None:
        raise ProcrustesError("finetune='linear-probe' with init_checkpoint=None: there is no pre-trained network "
                              "to probe; give init_checkpoint (a file of procrustes train --save-checkpoint)")
    if config.finetune == "linear-probe" and config.bbn:
        raise ProcrustesError("finetune='linear-probe' with bbn=true: a linear probe freezes the features BBN's "
                              "branches are there to learn; use finetune='full' or bbn=false")
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
