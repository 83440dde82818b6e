# expr_gan — `make help` lists the targets.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.DEFAULT_GOAL := help
.PHONY: help install train test test-all bench tensorboard clean-outputs

help: ## show this help
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-14s %s\n", $$1, $$2}'

install: ## create .venv and install expr_gan with its dev extra (torch 2.14.1 / torchvision 0.29.1)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/python -m pip install -e ".[dev]"

train: ## train the default configuration (ARGS="model=... loss=..." to override)
	$(BIN)/python -m expr_gan.train $(ARGS)

test: ## fast test tier (everything not marked slow)
	$(BIN)/python -m pytest -m "not slow" -q

test-all: ## every test, slow ones included
	$(BIN)/python -m pytest -q

bench: ## our training step vs a plain PyTorch loop (ARGS="device=cuda size=128 batch=64 precision=bf16-mixed channels_last=1 compile=1")
	$(BIN)/python -m expr_gan.bench $(ARGS)

tensorboard: ## TensorBoard over every run and sweep in outputs/
	$(BIN)/tensorboard --logdir outputs

clean-outputs: ## delete every run, sweep and cache under outputs/
	find outputs -mindepth 1 ! -name .gitkeep -delete
