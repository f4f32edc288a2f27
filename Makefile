# hull: build, test, run and benchmark.
#   make run     build release hull and run bundles/hello in a container
#   make test    install system packages, fmt, clippy, build, cargo test
#   make bench   time create/start/wait/delete: hull vs runc (vs crun)
#   make vm-test run scripts/vm/tests in a cgroup v2 VM (qemu, Debian kernel)
#   make vm-systemd-test  run scripts/vm-systemd/tests in a VM booting systemd
# Runs as root (containers need it). Everything is idempotent.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
# The steps of `test` are a sequence: never run them side by side.
.NOTPARALLEL:
comma := ,

CARGO ?= cargo
# musl by default (.cargo/config.toml says why); TARGET=x86_64-unknown-linux-gnu
# builds against static glibc.
TARGET ?= x86_64-unknown-linux-musl
export CARGO_BUILD_TARGET := $(TARGET)
HULL := target/$(TARGET)/release/hull
PROBE := target/$(TARGET)/debug/examples/probe
# The CRI test's client (make cri-test, and in the systemd VM).
CRI_CLIENT := target/$(TARGET)/debug/hull-cri-client
RECVTTY := target/$(TARGET)/release/hull-recvtty
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR ?= $(PREFIX)/share/fish/vendor_completions.d
BUSYBOX := /bin/busybox
HELLO := bundles/hello
# the runtime `make run` uses; `make run RUNTIME=runc` to compare
RUNTIME ?= $(HULL)
# bench: cycles per runtime and which runtimes (crun is skipped with a note
# when it cannot run here)
N ?= 100
RUNTIMES ?= hull runc crun
BENCH_FLAGS ?=
TEST_THREADS ?= 2
# tests/fuzz_config.rs: seconds of config mutation fuzzing in `make test`
FUZZ_SECONDS ?= 20

# The cgroup v2 VM test bed: qemu (software emulation only, so no firmware or
# GUI extras); its kernel is fetched by `vm-kernel`, never installed.
VM_PACKAGES := qemu-system-x86
VM_DIR := .build/vm
VM_KERNEL := $(VM_DIR)/kernel
# The systemd VM test bed (scripts/vm-systemd): the same kernel, a Debian 12
# root file system debootstrap'd from apt's mirror into an ext4 image (made
# with mkfs.ext4 -d), cached here with the .debs.
VM_SYSTEMD_PACKAGES := debootstrap debian-archive-keyring e2fsprogs
# The engines `engines-test` runs as private instances with hull (and runc).
ENGINE_PACKAGES := podman containerd docker.io
# The CRI test: protoc builds its client's CRI types, the pods' network is
# Debian's CNI plugins.
CRI_PACKAGES := protobuf-compiler containernetworking-plugins
VM_SYSTEMD_DIR := .build/vm-systemd
# checkpoint/restore: Debian 12's CRIU (tests/checkpoint.rs; its rpc.proto
# is what src/criu/rpc.rs is checked against), packed with iptables into the
# cgroup v2 VM bed, where it can work (scripts/vm/tests/30-checkpoint.sh).
CRIU_PACKAGES := criu iptables

# Debian packages the build, tests and bench need. Command-line tools first;
# libc6-dev holds the static glibc of TARGET=x86_64-unknown-linux-gnu and
# of the C helpers; the musl target brings its own C library; musl-tools
# builds the bench's floor without glibc's start-up and (its
# x86_64-linux-musl-gcc, through build.rs) hull's entry point; lld
# links (.cargo/config.toml: it places the hot functions together);
# dbus-daemon is the private bus tests/dbus_client.rs runs a fake systemd on.
PACKAGES := busybox-static runc crun jq iproute2 util-linux procps file time uidmap passwd \
	dbus-daemon man-db libc6-dev musl-tools lld python3 libseccomp-dev $(ENGINE_PACKAGES) $(CRI_PACKAGES) $(VM_PACKAGES) \
	$(VM_SYSTEMD_PACKAGES) $(CRIU_PACKAGES)

export RUST_TEST_THREADS := $(TEST_THREADS)
export HULL_FUZZ_SECONDS ?= $(FUZZ_SECONDS)
export CARGO_TERM_COLOR ?= never

