#!/usr/bin/python3
"""ZooKeeper from outside the cluster for deploy/real/checks.sh (Debian's python3-kazoo).

  zk_client.py mode ADDRESS              srvr's Mode (leader, follower, ...), empty if no answer
  zk_client.py write ADDRESS PATH VALUE  set PATH to VALUE (created if missing) through that one server
  zk_client.py get ADDRESS PATH          PATH's data through that one server
  zk_client.py children ADDRESS PATH     PATH's children, sorted, one per line
  zk_client.py leader_url ADDRESS PATH   the URL in PATH's data (Flink's leader znodes hold it
                                         Java-serialized), empty if none
  zk_client.py writer ADDRESSES PATH STOP_FILE
                                         sets PATH every 100 ms through the ensemble (ADDRESSES:
                                         a,b,c; the client moves to another member when one
                                         goes) until STOP_FILE exists; then prints the writes
                                         that succeeded and failed and the longest time between
                                         two successful writes, in ms (what a client saw)

ADDRESS is host:port of ONE server: the client talks to no other member, so a value written
through one and read through another went through the ensemble. Exits 1 with the reason on
stderr when ZooKeeper does not answer within 10 s or the node is missing.
"""
import os
import re
import socket
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.handlers.threading import KazooTimeoutError


def mode(address):
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=2) as s:
            s.sendall(b"srvr")
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
    except OSError:
        return ""
    found = re.search(rb"^Mode: (\S+)$", reply, re.M)
    return found.group(1).decode() if found else ""


def writer(addresses, path, stop_file):
    client = KazooClient(hosts=addresses, timeout=10, read_only=False)
    client.start(timeout=30)
    client.ensure_path(path)
    ok = failed = 0
    last_ok = time.monotonic()
    longest = 0.0
    n = 0
    while not os.path.exists(stop_file):
        n += 1
        try:
            client.set(path, str(n).encode())
            now = time.monotonic()
            longest = max(longest, now - last_ok)
            last_ok = now
            ok += 1
        except (KazooException, KazooTimeoutError):
            failed += 1
        time.sleep(0.1)
    client.stop()
    client.close()
    print(f"writes_ok={ok} writes_failed={failed} longest_gap_ms={int(longest * 1000)}")
    return 0


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    command, address = argv[1], argv[2]
    if command == "mode":
        print(mode(address))
        return 0
    if command == "writer":
        return writer(address, argv[3], argv[4])
    client = KazooClient(hosts=address, timeout=10, read_only=False)
    try:
        client.start(timeout=10)
        if command == "write":
            client.ensure_path(argv[3])
            client.set(argv[3], argv[4].encode())
        elif command == "get":
            print(client.get(argv[3])[0].decode(errors="replace"))
        elif command == "children":
            print("\n".join(sorted(client.get_children(argv[3]))))
        elif command == "leader_url":
            # Java's writeUTF: the URL's length in 2 bytes, then the URL (a UUID follows).
            data = client.get(argv[3])[0]
            at = data.find(b"http")
            length = int.from_bytes(data[at - 2:at], "big") if at >= 2 else 0
            print(data[at:at + length].decode(errors="replace"))
        else:
            sys.exit(f"zk_client.py: unknown command {command!r}\n{__doc__}")
    except (KazooException, KazooTimeoutError) as e:
        print(f"zk_client.py {command} {address} {' '.join(argv[3:])}: {type(e).__name__} {e}",
              file=sys.stderr)
        return 1
    finally:
        client.stop()
        client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
