"""Methods for imbalanced training, each a small object acting at one hook of the training loop.

losses.py (the objective), samplers.py (which samples an epoch visits), mixers.py and mfw.py (mixing
features within a mini-batch), schedules.py (class weights over epochs, DRW, gradient scaling),
posthoc.py (evaluation-time corrections); registry.py lists them all by name and builds a run's set.
"""

from .losses import Loss, build_loss, effective_number_weights, inverse_frequency_weights
from .mfw import MajorFeatureWeakening, count_weights, progress_weights, strength_at
from .mixers import Mixer, Mixing, Mixup, Remix
from .posthoc import adjust_logits, log_prior, tau_normalise
from .registry import METHODS, Method, check_combination
from .samplers import Sampler, build_sampler
from .schedules import ClassWeights, DeferredReweighting, GradientScaling, ramp

__all__ = [
    "METHODS",
    "ClassWeights",
    "DeferredReweighting",
    "GradientScaling",
    "Loss",
    "MajorFeatureWeakening",
    "Method",
    "Mixer",
    "Mixing",
    "Mixup",
    "Remix",
    "Sampler",
    "adjust_logits",
    "build_loss",
    "build_sampler",
    "check_combination",
    "count_weights",
    "effective_number_weights",
    "inverse_frequency_weights",
    "log_prior",
    "progress_weights",
    "ramp",
    "strength_at",
    "tau_normalise",
]