.PHONY: all deps build static-check rootfs run test fmt-check clippy examples \
	cargo-test bench clean vm-deps vm-kernel vm-test vm-clean seccomp-profile \
	vm-systemd-image vm-systemd-test vm-systemd-clean install uninstall install-check docs engines-test cri-test

all: build

# Install missing packages only; `apt-get update` once, and only if needed.
deps:
	@missing=""; \
	for p in $(PACKAGES); do \
		dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		export DEBIAN_FRONTEND=noninteractive; \
		$$sudo apt-get update -qq; \
		$$sudo apt-get install -y -qq --no-install-recommends $$missing </dev/null; \
	else \
		echo "deps: all present ($(PACKAGES))"; \
	fi
	@if ! rustup target list --installed 2>/dev/null | grep -qx '$(TARGET)'; then \
		echo "deps: adding the Rust target $(TARGET) (rustup)"; \
		rustup target add $(TARGET) || { echo "deps: cannot add the Rust target $(TARGET); \
build against static glibc instead with TARGET=x86_64-unknown-linux-gnu" >&2; exit 1; }; \
	fi
	@for c in fmt clippy; do \
		$(CARGO) $$c --version >/dev/null 2>&1 || echo "deps: note: cargo $$c is not in this Rust toolchain; its step is skipped" >&2; \
	done

# $(call check_static,FILE): fail unless FILE is a statically linked executable.
check_static = out=$$(file -L "$(1)"); \
	if echo "$$out" | grep -Eq 'statically linked|static-pie linked' \
		&& ! echo "$$out" | grep -q 'interpreter'; then \
		echo "static-check: ok: $(1) is static"; \
	else \
		echo "static-check: FAIL: $$out" >&2; exit 1; \
	fi

# Release hull (static, LTO), then prove it is static.
build:
	$(CARGO) build --release --bin hull
	@$(call check_static,$(HULL))

