"""Zero-cost proxies: training-free scores of a freshly initialised network on one minibatch.

The definitions are those of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS"
(ICLR 2021) and their code (github.com/SamsungLabs/zero-cost-nas); sums run over the
weights of every Conv2d and Linear layer (biases and batch norm are not scored):

- grad_norm: sum over layers of ||dL/dW||_2, L the minibatch's cross-entropy.
- snip: sum of |dL/dW * W| (Lee et al. 2019).
- synflow: sum of |dR/dW * W| where R is the sum of the logits for one all-ones input, on a
  copy with every parameter replaced by its absolute value, batch norm removed (their
  bn=False copy), dropout off (eval mode) and in float64 (Tanaka et al. 2020).
- jacob_cov: their Jacobian covariance score (Mellor et al.'s first, arXiv v1 version): with
  J the per-sample gradients of the summed logits w.r.t. the inputs and l the eigenvalues
  of corrcoef(J), -sum(log(l + 1e-5) + 1 / (l + 1e-5)).
- naswot: Mellor et al., "Neural Architecture Search without Training" (ICML 2021, the v2
  score): log det K, K[i, j] the number of units on which samples i and j agree (both
  active or both not), over the input of every nn.ReLU module.
- params, flops: the trial's own `params` and `flops` metrics (profile.py).

grad_norm, snip, jacob_cov and naswot see the network in train mode, batch norm on batch
statistics, as their code does (bn=True); they share one forward pass. Higher is better for
every proxy; a score that is not finite (a zero Jacobian, a singular kernel) is None.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ..catalog import ZERO_COST_PROXIES
from ..data import Dataset
from ..profile import count_params, forward_flops

Scores = dict[str, float | None]
JACOB_COV_K = 1e-5
# The proxies that one train-mode pass over the minibatch gives.
TRAIN_MODE = ("grad_norm", "snip", "jacob_cov", "naswot")


def minibatch(data: Dataset, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`size` training samples (all when there are fewer), drawn by their own generator so
    the trial's data order is untouched."""
    order = torch.randperm(len(data.x_train), generator=torch.Generator().manual_seed(seed))
    index = order[:size].to(data.x_train.device)
    return data.x_train[index], data.y_train[index]


