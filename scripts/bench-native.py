#!/usr/bin/env python3
"""The native engine against its floor and against apphost on a container engine, in one run.

One password-protected redis cache, cold, until it answers AUTH + PING:
  native   apphost up -d --engine native (returns once PING answers), then apphost down
  floor    redis-server started by hand with the same settings on standard input (`redis-server -`),
           polled with AUTH + PING from this process on apphost's schedule (every 2 ms for the first
           50 ms, then every 10 ms); then stopped
  docker   apphost up -d --engine docker of the same manifest (the stand-in image), then apphost down

The tools alternate, round after round; the report gives each median and the ratios native/floor and
docker/native. Targets (issue 13): native within 1.5x of the floor, and at least 5x faster than apphost on
docker. --check exits 1 when a target is missed. Run it through scripts/bench, or with a release build
of apphost, redis-server on PATH and (for the docker figure) a docker that answers.
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PASSWORD = "BenchPassword22Chars00"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.25) as connection:
            connection.sendall(
                f"*2\r\n$4\r\nAUTH\r\n${len(PASSWORD)}\r\n{PASSWORD}\r\n*1\r\n$4\r\nPING\r\n".encode())
            reply = b""
            deadline = time.monotonic() + 2
            while reply.count(b"\r\n") < 2 and time.monotonic() < deadline:
                chunk = connection.recv(256)
                if not chunk:
                    break
                reply += chunk
            return reply.endswith(b"+PONG\r\n")
    except OSError:
        return False


def floor(work):
    """redis-server by hand, settings on stdin, polled as apphost polls (Probe.waitUntilReady) until it
    answers."""
    port = free_port()
    data = tempfile.mkdtemp(dir=work)
    settings = (f"bind 127.0.0.1\nport {port}\nprotected-mode yes\ndaemonize no\ndir \"{data}\"\nlogfile \"\"\n"
                f"requirepass \"{PASSWORD}\"\nsave \"\"\n")
    began = time.monotonic()
    server = subprocess.Popen([shutil.which("redis-server"), "-"], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    server.stdin.write(settings.encode())
    server.stdin.close()
    while not answers(port):
        time.sleep(0.002 if time.monotonic() - began < 0.05 else 0.01)
    elapsed = time.monotonic() - began
    server.kill()
    server.wait()
    shutil.rmtree(data, ignore_errors=True)
    return elapsed


def apphost_up(apphost, folder, engine, env):
    began = time.monotonic()
    up = subprocess.run([apphost, "up", "-d", "--engine", engine], cwd=folder, env=env, capture_output=True,
                        text=True)
    elapsed = time.monotonic() - began
    if up.returncode != 0:
        raise SystemExit(f"apphost up --engine {engine} failed:\n{up.stdout}\n{up.stderr}")
    down = subprocess.run([apphost, "down", "-v", "--engine", engine], cwd=folder, env=env, capture_output=True,
                          text=True)
    if down.returncode != 0:
        raise SystemExit(f"apphost down --engine {engine} failed:\n{down.stderr}")
    return elapsed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--apphost", default=".build/release/apphost")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--no-docker", action="store_true", help="leave out apphost on docker")
    options = parser.parse_args()
    apphost = os.path.abspath(options.apphost)
    work = tempfile.mkdtemp(prefix="apphost-bench-native-")
    folder = os.path.join(work, "project")
    os.makedirs(folder)
    with open(os.path.join(folder, "apphost.json"), "w") as manifest:
        json.dump({"name": "bench-native", "resources": {"cache": {"type": "redis", "password": PASSWORD}}},
                  manifest)
    env = dict(os.environ, NO_COLOR="1")
    env.pop("APPHOST_ENGINE", None)
    docker = not options.no_docker and subprocess.run(["docker", "info"], capture_output=True).returncode == 0
    figures = {"native": [], "floor": [], "docker": []}
    try:
        # A warm-up of each, not counted: the first run pays for the page cache.
        floor(work)
        apphost_up(apphost, folder, "native", env)
        if docker:
            apphost_up(apphost, folder, "docker", env)
        for _ in range(options.runs):
            figures["native"].append(apphost_up(apphost, folder, "native", env))
            figures["floor"].append(floor(work))
            if docker:
                figures["docker"].append(apphost_up(apphost, folder, "docker", env))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in figures.items() if values}
    # Pair by pair, so that a machine whose speed drifts still gives a fair ratio.
    ratio_floor = statistics.median(n / f for n, f in zip(figures["native"], figures["floor"]))
    print(f"runs: {options.runs} of each, alternating")
    for name, label in (("native", "apphost up -d --engine native"), ("floor", "redis-server + PING loop"),
                        ("docker", "apphost up -d --engine docker")):
        if name in medians:
            print(f"  {label:32} median {medians[name] * 1000:7.1f} ms")
    missed = []
    print(f"  native / floor        {ratio_floor:5.2f}x   (target: at most 1.5x)")
    if ratio_floor > 1.5:
        missed.append("native within 1.5x of the floor")
    if figures["docker"]:
        ratio_docker = statistics.median(d / n for d, n in zip(figures["docker"], figures["native"]))
        print(f"  docker / native       {ratio_docker:5.1f}x   (target: at least 5x)")
        if ratio_docker < 5:
            missed.append("native at least 5x faster than docker")
    else:
        print("  docker: not measured (no docker answers, or --no-docker)")
    if missed:
        print("missed: " + "; ".join(missed))
        if options.check:
            sys.exit(1)


if __name__ == "__main__":
    main()
