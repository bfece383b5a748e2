"""The latency protocol is honoured: batch 1, warm-up runs, the median of N timed runs, pinned
threads, the runtime recorded. Structure only: no assertion depends on how fast anything is."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import torch
from kubenas_trainer import onnxrt, profile
from kubenas_trainer.__main__ import main
from kubenas_trainer.contract import TrainingConfig
from kubenas_trainer.data import load_dataset
from kubenas_trainer.models import build_model
from kubenas_trainer.profile import LatencyProtocol, measure_latency, median_ms

from .conftest import DIGITS, SMALL_CNN

COMMON = {"batch_size": 1, "warmup_runs": 3, "timed_runs": 5, "statistic": "median"}


def test_the_median_of_the_timed_runs_after_the_warmup(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each call advances the clock by the next duration: warm-up calls are never timed.
    durations = iter([9.0, 9.0, 0.004, 0.001, 0.003, 0.1, 0.002])
    clock = itertools.count()
    now = [0.0]

    def perf_counter() -> float:
        return now[0]

    def call() -> None:
        next(clock)
        now[0] += next(durations)

    monkeypatch.setattr(profile.time, "perf_counter", perf_counter)
    assert median_ms(call, 2, 5) == pytest.approx(3.0)  # median of 4, 1, 3, 100, 2 ms
    assert next(clock) == 7


def _model_and_data() -> tuple[torch.nn.Module, Any]:
    data = load_dataset(TrainingConfig(), 0)
    torch.manual_seed(0)
    model = build_model("macro_cnn", {"depth": 1, "width": 4, "op": ["conv3x3"]},
                        data.in_shape, data.num_classes)
    return model, data


def test_torch_pins_its_threads_and_restores_them() -> None:
    model, data = _model_and_data()
    seen: list[tuple[int, tuple[int, ...]]] = []
    model.register_forward_hook(
        lambda m, args, out: seen.append((torch.get_num_threads(), tuple(args[0].shape))))
    torch.set_num_threads(1)
    latency = measure_latency(model, data, torch.device("cpu"), LatencyProtocol("torch", 2, 3, 5))
    assert torch.get_num_threads() == 1
    assert seen == [(2, (1, 1, 8, 8))] * 8  # 3 warm-up + 5 timed, batch 1, 2 threads
    assert latency.ms > 0
    assert latency.protocol == {"runtime": "torch", "version": torch.__version__, "device": "cpu",
                                "precision": "float32", "layout": "NCHW", "threads": 2, **COMMON}


def test_onnxruntime_times_a_session_with_pinned_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    model, data = _model_and_data()
    opened: list[int] = []
    runs: list[tuple[int, ...]] = []
    open_session = onnxrt.open_session

    class Counted:
        def __init__(self, session: Any) -> None:
            self.session = session

        def get_inputs(self) -> Any:
            return self.session.get_inputs()

        def run(self, outputs: Any, feed: dict[str, Any]) -> Any:
            runs.append(next(iter(feed.values())).shape)
            return self.session.run(outputs, feed)

    def counted(path: Path, threads: int) -> Counted:
        session = open_session(path, threads)
        options = session.get_session_options()
        opened.append(threads)
        assert (options.intra_op_num_threads, options.inter_op_num_threads) == (threads, 1)
        assert session.get_providers() == ["CPUExecutionProvider"]
        return Counted(session)

    monkeypatch.setattr(onnxrt, "open_session", counted)
    latency = measure_latency(model, data, torch.device("cpu"),
                              LatencyProtocol("onnxruntime", 3, 3, 5))
    assert opened == [3] and runs == [(1, 1, 8, 8)] * 8
    assert latency.ms > 0
    assert latency.protocol == {
        "runtime": "onnxruntime", "version": onnxrt.version(), "device": "cpu",
        "provider": "CPUExecutionProvider", "inter_op_threads": 1, "model": "model.onnx",
        "threads": 3, **COMMON}


@pytest.mark.usefixtures("clean_env")
def test_the_result_records_the_protocol(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    training = {**DIGITS, "latencyRuntime": "onnxruntime", "latencyThreads": 2,
                "latencyWarmup": 0, "latencyRuns": 7}
    env = {"KUBENAS_ARCHITECTURE": json.dumps(SMALL_CNN), "KUBENAS_BUDGET": "1",
           "KUBENAS_TRAINING": json.dumps(training),
           "KUBENAS_TERMINATION_LOG": str(tmp_path / "log")}
    threads = torch.get_num_threads()
    assert main([], env) == 0
    assert torch.get_num_threads() == threads
    result = json.loads((tmp_path / "log").read_text())
    assert result["metrics"]["latency_ms"] > 0
    assert result["latency"] | {"version": None} == {
        "runtime": "onnxruntime", "version": None, "device": "cpu",
        "provider": "CPUExecutionProvider", "inter_op_threads": 1, "model": "model.onnx",
        "batch_size": 1, "threads": 2, "warmup_runs": 0, "timed_runs": 7,
        "statistic": "median"}