# make install [PREFIX=/usr/local] [DESTDIR=]: hull and hull-recvtty
# (0555), the man pages (man/*.8) and the bash, zsh and fish completions
# (completions/), both generated from the command line and checked in
# (`make docs` regenerates them; tests/generated_docs.rs fails when stale).
# The binary guard is free when the binary sits on a read-only mount: see
# README, "Install".
install: build
	$(CARGO) build --release --bin hull-recvtty
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -s -m 0555 $(HULL) $(DESTDIR)$(BINDIR)/hull
	install -s -m 0555 $(RECVTTY) $(DESTDIR)$(BINDIR)/hull-recvtty
	install -m 0444 man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0444 completions/hull.bash $(DESTDIR)$(BASHCOMPDIR)/hull
	install -m 0444 completions/_hull $(DESTDIR)$(ZSHCOMPDIR)/_hull
	install -m 0444 completions/hull.fish $(DESTDIR)$(FISHCOMPDIR)/hull.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/hull $(DESTDIR)$(BINDIR)/hull-recvtty \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(wildcard man/*.8))) \
		$(DESTDIR)$(BASHCOMPDIR)/hull $(DESTDIR)$(ZSHCOMPDIR)/_hull $(DESTDIR)$(FISHCOMPDIR)/hull.fish

# What `make test` checks of the install: into a temporary DESTDIR, each
# man page rendered by `man -l`, the installed hull runs, the bash
# completion parses; nothing is left.
install-check:
	@d=$$(mktemp -d); trap 'rm -rf "$$d"' EXIT; \
	$(MAKE) --no-print-directory install DESTDIR="$$d" >/dev/null; \
	n=0; for page in "$$d$(MANDIR)"/man8/*.8; do \
		out=$$(MANWIDTH=80 MANPAGER=cat man -l "$$page" 2>&1) || { echo "install-check: man -l $$page: $$out" >&2; exit 1; }; \
		grep -q '^NAME' <<<"$$out" || { echo "install-check: $$page has no NAME section" >&2; exit 1; }; \
		n=$$((n + 1)); \
	done; \
	"$$d$(BINDIR)/hull" --version >/dev/null; \
	bash -n "$$d$(BASHCOMPDIR)/hull"; \
	echo "install-check: ok: $$n man pages, hull, hull-recvtty, completions under DESTDIR"

# The engines with hull as their runtime, then with runc to prove the
# checks (scripts/engines/run.sh: private instances in a mount namespace of
# their own; nothing of the host's engines or images is touched).
engines-test: deps build rootfs
	scripts/engines/run.sh $(HULL) runc

# hull as a Kubernetes runtime handler: containerd's CRI plugin driven by
# the CRI v1 client in scripts/cri/client (scripts/cri/run.sh: a private
# containerd in mount and network namespaces of its own), then the same
# checks with runc as the handler.
cri-test: deps build rootfs
	$(CARGO) build -p hull-cri-client
	scripts/cri/run.sh $(CRI_CLIENT) $(HULL) runc

# man/ and completions/ from the current command line.
docs:
	HULL_REGENERATE=1 $(CARGO) test --test generated_docs -- --test-threads=1

# `make static-check BIN=path` checks any file (default: release hull).
BIN ?= $(HULL)
static-check:
	@$(call check_static,$(BIN))

# bundles/hello/rootfs from the host's static busybox (gitignored).
rootfs: $(HELLO)/rootfs/bin/busybox
$(HELLO)/rootfs/bin/busybox: $(BUSYBOX) scripts/mkrootfs.sh | deps
	scripts/mkrootfs.sh $(HELLO)/rootfs $(BUSYBOX)
$(BUSYBOX): | deps
	@test -x $@ || { echo "$@ missing: is busybox-static installed?" >&2; exit 1; }

run: deps rootfs $(if $(filter $(HULL),$(RUNTIME)),build)
	$(RUNTIME) run hello-$$$$ --bundle $(HELLO) </dev/null

# vm-kernel: tests/vm_cgroup_v2.rs boots the cgroup v2 VM during cargo-test.
test: deps vm-kernel rootfs seccomp-profile fmt-check clippy build examples cargo-test \
	install-check engines-test cri-test vm-systemd-test oci-validation

# The OCI runtime-tools validation suite (docs/oci-validation.md): built once
# from Debian's source package with Debian's Go (scripts/oci-validation/
# build.sh, cached in .build/oci-validation, rebuilt only when the stamp is
# older than the build script or the TAP helper), then its 58 programs run
# against $(RUNTIME) (default the release hull; `make oci-validation
# RUNTIME=/usr/sbin/runc` to compare), each in private mount and PID
# namespaces with a private state root. For hull the whole run fails when
# fewer programs pass than scripts/oci-validation/floor (a run of some
# programs, OCI_VALIDATION_FLAGS="prog ...", is not held to it). Logs:
# .build/oci-validation/runs.
OCI_VALIDATION := .build/oci-validation
OCI_VALIDATION_STAMP := $(OCI_VALIDATION)/suite/.stamp
OCI_VALIDATION_FLAGS ?=

.PHONY: oci-validation-build oci-validation
oci-validation-build: $(OCI_VALIDATION_STAMP)
$(OCI_VALIDATION_STAMP): scripts/oci-validation/build.sh scripts/oci-validation/tap-go/tap.go \
		scripts/mkrootfs.sh | deps
	scripts/oci-validation/build.sh $(OCI_VALIDATION)

oci-validation: deps oci-validation-build $(if $(filter $(HULL),$(RUNTIME)),build)
	python3 scripts/oci-validation/run.py --suite $(OCI_VALIDATION)/suite --runtime $(RUNTIME) \
		$(if $(and $(filter $(HULL),$(RUNTIME)),$(if $(OCI_VALIDATION_FLAGS),,all)),--floor scripts/oci-validation/floor) \
		$(OCI_VALIDATION_FLAGS)

# The default seccomp profile engines use (Debian's containers-common, from
# the golang-github-containers-common package), for tests/seccomp.rs. Only
# the file is extracted: installing the package pulls a container network
# stack.
SECCOMP_PROFILE := target/containers-common/seccomp.json
seccomp-profile: $(SECCOMP_PROFILE)
$(SECCOMP_PROFILE):
	@mkdir -p $(@D)
	@if [ -f /usr/share/containers/seccomp.json ]; then \
		cp /usr/share/containers/seccomp.json $@; \
	else \
		tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		( cd "$$tmp" && { apt-get download golang-github-containers-common >/dev/null 2>&1 \
			|| { apt-get update -qq && apt-get download golang-github-containers-common; }; } ); \
		dpkg -x "$$tmp"/golang-github-containers-common_*.deb "$$tmp/x"; \
		cp "$$tmp/x/usr/share/containers/seccomp.json" $@; \
	fi
	@echo "seccomp-profile: $@"

# fmt and clippy are toolchain components; a toolchain without them (they
# cannot be fetched here) skips the step with a note instead of failing.
fmt-check:
	@if $(CARGO) fmt --version >/dev/null 2>&1; then $(CARGO) fmt --all --check; \
	else echo "fmt-check: skipped (no rustfmt in this toolchain)"; fi

clippy:
	@if $(CARGO) clippy --version >/dev/null 2>&1; then $(CARGO) clippy --workspace --all-targets -- -D warnings; \
	else echo "clippy: skipped (no clippy in this toolchain)"; fi

# The probe runs inside test containers, so it must be static too.
examples:
	$(CARGO) build --examples
	@$(call check_static,$(PROBE))

cargo-test:
	$(CARGO) test -- --test-threads=$(TEST_THREADS)

# First every runtime in the cgroup2 view (a private mount namespace with the
# host's cgroup2 on /sys/fs/cgroup, where crun runs on a hybrid host) beside
# the kernel floor, with 50-container batches; then the host's own cgroups,
# where the controllers are: the cost of a memory+pids+cpu limit and the
# smallest memory limit /bin/true runs under.
bench: deps rootfs $(if $(filter hull,$(subst $(comma), ,$(RUNTIMES))),build)
	python3 scripts/bench.py --view cgroup2 --no-limits --readonly-install --cycles $(N) --runtimes "$(RUNTIMES)" \
		--hull $(HULL) $(BENCH_FLAGS)
	python3 scripts/bench.py --view host --no-floor --batches 0 --min-memory --cycles $(N) \
		--runtimes "$(RUNTIMES)" --hull $(HULL) $(BENCH_FLAGS)
	@if [ -n "$(filter hull,$(subst $(comma), ,$(RUNTIMES)))" ] && [ -z "$(NO_VM)" ]; then \
		$(MAKE) --no-print-directory vm-kernel examples >/dev/null && \
		python3 scripts/vm/run.py --hull $(HULL) --probe $(PROBE) scripts/vm/bench/cycle.sh \
			| grep -E '^(bench |not ok )'; \
	fi

# The cgroup v2 VM test bed (scripts/vm, docs/ARCHITECTURE.md). qemu is one of
# PACKAGES; the kernel is a Debian linux-image-*-cloud-amd64 package fetched
# with apt-get download and unpacked under $(VM_KERNEL) (idempotent).
vm-deps: deps

vm-kernel:
	scripts/vm/fetch-kernel.sh $(VM_KERNEL)

# Release hull and the probe in the VM; every scripts/vm/tests/*.sh runs.
vm-test: deps vm-kernel build examples
	python3 scripts/vm/run.py --kernel $(VM_KERNEL) --cache $(VM_DIR) \
		--hull $(HULL) --probe $(PROBE)

vm-clean:
	rm -rf $(VM_DIR)

# The systemd VM test bed (scripts/vm-systemd, docs/ARCHITECTURE.md): the
# image is rebuilt only when its inputs change (build-image.sh, the kernel
# release), otherwise reused from $(VM_SYSTEMD_DIR).
vm-systemd-image: deps vm-kernel
	scripts/vm-systemd/build-image.sh --cache $(VM_SYSTEMD_DIR) --kernel $(VM_KERNEL) >/dev/null

# Release hull (/vm/hull) and the probe in the VM; every
# scripts/vm-systemd/tests/*.sh runs.
vm-systemd-test: deps vm-kernel build examples rootfs vm-systemd-image
	$(CARGO) build -p hull-cri-client
	python3 scripts/vm-systemd/boot.py --kernel $(VM_KERNEL) --cache $(VM_SYSTEMD_DIR) --timeout 1200 \
		--hull $(HULL) --probe $(PROBE) --cri-client $(CRI_CLIENT)

vm-systemd-clean:
	rm -rf $(VM_SYSTEMD_DIR)

clean:
	$(CARGO) clean
	rm -rf $(HELLO)/rootfs
