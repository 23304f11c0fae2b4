#!/usr/bin/env bash
# `bdcoord images` on the 4-host testbed without a registry: an image made on host1 only (the
# stand-in with a label of this run: a new image ID) is pushed from host1's Docker through
# bdcoordd to the 3 other hosts (host1 skipped), each host's own `docker image inspect` then has
# the same ID; a second push skips all 4 without reading the image; `images ls` shows it on
# all 4; the CLI's errors (an image the local Docker lacks, a file that is not an archive, an
# unknown host). Prints the push's MB/s. Usage: images_testbed_test.sh BDCOORDD BDAGENT BDCOORD
set -euo pipefail
BDCOORDD=$1 BDAGENT=$2 BDCOORD=$3
HERE=$(cd "$(dirname "$0")" && pwd)
source "${HERE}/testbed_lib.sh"
testbed_setup images e2eimages bdcoord-e2eimages all

run=$$
image="bdcoord-e2e/pushed:${run}"
export DOCKER_HOST=unix:///run/bdcoord-testbed/host1/docker.sock
remove_image() { for h in "${HOSTS[@]}"; do dockerh "${h}" rmi -f "${image}" >/dev/null 2>&1 || true; done; }
trap 'remove_image; testbed_cleanup' EXIT

start_coordinator
for h in "${HOSTS[@]}"; do start_agent "${h}"; done
wait_until 30 "the agents did not connect" all_connected

printf 'FROM bdcoord/standin:latest\nLABEL io.bdcoord.e2e.run=%s\n' "${run}" |
  dockerh host1 build -q -t "${image}" - >/dev/null
id=$(dockerh host1 image inspect -f '{{.Id}}' "${image}")
for h in host2 host3 host4; do
  ! dockerh "${h}" image inspect "${image}" >/dev/null 2>&1 || fail "${h} has ${image} before the push"
done
bytes=$(dockerh host1 save "${image}" | wc -c)

start=$(date +%s.%N)
"${BDCOORD}" images push "${image}" --coordinator "${sock}" >"${work}/push.out" 2>&1 ||
  fail "the push failed: $(cat "${work}/push.out")"
took=$(echo "$(date +%s.%N) - ${start}" | bc)
cat "${work}/push.out"
grep -q "3 of 4 hosts lack it" "${work}/push.out" || fail "host1 was not skipped"
grep -Eq "host1 +skipped +has it already" "${work}/push.out" || fail "no skip line for host1"
for h in host2 host3 host4; do
  grep -Eq "${h} +loaded +Loaded image: ${image}" "${work}/push.out" || fail "${h} did not load it"
  [[ $(dockerh "${h}" image inspect -f '{{.Id}}' "${image}") == "${id}" ]] ||
    fail "${h} has another image ID than host1's ${id}"
done
echo "ok: pushed ${bytes} bytes to 3 hosts in ${took} s: $(echo "scale=1; ${bytes} / ${took} / 1000000" | bc) MB/s; all 4 have ${id}"

"${BDCOORD}" images push "${image}" --coordinator "${sock}" >"${work}/again.out" 2>&1 ||
  fail "the second push failed: $(cat "${work}/again.out")"
grep -q "0 of 4 hosts lack it" "${work}/again.out" || fail "the second push sent: $(cat "${work}/again.out")"
[[ $(grep -cE "host[1-4] +skipped" "${work}/again.out") -eq 4 ]] || fail "not all 4 skipped"
! grep -q "of about" "${work}/again.out" || fail "the second push read the image: $(cat "${work}/again.out")"
echo "ok: a second push skips all 4, without reading the image"

"${BDCOORD}" images ls --coordinator "${sock}" -o json >"${work}/ls.json"
python3 - "${work}/ls.json" "${image}" "${id}" <<'PY' || fail "images ls: $(cat "${work}/ls.json")"
import json, sys
hosts = json.load(open(sys.argv[1]))["hosts"]
assert sorted(h["host"] for h in hosts) == ["host1", "host2", "host3", "host4"], hosts
for h in hosts:
    assert any(sys.argv[2] in i["repo_tags"] and i["id"] == sys.argv[3] for i in h["images"]), h["host"]
PY
"${BDCOORD}" images ls --coordinator "${sock}" | grep -c "${image}" | grep -qx 4 || fail "the table does not show it 4 times"
echo "ok: images ls shows it on all 4"

# expect_error CODE MESSAGE COMMAND...: the command exits CODE and prints MESSAGE (a line of it).
expect_error() {
  local want=$1 message=$2 code=0
  shift 2
  "$@" >"${work}/err.out" 2>&1 || code=$?
  [[ ${code} -eq ${want} ]] || fail "exit ${code}, not ${want}: $* : $(cat "${work}/err.out")"
  grep -qxF -- "${message}" "${work}/err.out" || fail "no '${message}' from $*: $(cat "${work}/err.out")"
}
expect_error 1 "bdcoord: image 'bdcoord-e2e/none:1' is not in the local Docker (${DOCKER_HOST})" \
  "${BDCOORD}" images push bdcoord-e2e/none:1 --coordinator "${sock}"
expect_error 1 "  hint: build or pull it there, point DOCKER_HOST at the Docker that has it, or give a \`docker save IMAGE -o FILE.tar\` file" \
  "${BDCOORD}" images push bdcoord-e2e/none:1 --coordinator "${sock}"
echo "not a tar" >"${work}/bad.tar"
expect_error 2 "bdcoord: ${work}/bad.tar: not a \`docker save\` archive (no manifest.json)" \
  "${BDCOORD}" images push "${work}/bad.tar" --coordinator "${sock}"
expect_error 1 "bdcoord: ${work}/none.tar: cannot read: No such file or directory" \
  "${BDCOORD}" images push "${work}/none.tar" --coordinator "${sock}"
expect_error 1 "bdcoord: no host named 'host9'; did you mean 'host1'?" \
  "${BDCOORD}" images push "${image}" --host host9 --coordinator "${sock}"
echo "ok: the CLI's errors"
