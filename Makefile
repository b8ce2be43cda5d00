# The two commands of the README: `make demo` (the sandbox main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test check clean

$(BIN)/envctl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/envctl
	$(BIN)/envctl --project examples demo

test: $(BIN)/envctl
	$(BIN)/pytest -q

check: $(BIN)/envctl
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) cdktf.out examples/cdktf.out examples/.envctl
