# OverlayBench: two commands set up a fresh machine.
#   make bench   installs what is missing, builds in release mode, runs the quick suite,
#                writes results/ (and plots/ once a report exists)
#   make test    installs what is missing and runs the whole test suite
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the suite needs: liburing for the io_uring engines and the System layer,
# gnuplot for plots, fuse-overlayfs for the fuse backend, mkfs tools for loop filesystems,
# strace to check the io_uring loop, zlib and libzstd for image layers, umoci to check imports against,
# erofs-utils (mkfs.erofs) for the erofs backend's layer images, btrfs-progs (mkfs.btrfs) for --fs btrfs,
# which the btrfs backend's subvolumes need unless the work root is on btrfs.
APT_PACKAGES := pkg-config liburing-dev gnuplot-nox fuse-overlayfs fuse3 xfsprogs btrfs-progs e2fsprogs util-linux strace \
	zlib1g-dev libzstd-dev umoci erofs-utils
RELEASE_BIN := .build/release/overlaybench
RESULTS ?= results
PLOTS ?= plots

.PHONY: all deps build bench nightly test benchmarks doctor clean

all: build

# Installs only what is missing; apt-get update runs once, before the first install.
deps:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing missing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "make: all Debian packages present"; \
	fi
	@# The OpenMetrics export is checked with prometheus_client's parser (PyPI), when python3 is here.
	@if command -v python3 >/dev/null && ! python3 -c 'import prometheus_client.openmetrics.parser' 2>/dev/null; then \
	  echo "make: installing prometheus_client (PyPI) for the OpenMetrics check"; \
	  python3 -m pip install -q --disable-pip-version-check prometheus_client; \
	fi

build: deps
	$(SWIFT) build -c release

bench: build
	@mkdir -p $(RESULTS) $(PLOTS)
	$(RELEASE_BIN) doctor
	$(RELEASE_BIN) run --suite suites/quick.yaml --out $(RESULTS)/quick.json --force
	$(RELEASE_BIN) report $(RESULTS)/quick.json --out $(RESULTS)/quick-report --plots $(CURDIR)/$(PLOTS)

# The nightly suite, compared with the saved baseline `nightly` (results/baselines/nightly.json).
# The first run on a machine has nothing to compare with: it saves itself as the baseline and
# says so. Replace the baseline on purpose with `overlaybench baseline save nightly FILE --force`.
# Three repeats by default: compare takes its run-to-run allowance from their measured spread,
# without which a shared machine's drift between runs reads as a regression.
BASELINES ?= $(RESULTS)/baselines
NIGHTLY_REPEAT ?= 3
nightly: build
	@mkdir -p $(RESULTS) $(PLOTS)
	$(RELEASE_BIN) run --suite suites/nightly.yaml --out $(RESULTS)/nightly.json --force --repeat $(NIGHTLY_REPEAT)
	@if [ -f $(BASELINES)/nightly.json ]; then \
	  $(RELEASE_BIN) compare --baselines $(BASELINES) --baseline nightly $(RESULTS)/nightly.json; \
	else \
	  echo "make: no baseline 'nightly' yet in $(BASELINES): saving this run as it (nothing to compare with on a first run)"; \
	  $(RELEASE_BIN) baseline save nightly $(RESULTS)/nightly.json --baselines $(BASELINES); \
	fi

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test

doctor: build
	$(RELEASE_BIN) doctor

clean:
	rm -rf .build

# The package-benchmark suite (a nested package, so `make test` never builds it).
benchmarks: deps
	cd Benchmarks && $(SWIFT) package --scratch-path ../.build-bench benchmark
