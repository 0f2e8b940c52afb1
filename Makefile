# Two commands set everything up (see README): `make serve` and `make test`.
# Both create or update the virtual environment in .venv from the pinned
# constraints; when nothing changed that step is a no-op.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: serve build test test-fast bench clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[docs,test]'
	touch $(STAMP)

# --dirty rebuilds only the edited page; MkDocs warns about every dirty build, so the
# preview is not strict (make build and make test are).
serve: $(STAMP)  ## serve the book with live reload at http://127.0.0.1:8000
	$(BIN)/mkdocs serve --dirty --no-strict -a 127.0.0.1:$(PORT)

build: $(STAMP)  ## build the static site into site/
	$(BIN)/mkdocs build --strict -d site

test: $(STAMP)  ## the whole test suite: unit, doctests, build, parity, determinism, browser
	$(BIN)/python -m pytest

test-fast: $(STAMP)  ## unit tests and doctests only
	$(BIN)/python -m pytest -m "not build and not browser"

bench: $(STAMP)  ## build-performance benchmark (see README)
	$(BIN)/python tools/bench_build.py

clean:
	rm -rf site .pytest_cache
