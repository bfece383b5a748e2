"""The dashboard's readers and its refusals: bad input is one line and exit code 2."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kubenas.api.parse import parse
from kubenas.api.trials import Trial
from kubenas.backends.runs import history, manifest
from kubenas.backends.runs.results import write_json
from kubenas.cli import main
from kubenas.dashboard.local import LocalRuns
from kubenas.dashboard.views import NotFound, ReadError

EXP = parse({"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
             "metadata": {"name": "toy"}, "spec": {
                 "objective": {"metric": "acc"},
                 "searchSpace": {"family": "toy", "parameters": [
                     {"name": "width", "choice": [8, 16]}]},
                 "budget": {"maxTrials": 4}, "trialTemplate": {"command": ["toy"]}}})


def run_folder(path: Path, trials: int = 2) -> Path:
    records = [Trial(i, {"width": 8 * (i + 1)}, 1.0, phase="Succeeded",
                     metrics={"acc": 0.5 + i / 10}) for i in range(trials)]
    history.save(path, EXP, records)
    manifest.save(path, EXP)
    write_json(path / "result.json", {"phase": "Succeeded", "bestValue": 0.6})
    return path


def refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["dashboard", *args, "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kubenas: error: "), err
    assert "Traceback" not in err
    return err


def test_reads_one_run_folder_or_a_folder_of_them(tmp_path: Path) -> None:
    run_folder(tmp_path / "a")
    run_folder(tmp_path / "b", trials=3)
    (tmp_path / "notes").mkdir()
    runs = LocalRuns(tmp_path)
    runs.check()
    assert [s.id for s in runs.snapshots()] == ["a", "b"]
    b = runs.snapshot("b")
    assert b.exp is not None and b.exp.name == "toy" and len(b.trials or ()) == 3
    assert b.status["bestValue"] == 0.6 and not b.live
    assert [s.id for s in LocalRuns(tmp_path / "a").snapshots()] == ["a"]
    with pytest.raises(NotFound):
        runs.snapshot("notes")


def test_a_torn_last_line_is_left_out(tmp_path: Path) -> None:
    folder = run_folder(tmp_path / "a", trials=3)
    text = (folder / "trials.jsonl").read_text()
    (folder / "trials.jsonl").write_text(text[:-40])
    assert len(LocalRuns(folder).snapshot("a").trials or ()) == 2


def test_a_live_run_is_told_by_its_lock(tmp_path: Path) -> None:
    folder = run_folder(tmp_path / "a")
    (folder / ".kubenas.lock").write_text(str(os.getpid()))
    assert LocalRuns(folder).snapshot("a").live
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (folder / ".kubenas.lock").write_text(done.stdout.strip())  # that process has exited
    assert not LocalRuns(folder).snapshot("a").live


def test_an_older_run_without_experiment_json_is_listed_with_why(tmp_path: Path) -> None:
    folder = run_folder(tmp_path / "a")
    (folder / "experiment.json").unlink()
    snapshot = LocalRuns(folder).snapshot("a")
    assert snapshot.exp is None and "experiment.json: missing" in (snapshot.problem or "")


def test_missing_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "no such folder" in refused(capsys, "--runs", str(tmp_path / "nope"))


def test_a_folder_without_runs_is_refused(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert "no run folders here" in refused(capsys, "--runs", str(tmp_path))


@pytest.mark.parametrize(("name", "text", "said"), [
    ("result.json", "{not json", "result.json: not valid JSON"),
    ("result.json", "[1, 2]", "result.json: not a JSON object"),
    ("trials.jsonl", "{}\n{}\n", "trials.jsonl: line 1 is not a trial record"),
    ("experiment.json", json.dumps({"apiVersion": "kubenas.io/v1alpha1",
                                    "kind": "NASExperiment", "metadata": {"name": "x"},
                                    "spec": {}}), "experiment.json: not a valid NASExperiment"),
])
def test_malformed_files_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                     name: str, text: str, said: str) -> None:
    folder = run_folder(tmp_path / "a")
    (folder / name).write_text(text)
    assert said in refused(capsys, "--runs", str(tmp_path))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_cluster_is_refused(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{closed_port()}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}]}))
    err = refused(capsys, "--cluster", "--kubeconfig", str(config))
    assert err.startswith("kubenas: error: cannot reach the Kubernetes API at http://127.0.0.1:")
    assert err.rstrip().endswith("Connection refused")


def test_a_missing_kubeconfig_is_refused(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert "cannot load the kubeconfig" in refused(
        capsys, "--cluster", "--kubeconfig", str(tmp_path / "none"))


def test_bad_reads_raise_read_errors(tmp_path: Path) -> None:
    with pytest.raises(ReadError):
        LocalRuns(tmp_path / "nope").check()


def test_a_port_in_use_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_folder(tmp_path / "a")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["dashboard", "--runs", str(tmp_path), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"kubenas: error: cannot listen on 127.0.0.1:{port}: ")
    assert err.count("\n") == 1


def test_in_a_pod_without_a_service_account_token_it_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """In a pod (KUBERNETES_SERVICE_HOST set) and with no --kubeconfig, the dashboard uses
    the pod's ServiceAccount; none mounted is one line, not a traceback."""
    from kubernetes.config import incluster_config

    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "token"))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    assert "cannot use the pod's ServiceAccount" in refused(capsys, "--cluster")


def test_the_namespace_comes_from_the_chosen_context(tmp_path: Path) -> None:
    from kubenas.dashboard.cluster import connect

    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "plain",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "plain", "context": {"cluster": "c", "user": "u"}},
                     {"name": "team", "context": {"cluster": "c", "user": "u",
                                                  "namespace": "team-a"}}]}))
    assert connect(str(config), None)[1] == "default"
    api, namespace = connect(str(config), "team")
    assert namespace == "team-a" and api.client.configuration.host == "http://127.0.0.1:1"


def test_a_folder_is_read_again_only_when_a_file_changes(tmp_path: Path) -> None:
    folder = run_folder(tmp_path / "a", trials=2)
    runs = LocalRuns(folder)
    first = runs.snapshot("a")
    assert runs.snapshot("a") is first and first.version
    history.save(folder, EXP, [Trial(0, {"width": 8}, 1.0, phase="Running")])
    again = runs.snapshot("a")
    assert again is not first and len(again.trials or ()) == 1
