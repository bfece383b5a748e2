"""The one-shot methods: how each step's supernet is set up, and what the method learns.

- darts: first-order DARTS (Liu et al. 2019). Architecture parameters alpha, one row per
  slot; the network mixes each slot's ops by softmax(alpha). Before every weight step, one
  Adam step on alpha on a batch of the other half of the training split.
- drnas: DrNAS (Chen et al. 2021). The mixing weights of each slot are a sample of a
  Dirichlet with concentration elu(alpha) + 1 (the paper's parametrisation), drawn afresh
  every step with rsample (pathwise gradients); the architecture loss adds klWeight times
  the KL divergence from the uniform Dirichlet prior, which keeps the concentrations from
  running away early. Architectures are read from the Dirichlet mean.
- spos: single-path one-shot (Guo et al. 2020). Every weight step trains one path drawn
  uniformly; there is no architecture parameter: paths are found afterwards by evolution.

A guard against collapse (drnas only: darts is the baseline and derives as the paper
does): a derived path has at most a third of its slots on parameter-free ops (none, skip,
pooling), P-DARTS's cap on skip connections (Chen et al. 2019) extended to every op
without weights; the k best paths are the most probable ones within the cap. On the trial
budgets kubenas gives a one-shot search (a few epochs, tens of architecture steps) the
probabilities stay within about 0.002 of uniform,
and their argmax follows the early preference of untrained weights for pooling and skips:
on digits, nb201 with 8 channels and one cell per stage, DrNAS alone derived cells with 6
and 5 of 6 parameter-free edges (seeds 0 and 1, 4 epochs), DARTS 5 of 6 (seed 0, 2 epochs).
The cap does not apply when no choice has weights.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.distributions import Dirichlet, kl_divergence

from .. import nodynamo
from ..contract import SupernetConfig
from ..oplist import Path
from ..train import autocast
from .build import Supernet
from .derive import k_best

# DARTS's architecture optimizer: Adam with betas (0.5, 0.999) and weight decay 1e-3.
ARCH_BETAS = (0.5, 0.999)
ARCH_WEIGHT_DECAY = 1e-3
ALPHA_INIT_STD = 1e-3


class Method(ABC):
    """What a method does around the trainer's weight steps; its state is checkpointed."""

    weight_kind = "probability"

    @abstractmethod
    def before_step(self, i: int) -> None:
        """Set the supernet up for the i-th weight step of an epoch."""

    @abstractmethod
    def val_path(self, epoch: int) -> Path:
        """The path whose validation metrics the epoch reports."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps of the method (its parameters, optimizer and RNG)."""

    @abstractmethod
    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from state_dict()'s output."""


