"""`kubenas dashboard` in a real browser: Debian's Chromium, headless, driven by Selenium.

Each view is loaded for finished local runs (a tabular NAS-Bench-201 search with two
objectives, and a fake-trainer search with learning curves and promotions) and for an
experiment on the test cluster, and what the page shows is compared with `result.json`,
`trials.jsonl` and the NASTrials. Screenshots go to build/screenshots/; any JavaScript
console error fails the test that caused it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import yaml
from kubesim.apiserver import ApiServer
from kubesim.cluster import apply_crds
from kubesim.kubelet.client import ApiClient
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select, WebDriverWait

from .conftest import REPO

pytestmark = pytest.mark.slow
SHOTS = REPO / "build" / "screenshots"
NB201 = REPO.parent / "shared" / "benchmarks" / "nas-bench-201" / "cifar10.csv"
FAKE = REPO / "tests" / "unit" / "local" / "fake_trainer.py"
T = TypeVar("T")


def binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} not found: run scripts/install-tools.sh")
    return path


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = binary("chromium")
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--disable-gpu", "--window-size=1400,1800"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(binary("chromedriver")), options=options)
    browser.set_page_load_timeout(30)
    yield browser
    browser.quit()


def console_errors(driver: WebDriver) -> list[str]:
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE"]


@pytest.fixture(autouse=True)
def no_console_errors(driver: WebDriver) -> Iterator[None]:
    """Every test fails on a JavaScript error or a failed request the page logged."""
    console_errors(driver)  # drop what earlier tests left
    yield
    assert console_errors(driver) == []


def kubenas(*args: str, cwd: Path | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "kubenas", *args], capture_output=True,
                          text=True, timeout=240, check=False, cwd=cwd)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/nb201: 60 tabular trials, two objectives and a constraint; runs/fake: 6 trials
    of the fake trainer with successive halving (curves, promotions)."""
    root = tmp_path_factory.mktemp("runs")
    manifest = yaml.safe_load((REPO / "benchmarks" / "nb201" / "multi-objective.yaml")
                              .read_text())
    spec = manifest["spec"]
    spec["budget"].update(maxTrials=60, maxDuration=40000)
    spec["tabular"]["table"] = str(NB201)
    spec["objective"]["constraints"] = [{"metric": "latency_ms_pixel3", "max": 20.0}]
    (root / "nb201.yaml").write_text(yaml.safe_dump(manifest))
    fake = {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
            "metadata": {"name": "fake"}, "spec": {
                "objective": {"metric": "val_accuracy"},
                "searchSpace": {"family": "fake", "parameters": [
                    {"name": "depth", "int": {"min": 1, "max": 3}},
                    {"name": "op", "choice": ["conv3x3", "conv5x5", "skip"],
                     "repeat": "depth"}]},
                "strategy": {"name": "random", "seed": 4},
                "budget": {"maxTrials": 6, "maxParallelTrials": 2},
                "fidelity": {"resource": "epochs", "min": 1, "max": 3, "reductionFactor": 3},
                "trialTemplate": {"command": [sys.executable, str(FAKE)]}}}
    (root / "fake.yaml").write_text(yaml.safe_dump(fake))
    kubenas("run", str(root / "nb201.yaml"), "--out", str(root / "runs" / "nb201"))
    kubenas("run", str(root / "fake.yaml"), "--out", str(root / "runs" / "fake"), "--plain")
    return root / "runs"


class Dashboard:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kubenas", "dashboard", *args,
                                      "--port", "0", "--poll", "1"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        found = re.search(r"at (http://\S+/) ", line)
        if found is None:
            self.proc.kill()
            pytest.fail(f"no URL from kubenas dashboard: {line}{self.proc.stderr.read()}")
        self.url = found[1]

    def api(self, path: str, **params: Any) -> Any:
        response = requests.get(self.url + "api/" + path, params=params, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> None:
        self.proc.terminate()
        assert self.proc.wait(timeout=10) == 0


@pytest.fixture(scope="module")
def local(runs: Path) -> Iterator[Dashboard]:
    dashboard = Dashboard("--runs", str(runs))
    yield dashboard
    dashboard.stop()


def wait(driver: WebDriver, check: Callable[[WebDriver], T], timeout: float = 15) -> T:
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(WebDriverException, LookupError)).until(check)


