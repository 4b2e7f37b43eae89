# Two commands do everything on a fresh machine:
#   make demo   set up, write the sample evidence pack, ingest it, serve the matrix on http://127.0.0.1:8001
#   make test   set up what the tests need (incl. a Chromium for the browser test) and run them
VENV ?= .venv
PYTHON ?= python3
DB ?= examples/demo.db
PACK ?= examples/pack
PORT ?= 8001
# CPU build of torch: from this machine's wheel folder if it has one, else PyTorch's CPU index (never a CUDA build)
TORCH ?= torch==2.13.0
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

BIN := $(VENV)/bin

.PHONY: setup demo test lint browser clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@# a local CPU wheel (this kind of machine has one) wins; otherwise PyTorch's CPU index, never PyPI's CUDA build
	$(BIN)/python -c "import torch" 2>/dev/null \
	  || { $(BIN)/pip install --no-deps --no-index "$(TORCH)" >/dev/null 2>&1 && $(BIN)/pip install "$(TORCH)"; } \
	  || $(BIN)/pip install "$(TORCH)" --index-url $(TORCH_CPU_INDEX) --extra-index-url https://pypi.org/simple
	$(BIN)/pip install -e ".[test,demo]"
	touch $@

demo: setup
	$(BIN)/evidence sample $(PACK)
	$(BIN)/evidence ingest $(PACK) --db $(DB) --framework all
	$(BIN)/evidence serve --db $(DB) --port $(PORT)

browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    (apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 \
	     || (apt-get update >/dev/null 2>&1 && apt-get install -y --no-install-recommends chromium >/dev/null 2>&1)) \
	     || echo "could not install chromium: the browser test will be skipped"; \
	  else echo "chromium not found and cannot be installed here: the browser test will be skipped"; fi; }

lint: setup
	$(BIN)/ruff check standards ingest mapping evidence datasette tests bench

test: setup browser lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) examples/pack examples/demo.db* examples/demo-files
