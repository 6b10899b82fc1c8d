# One entry point for everything. `make demo` sets up a fresh machine and grades the bundled
# example submissions; `make test` runs the whole test suite (what CI runs).
PYTHON ?= python3
VENV ?= .venv
# torch comes from PyTorch's CPU index by default (the CPU wheel; PyPI's Linux torch is the CUDA
# build, about 2.5 GB with its nvidia packages). Where that index cannot be reached within 5 s,
# setup says so and takes torch from the default index instead. GPU users pick their build:
#   make setup TORCH_INDEX=https://download.pytorch.org/whl/cu126   (or TORCH_INDEX= for PyPI's default)
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
PYTEST_WORKERS ?= 2
BIN := $(VENV)/bin

.PHONY: setup demo test check lint typecheck templates verify bench mutants clean gpu-wheels gpu-check

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@if [ -n "$(TORCH_INDEX)" ] && $(BIN)/python -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
	    "$(TORCH_INDEX)/torch/" >/dev/null 2>&1; then \
	    echo "setup: $(TORCH_SPEC) from $(TORCH_INDEX)"; \
	    $(BIN)/pip install -q "$(TORCH_SPEC)" --index-url "$(TORCH_INDEX)"; \
	else \
	    echo "setup: $(if $(TORCH_INDEX),$(TORCH_INDEX) not reachable: ,)$(TORCH_SPEC) from the default index"; \
	    $(BIN)/pip install -q "$(TORCH_SPEC)"; \
	fi
	$(BIN)/pip install -q -e ".[dev,nbgrader,otter,mutants]"
	touch $@

# Grade a few example submissions per assignment (examples/demo.toml) with grade-batch; print the
# score table and where each batch's gradebook.csv and summary.html are (examples-out/).
demo: setup
	$(BIN)/python examples/demo.py

# The whole suite: lint, types, templates in sync, then pytest (exit code 5, "no tests", is a failure).
test: setup check
	@$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --durations=15; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

check: lint typecheck templates

lint: setup
	$(BIN)/ruff check autograder tests assignments solutions examples

typecheck: setup
	$(BIN)/mypy

templates: setup
	$(BIN)/autograder build-templates --check

# The full self-check: reference 100, stub 0, every bug-zoo entry caught (about 20 minutes on 2 cores).
verify: setup
	$(BIN)/autograder verify

# Grading speed (README "Grading speed"): per assignment, median wall and CPU time of the reference and
# of its slowest bug-zoo entry, on this machine and under a Gradescope-like budget (one CPU at 50%,
# 768 MB; cgroups, so run as root). About an hour with the default 3 repeats on 2 cores:
#   make bench BENCH_ARGS="--repeats 1 optim"      (fewer, or some assignments)
BENCH_ARGS ?=
bench: setup
	$(BIN)/autograder bench $(BENCH_ARGS)

# Every mutant of every assignment's reference, graded (hours on 2 cores; CI grades a fixed sample).
# Reports in mutants-out/<a>/mutants.json and mutants.html; a rerun regrades only what changed.
MUTANTS_WORKERS ?= 2
mutants: setup
	@for a in $$($(BIN)/python -c 'from autograder import assignment; print(*assignment.names())'); do \
	    $(BIN)/autograder mutants $$a --workers $(MUTANTS_WORKERS) --out mutants-out/$$a || exit 1; \
	done

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
	$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) -m autograder.authoring.gpu_check wheels $(WHEELS) --python-version $(GPU_PYTHON_VERSION) --glibc $(GPU_GLIBC)

gpu-check:
	GPU_PYTHON=$(GPU_PYTHON) scripts/gpu_check.sh $(WHEELS) $(GPU_CHECK_OUT)

clean:
	rm -rf $(VENV) build examples-out mutants-out *.egg-info
