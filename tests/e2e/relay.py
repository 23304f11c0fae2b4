#!/usr/bin/python3
"""A relay between sockets: each LISTEN -> TARGET pair, each connection its own pair of threads.
An address is a unix socket's path, or tcp:HOST:PORT (port 0: any free one; with --ports FILE
the bound ports are written there, one line per pair, once all listen). The e2e tests put one
between an agent and bdcoordd, or a bdcoordd and etcd; SIGSTOP on it cuts them off (the streams
stall, as over a dead link), SIGCONT brings them back.
Usage: relay.py [--ports FILE] LISTEN TARGET [LISTEN TARGET ...]"""
import os
import socket
import sys
import threading


def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def open_socket(address):
    if address.startswith("tcp:"):
        host, port = address[4:].rsplit(":", 1)
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM), (host, int(port))
    return socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), address


def listen(address):
    server, where = open_socket(address)
    if server.family == socket.AF_UNIX and os.path.exists(where):
        os.unlink(where)
    if server.family == socket.AF_INET:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(where)
    server.listen(16)
    return server


def serve(server, target):
    while True:
        client, _ = server.accept()
        upstream, where = open_socket(target)
        try:
            upstream.connect(where)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pump, args=(upstream, client), daemon=True).start()


def main():
    args = sys.argv[1:]
    ports_file = None
    if args[:1] == ["--ports"]:
        ports_file, args = args[1], args[2:]
    pairs = [(listen(args[i]), args[i + 1]) for i in range(0, len(args), 2)]
    if ports_file:
        with open(ports_file + ".tmp", "w") as out:
            for server, _ in pairs:
                out.write("%s\n" % (server.getsockname()[1] if server.family == socket.AF_INET else 0))
        os.rename(ports_file + ".tmp", ports_file)
    for server, target in pairs[1:]:
        threading.Thread(target=serve, args=(server, target), daemon=True).start()
    serve(*pairs[0])


if __name__ == "__main__":
    main()
