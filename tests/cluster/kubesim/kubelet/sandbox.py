"""One pod on a node: its directory, loopback IP, container processes and pod-level fate."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .client import Obj
from .runtime import Container, Launch


def rfc3339(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Verdict:
    """Why the kubelet ended a pod, overriding what its containers' exit codes would say."""

    reason: str
    message: str
    disruption: str = ""  # reason of the DisruptionTarget condition, if the pod gets one


DEADLINE = Verdict(
    "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
)


@dataclass
class Sandbox:
    pod: Obj
    ip: str
    directory: Path
    containers: list[Container] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    verdict: Verdict | None = None
    deleting: bool = False
    reported: Obj | None = None  # the status last written, None before the first write

    @property
    def uid(self) -> str:
        return self.pod["metadata"]["uid"]

    @property
    def key(self) -> tuple[str, str]:
        return self.pod["metadata"].get("namespace", "default"), self.pod["metadata"]["name"]

    @property
    def running(self) -> bool:
        return any(c.running for c in self.containers)

    def start(self, launches: list[Launch]) -> None:
        self.containers = [Container(launch) for launch in launches]
        for container in self.containers:
            container.start()

    def poll(self) -> bool:
        """Reaps exits, enforces kill times and activeDeadlineSeconds; True if anything ended."""
        deadline = self.pod["spec"].get("activeDeadlineSeconds")
        if (
            deadline is not None
            and self.verdict is None
            and self.running
            and time.time() - self.started_at >= deadline
        ):
            self.verdict = DEADLINE
            self.stop(self.grace())
        changed = False
        for container in self.containers:
            changed |= container.poll()
        return changed

    def grace(self) -> float:
        meta, spec = self.pod["metadata"], self.pod["spec"]
        value = meta.get("deletionGracePeriodSeconds")
        if value is None:
            value = spec.get("terminationGracePeriodSeconds", 30)
        return float(value)

    def stop(self, grace: float) -> None:
        for container in self.containers:
            container.stop(grace)

    def kill(self, verdict: Verdict | None = None, oom: bool = False) -> None:
        if verdict is not None and self.verdict is None:
            self.verdict = verdict
        for container in self.containers:
            container.kill(oom=oom)

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)

    def status(self, host_ip: str, previous: Obj) -> Obj:
        """The pod's status as a real kubelet would report it, keeping transition times."""
        running = self.running
        if running:
            phase = "Running"
        elif self.verdict is None and all(c.exit_code == 0 for c in self.containers):
            phase = "Succeeded"
        else:
            phase = "Failed"
        terminal = phase in ("Succeeded", "Failed")
        ready = running and all(c.running for c in self.containers) and not self.deleting
        not_ready_reason = "PodCompleted" if terminal else "ContainersNotReady"
        wanted = {
            "PodReadyToStartContainers": (not terminal, ""),
            "Initialized": (True, ""),
            "Ready": (ready, "" if ready else not_ready_reason),
            "ContainersReady": (ready, "" if ready else not_ready_reason),
            "PodScheduled": (True, ""),
        }
        if self.verdict is not None and self.verdict.disruption:
            wanted["DisruptionTarget"] = (True, self.verdict.disruption)
        status: Obj = {
            "phase": phase,
            "conditions": _conditions(previous.get("conditions") or [], wanted),
            "hostIP": host_ip,
            "hostIPs": [{"ip": host_ip}],
            "podIP": self.ip,
            "podIPs": [{"ip": self.ip}],
            "startTime": rfc3339(self.started_at),
            "containerStatuses": [self._container_status(c) for c in self.containers],
        }
        if terminal and self.verdict is not None:
            status |= {"reason": self.verdict.reason, "message": self.verdict.message}
        return status

    def _container_status(self, container: Container) -> Obj:
        spec = next(c for c in self.pod["spec"]["containers"] if c["name"] == container.name)
        pid = container.proc.pid if container.proc else 0
        container_id = f"kubesim://{self.uid}/{container.name}/{pid}"
        if container.running:
            state: Obj = {"running": {"startedAt": rfc3339(container.started_at)}}
        else:
            state = {
                "terminated": {
                    "exitCode": container.exit_code,
                    "reason": container.reason,
                    "startedAt": rfc3339(container.started_at),
                    "finishedAt": rfc3339(container.finished_at),
                    "containerID": container_id,
                }
            }
            if container.message:
                state["terminated"]["message"] = container.message
        return {
            "name": container.name,
            "image": spec.get("image", ""),
            "imageID": "",
            "containerID": container_id,
            "ready": container.running and not self.deleting,
            "started": container.running,
            "restartCount": 0,
            "state": state,
        }


def _conditions(previous: list[Obj], wanted: dict[str, tuple[bool, str]]) -> list[Obj]:
    """Sets the kubelet's conditions, keeping others (e.g. DisruptionTarget) and their times."""
    by_type = {c["type"]: c for c in previous}
    now = rfc3339()
    for kind, (value, reason) in wanted.items():
        status = "True" if value else "False"
        old = by_type.get(kind, {})
        condition = {
            "type": kind,
            "status": status,
            "lastProbeTime": None,
            "lastTransitionTime": old.get("lastTransitionTime", now)
            if old.get("status") == status
            else now,
        }
        if reason:
            condition["reason"] = reason
        by_type[kind] = condition
    return list(by_type.values())
