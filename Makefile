# One obvious command for each job. The README's two set-up commands do the same from scratch.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup serve test lint bench
setup:
	python3 -m venv $(VENV) && $(VENV)/bin/pip install -e '.[test]'
serve:
	$(VENV)/bin/souverain serve
test:
	$(VENV)/bin/pytest
lint:
	$(VENV)/bin/ruff check src tests bench && $(VENV)/bin/ruff format --check src tests bench && $(VENV)/bin/mypy
bench:
	$(PY) bench/gateway_bench.py
