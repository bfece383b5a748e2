"""Every third-party module the code imports is declared in the install profile that runs it.

A profile is one way the project is installed: the base package, the operator image
(`.[operator]`), the trainer image (trainer_image/requirements.txt on a torch base image)
and `kubenas[trainer]`. Each covers some source folders; every `import` there (lazy ones
inside functions too) must resolve to the standard library, the project's own packages or a
distribution the profile declares. Run by `make lint`; exits 1 listing each gap with the file
that imports it.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"kubenas", "kubenas_trainer"}
TRAINER_BASE_IMAGE = {"torch"}  # the pytorch/pytorch base image provides it


@dataclass(frozen=True)
class Profile:
    name: str
    sources: tuple[Path, ...]
    excluded: tuple[Path, ...]
    declared: frozenset[str]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(line: str) -> str:
    return normalise(re.split(r"[\s<>=!~\[;@]", line.strip(), maxsplit=1)[0])


def profiles(root: Path, pyproject: Path) -> list[Profile]:
    project = tomllib.loads(pyproject.read_text())["project"]
    base = {requirement_name(r) for r in project["dependencies"]}
    extras = {k: {requirement_name(r) for r in v}
              for k, v in project.get("optional-dependencies", {}).items()}
    image = {requirement_name(line) for line in
             (root / "trainer_image" / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    kubenas, operator = root / "operator" / "kubenas", root / "operator" / "kubenas" / \
        "backends" / "kubernetes"
    trainer = root / "trainer_image" / "kubenas_trainer"
    cluster_reader = kubenas / "dashboard" / "cluster.py"  # `kubenas dashboard --cluster`
    return [
        Profile("kubenas (base dependencies)", (kubenas,), (operator, cluster_reader),
                frozenset(base)),
        Profile("the operator image (.[operator])", (operator, cluster_reader), (),
                frozenset(base | extras.get("operator", set()))),
        Profile("the trainer image (trainer_image/requirements.txt)", (trainer,), (),
                frozenset(image | TRAINER_BASE_IMAGE)),
        Profile("kubenas[trainer]", (trainer,), (),
                frozenset(base | extras.get("trainer", set()))),
    ]


def imports(path: Path) -> Iterator[str]:
    """Top-level names of absolute imports in a file, lazy ones included."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def problems(root: Path, pyproject: Path) -> list[str]:
    owners = {module: {normalise(d) for d in dists}
              for module, dists in packages_distributions().items()}
    found = []
    for profile in profiles(root, pyproject):
        files = [f for source in profile.sources
                 for f in (sorted(source.rglob("*.py")) if source.is_dir() else [source])
                 if not any(f.is_relative_to(x) for x in profile.excluded)]
        for file in files:
            for module in sorted(set(imports(file))):
                if module in sys.stdlib_module_names or module in OWN:
                    continue
                dists = owners.get(module)
                where = file.relative_to(root)
                if dists is None:
                    found.append(f"{where}: imports {module}, which is not installed here, so "
                                 "its distribution cannot be checked")
                elif not dists & profile.declared:
                    found.append(f"{where}: imports {module} ({', '.join(sorted(dists))}), "
                                 f"which {profile.name} does not declare")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    args = parser.parse_args(argv)
    found = problems(ROOT, args.pyproject)
    for line in found:
        print(line, file=sys.stderr)
    if not found:
        print("every import is declared in its install profile")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
