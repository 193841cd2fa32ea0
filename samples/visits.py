#!/usr/bin/env python3
"""The sample program of apphost.json: counts visits in the cache apphost started.

It reads the connection information apphost injects (REDIS_HOST, REDIS_PORT, REDIS_PASSWORD) and speaks
RESP over a plain socket, so it needs nothing beyond Python's standard library. With --once it counts
one visit and exits; otherwise it counts one every few seconds until stopped.
"""
import os
import signal
import socket
import sys
import time


def command(connection, *words):
    request = f"*{len(words)}\r\n" + "".join(f"${len(w.encode())}\r\n{w}\r\n" for w in words)
    connection.sendall(request.encode())
    reply = connection.makefile("rb").readline().decode().rstrip("\r\n")
    if reply.startswith("-"):
        raise RuntimeError(reply[1:])
    return reply[1:]


def main():
    host = os.environ["REDIS_HOST"]
    port = int(os.environ["REDIS_PORT"])
    password = os.environ.get("REDIS_PASSWORD")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with socket.create_connection((host, port), timeout=5) as connection:
        if password:
            command(connection, "AUTH", password)
        while True:
            visits = command(connection, "INCR", "sample:visits")
            print(f"visit number {visits} (cache at {host}:{port})", flush=True)
            if "--once" in sys.argv:
                return
            time.sleep(5)


if __name__ == "__main__":
    main()
