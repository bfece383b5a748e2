"""What every model family must survive: both dataset shapes and one training step."""

from __future__ import annotations

import torch
import torch.nn.functional as F

SHAPES = [(1, 8, 8), (1, 28, 28)]  # scikit-learn digits and MNIST


def train_one_step(model: torch.nn.Module, in_shape: tuple[int, int, int]) -> None:
    """One SGD step on 4 random images: 10 finite logits each, and some weight moved."""
    torch.manual_seed(0)
    x, y = torch.randn(4, *in_shape), torch.tensor([0, 1, 2, 3])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]
    logits = model(x)
    assert logits.shape == (4, 10)
    loss = F.cross_entropy(logits, y)
    assert torch.isfinite(loss)
    loss.backward()
    optimizer.step()
    assert any(not torch.equal(b, p) for b, p in zip(before, model.parameters(), strict=True))
