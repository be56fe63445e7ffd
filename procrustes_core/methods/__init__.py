"""Methods for imbalanced training, each a small object acting at one hook of the training loop.

    catalogue.py  every method by name, its formula and settings, the combination rule (no torch);
                  augmentation lives in data/augment.py, the network variants in models/nets.py, checkpoints
                  in training/checkpoint.py, classifier re-training in the trainer
    build.py      a config → the objects below, for one run
    losses.py     the objective;   samplers.py  which samples an epoch visits
    mixers.py     mixing samples within a mini-batch (mixup, remix); mfw.py  major feature weakening
    schedules.py  the learning rate and the per-class loss weights over epochs (DRW, curricula, gradient scaling)
    posthoc.py    evaluation-time corrections (logit adjustment, the τ-normalised classifier)
    bbn.py        BBN's cumulative learning: the reversed sampler, α over epochs, the two-branch objective

Import from the module that holds a thing (``from procrustes_core.methods.mfw import ...``): this
package imports nothing itself, so the config can read the catalogue without loading torch.
"""
