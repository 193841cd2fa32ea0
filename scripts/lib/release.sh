# shellcheck shell=bash
# How the release binaries are built, by scripts/install and scripts/bench alike:
#   swift build "${APPHOST_RELEASE_ARGS[@]}" --product apphost
# --static-swift-stdlib: the Swift runtime and Foundation linked in (DECISIONS.md, 2026-12-02): the binary
#   starts in half the time and memory, and runs where no Swift is installed.
# -no-pie (Linux): a fixed load address, so that the dynamic loader has no relocations to apply to the
#   binary's ~113,000 pointers at every start: 3 ms and 3.4 MiB less for each command (DECISIONS.md,
#   2026-12-06).
# --version-script (Linux): the toolchain links static-stdlib executables with --export-dynamic, which put
#   all 31,650 symbols of apphost's own modules in the dynamic symbol table (2.8 MB with its strings and
#   hash); the loader searched it for every symbol libstdc++ and libc bind at start. Nothing looks
#   apphost's symbols up by name, and a crash prints the same message either way (the full symbol table
#   stays in the file): 1.3 MiB and 15% of `apphost --version` less (DECISIONS.md, 2026-12-06).
# -function-sections and --section-ordering-file (Linux): every function in a section of its own, and
#   the ones the everyday commands run (scripts/lib/release-order.txt, written by scripts/release-order)
#   placed side by side, so that a command touches a few dozen pages of code, not pages all over 26 MB:
#   `apphost --version` peaks at 11.9 MiB instead of 14.2 (DECISIONS.md, 2026-12-06).
APPHOST_RELEASE_ARGS=(-c release --static-swift-stdlib)
release_lib=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
if [ "$(uname -s)" = Linux ]; then
  APPHOST_RELEASE_ARGS+=(-Xlinker -no-pie -Xlinker "--version-script=$release_lib/release-exports.map")
  # The ordering is gold's option (lld has no --section-ordering-file): without gold, no layout.
  if command -v ld.gold >/dev/null; then
    APPHOST_RELEASE_ARGS+=(-Xswiftc -Xfrontend -Xswiftc -function-sections -Xswiftc -use-ld=gold)
    APPHOST_RELEASE_ARGS+=(-Xlinker "--section-ordering-file=$release_lib/release-order.txt")
  fi
fi
