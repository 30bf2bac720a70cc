# Shared by scripts/run-tests, scripts/run-demo and scripts/run-bench.
# Installs the Debian packages the project needs (only the missing ones) and
# builds the project into build/ with CMake and Ninja.

PITSTOP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$PITSTOP_ROOT/build}

PITSTOP_PACKAGES=(
  cmake ninja-build ccache clang pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libyaml-cpp-dev libarchive-dev catch2 libssl-dev libsqlite3-dev libseccomp-dev
  libcap-dev libcurl4-openssl-dev libcli11-dev libnghttp2-dev
  libsystemd-dev systemd libmicrohttpd-dev
  python3 python3-grpcio python3-protobuf unzip openssl
  prometheus python3-prometheus-client tmux
  libjs-chart.js chromium chromium-driver python3-selenium
  openjdk-17-jdk-headless
)

log() { printf '==> %s\n' "$*" >&2; }

install_packages() {
  local missing=()
  local p
  for p in "${PITSTOP_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
      missing+=("$p")
    fi
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "all ${#PITSTOP_PACKAGES[@]} Debian packages are installed"
    return 0
  fi
  if [ "$(id -u)" -ne 0 ]; then
    log "missing Debian packages: ${missing[*]}"
    log "run as root, or install them with: sudo apt-get install ${missing[*]}"
    return 1
  fi
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

build_project() {
  local cxx=clang++ cc=clang
  if ! command -v clang++ >/dev/null; then cxx=g++; cc=gcc; fi
  if [ ! -f "$BUILD_DIR/build.ninja" ]; then
    log "configuring $BUILD_DIR"
    CC=$cc CXX=$cxx cmake -S "$PITSTOP_ROOT" -B "$BUILD_DIR" -G Ninja \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
  fi
  log "building (this takes a few minutes on a fresh machine)"
  cmake --build "$BUILD_DIR" -- -j"$(nproc)"
}
