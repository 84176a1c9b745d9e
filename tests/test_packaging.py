"""The project's own files: dependencies in step, the README's two commands, CI running them."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"h3-py": "h3", "redis-py": "redis", "pyosmium": "osmium"}  # conda-forge name -> PyPI name


def _name_and_bound(spec: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", spec)
    assert match, spec
    return match.group(1).lower(), match.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return dict(_name_and_bound(s) for s in specs)


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    out = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and not dep.startswith(("python", "pip")):
            name, bound = _name_and_bound(dep)
            out[CONDA_NAMES.get(name, name)] = bound
    return out


def test_environment_yml_lists_the_same_packages_and_bounds_as_pyproject():
    assert _conda_requirements() == _pyproject_requirements()


def test_every_dependency_has_a_lower_bound():
    unbounded = [name for name, bound in _pyproject_requirements().items() if ">=" not in bound]
    assert unbounded == []


def test_the_required_libraries_are_declared():
    declared = set(_pyproject_requirements())
    for lib in ("geopandas", "shapely", "pyproj", "pydeck", "ifcopenshell", "h3", "dash", "xarray", "sqlalchemy",
                "alembic", "psycopg", "huey"):
        assert lib in declared, lib


def test_readme_quick_start_is_the_two_make_commands():
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^\s*(make \w+)\s*$", quick, flags=re.MULTILINE)
    assert commands == ["make demo", "make test"]


def test_ci_runs_make_test():
    script = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", script, flags=re.MULTILINE)


def test_the_layout_has_every_part():
    for part in ("twin", "bim", "cim", "layers", "views", "bench", "data", "notebooks", "tests", "app.py",
                 "environment.yml", "pyproject.toml", "README.md", "Makefile", ".ci/run"):
        assert (ROOT / part).exists(), part
