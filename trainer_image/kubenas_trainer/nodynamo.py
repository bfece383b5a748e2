"""Keep torch._dynamo out of a trainer process: importing it costs 2-4 CPU-s, more than a
short trial trains.

torch wraps a few methods (an optimizer's constructor helpers, its step and functional
updates, FlopCounterMode's dispatch) in guards that import torch._dynamo on their first
call, and that only act inside a torch.compile'd frame. No call of ours runs in one: the
trainer compiles the model alone. So each guard gets, up front, the plain function it would
cache on its first call, and an optimizer's step runs its unwrapped update under no_grad,
which is what that guard does outside compiled code. Results stay bit-identical (tested).
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import torch

T = TypeVar("T", bound=type)
Optim = TypeVar("Optim", bound=torch.optim.Optimizer)

_GUARD = torch._compile._disable_dynamo(lambda: None).__code__


def plain(kind: T) -> T:
    """kind, with every guard resolved in the modules of it and its bases: their functions
    and their classes' methods (FlopCounterMode dispatches to a private class's)."""
    for module in {sys.modules[cls.__module__] for cls in kind.__mro__[:-1]}:
        for obj in list(vars(module).values()):
            for fn in list(vars(obj).values()) if isinstance(obj, type) else [obj]:
                if getattr(fn, "__code__", None) is _GUARD:
                    setattr(fn.__wrapped__, "__dynamo_disable", fn.__wrapped__)
    return kind


def optimizer(kind: type[Optim], *args: Any, **kwargs: Any) -> Optim:
    """kind(*args, **kwargs), whose step imports nothing."""
    built = plain(kind)(*args, **kwargs)
    update = inspect.unwrap(kind.step)

    def step(closure: Callable[[], float] | None = None) -> Any:
        with torch.no_grad():
            return update(built, closure)

    built.step = step  # type: ignore[method-assign]
    return built
