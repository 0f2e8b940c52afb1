"""The set-up the README promises: the supported Pythons, stated once, are the ones the pins admit.

``pyproject.toml``'s ``requires-python`` is the one statement of the supported Pythons; the
Makefile checks it before creating ``.venv`` and the README repeats it. ``constraints.txt`` pins
the build environment that ``make`` installs, so every pinned distribution must admit the lowest
stated Python, or ``make serve`` fails there (numpy 2.4 and ipython 9 dropped 3.10; two pins need
3.11.5). The pinned versions are read from the installed distributions' metadata.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
TORCH_INDEX = "https://download.pytorch.org/whl/cpu"


def requires_python() -> SpecifierSet:
    return SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])


def lowest_python() -> Version:
    """The lowest Python that ``requires-python`` admits: its ``>=`` bound."""
    lows = [Version(s.version) for s in requires_python() if s.operator == ">="]
    assert len(lows) == 1, f"requires-python should have one lower bound: {requires_python()}"
    return lows[0]


def pins() -> list[Requirement]:
    """The pins of ``constraints.txt`` that apply to this platform."""
    out = []
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate():
                out.append(req)
    return out


def test_every_pin_admits_the_lowest_stated_python():
    low = lowest_python()
    assert low in requires_python()
    refused, missing, other = [], [], []
    for req in pins():
        try:
            dist = importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(req.name)
            continue
        if not req.specifier.contains(dist.version, prereleases=True):
            other.append(f"{req.name} {dist.version} (pinned {req.specifier})")
        spec = dist.metadata.get("Requires-Python")
        if spec and not SpecifierSet(spec).contains(low, prereleases=True):
            refused.append(f"{req.name}=={dist.version} requires Python {spec}")
    assert not missing, f"pinned in constraints.txt but not installed by make (drop the pins): {missing}"
    assert not other, f"this environment is not the pinned one (run make again): {other}"
    assert not refused, (f"pyproject.toml says Python {requires_python()}, but these pins refuse "
                         f"Python {low}: {refused}")


def test_the_pins_are_exact_and_cover_torch():
    reqs = pins()
    assert all(len(r.specifier) == 1 and next(iter(r.specifier)).operator == "==" for r in reqs)
    names = {r.name.lower() for r in reqs}
    for name in ("torch", "numpy", "matplotlib", "mkdocs", "setuptools"):
        assert name in names, f"constraints.txt pins no {name}"


def test_readme_states_the_same_range():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    stated = set(re.findall(r"Python ≥ ?([0-9][0-9.]*[0-9])", readme))
    assert stated == {str(lowest_python())}, f"README states Python ≥ {stated}, pyproject {requires_python()}"


def test_workflows_use_a_supported_python():
    for wf in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for version in re.findall(r'python-version:\s*"([0-9.]+)"', wf.read_text()):
            # setup-python gives the newest release of a series, so "3.11" means 3.11.x, x latest
            series = Version(version)
            low = lowest_python()
            assert (series.major, series.minor) >= (low.major, low.minor), f"{wf.name}: Python {version}"


def test_make_installs_torch_from_pytorchs_cpu_index_with_a_short_timeout():
    """The install step names PyTorch's CPU index for torch only, and bounds the wait for it."""
    out = subprocess.run(["make", "-n", "-B", "VENV=/nonexistent", "/nonexistent/.installed"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    installs = [line for line in out.splitlines() if " pip install " in line and "constraints.txt" in line]
    assert len(installs) == 2, out
    torch_step, rest = installs
    assert re.search(r"--no-deps -c constraints\.txt torch\b", torch_step)
    assert f"--extra-index-url {TORCH_INDEX}" in torch_step
    assert re.search(r"--timeout \d+\b", torch_step) and re.search(r"--retries [01]\b", torch_step)
    assert TORCH_INDEX not in rest and "-e '.[docs,test]'" in rest


# ---------------------------------------------------------------------------
# The published site's addresses (mkdocs.yml, .github/workflows/deploy.yml)
# ---------------------------------------------------------------------------


def _mkdocs_yml(monkeypatch, **env) -> dict:
    import mkdocs.utils

    for name in ("SITE_URL", "REPO_URL", "EDIT_URI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with open(ROOT / "mkdocs.yml", encoding="utf-8") as f:
        return mkdocs.utils.yaml_load(f)


def test_site_addresses_come_from_the_deploy_environment(monkeypatch):
    local = _mkdocs_yml(monkeypatch)
    assert local["site_url"] == "http://127.0.0.1:8000/"  # what `make serve` serves
    assert local["repo_url"] is None and local["edit_uri"] is None
    deployed = _mkdocs_yml(monkeypatch, SITE_URL="https://o.github.io/r/", REPO_URL="https://github.com/o/r",
                           EDIT_URI="edit/main/docs/")
    assert (deployed["site_url"], deployed["repo_url"], deployed["edit_uri"]) == (
        "https://o.github.io/r/", "https://github.com/o/r", "edit/main/docs/")
    assert "content.action.edit" in deployed["theme"]["features"]
    workflow = (ROOT / ".github" / "workflows" / "deploy.yml").read_text()
    for name in ("SITE_URL", "REPO_URL", "EDIT_URI"):
        assert re.search(rf"^\s+{name}: \S", workflow, re.M), f"deploy.yml does not set {name}"


def test_no_placeholder_domain_in_the_built_site(site):
    found = []
    for f in sorted(site.rglob("*")):
        if f.is_file() and f.suffix in (".html", ".xml", ".js", ".json", ".css", ".txt", ".ipynb"):
            text = f.read_text(encoding="utf-8", errors="replace")
            found += [f"{f.relative_to(site)}: {m}" for m in re.findall(r"[\w.-]*example\.(?:org|com)\b", text)]
    assert not found, f"placeholder domains in the built site: {found[:10]}"