class GradientMethod(Method):
    """darts and drnas: alpha learnt by gradient steps on the architecture half of the data."""

    capped = True  # derive within the cap on parameter-free ops (module docstring)

    def __init__(self, supernet: Supernet, config: SupernetConfig, seed: int,
                 arch_x: torch.Tensor, arch_y: torch.Tensor, batch: int) -> None:
        self.supernet = supernet
        self.generator = torch.Generator().manual_seed(seed)
        shape = (supernet.space.slots, len(supernet.space.choices))
        init = ALPHA_INIT_STD * torch.randn(shape, generator=self.generator)
        self.alpha = nn.Parameter(init.to(arch_x.device))
        self.optimizer = nodynamo.optimizer(torch.optim.Adam, [self.alpha],
                                            lr=config.arch_learning_rate, betas=ARCH_BETAS,
                                            weight_decay=ARCH_WEIGHT_DECAY)
        self.arch_x, self.arch_y, self.batch = arch_x, arch_y, min(batch, len(arch_x))
        self.order = torch.empty(0, dtype=torch.long)
        self.parameter_free = supernet.parameter_free()
        slots = supernet.space.slots
        # At most a third of the slots on parameter-free ops, unless every choice is one.
        self.limit = slots if all(self.parameter_free) or not self.capped else slots // 3

    @abstractmethod
    def mixing(self) -> torch.Tensor:
        """This step's mixing weights, differentiable in alpha."""

    def regularizer(self) -> torch.Tensor:
        """Added to the architecture loss."""
        return torch.zeros((), device=self.alpha.device)

    @abstractmethod
    def probabilities(self) -> torch.Tensor:
        """Per slot, the weight the method gives each choice; architectures are read here."""

    def before_step(self, i: int) -> None:
        """One architecture step (first order: the weights as they are), then the mixing
        weights of the weight step, detached."""
        batches = max(1, len(self.arch_x) // self.batch)
        if i % batches == 0:
            self.order = torch.randperm(len(self.arch_x), generator=self.generator)
        index = self.order[(i % batches) * self.batch:(i % batches + 1) * self.batch]
        index = index.to(self.arch_x.device)
        x = self.arch_x[index]
        if x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        self.supernet.controller.use_weights(self.mixing())
        with autocast(self.alpha.device):
            loss = F.cross_entropy(self.supernet(x), self.arch_y[index])
        loss = loss.float() + self.regularizer()
        (self.alpha.grad,) = torch.autograd.grad(loss, [self.alpha])
        self.optimizer.step()
        with torch.no_grad():
            self.supernet.controller.use_weights(self.mixing().detach())

    def derive(self, k: int) -> list[Path]:
        """The k most probable paths within the cap on parameter-free ops, best first."""
        log_probs = self.probabilities().log().tolist()
        return k_best(log_probs, k, self.parameter_free, self.limit)

    def val_path(self, epoch: int) -> Path:
        return self.derive(1)[0]

    def state_dict(self) -> dict[str, Any]:
        return {"alpha": self.alpha.detach().cpu(), "arch_optimizer": self.optimizer.state_dict(),
                "arch_rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            self.alpha.copy_(state["alpha"])
        self.optimizer.load_state_dict(state["arch_optimizer"])
        self.generator.set_state(state["arch_rng"])


class Darts(GradientMethod):
    capped = False
    def mixing(self) -> torch.Tensor:
        return F.softmax(self.alpha, dim=-1)

    def probabilities(self) -> torch.Tensor:
        return F.softmax(self.alpha.detach(), dim=-1).cpu()


class DrNAS(GradientMethod):
    def __init__(self, supernet: Supernet, config: SupernetConfig, seed: int,
                 arch_x: torch.Tensor, arch_y: torch.Tensor, batch: int) -> None:
        super().__init__(supernet, config, seed, arch_x, arch_y, batch)
        self.kl_weight = config.kl_weight
        self.prior = Dirichlet(torch.ones_like(self.alpha.detach()))

    def concentration(self) -> torch.Tensor:
        return F.elu(self.alpha) + 1

    def mixing(self) -> torch.Tensor:
        return Dirichlet(self.concentration()).rsample()

    def regularizer(self) -> torch.Tensor:
        q = Dirichlet(self.concentration())
        return self.kl_weight * kl_divergence(q, self.prior).sum()

    def probabilities(self) -> torch.Tensor:
        beta = self.concentration().detach().cpu()
        return beta / beta.sum(-1, keepdim=True)


class Spos(Method):
    weight_kind = "frequency"

    def __init__(self, supernet: Supernet, seed: int) -> None:
        self.supernet = supernet
        self.seed = seed
        self.generator = torch.Generator().manual_seed(seed)

    def _uniform(self, generator: torch.Generator) -> Path:
        space = self.supernet.space
        return tuple(torch.randint(len(space.choices), (space.slots,),
                                   generator=generator).tolist())

    def before_step(self, i: int) -> None:
        self.supernet.controller.use_path(self._uniform(self.generator))

    def val_path(self, epoch: int) -> Path:
        """A uniform path of its own per epoch, so evaluating never moves the training RNG."""
        return self._uniform(torch.Generator().manual_seed(self.seed * 1_000_003 + epoch))

    def state_dict(self) -> dict[str, Any]:
        return {"path_rng": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.generator.set_state(state["path_rng"])