def shot(driver: WebDriver, name: str, at: str | None = None) -> None:
    """A screenshot of the page's top, or scrolled to the element `at`."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if at is None:
        driver.execute_script("window.scrollTo(0, 0)")
    else:
        driver.execute_script("document.querySelector(arguments[0]).scrollIntoView()", at)
    driver.save_screenshot(str(SHOTS / f"{name}.png"))


def texts(driver: WebDriver, css: str) -> list[str]:
    """Text of every match, read in one script (the page redraws while it polls)."""
    return list(driver.execute_script(
        "return [...document.querySelectorAll(arguments[0])].map(e => e.innerText.trim());",
        css))


def rows(driver: WebDriver, table: str) -> list[dict[str, str]]:
    """A table's rows as {field: text}, with `key` its data-id or data-trial, in one read."""
    return list(driver.execute_script("""
        return [...document.querySelectorAll(arguments[0] + ' tbody tr')].map(tr => {
          const row = {key: tr.dataset.id || tr.dataset.trial};
          tr.querySelectorAll('[data-field]').forEach(
            td => { row[td.dataset.field] = td.innerText.trim(); });
          return row;
        });""", table))


def text(driver: WebDriver, css: str) -> str:
    found = texts(driver, css)
    if not found:
        raise LookupError(css)
    return found[0]


def click(driver: WebDriver, css: str) -> None:
    """Click, trying again while a redraw replaces the element."""
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, css).click() or True)


def chart_series(driver: WebDriver, chart: str) -> list[dict[str, Any]]:
    """The series a chart draws, as ECharts holds them (so the test reads the drawn data)."""
    series = driver.execute_script(
        "const c = window.kubenasCharts[arguments[0]];"
        "return c ? JSON.parse(JSON.stringify(c.getOption().series)) : null;", chart)
    if not series:
        raise LookupError(f"chart {chart} is not drawn yet")
    return list(series)


def open_page(driver: WebDriver, url: str, ready: str) -> None:
    driver.get("about:blank")  # a new load, even where only the #fragment differs
    driver.get(url)
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ready))


