"""The trainer's two optimizers, SGD with Nesterov momentum and AdamW, without torch.optim.

Every torch.optim optimizer imports torch._dynamo when it is built and on each step (for
torch.compile's graph breaks), which costs about 1.6 s of each trial's start, more than
a short trial spends training. These classes apply the same update rules as
torch.optim.SGD(momentum, nesterov=True) and torch.optim.AdamW, operation for operation
(tests compare them step by step), with foreach kernels like torch.optim on CUDA. Their
state_dict has torch.optim's layout, so checkpoints written by either load into the other.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn


class _Optimizer:
    """What the Trainer needs of an optimizer: param_groups[0]["lr"], step, state."""

    defaults: dict[str, Any]

    def __init__(self, params: list[nn.Parameter], lr: float, weight_decay: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list")
        self.param_groups: list[dict[str, Any]] = [
            {"lr": lr, "weight_decay": weight_decay, **self.defaults}
        ]
        self.state: dict[int, dict[str, Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def _with_grads(self) -> tuple[list[int], list[Tensor], list[Tensor]]:
        indices = [i for i, p in enumerate(self.params) if p.grad is not None]
        return (indices, [self.params[i] for i in indices],
                [self.params[i].grad for i in indices])  # type: ignore[misc]

    def state_dict(self) -> dict[str, Any]:
        group = {**self.param_groups[0], "params": list(range(len(self.params)))}
        return {"state": {i: dict(s) for i, s in self.state.items()}, "param_groups": [group]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        groups = state_dict["param_groups"]
        if len(groups) != 1 or len(groups[0]["params"]) != len(self.params):
            raise ValueError("the optimizer state is for a different set of parameters")
        self.param_groups[0]["lr"] = groups[0]["lr"]
        self.state = {}
        for index, values in state_dict["state"].items():
            param = self.params[int(index)]
            self.state[int(index)] = {
                # torch.optim keeps Adam's step count on the CPU, in float32.
                name: value.float().cpu() if name == "step" else value.to(param)
                for name, value in values.items()
            }


class SGD(_Optimizer):
    """torch.optim.SGD(lr, momentum=0.9, nesterov=True, weight_decay), dampening 0."""

    defaults = {"momentum": 0.9, "dampening": 0, "nesterov": True, "maximize": False,
                "foreach": None, "differentiable": False, "fused": None}

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        lr, weight_decay, momentum = group["lr"], group["weight_decay"], group["momentum"]
        indices, params, grads = self._with_grads()
        if not params:
            return
        if weight_decay != 0:
            grads = list(torch._foreach_add(grads, params, alpha=weight_decay))
        if all("momentum_buffer" in self.state.get(i, {}) for i in indices):
            bufs = [self.state[i]["momentum_buffer"] for i in indices]
            torch._foreach_mul_(bufs, momentum)
            torch._foreach_add_(bufs, grads, alpha=1)
        else:
            bufs = []
            for i, grad in zip(indices, grads, strict=True):
                state = self.state.setdefault(i, {})
                if "momentum_buffer" in state:
                    state["momentum_buffer"].mul_(momentum).add_(grad, alpha=1)
                else:
                    state["momentum_buffer"] = grad.detach().clone()
                bufs.append(state["momentum_buffer"])
        # Nesterov: step along grad + momentum * buf (a new list: p.grad stays as it was).
        update = torch._foreach_add(grads, bufs, alpha=momentum)
        torch._foreach_add_(params, update, alpha=-lr)


class AdamW(_Optimizer):
    """torch.optim.AdamW(lr, weight_decay) with betas (0.9, 0.999) and eps 1e-8."""

    defaults = {"betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False, "maximize": False,
                "foreach": None, "capturable": False, "differentiable": False, "fused": None,
                "decoupled_weight_decay": True}

    @torch.no_grad()
    def step(self) -> None:
        group = self.param_groups[0]
        lr, weight_decay, eps = group["lr"], group["weight_decay"], group["eps"]
        beta1, beta2 = group["betas"]
        indices, params, grads = self._with_grads()
        if not params:
            return
        for i, p in zip(indices, params, strict=True):
            if i not in self.state:
                self.state[i] = {
                    "step": torch.tensor(0.0),  # on the CPU in float32, as torch.optim keeps it
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
        states = [self.state[i] for i in indices]
        steps = [s["step"] for s in states]
        exp_avgs = [s["exp_avg"] for s in states]
        exp_avg_sqs = [s["exp_avg_sq"] for s in states]
        torch._foreach_add_(steps, 1)
        if weight_decay != 0:
            torch._foreach_mul_(params, 1 - lr * weight_decay)
        torch._foreach_lerp_(exp_avgs, grads, 1 - beta1)
        torch._foreach_mul_(exp_avg_sqs, beta2)
        torch._foreach_addcmul_(exp_avg_sqs, grads, grads, 1 - beta2)
        counts = [s.item() for s in steps]
        step_sizes = [-(lr / (1 - beta1**n)) for n in counts]
        denoms = torch._foreach_sqrt(exp_avg_sqs)
        torch._foreach_div_(denoms, [(1 - beta2**n) ** 0.5 for n in counts])
        torch._foreach_add_(denoms, eps)
        torch._foreach_addcdiv_(params, exp_avgs, denoms, step_sizes)


Optimizer = SGD | AdamW
