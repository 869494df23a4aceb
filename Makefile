# callqa: two commands set everything up on a fresh machine (offline except package registries).
#   make demo   install into .venv, then score the bundled sample calls (tables + JSON in out/demo/)
#   make test   install the test tools too, then run the test suite
# Only Python 3.11+ is needed: audio is decoded with PyAV's bundled FFmpeg. The tests also use
# espeak-ng and chromium (and ffmpeg to rebuild a sample call): `make test` installs them with
# apt-get when run as root, or names what is missing and how to get it (.ci/test-tools).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.callqa-installed
DEVSTAMP := $(VENV)/.callqa-dev-installed

.PHONY: install bytecode demo test test-tools lint bench system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	# torch first, pinned: the CPU build is found offline; an unpinned torch pulls GBs of CUDA.
	$(BIN)/pip install --quiet torch==2.13.0
	# openai-whisper without its triton (GPU-only) requirement; its other needs are ours too.
	$(BIN)/pip install --quiet --no-deps openai-whisper==20250625
	$(BIN)/pip install --quiet -e .
	@touch $@

# callqa's bytecode, written as pip writes an installed package's: where PYTHONDONTWRITEBYTECODE
# is set (many containers) Python would compile its 29,000 lines again in every process
# (about 0.2 s of each `callqa score`, and of each batch worker). Quick when up to date.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q callqa

$(DEVSTAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

install: $(STAMP) bytecode

demo: install
	@mkdir -p out/demo
	@# The file name starts with the call's language (en_good, nb_call): forced, because
	@# Whisper's language ID misreads the synthetic Norwegian and Slovenian voices.
	@for f in sample_calls/*.ogg; do \
		name=$$(basename $$f .ogg); \
		$(BIN)/callqa score $$f --language $${name%%_*} --out out/demo/$$name.json || exit $$?; \
	done
	@echo "Scorecards written to out/demo/"

test: $(DEVSTAMP) test-tools
	$(BIN)/python -m pytest

test-tools:
	@bash .ci/test-tools

lint: $(DEVSTAMP)
	$(BIN)/ruff check callqa tests benchmarks pipelines
	$(BIN)/ruff format --check callqa tests benchmarks pipelines
	$(BIN)/mypy callqa

bench: install
	$(BIN)/python benchmarks/run_all.py

system-deps:
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq espeak-ng chromium ffmpeg

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
