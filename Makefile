# Two commands set everything up (see README): `make serve` and `make test`.
# Both create or update the virtual environment in .venv from the pinned
# constraints; when nothing changed that step is a no-op.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

# constraints.txt pins the CPU build of torch, which PyTorch's own index serves (PyPI's
# torch for Linux is the much larger CUDA build). Only torch itself is looked up there
# (--no-deps; the next step brings its dependencies from PyPI), with a short timeout and one
# retry: where that index cannot be reached but pip finds the wheel elsewhere (a wheel folder
# in pip's configuration), the set-up goes on after a warning, at most about 20 s later
# (pip's default is 15 s and 5 retries with back-off for each package looked up).
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_PIP   := --extra-index-url $(TORCH_INDEX) --timeout 10 --retries 1

# The supported Pythons are stated once, in pyproject.toml (requires-python); this stops
# early, with a useful message, on an older one.
define CHECK_PYTHON
import re, sys
low = re.search(r'requires-python = ">=([0-9.]+)"', open("pyproject.toml").read()).group(1)
if sys.version_info < tuple(map(int, low.split("."))):
    sys.exit(f"gdbook needs Python >= {low} (pyproject.toml), and {sys.executable} is "
             f"{sys.version.split()[0]}: run make with PYTHON=<a newer python3>.")
endef
export CHECK_PYTHON

# Lighthouse and axe-core (tools/pages/package-lock.json), for the accessibility test and
# `make bench-pages`; installed with npm where npm exists (the test skips without them, except
# under CI=true).
NODE_STAMP := tools/pages/node_modules/.installed
# Lighthouse runs per page in `make bench-pages`; the table reports the median run.
LH_RUNS ?= 3

.PHONY: serve build test test-fast bench bench-pages pdf mutate clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -c "$$CHECK_PYTHON"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-deps -c constraints.txt torch $(TORCH_PIP)
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[docs,test]'
	touch $(STAMP)

$(NODE_STAMP): tools/pages/package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --prefix tools/pages --no-audit --no-fund --loglevel=error && touch $(NODE_STAMP); \
	else echo "npm not found: the accessibility test will be skipped (CI=true makes it fail)"; fi

# --dirty rebuilds only the edited page; MkDocs warns about every dirty build, so the
# preview is not strict (make build and make test are).
serve: $(STAMP)  ## serve the book with live reload at http://127.0.0.1:8000
	$(BIN)/mkdocs serve --dirty --no-strict -a 127.0.0.1:$(PORT)

build: $(STAMP)  ## build the static site into site/
	$(BIN)/mkdocs build --strict -d site

test: $(STAMP) $(NODE_STAMP)  ## the whole test suite: unit, doctests, build, parity, determinism, browser
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## unit tests and doctests only
	$(BIN)/python -m pytest -m "not build and not browser"

bench: $(STAMP)  ## build-performance benchmark (see README)
	$(BIN)/python tools/bench_build.py

bench-pages: $(STAMP) $(NODE_STAMP) build  ## Lighthouse and axe-core on every page of the built site
	$(BIN)/python tools/bench_pages.py --site site --runs $(LH_RUNS) --out bench/pages.json

pdf: $(STAMP)  ## the PDF editions of the built site: site/downloads/gdbook-{en,zh}.pdf
	test -f site/zh/index.html || $(MAKE) build
	$(BIN)/python tools/pdf.py --site site

mutate: $(STAMP)  ## mutation-testing benchmark of gdbook's mathematics (bench/mutation.json)
	$(BIN)/python tools/mutate.py

clean:
	rm -rf site .pytest_cache
