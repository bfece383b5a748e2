"""One-shot architecture search (`KUBENAS_SUPERNET`): a weight-sharing supernet of a family's
op list, trained once, from which architectures are derived (docs/trial-contract.md).

space: which slots and choices; mixed + build: the supernet; methods: darts, drnas, spos;
evaluate: a path's accuracy with the shared weights; derive: k-best and evolution; run: the
trial's loop, checkpoints and result.
"""
