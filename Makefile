# bss1 — two entry points on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
export AMARANTH_USE_YOSYS := builtin

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/bss1 demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup -q -rs tests

bench: $(STAMP)
	$(PY) bench/hicann_rtl.py
	$(PY) bench/hostarq.py
	$(PY) bench/hicann_config.py
	$(PY) bench/neuron_core.py
	$(PY) bench/synapse_input.py
	$(PY) bench/analog_core.py
	$(PY) bench/analog_bridge.py

clean:
	rm -rf build $(VENV)
