#!/usr/bin/env bash
# Installs what building and testing Lumo needs on Debian/Ubuntu, or says exactly what to
# install elsewhere. Safe to run repeatedly.
set -euo pipefail

missing=()
command -v cargo >/dev/null 2>&1 || { echo "Rust is required: install it from https://rustup.rs (then re-run)"; exit 1; }
command -v clang >/dev/null 2>&1 || missing+=(clang)
if ! ls /usr/lib/llvm-*/lib/libclang*.so* >/dev/null 2>&1 && ! ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1; then
  missing+=(libclang-dev)
fi
command -v g++ >/dev/null 2>&1 || missing+=(g++)
# OpenSSL headers and pkg-config for webauthn-rs (passkeys) through openssl-sys.
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
# libxml2 and xmlsec1 for SAML (samael signs and verifies XML through them); the xmlsec1
# command for pysaml2, the real SAML service provider the tests drive.
pkg-config --exists libxml-2.0 2>/dev/null || missing+=(libxml2-dev)
pkg-config --exists xmlsec1 2>/dev/null || missing+=(libxmlsec1-dev)
command -v xmlsec1 >/dev/null 2>&1 || missing+=(xmlsec1)
command -v make >/dev/null 2>&1 || missing+=(make)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
# Node.js and npm for the JavaScript end-to-end suite (tests/js/run.sh needs node >= 20.10).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# Prometheus, which a test runs to scrape a node's /metrics.
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
# HAProxy and curl for deploy/local/cluster.sh (the local cluster behind a load balancer that
# tests/python/test_deploy_local.py rolls through a restart).
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v curl >/dev/null 2>&1 || missing+=(curl)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
  echo "please install these packages with your system's package manager: ${missing[*]}"
  exit 1
fi
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "run as root or install sudo; needed: ${missing[*]}"; exit 1; }
  sudo_cmd="sudo"
fi
$sudo_cmd apt-get update -qq || true
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}"
