# The two commands of the README: `make demo` (the sandbox main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# checkov pins an older boto3 than envctl does, so it gets a virtual environment of its own.
CHECKOV_VERSION := 3.3.30
CHECKOV := .venv-checkov/installed-$(CHECKOV_VERSION)

.PHONY: demo test check clean

$(BIN)/envctl: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet 'checkov==$(CHECKOV_VERSION)'
	touch $@

demo: $(BIN)/envctl
	$(BIN)/envctl --project examples demo

# Much of the suite's time is the AWS provider waiting on moto (volume attachments), so four
# workers overlap those waits even on two cores. Each test file stays on one worker.
test: $(BIN)/envctl $(CHECKOV)
	$(BIN)/pytest -q -n 4 --dist loadfile

check: $(BIN)/envctl
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .venv-checkov cdktf.out examples/cdktf.out examples/.envctl
