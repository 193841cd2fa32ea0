# shellcheck shell=bash
#
# scripts/lib/engines.sh - make the container engines usable for the tests.
#
# Source this file (". scripts/lib/engines.sh"); it only defines functions and
# does not change the caller's shell options. The functions behave the same
# with or without `set -euo pipefail` in the caller.
#
#   engines_install                 install missing engines/tools (apt, root only)
#   engines_start_docker STATE_DIR  make `docker` answer; starts dockerd if needed
#   engines_prepare_podman STATE_DIR
#                                   make rootful podman able to run containers;
#                                   applies the build-machine workaround only if
#                                   the defaults fail (see docs/testing.md)
#   engines_stop                    stop the dockerd that engines_start_docker started
#   engines_available               print the engines that work now, one per line
#
# Variables the functions export for the caller's child processes:
#   DOCKER_HOST      when engines_start_docker started (or found) a private dockerd
#   CONTAINERS_CONF  when engines_prepare_podman needed the workaround
#
# Optional inputs:
#   ENGINES_DOCKER_DATA_ROOT  dockerd --data-root (default STATE_DIR/data-root).
#                             Give a STATE_DIR that survives between runs (e.g.
#                             /var/tmp/apphost-test/docker) to keep the imported
#                             fixture images; a fresh directory works too.
#   ENGINES_DOCKER_TIMEOUT    seconds to wait for a new dockerd (default 60)
#
# Everything prints short progress lines on stderr, prefixed with "engines:".

# The Debian packages that provide everything the tests need.
# chromium and chromium-driver: the dashboard's browser tests (Tests/IntegrationTests/DashboardTests.swift).
# time: GNU time, for scripts/bench's memory figures.
ENGINES_APT_PACKAGES=(podman runc docker.io docker-compose podman-compose redis-server redis-tools busybox-static iproute2 procps strace jq bash chromium chromium-driver time)

# State kept between the calls (private to this file).
_ENGINES_DOCKERD_PID=""          # pid of the dockerd we started, if any
_ENGINES_PREV_DOCKER_HOST=""     # DOCKER_HOST before we changed it
_ENGINES_PREV_DOCKER_HOST_SET="" # "1" if DOCKER_HOST was set before we changed it
_ENGINES_PODMAN_OK=""            # "", "1" (works) or "0" (does not work)

_engines_log() {
    printf 'engines: %s\n' "$*" >&2
}

# Path of a command, also looking in the sbin directories that a non-root PATH
# often lacks (dockerd and runc live in /usr/sbin on Debian).
_engines_which() {
    local dir
    if command -v "$1" 2>/dev/null; then
        return 0
    fi
    for dir in /usr/local/sbin /usr/sbin /sbin; do
        if [[ -x "$dir/$1" ]]; then
            printf '%s\n' "$dir/$1"
            return 0
        fi
    done
    return 1
}

