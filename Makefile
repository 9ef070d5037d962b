# enkg — make targets. Every target installs the system packages it needs when they are
# missing (apt-get, as root), so `make demo` and `make test` work on a fresh Debian machine.

SHELL      := /bin/bash
GO         ?= go
GOFLAGS    ?=
PKGS       ?= ./...
BIN        := bin
ENKG       := $(BIN)/enkg
OUT        ?= out
DATA       ?= data

# libhdf5 on Debian lives under hdf5/serial; cgo finds it through these flags.
HDF5_CFLAGS  := $(shell pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LDFLAGS := $(shell pkg-config --libs-only-L hdf5 2>/dev/null || echo -L/usr/lib/x86_64-linux-gnu/hdf5/serial)
export CGO_CFLAGS  += $(HDF5_CFLAGS)
export CGO_LDFLAGS += $(HDF5_LDFLAGS)
export CGO_ENABLED := 1

# System packages: build (gcc, libhdf5) and interop tests (numpy, h5py).
APT_BUILD := gcc libc6-dev pkg-config libhdf5-dev
APT_TEST  := python3 python3-numpy python3-h5py dataset-fashion-mnist
APT_NB    := python3 jupyter-nbconvert jupyter-client python3-nbclient
TOOLS     := .tools/bin


.PHONY: prior-ns64
.PHONY: all build demo test test-go notebooks bench bench-fftw bench-openblas lint fmt deps deps-build deps-test deps-nb clean help

all: build

help:
	@echo "make demo   - run the flagship Navier-Stokes example end to end (outputs under $(OUT)/demo)"
	@echo "make test   - install what is missing, then run every test"
	@echo "make bench  - run the benchmarks with -benchmem"
	@echo "make lint   - gofmt and go vet"
	@echo "make notebooks - execute every Go notebook headless (GoNB kernel)"
	@echo "make prior-ns64 - reproduce the shipped 64² Navier-Stokes prior (data, training, report)"

# apt-install installs the Debian packages given as arguments that are not installed yet.
define apt-install
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps-build:
	$(call apt-install,$(APT_BUILD))

deps-test: deps-build
	$(call apt-install,$(APT_TEST))

deps-nb:
	$(call apt-install,$(APT_NB))

deps: deps-test deps-nb

build: deps-build
	@mkdir -p $(BIN)
	$(GO) build $(GOFLAGS) -o $(ENKG) ./cmd/enkg

test: deps-test deps-nb test-go notebooks

test-go:
	$(GO) vet $(PKGS)
	$(GO) test $(GOFLAGS) -count=1 -timeout 20m $(PKGS)
	$(GO) test $(GOFLAGS) -count=1 -tags purego ./spectral/... ./diffusion/unet/...

notebooks: deps-build deps-nb
	bash scripts/install-gonb.sh $(TOOLS)
	bash scripts/run-notebooks.sh $(TOOLS)

bench: deps-build
	$(GO) test $(GOFLAGS) -run '^$$' -bench . -benchmem $(PKGS)

# Optional backends: FFTW (GPL, cgo) for spectral plans, OpenBLAS (cgo) for the Kalman update.
bench-fftw: deps-build
	$(call apt-install,libfftw3-dev)
	ENKG_LONG=1 $(GO) test -tags fftw -run SpeedReport -v ./spectral/fftw
	$(GO) test -tags fftw -run '^$$' -bench . -benchmem ./spectral/fftw

bench-openblas: deps-build
	$(call apt-install,libopenblas-dev)
	CGO_LDFLAGS="$(CGO_LDFLAGS) -lopenblas" $(GO) test -tags openblas -run '^$$' -bench KalmanUpdate -benchmem ./guidance

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

demo: build
	@mkdir -p $(OUT)/demo
	bash scripts/demo.sh $(ENKG) $(OUT)/demo $(DATA)

# Reproduce the shipped prior priors/ns64 (data, EDM training in Go, quality report; hours on
# 2 cores; resumable). The result lands in $(OUT)/ns64/ft (stage 1 in $(OUT)/ns64); priors/ns64
# holds the committed copy.
prior-ns64: build
	bash scripts/train-ns64.sh $(ENKG) $(OUT)/ns64 $(DATA)

clean:
	rm -rf $(BIN) $(OUT)
