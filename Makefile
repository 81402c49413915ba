# Set-up and everyday commands.  `make demo` and `make test` work on a fresh
# machine: they create .venv, install CPU torch (before the project, so that
# pip does not fetch a CUDA build) and the package, then run.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
OUT    := out

.PHONY: install demo test bench clean

install: $(VENV)/.installed

# Qt/napari under a virtual display needs these (Debian/Ubuntu; installed only when missing and root).
SYSTEM_PACKAGES := xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxkbcommon-x11-0 libegl1 libgl1 libdbus-1-3 libfontconfig1

$(VENV)/.installed: pyproject.toml
	@if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && ! dpkg -s $(SYSTEM_PACKAGES) >/dev/null 2>&1; then \
		echo "installing system packages: $(SYSTEM_PACKAGES)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
	fi
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e ".[testing]"
	touch $@

demo: install
	$(BIN)/soft-skeleton demo --sample vessel_256 --out $(OUT)

test: install
	$(BIN)/python -m pytest -q

# Every script runs even when one reports a FAIL row (make then prints "Error ... (ignored)").
bench: install
	-$(BIN)/python benchmarks/bench_soft_skeleton.py
	-$(BIN)/python benchmarks/bench_topological.py --thickness
	-$(BIN)/python benchmarks/bench_auto.py
	-$(BIN)/python benchmarks/bench_spurs.py
	-$(BIN)/python benchmarks/bench_graph.py
	-$(BIN)/python benchmarks/bench_anisotropic.py

clean:
	rm -rf $(VENV) $(OUT)
