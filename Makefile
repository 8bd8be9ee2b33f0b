# floatip: build, install, test, package, demo. Every target that needs system packages
# installs them first (tests/setup.sh), so each works on a fresh Debian machine as root.

PREFIX   ?= /usr
SBINDIR  ?= $(PREFIX)/sbin
OCFDIR   ?= /usr/lib/ocf/resource.d/floatip
MANDIR   ?= $(PREFIX)/share/man/man8
CARGO    ?= cargo
BIN      := target/release/floatip

.PHONY: all build install uninstall generate test lint unit fuzz cluster packages deb rpm demo bench mutants clean

all: build

build:
	$(CARGO) build --release --locked

# Installs the binary and the OCF agent path Pacemaker looks in (a link: the binary reads
# the action from its first argument, whatever name it is called by).
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(SBINDIR)/floatip
	install -d -m 0755 $(DESTDIR)$(OCFDIR)
	ln -sfn $(SBINDIR)/floatip $(DESTDIR)$(OCFDIR)/FloatIP
	install -D -m 0644 packaging/floatip.8 $(DESTDIR)$(MANDIR)/floatip.8

uninstall:
	rm -f $(DESTDIR)$(OCFDIR)/FloatIP $(DESTDIR)$(SBINDIR)/floatip $(DESTDIR)$(MANDIR)/floatip.8
	-rmdir $(DESTDIR)$(OCFDIR)

# Rewrites what is generated from the parameter table (src/params/table.rs): the meta-data
# metadata/FloatIP.xml, the PARAMETERS section of packaging/floatip.8 and README.md's
# parameter table. Commit the result;
# tests/generated.rs fails while they differ from the table.
generate:
	$(CARGO) run --locked --quiet --example generate

# The README's test command: set-up, style, every Rust test (unit, binary, namespace labs,
# ocft, ocf-tester, bad input, a short soak), a short fuzzing run, the packages (installs
# the .deb), then real Pacemaker clusters.
test: lint unit fuzz packages cluster

lint:
	bash tests/setup.sh
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path fuzz/Cargo.toml -- --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	# the fuzz crate's seed writer too (cargo fuzz builds only the targets)
	RUSTC_BOOTSTRAP=1 $(CARGO) check --locked --quiet --manifest-path fuzz/Cargo.toml --examples

unit:
	bash tests/setup.sh
	$(CARGO) test --locked -- --test-threads=2

fuzz:
	bash tests/fuzz.sh

# Mutation testing of the pure decisions with cargo-mutants (installed if missing), the unit
# tests only (--cargo-arg=--lib: each mutant builds and runs the lib tests, not the labs): each
# mutant a test could catch should be caught; equivalent and log-only ones are listed with their
# reasons in .cargo/mutants.toml. Prints the summary and the survivors; the full report is in
# target/mutants.out. Fails when a mutant survives.
mutants:
	command -v cargo-mutants >/dev/null || $(CARGO) install cargo-mutants --locked
	$(CARGO) mutants --output target -f 'src/agent/*.rs' -f 'src/packet/*.rs' -f 'src/params/*.rs' \
		-f 'src/resident/*.rs' -f 'src/host/addrscan.rs' -f src/clients.rs -f src/connections.rs \
		-f src/ocf/exit.rs \
		--cargo-arg=--lib; status=$$?; \
	echo "survivors (target/mutants.out/missed.txt):"; cat target/mutants.out/missed.txt; \
	exit $$status

# Side by side with IPaddr2 in a namespace lab; prints a table, writes target/bench/.
bench:
	bash tests/setup.sh
	$(CARGO) bench --bench compare

packages: build
	bash tests/setup.sh
	bash tests/packaging.sh

# Real clusters on Debian 12's stack and on Debian 13's (a root tests/setup.sh builds once);
# CLUSTER_STACKS=debian12 for one.
cluster: packages
	bash tests/cluster/run.sh

# cargo-deb from [package.metadata.deb] in Cargo.toml (tests/setup.sh installs cargo-deb).
deb: build
	bash tests/setup.sh
	bash packaging/build-deb.sh --no-build

# rpmbuild from packaging/rpm/floatip.spec.
rpm: build
	bash tests/setup.sh
	bash packaging/build-rpm.sh --no-build

# The main job, in a throwaway lab: a 2-node Pacemaker cluster moves a VIP and a client follows.
demo:
	bash tests/setup.sh
	$(CARGO) build --release --locked
	bash tests/cluster/demo.sh

clean:
	$(CARGO) clean
