# The two front-door commands: `make demo` (the main job) and `make test` (the test suite).
# Each runs scripts/setup.sh first, which installs only what is missing.
VENV := .venv
PY := $(VENV)/bin/python
DEMO_OUT ?= demo_out

.PHONY: setup demo test lint bench clean-demo

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) -m gina3d.cli.demo --out $(DEMO_OUT)

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check gina3d tests benchmarks
	$(VENV)/bin/ruff format --check gina3d tests benchmarks

# the self-contained speed benchmarks, each printing one JSON object (mesh_calibration needs a
# trained run and demo_report_screenshot a demo output: see README, "Benchmarks")
bench: setup
	$(PY) benchmarks/synth_build.py
	$(PY) benchmarks/waymo_assets.py
	$(PY) benchmarks/stage1_speed.py --preset cpu
	$(PY) benchmarks/stage2_speed.py --preset cpu

clean-demo:
	rm -rf $(DEMO_OUT)
