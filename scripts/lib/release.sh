# shellcheck shell=bash
# How the release binaries are built, by scripts/install and scripts/bench alike:
#   swift build "${APPHOST_RELEASE_ARGS[@]}" --product apphost
# --static-swift-stdlib: the Swift runtime and Foundation linked in (DECISIONS.md, 2026-12-02): the binary
#   starts in half the time and memory, and runs where no Swift is installed.
# -no-pie (Linux): a fixed load address, so that the dynamic loader has no relocations to apply to the
#   binary's ~113,000 pointers at every start: 3 ms and 3.4 MiB less for each command (DECISIONS.md,
#   2026-12-06).
APPHOST_RELEASE_ARGS=(-c release --static-swift-stdlib)
if [ "$(uname -s)" = Linux ]; then APPHOST_RELEASE_ARGS+=(-Xlinker -no-pie); fi
