#!/usr/bin/env bash
# The system packages the tests need on a fresh Debian machine (run as root): the test data (real Fashion-MNIST,
# never downloaded), PostgreSQL's server (tests start a private cluster on a loopback port, never the system one),
# Chromium (renders the HTML report) and docker-compose (validates docker-compose.yml offline; no engine needed).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends dataset-fashion-mnist postgresql chromium docker-compose >/dev/null
