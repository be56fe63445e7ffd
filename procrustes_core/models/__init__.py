"""Small networks whose hidden blocks are exposed (``nets.py``) and their classifier heads (``heads.py``)."""

from .heads import CosineClassifier, LinearClassifier, build_head
from .nets import (
    BUILDERS,
    BlockNet,
    SqueezeExcitation,
    TwoBranchNet,
    build_model,
    cnn1d,
    cnn1d_s1,
    cnn2d,
    mix_position,
    mlp,
    model_name,
    resnet32,
    two_branch,
)

__all__ = ["BUILDERS", "BlockNet", "CosineClassifier", "LinearClassifier", "SqueezeExcitation", "TwoBranchNet",
           "build_head", "build_model", "cnn1d", "cnn1d_s1", "cnn2d", "mix_position", "mlp", "model_name", "resnet32",
           "two_branch"]
