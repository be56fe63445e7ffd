"""The app's words: a plain label and one sentence — what it does, what to expect — for every control,
and the names tables and charts use instead of code names."""

from __future__ import annotations

# setting → (label, what it does and what to expect)
SETTINGS: dict[str, tuple[str, str]] = {
    "dataset": ("Dataset", "MNIST-1D: short 1-D signals of ten digits, generated here. digits: 8×8 pictures. "
                           "toy2d: points on a plane, to see decision regions."),
    "profile": ("Imbalance shape", "Step: half the classes are large, half small. Long-tailed: every class smaller "
                                   "than the one before, down to the smallest."),
    "ratio": ("Imbalance ratio", "Largest class size over the smallest. At 1 every class is as large; at 100 a "
                                 "small class has one sample for every hundred of a large one."),
    "counts": ("Samples per class", "Your own training counts, one per class, separated by commas."),
    "n_samples": ("Samples generated", "How many MNIST-1D signals (or 2-D points) to generate before the "
                                       "imbalance is applied. More samples: more minor-class examples, slower epochs."),
    "n_max": ("Largest class size", "Training samples of the largest class; empty uses all the data allow."),
    "val_per_class": ("Validation samples per class", "A balanced split kept aside to choose settings on, so the "
                                                      "test set is never used for choosing."),
    "data_seed": ("Data seed", "Which samples the imbalanced subset keeps; empty: the run's seed."),
    "toy_shape": ("Shape of the points", "Blobs, moons or a spiral of 2-D points."),
    "model": ("Network", "cnn1d: three strided convolutions; cnn1d-s1: the reference probe's layout; mlp: dense "
                         "layers; resnet18-pretrained: ImageNet's ResNet-18, if the server holds its weights; "
                         "auto: the usual one for the dataset."),
    "width": ("Width", "Channels per layer. Wider networks fit the few minor samples faster — and over-fit sooner."),
    "norm": ("Normalisation", "BatchNorm after each convolution, or none. BatchNorm changes how much feature "
                              "weakening helps (see the Compare page)."),
    "mixer": ("Mixing", "none: plain training. mfw: major feature weakening. mixup / remix: blend pairs of inputs "
                        "and their labels."),
    "mfw_strength": ("Weakening strength", "How far major-class features move towards a random partner. 0 mixes "
                                           "nothing; near 1 the major classes are hard to fit early on."),
    "mfw_layer": ("Where to weaken", "The representation that is mixed: the input, a block's output (the "
                                     "story setting: after block 2), or the penultimate features."),
    "mfw_schedule": ("Weakening schedule", "When weakening acts: all the time, only in the first part of training "
                                           "(warm-up), or fading out."),
    "mfw_until": ("Weakening lasts for", "The share of the epochs the warm-up or fading schedule weakens for."),
    "mfw_gamma": ("Weight exponent", "Bends the class weights: above 1 weakens mostly the very largest classes."),
    "mfw_coef": ("Coefficient distribution", "How the per-sample mixing amount is drawn: uniform or Beta."),
    "mfw_alpha": ("Beta α", "Shape of the Beta distribution of the mixing amount."),
    "mfw_prob": ("Share weakened", "The fraction of major-class samples weakened in each batch."),
    "mfw_weights": ("Weights from", "count: larger classes are weakened more. progress: the classes fitted best "
                                    "so far are weakened more."),
    "mfw_detach": ("Detach the partner", "Stop the gradient through the partner's features (on in the story "
                                         "setting the app opens on). After "
                                         "block 2, where the next BatchNorm rescales the mixed features, detaching "
                                         "at strength 0.9 was chosen on 32 validation seeds: MFW + LA beat ERM + LA "
                                         "on 39 of 40 fresh seeds; after block 2 without detaching (s 0.5) it was "
                                         "0.7 points behind ERM + LA on validation. "
                                         "At the penultimate features training diverges with it: a weakened sample "
                                         "can lower its loss only by growing its own features until the partner's "
                                         "fixed share no longer counts (their norm grew from about 10 to 425; "
                                         "balanced accuracy with LA fell from 81 % to 34 %, 4 seeds)."),
    "mfw_after_norm": ("Mix after BatchNorm", "BatchNorm then normalises the un-mixed batch: a remedy for "
                                              "networks with BatchNorm."),
    "la_tau": ("Logit adjustment τ", "At test time, subtract τ·log(class share) from the logits: the classifier's "
                                     "bias towards large classes is divided out, no training needed. 1 is the "
                                     "principled value."),
    "tau_norm": ("τ-normalisation", "At test time, divide each class's classifier weights by their norm to the τ."),
    "epochs": ("Epochs", "Passes over the training set. Longer runs fit the minor classes — and over-fit them."),
    "eval_every": ("Evaluate every", "Epochs between evaluation passes; 1 draws every epoch."),
    "batch_size": ("Batch size", "Samples per optimiser step."),
    "lr": ("Learning rate", "Step size of SGD. Too large and the loss explodes."),
    "lr_schedule": ("Learning-rate schedule", "cosine: decays to 0 by the last epoch; constant; step-warmup: the "
                                              "CIFAR recipe."),
    "optimizer": ("Optimiser", "SGD with momentum, or Adam."),
    "momentum": ("Momentum", "SGD momentum."),
    "weight_decay": ("Weight decay", "L2 penalty on the weights."),
    "seed": ("Seed", "Decides initial weights, batch order and which samples are kept. Another seed gives a "
                     "slightly different run."),
    "device": ("Device", "Where to train: the CPU, or a GPU if the server has one."),
    "loss": ("Loss", "The training objective; re-weighting and margin losses favour the small classes."),
    "sampler": ("Sampler", "Which samples an epoch visits: every sample once, or re-balanced."),
}

METRICS = {
    "train_acc": "Training accuracy",
    "test_acc": "Test accuracy",
    "grad_norm": "Feature-gradient norm",
    "loss": "Training loss",
    "balanced_acc": "Balanced test accuracy",
    "accuracy": "Overall test accuracy",
}

COLUMNS = {
    "epochs_done": "epochs", "balanced_acc": "balanced accuracy", "accuracy": "overall accuracy",
    "seconds": "seconds", "tail_test_acc": "minor-class test accuracy", "seed": "seed", "stopped": "ended early",
}


def label(name: str) -> str:
    """The plain label of a setting."""
    return SETTINGS.get(name, (name.replace("_", " ").capitalize(), ""))[0]


def explain(name: str, fallback: str = "") -> str:
    """One sentence on what a setting does and what to expect."""
    return SETTINGS.get(name, ("", fallback))[1] or fallback
