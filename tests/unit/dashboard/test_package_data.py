"""A non-editable install ships the dashboard's page and its vendored chart library."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
STATIC = REPO / "operator" / "kubenas" / "dashboard" / "static"
pytestmark = pytest.mark.slow


def test_the_wheel_holds_every_static_file(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                           "--no-build-isolation", "--quiet", "-w", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("kubenas-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"kubenas/dashboard/static/{p.relative_to(STATIC).as_posix()}"
                for p in STATIC.rglob("*") if p.is_file()}
    assert {"kubenas/dashboard/static/vendor/echarts.min.js",
            "kubenas/dashboard/static/vendor/echarts-LICENSE.txt"} <= expected
    assert expected <= names
