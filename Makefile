# One entry point for everything. `make demo` sets up a fresh machine and grades the bundled
# example submissions; `make test` runs the whole test suite (what CI runs).
PYTHON ?= python3
VENV ?= .venv
# CPU wheel by default; GPU users: make TORCH_SPEC='torch==2.13.0' TORCH_INDEX=<your CUDA index> setup
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
PYTEST_WORKERS ?= 2
BIN := $(VENV)/bin

.PHONY: setup demo test check lint typecheck templates verify clean gpu-wheels gpu-check

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX))
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

# Grade the reference, the stub and every bug-zoo entry of each assignment; print the score table.
demo: setup
	$(BIN)/autograder verify

# The whole suite: lint, types, templates in sync, then pytest (exit code 5, "no tests", is a failure).
test: setup check
	@$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=15; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

check: lint typecheck templates

lint: setup
	$(BIN)/ruff check autograder tests assignments solutions

typecheck: setup
	$(BIN)/mypy

templates: setup
	$(BIN)/autograder build-templates --check

verify: demo

# The CUDA path on a real GPU (README "GPU"). On a machine with internet:
#   make gpu-wheels WHEELS=dir [GPU_PYTHON_VERSION=3.12] [GPU_GLIBC=2.28]
# then copy the project and dir to the GPU machine (its own CUDA torch, no internet needed) and run
#   make gpu-check WHEELS=dir [GPU_CHECK_OUT=gpu-check-report] [GPU_PYTHON=python3]
WHEELS ?= gpu-wheels
GPU_PYTHON_VERSION ?= 3.12
GPU_GLIBC ?= 2.28
GPU_CHECK_OUT ?= gpu-check-report
GPU_PYTHON ?= python3

gpu-wheels:
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -m autograder.gpu_check wheels $(WHEELS) --python-version $(GPU_PYTHON_VERSION) --glibc $(GPU_GLIBC)

gpu-check:
	GPU_PYTHON=$(GPU_PYTHON) scripts/gpu_check.sh $(WHEELS) $(GPU_CHECK_OUT)

clean:
	rm -rf $(VENV) build *.egg-info
