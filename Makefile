# Two commands on a fresh machine with only python3: `make demo` and `make test`.
# Both bootstrap a pinned uv into .uv/, then install the locked dependencies (uv.lock) into .venv/.
PY ?= python3
UV_VERSION := 0.13.8
UV := .uv/bin/uv
VENV := .venv
SYNCED := $(VENV)/.synced
export UV_PYTHON_DOWNLOADS := never
export UV_COMPILE_BYTECODE := 1
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo test lint bench setup clean

setup: $(SYNCED)

$(UV):
	$(PY) -m venv .uv
	.uv/bin/pip install --quiet uv==$(UV_VERSION)

$(SYNCED): $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --python $(PY)
	touch $(SYNCED)

demo: $(SYNCED)
	$(VENV)/bin/spreadlake demo --config config/demo.yaml $(ARGS)

lint: $(SYNCED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Two workers: most of the end-to-end tests wait on real processes and sockets, so they share the cores well.
# A test file runs on one worker (--dist loadfile), so the Prefect flow tests start their server once.
TEST_WORKERS ?= 2

test: lint
	$(VENV)/bin/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=15 $(ARGS)

bench: $(SYNCED)
	@for b in bench/*.py; do echo "== $$b"; $(VENV)/bin/python $$b || exit 1; done

clean:
	rm -rf .uv $(VENV) .pytest_cache .mypy_cache .ruff_cache
