"""The model card beside the exported model: `model-card.json` and `MODEL_CARD.md`.

One record of what a deployer needs and nothing to look up elsewhere: the input contract,
the classes, each .onnx file with its size, validation accuracy and latency, the protocol
that measured the latency, the architecture and how the model was found. The JSON is
strict (a non-finite metric is null); the Markdown is rendered from the same dict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .report import rounded

CARD_JSON = "model-card.json"
CARD_MARKDOWN = "MODEL_CARD.md"
FORMAT = "kubenas.io/model-card/v1"


def model_entry(path: Path, precision: str, val_accuracy: float, latency_ms: float,
                **details: Any) -> dict[str, Any]:
    """One exported file's row in the card."""
    return {"file": path.name, "precision": precision,
            "size_kib": round(path.stat().st_size / 1024, 1),
            "val_accuracy": rounded(val_accuracy), "latency_ms": rounded(latency_ms), **details}


def build_card(*, trial: str, architecture: dict[str, Any], found_by: dict[str, Any],
               metrics: dict[str, float | int], latency: dict[str, Any],
               models: list[dict[str, Any]], model_latency: dict[str, Any],
               inputs: dict[str, Any], outputs: dict[str, Any], classes: list[str],
               training: dict[str, Any]) -> dict[str, Any]:
    """The card as a dict. `metrics` and `latency` are the trial's own (PyTorch, its
    protocol); each of `models` was evaluated and timed on ONNX Runtime (`model_latency`)."""
    return {
        "format": FORMAT,
        "trial": trial,
        "architecture": architecture,
        "params": metrics.get("params"),
        "flops": metrics.get("flops"),
        "metrics": {k: rounded(v) for k, v in metrics.items()},
        "latency": {"latency_ms": rounded(metrics["latency_ms"]), "protocol": latency},
        "models": models,
        "model_latency_protocol": model_latency,
        "input": inputs,
        "output": outputs,
        "classes": classes,
        "training": training,
        "found_by": found_by,
    }


def write_card(directory: str, card: dict[str, Any]) -> None:
    """Write model-card.json (strict JSON) and MODEL_CARD.md to `directory`."""
    out = Path(directory)
    (out / CARD_JSON).write_text(json.dumps(card, indent=2, allow_nan=False) + "\n")
    (out / CARD_MARKDOWN).write_text(markdown(card))


def _protocol(protocol: dict[str, Any]) -> str:
    runtime = f"{protocol['runtime']} {protocol['version']} on {protocol['device']}"
    if "provider" in protocol:
        runtime += f" ({protocol['provider']}, {protocol['inter_op_threads']} inter-op thread)"
    else:
        runtime += f" ({protocol['precision']}, {protocol['layout']})"
    return (f"{runtime}; batch {protocol['batch_size']}, {protocol['threads']} thread(s) "
            f"pinned, {protocol['warmup_runs']} warm-up runs, then the {protocol['statistic']} "
            f"of {protocol['timed_runs']} timed runs")


def _value(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def markdown(card: dict[str, Any]) -> str:
    """The card for people: the same facts as the JSON, as tables and a usage example."""
    inputs, arch = card["input"], card["architecture"]
    c, h, w = inputs["shape"][1:]
    rows = "".join(
        f"| `{m['file']}` | {m['precision']} | {m['size_kib']} | {_value(m['val_accuracy'])} | "
        f"{_value(m['latency_ms'])} |\n" for m in card["models"])
    metrics = "".join(f"| `{k}` | {_value(v)} |\n" for k, v in card["metrics"].items())
    value_range = "any float (used as it is)" if inputs["range"] is None else \
        f"{inputs['range'][0]} to {inputs['range'][1]}"
    found_by = json.dumps(card["found_by"], indent=2) if card["found_by"] else "{}"
    quantized = [m for m in card["models"] if "quantization" in m]
    quantization = "" if not quantized else (
        "\nThe int8 model: " + ", ".join(f"{k} {v}" for k, v in
                                        quantized[0]["quantization"].items()) + ".\n")
    return f"""# Model card: {card['trial']}

A `{arch['family']}` classifier of {c}x{h}x{w} images into {len(card['classes'])} classes,
{_value(card['params'])} parameters, {_value(card['flops'])} FLOPs per image.

## Files

| file | precision | size (KiB) | validation accuracy | latency (ms) |
| --- | --- | --- | --- | --- |
{rows}
Accuracy and latency of each file are measured with ONNX Runtime:
{_protocol(card['model_latency_protocol'])}.
{quantization}
## Input and output

- input `{inputs['name']}`: {inputs['dtype']}, shape `{json.dumps(inputs['shape'])}`
  ({inputs['layout']}), raw values {value_range}; any batch size `N`
- preprocessing is built in: the model computes `(x * {inputs['scale']:.6g} - mean) / std`
  per channel, mean `{json.dumps(inputs['mean'])}`, std `{json.dumps(inputs['std'])}`
- output `{card['output']['name']}`: logits, shape `{json.dumps(card['output']['shape'])}`;
  the argmax indexes the classes `{json.dumps(card['classes'])}`

```python
import numpy as np, onnxruntime as ort
session = ort.InferenceSession("model.onnx", providers=["CPUExecutionProvider"])
logits = session.run(None, {{"images": np.zeros((1, {c}, {h}, {w}), np.float32)}})[0]
```

## Metrics of the trial (PyTorch)

| metric | value |
| --- | --- |
{metrics}
`latency_ms`: {_protocol(card['latency']['protocol'])}.

## Architecture

```json
{json.dumps(arch, indent=2)}
```

## Training

```json
{json.dumps(card['training'], indent=2)}
```

## How it was found

```json
{found_by}
```
"""