def read(runs: Path, name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    result = json.loads((runs / name / "result.json").read_text())
    trials = [json.loads(line) for line in (runs / name / "trials.jsonl").read_text()
              .splitlines()]
    return result, trials


def fmt(value: float) -> str:
    """The page's number format: up to 4 decimals, trailing zeros dropped."""
    return str(int(value)) if float(value).is_integer() else \
        f"{value:.4f}".rstrip("0").rstrip(".")


def test_experiments_page_shows_each_runs_result(driver: WebDriver, local: Dashboard,
                                                 runs: Path) -> None:
    open_page(driver, local.url, "#experiments tbody tr")
    shown = {r["key"]: r for r in rows(driver, "#experiments")}
    assert sorted(shown) == ["fake", "nb201"]
    for run in ("fake", "nb201"):
        result, _ = read(runs, run)
        cell = {f: shown[run][f] for f in ("phase", "strategy", "bestValue", "progress")}
        assert cell == {"phase": result["phase"], "strategy": result["strategy"],
                        "bestValue": fmt(result["bestValue"]), "progress": result["progress"]}
    shot(driver, "experiments")


def test_trials_table_sorts_filters_and_pages(driver: WebDriver, local: Dashboard,
                                              runs: Path) -> None:
    result, trials = read(runs, "nb201")
    open_page(driver, local.url + "#/exp/nb201", "#trials tbody tr")
    assert text(driver, "#best-value") == fmt(result["bestValue"])
    assert text(driver, "#best-trial") == result["bestTrial"]["name"]
    assert json.loads(text(driver, "#best-arch")) == result["bestTrial"]["architecture"]
    first = rows(driver, "#trials")
    assert [r["key"] for r in first] == [t["name"] for t in trials[:25]]
    for row, trial in zip(first, trials, strict=False):
        assert json.loads(row["architecture"]) == trial["architecture"]
        assert row["phase"] == trial["phase"] and row["budget"] == fmt(trial["budget"])
        assert row["value"] == fmt(trial["metrics"]["val_accuracy"])
        assert row["metric:latency_ms_pixel3"] == fmt(trial["metrics"]["latency_ms_pixel3"])
    assert text(driver, "#page-info") == "page 1 of 3 · 60 of 60 trials"
    click(driver, "#next")
    wait(driver, lambda d: text(d, "#page-info").startswith("page 2 of 3"))
    assert rows(driver, "#trials")[0]["key"] == trials[25]["name"]

    click(driver, 'th[data-sort="value"]')  # ascending
    wait(driver, lambda d: "sorted-asc" in d.find_element(
        By.CSS_SELECTOR, 'th[data-sort="value"]').get_attribute("class"))
    click(driver, 'th[data-sort="value"]')  # descending
    values = sorted((t["metrics"]["val_accuracy"] for t in trials), reverse=True)
    wait(driver, lambda d: [r["value"] for r in rows(d, "#trials")][:3] ==
         [fmt(v) for v in values[:3]])
    assert text(driver, "#page-info").startswith("page 1 of 3")

    op = trials[0]["architecture"]["edges"][0]
    driver.find_element(By.ID, "filter").send_keys(op)
    matching = [t for t in trials if op in json.dumps(t["architecture"])]
    wait(driver, lambda d: text(d, "#page-info").endswith(f"{len(matching)} of 60 trials"))
    shot(driver, "trials")


def test_charts_draw_the_runs_numbers(driver: WebDriver, local: Dashboard,
                                      runs: Path) -> None:
    result, trials = read(runs, "nb201")
    open_page(driver, local.url + "#/exp/nb201", "#chart-pareto canvas")
    pareto = {s["name"]: s for s in wait(driver, lambda d: chart_series(d, "chart-pareto"))}
    assert sorted(p["name"] for p in pareto["front"]["data"]) == \
        sorted(t["name"] for t in result["paretoFront"])
    slow = {t["name"] for t in trials if t["metrics"]["latency_ms_pixel3"] > 20.0}
    assert {p["name"] for p in pareto["infeasible"]["data"]} == slow

    ops = wait(driver, lambda d: chart_series(d, "chart-ops"))[0]["data"]
    option = driver.execute_script("return JSON.parse(JSON.stringify("
                                   "window.kubenasCharts['chart-ops'].getOption()))")
    slots, labels = option["xAxis"][0]["data"], option["yAxis"][0]["data"]
    shown = {(slots[s], labels[v]): n for s, v, n in ops}
    expected: dict[tuple[str, str], int] = {}
    for t in result["leaderboard"]:
        for i, edge in enumerate(t["architecture"]["edges"]):
            expected[(f"edges[{i}]", edge)] = expected.get((f"edges[{i}]", edge), 0) + 1
    assert shown == expected

    parallel = wait(driver, lambda d: chart_series(d, "chart-parallel"))[0]["data"]
    assert len(parallel) == len({json.dumps(t["architecture"]) for t in trials})
    best = {s["name"]: s for s in wait(driver, lambda d: chart_series(d, "chart-best"))}
    assert len(best["trial"]["data"]) + len(best["infeasible"]["data"]) == len(trials)
    assert {p[2] for p in best["infeasible"]["data"]} == slow
    feasible = [t["metrics"]["val_accuracy"] for t in trials
                if t["metrics"]["latency_ms_pixel3"] <= 20.0]
    assert best["best so far"]["data"][-1][1] == max(feasible)
    assert text(driver, "#chart-curves-note").startswith("No learning curves recorded")
    shot(driver, "experiment-nb201")


def test_learning_curves_and_promotions(driver: WebDriver, local: Dashboard,
                                        runs: Path) -> None:
    _, trials = read(runs, "fake")
    promoted = [t for t in trials if t["parent"] is not None]
    assert promoted, "the fake run made no promotion"
    open_page(driver, local.url + "#/exp/fake", "#chart-curves canvas")
    series = {s["name"]: s for s in wait(driver, lambda d: chart_series(d, "chart-curves"))}
    by_name = {t["name"]: t for t in trials}
    for name, drawn in series.items():
        trial = by_name[name]
        values = [point[1] for point in drawn["data"]]
        if trial["parent"] is None:
            assert values == trial["curve"]
        else:  # drawn from the parent's last point on
            parent = by_name[f"fake-{trial['parent']}"]
            assert values == [parent["curve"][-1], *trial["curve"]]
    shown = driver.execute_script(
        "return [...document.querySelectorAll('#promotions tbody tr')]"
        ".map(tr => [tr.dataset.trial, tr.cells[3].innerText]);")
    assert dict(shown) == {t["name"]: f"fake-{t['parent']}" for t in promoted}
    shot(driver, "experiment-fake")


def test_trial_pages_draw_the_network(driver: WebDriver, local: Dashboard,
                                      runs: Path) -> None:
    result, _ = read(runs, "nb201")
    best = result["bestTrial"]
    open_page(driver, local.url + f"#/exp/nb201/trial/{best['name']}", "#cell .edge")
    drawn = [tuple(e) for e in driver.execute_script(
        "return [...document.querySelectorAll('#cell .edge')].map("
        "g => [Number(g.dataset.from), Number(g.dataset.to), g.dataset.op]);")]
    pairs = [(0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3)]
    assert drawn == [(s, t, op) for (s, t), op in zip(pairs, best["architecture"]["edges"],
                                                        strict=True)]
    assert json.loads(text(driver, "#trial-arch")) == best["architecture"]
    shot(driver, "trial-cell")

    _, trials = read(runs, "fake")
    child = next(t for t in trials if t["parent"] is not None)
    open_page(driver, local.url + f"#/exp/fake/trial/{child['name']}", "#layers .layer")
    layers = texts(driver, "#layers .layer[data-index]")
    assert layers == [f'layer {i + 1} op = "{op}"' for i, op in
                      enumerate(child["architecture"]["op"])]
    assert text(driver, '[data-field="promoted-from"]') == f"fake-{child['parent']}"
    curve = wait(driver, lambda d: chart_series(d, "chart-trial-curve"))[0]["data"]
    assert [p[1] for p in curve] == child["curve"]
    shot(driver, "trial-stack")


def test_api_refuses_bad_queries_and_unknown_names(local: Dashboard) -> None:
    assert requests.get(local.url + "api/trials?id=nb201&sort=bogus", timeout=5) \
        .status_code == 400
    assert requests.get(local.url + "api/overview?id=nope", timeout=5).status_code == 404
    assert requests.get(local.url + "static/../views.py", timeout=5).status_code == 404
    vendored = requests.get(local.url + "static/vendor/echarts.min.js", timeout=5)
    assert vendored.status_code == 200 and "Apache" in vendored.text[:2000]


def test_a_javascript_error_is_caught(driver: WebDriver, local: Dashboard) -> None:
    """The console check above sees real errors (so its passing means something)."""
    open_page(driver, local.url, "#experiments")
    driver.execute_script("setTimeout(() => { throw new Error('planted failure'); }, 0)")
    errors = wait(driver, lambda d: console_errors(d) or None, timeout=5)
    assert any("planted failure" in e for e in errors)


# ---- the cluster ------------------------------------------------------------------------

SPEC = {
    "objective": {"metric": "val_accuracy"},
    "searchSpace": {"family": "macro_cnn", "parameters": [
        {"name": "depth", "int": {"min": 1, "max": 4}},
        {"name": "width", "choice": [16, 32, 48, 64]},
        {"name": "op", "choice": ["conv3x3", "conv5x5", "skip"], "repeat": "depth"}]},
    "strategy": {"name": "random", "seed": 5},
    "budget": {"maxTrials": 6, "maxParallelTrials": 2},
    "training": {"epochs": 3},
    "trialTemplate": {"image": "ghcr.io/kubenas/trainer:test"},
}
ARCHS = [{"depth": 2, "width": 32, "op": ["conv3x3", "skip"]},
         {"depth": 1, "width": 64, "op": ["conv5x5"]},
         {"depth": 3, "width": 16, "op": ["skip", "conv3x3", "conv5x5"]}]


@pytest.fixture
def cluster_experiment(apiserver: ApiServer, ns: str) -> tuple[ApiServer, str]:
    """A NASExperiment with three NASTrials (two done, one running), as the operator
    writes them."""
    api = ApiClient(apiserver.url)
    apply_crds(api, REPO / "crds")
    base = f"/apis/kubenas.io/v1alpha1/namespaces/{ns}"
    exp = api.post(f"{base}/nasexperiments", {
        "apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
        "metadata": {"name": "search"}, "spec": SPEC})
    labels = {"kubenas.io/experiment": "search", "app.kubernetes.io/managed-by": "kubenas"}
    values = [0.91, 0.87, None]
    for i, arch in enumerate(ARCHS):
        api.post(f"{base}/nastrials", {
            "apiVersion": "kubenas.io/v1alpha1", "kind": "NASTrial",
            "metadata": {"name": f"search-{i}", "labels": {**labels,
                                                           "kubenas.io/trial": f"search-{i}"}},
            "spec": {"experiment": "search", "index": i, "family": "macro_cnn",
                     "architecture": arch, "budget": 3, "rung": 0, "seed": i}})
        status: dict[str, Any] = {"phase": "Running", "attempt": 1, "curve": [0.5, 0.7],
                                  "metrics": {"val_accuracy": 0.7},
                                  "startTime": "2026-01-01T00:00:00Z"}
        if values[i] is not None:
            status.update(phase="Succeeded", metrics={"val_accuracy": values[i]},
                          curve=[0.5, 0.8, values[i]], completionTime="2026-01-01T00:01:40Z")
        patch_status(apiserver, f"{base}/nastrials/search-{i}", status)
    best = {"name": "search-0", "budget": 3.0, "architecture": ARCHS[0],
            "metrics": {"val_accuracy": 0.91}}
    patch_status(apiserver, f"{base}/nasexperiments/search", {
        "phase": "Running", "strategy": "random", "progress": "2/6", "bestValue": 0.91,
        "bestTrial": best, "leaderboard": [best],
        "trials": {"total": 3, "pending": 0, "running": 1, "succeeded": 2, "failed": 0,
                   "stopped": 0},
        "observedGeneration": exp["metadata"]["generation"]})
    return apiserver, ns


def patch_status(apiserver: ApiServer, path: str, status: dict[str, Any]) -> None:
    response = requests.patch(f"{apiserver.url}{path}/status", data=json.dumps(
        {"status": status}), headers={"Content-Type": "application/merge-patch+json"},
        timeout=10)
    assert response.status_code == 200, response.text


def test_cluster_experiment_live(driver: WebDriver, cluster_experiment: tuple[ApiServer, str],
                                 kubeconfig: Path) -> None:
    apiserver, ns = cluster_experiment
    dashboard = Dashboard("--cluster", "--kubeconfig", str(kubeconfig), "--namespace", ns)
    try:
        open_page(driver, dashboard.url, "#experiments tbody tr")
        row = {r["key"]: r for r in rows(driver, "#experiments")}[f"{ns}/search"]
        assert (row["phase"], row["bestValue"], row["progress"]) == ("Running", "0.91", "2/6")
        shot(driver, "cluster-experiments")

        open_page(driver, dashboard.url + f"#/exp/{ns}%2Fsearch", "#trials tbody tr")
        table = rows(driver, "#trials")
        shown = [(r["key"], r["phase"], r["value"], json.loads(r["architecture"]))
                 for r in table]
        assert shown == [("search-0", "Succeeded", "0.91", ARCHS[0]),
                         ("search-1", "Succeeded", "0.87", ARCHS[1]),
                         ("search-2", "Running", "0.7", ARCHS[2])]
        assert table[0]["duration"] == "100.0 s" and table[2]["epochs"] == "2"
        curves = {s["name"] for s in wait(driver, lambda d: chart_series(d, "chart-curves"))}
        assert curves == {"search-0", "search-1", "search-2"}

        # The operator finishes trial 2 with the best value: the page follows without a reload.
        base = f"/apis/kubenas.io/v1alpha1/namespaces/{ns}"
        patch_status(apiserver, f"{base}/nastrials/search-2", {
            "phase": "Succeeded", "metrics": {"val_accuracy": 0.95},
            "curve": [0.5, 0.7, 0.95], "completionTime": "2026-01-01T00:02:00Z"})
        patch_status(apiserver, f"{base}/nasexperiments/search", {
            "bestValue": 0.95, "progress": "3/6",
            "bestTrial": {"name": "search-2", "budget": 3.0, "architecture": ARCHS[2],
                          "metrics": {"val_accuracy": 0.95}}})
        wait(driver, lambda d: text(d, "#best-value") == "0.95")
        wait(driver, lambda d: rows(d, "#trials")[2]["phase"] == "Succeeded")
        assert text(driver, "#best-trial") == "search-2"
        shot(driver, "cluster-experiment")

        open_page(driver, dashboard.url + f"#/exp/{ns}%2Fsearch/trial/search-2",
                  "#layers .layer")
        assert texts(driver, "#layers .layer[data-index]") == [
            'layer 1 op = "skip"', 'layer 2 op = "conv3x3"', 'layer 3 op = "conv5x5"']
        assert "width = 16" in text(driver, "#settings")
    finally:
        driver.get("about:blank")  # stop polling before the server goes
        dashboard.stop()


def test_dashboard_reads_the_cluster_through_kubeconfig_only(
        cluster_experiment: tuple[ApiServer, str], kubeconfig: Path) -> None:
    """The JSON API gives the same rows as the page, from the NASTrials themselves."""
    _, ns = cluster_experiment
    dashboard = Dashboard("--cluster", "--kubeconfig", str(kubeconfig), "-n", ns)
    try:
        page = dashboard.api("trials", id=f"{ns}/search", sort="value", order="desc")
        assert [r["name"] for r in page["rows"]] == ["search-0", "search-1", "search-2"]
        assert page["rows"][2]["phase"] == "Running" and page["rows"][2]["epochs"] == 2
    finally:
        dashboard.stop()


def test_a_running_local_search_is_followed_live(driver: WebDriver, tmp_path: Path) -> None:
    """While `kubenas run` holds the folder the page shows Running, trials' epochs as they
    come, and then the finished result, without a reload."""
    manifest = {"apiVersion": "kubenas.io/v1alpha1", "kind": "NASExperiment",
                "metadata": {"name": "live"}, "spec": {
                    "objective": {"metric": "val_accuracy"},
                    "searchSpace": {"family": "fake", "parameters": [
                        {"name": "depth", "int": {"min": 1, "max": 3}},
                        {"name": "op", "choice": ["a", "b"], "repeat": "depth"}]},
                    "strategy": {"name": "random", "seed": 2},
                    "budget": {"maxTrials": 3, "maxParallelTrials": 1},
                    "training": {"epochs": 4},
                    "trialTemplate": {"command": [sys.executable, str(FAKE)],
                                      "env": [{"name": "FAKE_EPOCH_S", "value": "0.6"}]}}}
    (tmp_path / "live.yaml").write_text(yaml.safe_dump(manifest))
    out = tmp_path / "live"
    run = subprocess.Popen([sys.executable, "-m", "kubenas", "run", str(tmp_path / "live.yaml"),
                            "--out", str(out), "--plain"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
    dashboard = None
    try:
        wait(driver, lambda d: (out / "experiment.json").exists() and
             (out / "trials.jsonl").exists(), timeout=30)
        dashboard = Dashboard("--runs", str(out))
        open_page(driver, dashboard.url + "#/exp/live", "#trials tbody tr")
        assert text(driver, '[data-field="phase"]') == "Running"
        wait(driver, lambda d: any(r["phase"] == "Running" and int(r["epochs"]) >= 1
                                   for r in rows(d, "#trials")), timeout=30)
        shot(driver, "live-running")
        assert run.wait(timeout=120) == 0, run.stderr.read() if run.stderr else ""
        result = json.loads((out / "result.json").read_text())
        wait(driver, lambda d: text(d, '[data-field="phase"]') == "Succeeded", timeout=15)
        assert text(driver, "#best-value") == fmt(result["bestValue"])
        assert [r["phase"] for r in rows(driver, "#trials")] == ["Succeeded"] * 3
    finally:
        if run.poll() is None:
            run.terminate()
            run.wait(timeout=30)
        driver.get("about:blank")
        if dashboard is not None:
            dashboard.stop()


def test_three_objectives_choose_the_pareto_axes(driver: WebDriver, tmp_path: Path) -> None:
    manifest = yaml.safe_load((REPO / "benchmarks" / "nb201" / "multi-objective.yaml")
                              .read_text())
    spec = manifest["spec"]
    spec["budget"].update(maxTrials=30, maxDuration=40000)
    spec["tabular"]["table"] = str(NB201)
    spec["tabular"]["staticMetrics"]["params_m"] = "params_m"
    spec["objective"]["additional"].append({"metric": "params_m", "direction": "minimize"})
    (tmp_path / "three.yaml").write_text(yaml.safe_dump(manifest))
    kubenas("run", str(tmp_path / "three.yaml"), "--out", str(tmp_path / "three"))
    result = json.loads((tmp_path / "three" / "result.json").read_text())
    trials = {t["name"]: t for t in map(json.loads, (tmp_path / "three" / "trials.jsonl")
                                        .read_text().splitlines())}
    dashboard = Dashboard("--runs", str(tmp_path / "three"))
    try:
        open_page(driver, dashboard.url + "#/exp/three", "#chart-pareto canvas")
        front = {p["name"]: p["value"] for p in wait(
            driver, lambda d: chart_series(d, "chart-pareto"))[2]["data"]}
        assert set(front) == {t["name"] for t in result["paretoFront"]}
        name = next(iter(front))
        metrics = trials[name]["metrics"]
        assert front[name] == [metrics["val_accuracy"], metrics["latency_ms_pixel3"]]
        Select(driver.find_element(By.ID, "pareto-y")).select_by_visible_text("params_m")
        moved = wait(driver, lambda d: {p["name"]: p["value"] for p in chart_series(
            d, "chart-pareto")[2]["data"]}.get(name) == [metrics["val_accuracy"],
                                                          metrics["params_m"]])
        assert moved
        shot(driver, "pareto-three-objectives")
    finally:
        driver.get("about:blank")
        dashboard.stop()


def test_a_one_shot_search_shows_its_operation_weights(driver: WebDriver,
                                                        tmp_path: Path) -> None:
    """The one-shot example with the real trainer at a tiny budget: the heatmap holds
    result.json's oneShot weights, outlines the derived ops, and lists the candidates."""
    manifest = yaml.safe_load((REPO / "examples" / "oneshot-digits.yaml").read_text())
    manifest["spec"]["strategy"]["settings"] = {"supernetEpochs": 1, "retrain": 2}
    manifest["spec"]["training"]["epochs"] = 1
    (tmp_path / "oneshot.yaml").write_text(yaml.safe_dump(manifest))
    kubenas("run", str(tmp_path / "oneshot.yaml"), "--out", str(tmp_path / "oneshot"),
            "--plain")
    shot_status = json.loads((tmp_path / "oneshot" / "result.json").read_text())["oneShot"]
    dashboard = Dashboard("--runs", str(tmp_path / "oneshot"))
    try:
        open_page(driver, dashboard.url + "#/exp/oneshot", "#chart-oneshot canvas")
        cells = wait(driver, lambda d: chart_series(d, "chart-oneshot"))[0]["data"]
        drawn = {(s, o): w for s, o, w in (c["value"] for c in cells)}
        weights = shot_status["weights"]["edges"]
        assert drawn == {(s, o): w for s, row in enumerate(weights) for o, w in enumerate(row)}
        ops = manifest["spec"]["searchSpace"]["parameters"][0]["choice"]
        outlined = sorted((s, ops[o]) for s, o, _ in
                          (c["value"] for c in cells if "itemStyle" in c))
        assert outlined == list(enumerate(shot_status["architecture"]["edges"]))
        table = wait(driver, lambda d: rows(d, "#oneshot-candidates") or None)
        assert [r["trial"] for r in table] == [c["trial"] for c in shot_status["candidates"]]
        assert [r["value"] for r in table] == [fmt(c["value"])
                                               for c in shot_status["candidates"]]
        assert [json.loads(r["architecture"]) for r in table] == \
            [c["architecture"]["edges"] for c in shot_status["candidates"]]
        shot(driver, "one-shot-weights", at="#chart-oneshot-card")
    finally:
        driver.get("about:blank")
        dashboard.stop()
