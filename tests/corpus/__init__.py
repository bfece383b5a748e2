"""Manifest corpora: malformed ones every validator refuses, accepted ones every validator takes.

Each file's first line says what it shows: `# expect: <field path>` (or `(file)` for a file
that is not readable YAML), or `# accepted: <what>`. A `# kubectl-accepts: <why>` line marks
the few files whose problem kubectl hides before any server sees it.
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
MALFORMED = sorted((HERE / "malformed").glob("*.yaml"))
ACCEPTED = sorted((HERE / "accepted").glob("*.yaml"))


def header(path: Path, key: str) -> str | None:
    """The value of a `# key: value` line at the top of a corpus file."""
    for line in path.read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff").splitlines():
        if not line.startswith("#"):
            break
        if line.startswith(f"# {key}: "):
            return line.removeprefix(f"# {key}: ").strip()
    return None


def expected_field(path: Path) -> str:
    field = header(path, "expect")
    assert field is not None, f"{path.name} lacks its '# expect:' line"
    return "" if field == "(file)" else field