# True if the process exists and is not a zombie (a zombie has exited; it only
# waits for its parent to collect it).
_engines_pid_alive() {
    local pid=$1 stat
    [[ -n "$pid" && -r "/proc/$pid/stat" ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }   # the field after "(comm) " is the state letter
    [[ "${stat:0:1}" != "Z" ]]
}

# True if the docker client reaches a daemon (honours DOCKER_HOST).
_engines_docker_answers() {
    command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1
}

_engines_podman_answers() {
    command -v podman >/dev/null 2>&1 && podman info >/dev/null 2>&1
}

# ---------------------------------------------------------------------------
# engines_install: install what is missing (as root, through apt-get).
# ---------------------------------------------------------------------------
engines_install() {
    local missing=() cmd
    for cmd in docker dockerd docker-compose podman-compose podman runc redis-server redis-cli busybox ss pgrep strace jq chromium chromedriver; do
        _engines_which "$cmd" >/dev/null || missing+=("$cmd")
    done
    # GNU time (`time` alone is the shell's keyword).
    [ -x /usr/bin/time ] || missing+=(/usr/bin/time)
    if ((${#missing[@]} == 0)); then
        _engines_log "all tools present (docker, dockerd, docker-compose, podman-compose, podman, runc, redis-server, redis-cli, busybox, ss, pgrep, strace, jq, chromium, chromedriver, /usr/bin/time)"
        return 0
    fi
    if ((EUID != 0)); then
        _engines_log "missing: ${missing[*]}"
        _engines_log "install them as root: apt-get install -y ${ENGINES_APT_PACKAGES[*]}"
        return 1
    fi
    _engines_log "missing: ${missing[*]}; installing ${ENGINES_APT_PACKAGES[*]} (apt-get)"
    if ! DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null ||
        ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
            "${ENGINES_APT_PACKAGES[@]}" >/dev/null; then
        _engines_log "apt-get failed"
        return 1
    fi
    for cmd in "${missing[@]}"; do
        if ! _engines_which "$cmd" >/dev/null; then
            _engines_log "still missing after apt-get: $cmd"
            return 1
        fi
    done
    _engines_log "installed"
}

# ---------------------------------------------------------------------------
# engines_start_docker STATE_DIR: make `docker info` answer.
#   1. A daemon that already answers (DOCKER_HOST or the default socket) is used
#      as it is and is never stopped by engines_stop.
#   2. A dockerd left listening on STATE_DIR/docker.sock by an earlier run is
#      reused the same way.
#   3. Otherwise dockerd is started in its own session (so that Ctrl-C on the
#      test script does not kill it before the script has cleaned up), with
#      everything under STATE_DIR, and engines_stop will stop it.
# Only one dockerd per machine can own the docker0 bridge and iptables chains:
# do not run two test scripts that start their own dockerd at the same time.
# ---------------------------------------------------------------------------
engines_start_docker() {
    local state=${1:-}
    if [[ -z "$state" ]]; then
        _engines_log "usage: engines_start_docker STATE_DIR"
        return 2
    fi
    if [[ -n "$_ENGINES_DOCKERD_PID" ]] && _engines_pid_alive "$_ENGINES_DOCKERD_PID" && _engines_docker_answers; then
        return 0 # already started by us in this shell
    fi
    if ! command -v docker >/dev/null 2>&1; then
        _engines_log "no docker client on PATH"
        return 1
    fi
    if _engines_docker_answers; then
        _engines_log "docker: using the running daemon (${DOCKER_HOST:-default socket})"
        return 0
    fi

    local dockerd
    if ! dockerd=$(_engines_which dockerd); then
        _engines_log "docker: no daemon answers and dockerd is not installed"
        return 1
    fi
    mkdir -p "$state" || return 1
    state=$(cd "$state" && pwd -P) || return 1
    local sock="$state/docker.sock" pidfile="$state/dockerd.pid" log="$state/dockerd.log"
    local data_root=${ENGINES_DOCKER_DATA_ROOT:-$state/data-root}
    local timeout=${ENGINES_DOCKER_TIMEOUT:-60}
    if ((${#sock} > 100)); then
        _engines_log "docker: socket path too long for a unix socket: $sock (use a shorter STATE_DIR)"
        return 1
    fi

    # Remember the caller's DOCKER_HOST so that engines_stop can restore it.
    if [[ -n "${DOCKER_HOST+x}" ]]; then
        _ENGINES_PREV_DOCKER_HOST_SET=1
        _ENGINES_PREV_DOCKER_HOST=$DOCKER_HOST
    else
        _ENGINES_PREV_DOCKER_HOST_SET=""
        _ENGINES_PREV_DOCKER_HOST=""
    fi

    if DOCKER_HOST="unix://$sock" docker info >/dev/null 2>&1; then
        export DOCKER_HOST="unix://$sock"
        _engines_log "docker: reusing the dockerd already listening on $sock (not ours: left running)"
        return 0
    fi

    local old_pid=""
    [[ -f "$pidfile" ]] && old_pid=$(cat "$pidfile" 2>/dev/null || true)
    if [[ -n "$old_pid" ]] && _engines_pid_alive "$old_pid"; then
        _engines_log "docker: dockerd pid $old_pid from $pidfile is running but does not answer on $sock; stop it first"
        return 1
    fi
    rm -f "$pidfile" "$sock"
    mkdir -p "$data_root" "$state/exec" || return 1

    _engines_log "docker: starting dockerd (state $state, data root $data_root)"
    local pid
    # $( ... & echo $! ): the subshell exits at once, so dockerd is not a job of
    # the caller's shell (a bare `wait` there will not wait for it). setsid puts
    # it in its own session; without a fork here, $! is dockerd's own pid.
    if command -v setsid >/dev/null 2>&1; then
        pid=$(setsid "$dockerd" --data-root "$data_root" --exec-root "$state/exec" \
            -H "unix://$sock" --pidfile "$pidfile" </dev/null >"$log" 2>&1 & echo $!)
    else
        pid=$("$dockerd" --data-root "$data_root" --exec-root "$state/exec" \
            -H "unix://$sock" --pidfile "$pidfile" </dev/null >"$log" 2>&1 & echo $!)
    fi
    _ENGINES_DOCKERD_PID=$pid
    export DOCKER_HOST="unix://$sock"

    local deadline=$((SECONDS + timeout))
    while ! docker info >/dev/null 2>&1; do
        if ! _engines_pid_alive "$pid"; then
            _engines_log "docker: dockerd exited during start-up; last lines of $log:"
            tail -n 20 "$log" >&2 || true
            _ENGINES_DOCKERD_PID=""
            _engines_restore_docker_host
            return 1
        fi
        if ((SECONDS >= deadline)); then
            _engines_log "docker: dockerd did not answer within ${timeout}s; last lines of $log:"
            tail -n 20 "$log" >&2 || true
            engines_stop
            return 1
        fi
        sleep 0.05
    done
    _engines_log "docker: dockerd $pid ready at $DOCKER_HOST"
}

_engines_restore_docker_host() {
    if [[ -n "$_ENGINES_PREV_DOCKER_HOST_SET" ]]; then
        export DOCKER_HOST="$_ENGINES_PREV_DOCKER_HOST"
    else
        unset DOCKER_HOST
    fi
}

# ---------------------------------------------------------------------------
# engines_stop: stop the dockerd that engines_start_docker started (only that
# one), waiting until it has exited; SIGKILL after 20 s.
# ---------------------------------------------------------------------------
engines_stop() {
    local pid=$_ENGINES_DOCKERD_PID
    if [[ -z "$pid" ]]; then
        return 0
    fi
    _ENGINES_DOCKERD_PID=""
    if _engines_pid_alive "$pid"; then
        _engines_log "docker: stopping dockerd $pid"
        kill -TERM "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 400; i++)); do # 400 * 0.05 s = 20 s
            _engines_pid_alive "$pid" || break
            sleep 0.05
        done
        if _engines_pid_alive "$pid"; then
            _engines_log "docker: dockerd $pid did not exit within 20s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            for ((i = 0; i < 100; i++)); do
                _engines_pid_alive "$pid" || break
                sleep 0.05
            done
        fi
    fi
    _engines_restore_docker_host
    _engines_log "docker: dockerd stopped"
}

# ---------------------------------------------------------------------------
# engines_prepare_podman STATE_DIR: make rootful podman run containers.
# The check runs a tiny image imported from a busybox-only tarball
# (localhost/apphost-fixtures/probe:latest), so it needs no registry and no
# other fixture. Only if podman's own settings cannot start it is the
# workaround of docs/testing.md written to STATE_DIR/containers.conf and
# exported as CONTAINERS_CONF (a CONTAINERS_CONF given by the caller is tried
# first, as it is).
# ---------------------------------------------------------------------------
ENGINES_PODMAN_PROBE_IMAGE=localhost/apphost-fixtures/probe:latest

engines_prepare_podman() {
    local state=${1:-}
    if [[ -z "$state" ]]; then
        _engines_log "usage: engines_prepare_podman STATE_DIR"
        return 2
    fi
    _ENGINES_PODMAN_OK=0
    if ! _engines_podman_answers; then
        _engines_log "podman: not installed or 'podman info' fails"
        return 1
    fi
    mkdir -p "$state" || return 1
    state=$(cd "$state" && pwd -P) || return 1

    if ! podman image exists "$ENGINES_PODMAN_PROBE_IMAGE" 2>/dev/null; then
        local busybox root
        if ! busybox=$(_engines_which busybox); then
            _engines_log "podman: busybox is needed for the probe image"
            return 1
        fi
        root="$state/probe-rootfs"
        rm -rf "$root"
        mkdir -p "$root/bin" || return 1
        cp "$busybox" "$root/bin/busybox" || return 1
        ln -s busybox "$root/bin/sh"
        ln -s busybox "$root/bin/true"
        if ! tar -C "$root" -cf "$state/probe.tar" . ||
            ! podman import -q "$state/probe.tar" "$ENGINES_PODMAN_PROBE_IMAGE" >/dev/null; then
            _engines_log "podman: cannot import the probe image"
            return 1
        fi
        rm -rf "$root" "$state/probe.tar"
    fi

    local err
    if err=$(podman run --rm "$ENGINES_PODMAN_PROBE_IMAGE" true 2>&1); then
        _engines_log "podman: works with its ${CONTAINERS_CONF:+CONTAINERS_CONF=$CONTAINERS_CONF }settings"
        _ENGINES_PODMAN_OK=1
        return 0
    fi
    _engines_log "podman: cannot start a container with its settings: ${err##*$'\n'}"

    # The build machines withhold CAP_SYS_RESOURCE (podman's default ulimits
    # cannot be set) and crun rejects their cgroup layout: see docs/testing.md.
    local conf="$state/containers.conf"
    cat >"$conf" <<'EOF' || return 1
# Written by scripts/lib/engines.sh: only for build machines where podman's
# defaults cannot start a container (see docs/testing.md).
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
    export CONTAINERS_CONF="$conf"
    if err=$(podman run --rm "$ENGINES_PODMAN_PROBE_IMAGE" true 2>&1); then
        _engines_log "podman: works with the workaround CONTAINERS_CONF=$conf"
        _ENGINES_PODMAN_OK=1
        return 0
    fi
    _engines_log "podman: still cannot start a container with CONTAINERS_CONF=$conf:"
    printf '%s\n' "$err" | tail -n 5 | sed 's/^/engines:   /' >&2
    return 1
}

# ---------------------------------------------------------------------------
# engines_available: print "docker" and/or "podman", one per line, for each
# engine that works now. docker: `docker info` answers. podman: `podman info`
# answers and, if engines_prepare_podman ran in this shell, it succeeded.
# ---------------------------------------------------------------------------
engines_available() {
    if _engines_docker_answers; then
        echo docker
    fi
    if [[ "$_ENGINES_PODMAN_OK" != 0 ]] && _engines_podman_answers; then
        echo podman
    fi
    return 0
}
