# Two commands do everything on a fresh Debian machine (root):
#   make run   — set up, then run the main job (conformance suite against the embedded simulator,
#                reports written to reports/)
#   make test  — set up, then ruff, the import contracts (lint-imports), mypy --strict on
#                harness/, and the project's tests
.PHONY: setup run test lint typecheck pytest bench clean

VENV := .venv/bin
PYTEST_ARGS ?=

setup:
	@bash scripts/setup

run: setup
	$(VENV)/smartpbx-harness run --reports reports

lint: setup
	$(VENV)/ruff check harness tests benchmarks scripts conftest.py
	$(VENV)/ruff format --check harness tests benchmarks scripts conftest.py
	# DESIGN.md's package rules as contracts (pyproject.toml [tool.importlinter]); no cache
	# directory: the whole graph takes well under a second.
	$(VENV)/lint-imports --no-cache --no-logo

typecheck: setup
	$(VENV)/mypy harness

pytest: setup
	# the 25 slowest tests at the end of the output: where CI time goes
	$(VENV)/python -m pytest --durations=25 $(PYTEST_ARGS)

test: lint typecheck pytest

bench: setup
	$(VENV)/python benchmarks/run_all.py

clean:
	rm -rf .venv node_modules .mypy_cache .ruff_cache .pytest_cache .hypothesis
