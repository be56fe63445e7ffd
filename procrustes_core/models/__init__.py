"""Small networks with exposed blocks (``nets.py``), their heads (``heads.py``), a pretrained backbone."""

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
