"""Training throughput of one architecture: eager fp32 vs channels_last + bf16 (+ compile).

Shows what the trainer's fast path buys on the machine at hand (CUDA when present):

    PYTHONPATH=trainer_image python benchmarks/trainer_throughput.py --image-size 32 --compile
"""

from __future__ import annotations

import argparse
import json
import time
from contextlib import nullcontext

import torch
import torch.nn.functional as F
from kubenas_trainer.data import make_synthetic
from kubenas_trainer.models import build_model

DEFAULT_ARCH = {"family": "nb201", "params": {
    "edges": ["nor_conv_3x3", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3",
              "nor_conv_3x3"], "cells_per_stage": 2}}


def samples_per_second(args: argparse.Namespace, device: torch.device, fast: bool,
                       compile_model: bool) -> float:
    """Train for args.epochs on synthetic data; return samples/s over all but epoch 1."""
    torch.manual_seed(0)
    x, y = make_synthetic(args.samples, args.image_size, args.channels)
    fmt = torch.channels_last if fast else torch.contiguous_format
    xs = torch.from_numpy(x).to(device).contiguous(memory_format=fmt)
    ys = torch.from_numpy(y).to(device)
    in_shape = (args.channels, args.image_size, args.image_size)
    model = build_model(args.arch["family"], args.arch["params"], in_shape, 10).to(device)
    model = model.to(memory_format=fmt)  # type: ignore[call-overload]
    forward = torch.compile(model) if compile_model else model
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    autocast = (lambda: torch.autocast(device.type, dtype=torch.bfloat16)) if fast else nullcontext
    timed, seconds = 0, 0.0
    for epoch in range(args.epochs):
        start = time.perf_counter()
        for i in range(0, len(xs) - args.batch_size + 1, args.batch_size):
            with autocast():
                loss = F.cross_entropy(forward(xs[i:i + args.batch_size]),
                                       ys[i:i + args.batch_size])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        loss.item()  # waits for the device
        if epoch > 0:  # epoch 1 pays for cudnn autotuning and compilation
            seconds += time.perf_counter() - start
            timed += len(xs) // args.batch_size * args.batch_size
    return timed / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", type=json.loads, default=DEFAULT_ARCH)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--channels", type=int, default=3)
    parser.add_argument("--samples", type=int, help="default: 16384 on CUDA, 1024 on CPU")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    args.epochs = max(args.epochs, 2)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    args.samples = args.samples or (16384 if device.type == "cuda" else 1024)
    torch.backends.cudnn.benchmark = True
    modes = [("eager fp32", False, False), ("channels_last+bf16", True, False)]
    if args.compile:
        modes.append(("channels_last+bf16+compile", True, True))
    print(f"device={device} image={args.channels}x{args.image_size}x{args.image_size} "
          f"batch={args.batch_size} arch={json.dumps(args.arch)}")
    for name, fast, compile_model in modes:
        print(f"{name:>28}: {samples_per_second(args, device, fast, compile_model):10.0f} "
              "samples/s")


if __name__ == "__main__":
    main()