def score(model: nn.Module, x: torch.Tensor, y: torch.Tensor, proxies: Sequence[str],
          seed: int) -> tuple[Scores, dict[str, str]]:
    """Score `model` on the minibatch (x, y): the proxies' values and, for each proxy that
    raised, its error (its value is then None).

    Consumes the model: synflow rewrites its weights, so pass a copy to keep one. The global
    RNG (dropout draws from it) is seeded with `seed` inside and restored on the way out,
    so scoring leaves a trial's training exactly as it would be without it.
    """
    unknown = set(proxies) - set(ZERO_COST_PROXIES)
    if unknown:
        raise ValueError(f"unknown zero-cost proxies {sorted(unknown)}")
    in_shape = tuple(x.shape[1:])
    if x.dim() == 4:  # images: oneDNN's CPU convolutions run ~1.5x faster channels_last
        x = x.contiguous(memory_format=torch.channels_last)
        model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
    # Params and FLOPs first and synflow last, as synflow removes batch norm.
    passes: list[tuple[tuple[str, ...], Callable[[], Scores]]] = [
        (("params",), lambda: {"params": count_params(model)}),
        (("flops",), lambda: {"flops": forward_flops(model.eval(), in_shape)}),
        (TRAIN_MODE, lambda: _train_mode(model, x, y, [p for p in proxies if p in TRAIN_MODE])),
        (("synflow",), lambda: {"synflow": _synflow(model, x)}),
    ]
    scores: Scores = {}
    errors: dict[str, str] = {}
    cuda = [x.device.index or 0] if x.device.type == "cuda" else []
    with torch.random.fork_rng(devices=cuda):
        torch.manual_seed(seed)
        for names, run in passes:
            wanted = [name for name in names if name in proxies]
            if not wanted:
                continue
            try:
                scores.update(run())
            except Exception as exc:  # any proxy may fail (out of memory, say): it is null
                scores.update(dict.fromkeys(wanted))
                errors.update(dict.fromkeys(wanted, f"{type(exc).__name__}: {exc}"))
    return {name: _finite(scores[name]) for name in proxies}, errors


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _weights(model: nn.Module) -> list[torch.Tensor]:
    return [m.weight for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def _train_mode(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
                wanted: Sequence[str]) -> Scores:
    """grad_norm, snip, jacob_cov and naswot from one train-mode forward pass."""
    model.train()
    scores: Scores = {}
    x = x.detach().requires_grad_("jacob_cov" in wanted)
    kernel = torch.zeros(len(x), len(x), dtype=torch.float64, device=x.device)
    hooks = [m.register_forward_pre_hook(partial(_add_agreements, kernel))
             for m in model.modules() if isinstance(m, nn.ReLU)] if "naswot" in wanted else []
    try:
        with torch.set_grad_enabled(any(name != "naswot" for name in wanted)):
            logits = model(x)
    finally:
        for hook in hooks:
            hook.remove()
    if "naswot" in wanted:
        scores["naswot"] = torch.linalg.slogdet(kernel).logabsdet.item()
    if "grad_norm" in wanted or "snip" in wanted:
        weights = _weights(model)
        grads = torch.autograd.grad(F.cross_entropy(logits, y), weights,
                                    retain_graph="jacob_cov" in wanted, allow_unused=True)
        pairs = [(g, w) for g, w in zip(grads, weights, strict=True) if g is not None]
        scores["grad_norm"] = sum(g.norm().item() for g, _ in pairs)
        scores["snip"] = sum((g * w).abs().sum().item() for g, w in pairs)
    if "jacob_cov" in wanted:
        (jacobian,) = torch.autograd.grad(logits.sum(), x, allow_unused=True)
        scores["jacob_cov"] = _jacob_cov(jacobian)
    return scores


def _add_agreements(kernel: torch.Tensor, module: nn.Module,
                    inputs: tuple[torch.Tensor, ...]) -> None:
    """NASWOT's hook: add the units on which each pair of samples agree at one ReLU's input.
    With s = +-1 per unit, s @ s.T counts agreements minus disagreements, so one matmul
    gives the agreements, (s @ s.T + units) / 2."""
    signs = (inputs[0].detach().flatten(1) > 0).float() * 2 - 1
    kernel += ((signs @ signs.T + signs.shape[1]) / 2).double()


def _jacob_cov(jacobian: torch.Tensor | None) -> float:
    if jacobian is None:  # the logits do not depend on the input at all
        return math.nan
    corr = torch.corrcoef(jacobian.flatten(1).double())
    if not bool(torch.isfinite(corr).all()):  # a sample with a constant Jacobian
        return math.nan
    eigenvalues = torch.linalg.eigvalsh(corr) + JACOB_COV_K
    return -(eigenvalues.log() + 1 / eigenvalues).sum().item()


def _synflow(model: nn.Module, x: torch.Tensor) -> float:
    _drop_batchnorm(model)
    model.double().eval()
    with torch.no_grad():
        for param in model.parameters():
            param.abs_()
    weights = _weights(model)
    ones = torch.ones(1, *x.shape[1:], dtype=torch.float64, device=x.device)
    grads = torch.autograd.grad(model(ones).sum(), weights, allow_unused=True)
    return sum((g * w).abs().sum().item() for g, w in zip(grads, weights, strict=True)
               if g is not None)


def _drop_batchnorm(module: nn.Module) -> None:
    """Replace every batch norm layer by an identity, in place."""
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            setattr(module, name, nn.Identity())
        else:
            _drop_batchnorm(child)

