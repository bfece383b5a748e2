"""How long the dashboard takes to answer for a 2,000-trial run.

Runs a 2,000-trial random search on the NAS-Bench-201 table (a tabular run: seconds), serves
its run folder with `kubenas dashboard`'s server in this process (which, like `kubenas
dashboard`, reads the folder before it serves: timed on its own), and times each request the
page makes: the page and its scripts, the experiments list, the experiment's charts, the
first page of trials (sorted by value) and one trial; the first time (cold) and the median
of five more (the server reuses an unchanged experiment's charts). Then it opens the
experiment page in headless Chromium (Debian's, through Selenium) and times it until the
trials table and every chart are drawn, cold and again. Prints the times and writes
benchmarks/results/dashboard.json.

    PYTHONPATH=operator python benchmarks/dashboard_load.py [--trials 2000] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import threading
import time
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import yaml
from kubenas.api.parse import parse
from kubenas.backends.tabular.simulate import run_manifest
from kubenas.dashboard.local import LocalRuns
from kubenas.dashboard.server import make_server
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO.parent / "shared" / "benchmarks" / "nas-bench-201" / "cifar10.csv"
REPEATS = 5
# What the experiment page shows once it has drawn: the table's rows and every chart a
# tabular run has (it records no learning curves).
DRAWN = ("#trials tbody tr", "#chart-best canvas", "#chart-parallel canvas",
         "#chart-ops canvas")


def make_run(folder: Path, trials: int) -> None:
    manifest = yaml.safe_load((REPO / "benchmarks" / "nb201" / "experiment.yaml").read_text())
    spec = manifest["spec"]
    spec["strategy"] = {"name": "random", "seed": 1}
    spec["budget"].update(maxTrials=trials, maxDuration=10**9)
    spec["tabular"]["table"] = str(TABLE)
    run_manifest(parse(manifest), folder)


def timed(url: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=60) as response:
        size = len(response.read())
    return time.perf_counter() - start, size


def serve(run: Path) -> tuple[ThreadingHTTPServer, str, float]:
    """A dashboard server of its own, so that each measurement starts cold: it has read the
    folder, as `kubenas dashboard` does before it serves, and built no answer. Also returns
    the seconds that read took."""
    start = time.perf_counter()
    source = LocalRuns(run)
    source.check()
    read_s = time.perf_counter() - start
    server = make_server(source, "127.0.0.1", 0, 3.0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/", read_s


def browser_open_s(url: str) -> list[float]:
    """Seconds from navigating to `url` until everything in DRAWN is on the page: cold (a
    running browser, an empty HTTP cache and a server that has built no answer yet), then
    REPEATS more."""
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1800"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"),
                              options=options)
    times = []
    try:
        driver.get("data:text/html,<p>ready</p>")  # the browser's own start is not the page's
        for _ in range(1 + REPEATS):
            driver.get("about:blank")
            start = time.perf_counter()
            driver.get(url)
            WebDriverWait(driver, 60, poll_frequency=0.02).until(
                lambda d: all(d.find_elements("css selector", q) for q in DRAWN))
            times.append(time.perf_counter() - start)
    finally:
        driver.quit()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / "nb201"
        make_run(run, args.trials)
        server, base, read_s = serve(run)
        best = json.loads((run / "result.json").read_text())["bestTrial"]["name"]
        requests = {
            "page (index.html, app.js, app.css, echarts.min.js)": [
                base, base + "static/app.js", base + "static/app.css",
                base + "static/vendor/echarts.min.js"],
            "experiments": [base + "api/experiments?"],
            "overview (every chart)": [base + "api/overview?id=nb201"],
            "trials page 1 of 25, by value": [
                base + "api/trials?id=nb201&sort=value&order=desc&size=25"],
            "one trial": [base + f"api/trial?id=nb201&name={best}"],
        }
        rows = []
        for what, urls in requests.items():
            runs = []
            for _ in range(1 + REPEATS):  # the first is cold: nothing read or built yet
                results = [timed(u) for u in urls]
                runs.append((sum(t for t, _ in results), sum(n for _, n in results)))
            again = [t for t, _ in runs[1:]]
            rows.append({"request": what, "first_s": round(runs[0][0], 4),
                         "median_s": round(statistics.median(again), 4),
                         "max_s": round(max(again), 4), "bytes": runs[0][1]})
        server.shutdown()
        server, base, _ = serve(run)
        opened = browser_open_s(base + "#/exp/nb201")
        server.shutdown()
    # What the page needs before it has drawn the experiment page once, cold.
    first_view = sum(r["first_s"] for r in rows if not r["request"].startswith("one"))
    report = {"trials": args.trials, "repeats": REPEATS, "server_read_s": round(read_s, 4),
              "requests": rows,
              "experiment_page_s": round(first_view, 4),
              "browser_open_first_s": round(opened[0], 4),
              "browser_open_median_s": round(statistics.median(opened[1:]), 4)}
    print(f"server start, reading the run folder: {read_s:.3f} s")
    for r in rows:
        print(f"{r['request']:<55} {r['first_s'] * 1000:8.1f} ms first, "
              f"{r['median_s'] * 1000:8.1f} ms median after ({r['max_s'] * 1000:.1f} max), "
              f"{r['bytes'] / 1024:.0f} KiB")
    print(f"experiment page, all requests, cold: {first_view:.3f} s for {args.trials} trials")
    print(f"experiment page drawn in Chromium: {opened[0]:.3f} s cold, "
          f"{statistics.median(opened[1:]):.3f} s median after")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dashboard.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
