"""Drives bdcoordd's public ClusterService from Python with code that protoc generated from
proto/bdcoord/v1/*.proto: ListHosts, Place, Apply (server streaming), GetStatus and Down, asserting real
content. Run by python_client_test.sh, which starts the coordinator and the agents.

Usage: python_client_test.py GENERATED_DIR ADDRESS SUBNET IMAGE HOST=RACK...
"""
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
from bdcoord.v1 import agent_pb2, cluster_pb2, cluster_pb2_grpc  # noqa: E402

ADDRESS, SUBNET, IMAGE = sys.argv[2], sys.argv[3], sys.argv[4]
HOSTS = dict(arg.split("=", 1) for arg in sys.argv[5:])  # host name -> rack label

# Two services on distinct hosts, pinned IPs; web waits for db to be ready.
SPEC = f"""cluster: pyclient
domain: py.lan
networks:
  bdcoord-py: {{driver: macvlan, parent: eth0, subnet: {SUBNET}, ip_range: 10.251.0.112/28}}
services:
  db:
    image: {IMAGE}
    ips: [10.251.0.120]
    command: ["--listen", "5432"]
    ready: {{log: "listening on 5432"}}
  web:
    image: {IMAGE}
    count: 2
    command: ["--listen", "8080"]
    placement: {{distinct_hosts: true}}
    depends_on: {{db: ready}}
"""
EXPECTED = {"db1", "web1", "web2"}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def main():
    channel = grpc.insecure_channel(ADDRESS)
    grpc.channel_ready_future(channel).result(timeout=10)
    stub = cluster_pb2_grpc.ClusterServiceStub(channel)

    # ListHosts: every agent, connected, with the rack label it was started with.
    hosts = stub.ListHosts(cluster_pb2.ListHostsRequest(), timeout=10).hosts
    by_name = {h.name: h for h in hosts}
    check(set(by_name) == set(HOSTS), f"ListHosts: {sorted(by_name)}, want {sorted(HOSTS)}")
    for name, rack in HOSTS.items():
        host = by_name[name]
        check(host.connected, f"ListHosts: {name} is not connected")
        check(host.facts.labels.get("rack") == rack,
              f"ListHosts: {name} labels {dict(host.facts.labels)}, want rack={rack}")
        check(host.facts.cpus > 0 and host.facts.memory_bytes > 0,
              f"ListHosts: {name} facts without CPUs or memory: {host.facts}")
        check(host.facts.docker_version, f"ListHosts: {name} has no Docker version")
    print(f"ok: ListHosts returns {', '.join(sorted(by_name))} with their racks and facts")

    # Place: a plan on the live hosts, nothing started.
    # SpecSource.yaml is bytes: the file as read, the coordinator checks its encoding.
    source = cluster_pb2.SpecSource(file_name="pyclient.yaml", yaml=SPEC.encode())
    placed = stub.Place(cluster_pb2.PlaceRequest(spec=source), timeout=30)
    instances = {i.name: i for i in placed.placement.instances}
    check(placed.placement.cluster == "pyclient", f"Place: cluster {placed.placement.cluster}")
    check(set(instances) == EXPECTED, f"Place: instances {sorted(instances)}")
    check(instances["db1"].ip == "10.251.0.120", f"Place: db1 ip {instances['db1'].ip}")
    check(instances["web1"].host != instances["web2"].host, "Place: web1, web2 share a host")
    for i in instances.values():
        check(i.host in HOSTS, f"Place: {i.name} on unknown host {i.host}")
        check(i.fqdn == f"{i.name}.py.lan", f"Place: {i.name} fqdn {i.fqdn}")
        check(f"{i.ip}\t{i.fqdn} {i.name}\n" in placed.hosts_file,
              f"Place: no hosts line for {i.name} in {placed.hosts_file!r}")
    status = stub.GetStatus(cluster_pb2.GetStatusRequest(), timeout=10)
    check(not [c for c in status.clusters if c.cluster == "pyclient"],
          "Place changed something: GetStatus lists pyclient before Apply")
    print("ok: Place plans db1 on 10.251.0.120 and web1, web2 on distinct hosts, applies nothing")

    # A spec with an error: INVALID_ARGUMENT, and the error with its position in the details.
    bad = cluster_pb2.SpecSource(file_name="bad.yaml", yaml=SPEC.replace("image:", "imgae:", 1).encode())
    try:
        stub.Place(cluster_pb2.PlaceRequest(spec=bad), timeout=30)
        check(False, "Place accepted a spec with an unknown key")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT, f"Place(bad): {e.code()}")
    # Latin-1 bytes: an error at its position, not a failed call.
    latin1 = cluster_pb2.SpecSource(file_name="latin1.yaml",
                                    yaml=SPEC.replace("py.lan", "py\xe9.lan", 1).encode("latin-1"))
    try:
        stub.Place(cluster_pb2.PlaceRequest(spec=latin1), timeout=30)
        check(False, "Place accepted a Latin-1 spec")
    except grpc.RpcError as e:
        check(e.code() == grpc.StatusCode.INVALID_ARGUMENT and "not UTF-8 at byte" in e.details(),
              f"Place(latin1): {e.code()} {e.details()}")
    print("ok: Place refuses a bad spec and a Latin-1 one with INVALID_ARGUMENT")

    # Apply: the server streams progress until done.
    updates = list(stub.Apply(cluster_pb2.ApplyRequest(spec=source), timeout=180))
    check(updates and updates[-1].done, f"Apply: did not finish: {updates[-1:]}")
    check(not updates[-1].failures, f"Apply: failures {updates[-1].failures}")
    waited = any(s.service == "web" and s.waiting_for for u in updates for s in u.services)
    check(waited, "Apply: web never waited for db")
    print(f"ok: Apply streams {len(updates)} updates, web waits for db, done without failures")

    # GetStatus: every instance running on a known host with its IP.
    status = stub.GetStatus(cluster_pb2.GetStatusRequest(cluster="pyclient"), timeout=10)
    check(len(status.clusters) == 1 and status.clusters[0].cluster == "pyclient",
          f"GetStatus: clusters {[c.cluster for c in status.clusters]}")
    views = {v.placed.name: v for v in status.clusters[0].instances}
    check(set(views) == EXPECTED, f"GetStatus: instances {sorted(views)}")
    for name, view in views.items():
        check(view.placed.host in HOSTS, f"GetStatus: {name} on {view.placed.host}")
        check(view.placed.ip.startswith("10.251.0."), f"GetStatus: {name} ip {view.placed.ip}")
        check(view.status.state == agent_pb2.INSTANCE_STATE_RUNNING and view.status.ready,
              f"GetStatus: {name} is {agent_pb2.InstanceState.Name(view.status.state)}, "
              f"ready={view.status.ready}")
        check(view.status.container_id, f"GetStatus: {name} has no container id")
        want = instances[name]
        check((view.placed.host, view.placed.ip) == (want.host, want.ip),
              f"GetStatus: {name} on {view.placed.host} {view.placed.ip}, Place said "
              f"{want.host} {want.ip}")
    check(views["db1"].placed.ip == "10.251.0.120", f"GetStatus: db1 ip {views['db1'].placed.ip}")
    print("ok: GetStatus shows db1, web1, web2 running and ready on their hosts and IPs")
    for name in sorted(views):
        print(f"  {name} {views[name].placed.host} {views[name].placed.ip}")

    # Down: the cluster is removed and forgotten.
    down = stub.Down(cluster_pb2.DownRequest(cluster="pyclient"), timeout=120)
    check(down.removed == 3, f"Down: removed {down.removed}, want 3")
    status = stub.GetStatus(cluster_pb2.GetStatusRequest(), timeout=10)
    check(not [c for c in status.clusters if c.cluster == "pyclient"],
          "Down: GetStatus still lists pyclient")
    print("ok: Down removes the 3 instances and GetStatus forgets the cluster")


if __name__ == "__main__":
    main()
