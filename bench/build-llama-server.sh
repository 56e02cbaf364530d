#!/usr/bin/env bash
# Builds llama-server from the llama.cpp source that node-llama-cpp bundles, so that
# `npm run bench -- --peer llama-server` compares lavash with llama.cpp's own server on exactly the
# same engine release. The source and the binary live in a cache folder outside the repository;
# a second run finds the binary and returns at once.
#
#   bash bench/build-llama-server.sh            # build (or find) it; prints the binary's path last
#   bash bench/build-llama-server.sh --print    # print where the binary goes, build nothing
#
# Environment: LAVASH_LLAMA_SERVER_DIR (cache root; default $XDG_CACHE_HOME/lavash/llama-server or
# ~/.cache/lavash/llama-server), JOBS (parallel compile jobs; default 2, the bench machines' cores).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
llama_dir="$repo_root/node_modules/node-llama-cpp/llama"
bundle="$llama_dir/gitRelease.bundle"
info="$llama_dir/llama.cpp.info.json"

if [[ ! -f "$info" ]]; then
  echo "error: $info not found; run 'npm install' in $repo_root first (node-llama-cpp ships the llama.cpp source it was built from)." >&2
  exit 1
fi

# The release tag names the cache folder, so a node-llama-cpp upgrade builds a fresh server
# instead of comparing against an older engine.
release="$(node -e 'const i = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(String(i.tag))' "$info")"
cache_root="${LAVASH_LLAMA_SERVER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/lavash/llama-server}"
dest="$cache_root/$release"
binary="$dest/bin/llama-server"

if [[ "${1:-}" == "--print" ]]; then
  echo "$binary"
  exit 0
fi

# Static libraries make one self-contained binary that survives the build folder being removed.
# Curl is off (no network on the bench machines; the bench passes a local GGUF), and so are tests,
# examples and every tool but the server, to keep the ~10 minute build from growing.
cmake_args=(
  -DCMAKE_BUILD_TYPE=Release
  -DBUILD_SHARED_LIBS=OFF
  -DGGML_NATIVE=ON
  -DLLAMA_CURL=OFF
  -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_TOOLS=ON
  -DLLAMA_BUILD_TESTS=OFF
  -DLLAMA_BUILD_EXAMPLES=OFF
)
# -march=native turns on AMX wherever the CPU lists it, and ggml then runs Q8_0 matrix products on
# AMX tiles, as node-llama-cpp's prebuilt `sapphirerapids` CPU variant does: both servers then run
# the same kernels. GCC 12 (Debian 12's compiler) removes the stores that fill ggml's AMX tile
# configuration (a struct on the stack read only by `_tile_loadconfig`, which GCC 12 does not count
# as a read), so the tiles are loaded unconfigured and the first Q8_0 product dies with SIGILL on
# `tilezero`. Dead-store elimination off keeps those stores (checked in the assembly of
# ggml-cpu/amx/mmq.cpp); it is a GCC-only flag pair, and other compilers get no extra flags.
predefined="$(c++ -dM -E -x c++ /dev/null 2>/dev/null || true)"
if [[ "$(uname -m)" == "x86_64" ]] && grep -q __GNUC__ <<<"$predefined" && ! grep -q __clang__ <<<"$predefined"; then
  cmake_args+=(-DCMAKE_C_FLAGS="-fno-tree-dse -fno-dse" -DCMAKE_CXX_FLAGS="-fno-tree-dse -fno-dse")
fi
# A binary built with other settings (an older version of this script) is rebuilt, not reused.
config="${cmake_args[*]}"
if [[ -x "$binary" ]] && [[ "$(cat "$dest/build-config.txt" 2>/dev/null)" == "$config" ]] && "$binary" --version >/dev/null 2>&1; then
  echo "llama-server $release already built (cached)" >&2
  echo "$binary"
  exit 0
fi

if [[ ! -f "$bundle" ]]; then
  echo "error: $bundle not found; run 'npm install' in $repo_root first (node-llama-cpp ships the llama.cpp source as a git bundle)." >&2
  exit 1
fi

for tool in git cmake make c++; do
  command -v "$tool" >/dev/null || { echo "error: '$tool' is needed to build llama-server (e.g. apt-get install git cmake build-essential)." >&2; exit 1; }
done

mkdir -p "$dest"
src="$dest/src"
build="$dest/build"
started=$(date +%s)

if [[ ! -f "$src/CMakeLists.txt" ]]; then
  echo "[1/3] cloning llama.cpp $release from the bundle into $src" >&2
  rm -rf "$src.tmp"
  git -c advice.detachedHead=false clone --quiet "$bundle" "$src.tmp"
  rm -rf "$src"
  mv "$src.tmp" "$src"
else
  echo "[1/3] source already in $src" >&2
fi

echo "[2/3] configuring (Release, GGML_NATIVE=ON, server only)" >&2
cmake -S "$src" -B "$build" "${cmake_args[@]}" >"$dest/configure.log" 2>&1 ||
  { echo "error: cmake configure failed; see $dest/configure.log" >&2; tail -n 20 "$dest/configure.log" >&2; exit 1; }

jobs="${JOBS:-2}"
echo "[3/3] compiling llama-server with -j$jobs (about 11 minutes on 2 cores); progress:" >&2
# make prints "[ NN%]" per object; show those so a long build is visibly alive.
set +e
cmake --build "$build" --target llama-server -j "$jobs" 2>&1 | tee "$dest/build.log" | grep --line-buffered -E '^\[ *[0-9]+%\]' >&2
build_status="${PIPESTATUS[0]}"
set -e
if [[ "$build_status" != 0 ]]; then
  echo "error: the build failed; see $dest/build.log" >&2
  tail -n 30 "$dest/build.log" >&2
  exit 1
fi

built="$(find "$build" -type f -name llama-server -perm -u+x | head -n 1)"
if [[ -z "$built" ]]; then
  echo "error: the build finished but no llama-server binary was found under $build; see $dest/build.log" >&2
  exit 1
fi
mkdir -p "$dest/bin"
cp "$built" "$binary.tmp"
mv "$binary.tmp" "$binary"
"$binary" --version >/dev/null 2>&1 || { echo "error: $binary does not run; see $dest/build.log" >&2; exit 1; }
echo "$config" >"$dest/build-config.txt"
echo "built llama-server $release in $(( $(date +%s) - started )) s" >&2
echo "$binary"
