"""Pod state -> trial phase, and telling trainer errors from infrastructure losses."""

from __future__ import annotations

import json

import pytest
from kubenas.backends.contract import find_result
from kubenas.backends.kubernetes.trial_lifecycle import Expected, observe


def _pod(phase: str, *, reason: str | None = None, exit_code: int = 0,
         container_reason: str = "Completed", message: str | None = None,
         disruption: str | None = None, deleting: bool = False) -> dict:
    status: dict = {"phase": phase, "startTime": "2025-01-01T00:00:00Z"}
    if reason:
        status["reason"] = reason
    if disruption:
        status["conditions"] = [{"type": "DisruptionTarget", "status": "True",
                                 "reason": disruption}]
    if phase in ("Succeeded", "Failed"):
        term = {"exitCode": exit_code, "reason": container_reason,
                "finishedAt": "2025-01-01T00:01:00Z"}
        if message is not None:
            term["message"] = message
        status["containerStatuses"] = [{"name": "trainer", "state": {"terminated": term}}]
    meta: dict = {"name": "e-0-a0"}
    if deleting:
        meta["deletionTimestamp"] = "2025-01-01T00:00:30Z"
    return {"metadata": meta, "status": status}


RESULT = json.dumps({"metrics": {"val_accuracy": 0.98, "params": 1000}, "curve": [0.9, 0.98]})


def test_success_reads_the_termination_message() -> None:
    obs = observe(_pod("Succeeded", message=RESULT), created=True, expect=Expected("val_accuracy"))
    assert obs is not None and obs.phase == "Succeeded"
    assert obs.metrics == {"val_accuracy": 0.98, "params": 1000.0}
    assert obs.curve == (0.9, 0.98) and obs.finish_time == "2025-01-01T00:01:00Z"


def test_success_without_the_objective_is_a_failure() -> None:
    obs = observe(_pod("Succeeded", message="{}"), created=True, expect=Expected("val_accuracy"))
    assert obs is not None and (obs.phase, obs.reason) == ("Failed", "NoResult")


def test_result_found_in_logs_fallback() -> None:
    logs = f"epoch 1\nKUBENAS_RESULT {RESULT}\n"
    assert find_result(logs) == json.loads(RESULT)
    assert find_result("not json") is None


@pytest.mark.parametrize(("pod", "reason"), [
    (_pod("Failed", exit_code=1, container_reason="Error", message="Traceback\nValueError: x"),
     "Error"),
    (_pod("Failed", exit_code=137, container_reason="OOMKilled"), "OOMKilled"),
    (_pod("Failed", reason="DeadlineExceeded", exit_code=143), "DeadlineExceeded"),
])
def test_trainer_errors_fail_the_trial(pod: dict, reason: str) -> None:
    obs = observe(pod, created=True, expect=Expected("val_accuracy"))
    assert obs is not None and (obs.phase, obs.reason, obs.retry) == ("Failed", reason, False)


def test_error_message_names_exit_code_and_last_line() -> None:
    obs = observe(_pod("Failed", exit_code=1, container_reason="Error",
                       message="Traceback\nValueError: x"), created=True, expect=Expected("m"))
    assert obs is not None and obs.message == "the trainer exited with code 1: ValueError: x"


@pytest.mark.parametrize(("pod", "reason"), [
    (_pod("Failed", reason="Evicted", exit_code=137), "Evicted"),
    (_pod("Failed", reason="NodeLost", exit_code=137), "NodeLost"),
    (_pod("Failed", exit_code=143, disruption="PreemptionByScheduler"), "PreemptionByScheduler"),
    (_pod("Running", deleting=True), "PodDeleted"),
    (None, "PodDeleted"),
])
def test_infrastructure_losses_are_retried(pod: dict | None, reason: str) -> None:
    obs = observe(pod, created=True, expect=Expected("val_accuracy"))
    assert obs is not None and (obs.retry, obs.reason) == (True, reason)


def test_pending_and_running() -> None:
    assert observe(None, created=False, expect=Expected("m")) is None
    running = observe(_pod("Running"), created=True, expect=Expected("m"))
    assert running is not None and running.phase == "Running"
    pending = _pod("Pending")
    pending["status"]["conditions"] = [{"type": "PodScheduled", "status": "False",
                                        "reason": "Unschedulable"}]
    obs = observe(pending, created=True, expect=Expected("m"))
    assert obs is not None and (obs.phase, obs.reason) == ("Pending", "Unschedulable")
