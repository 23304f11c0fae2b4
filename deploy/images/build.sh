#!/usr/bin/env bash
# deploy/images/build.sh: builds bdcoord's real-software images (the reference article's way:
# one Debian root with a headless JRE, plus each system's jars from Maven Central) and, with
# --load, puts them into every testbed host. Run `build.sh --help`.
set -euo pipefail

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
readonly SCRIPT_PATH
IMAGES_DIR=$(dirname "${SCRIPT_PATH}")
readonly IMAGES_DIR
REPO_DIR=$(dirname "$(dirname "${IMAGES_DIR}")")
readonly REPO_DIR

readonly ALL_SYSTEMS=(zookeeper kafka hadoop flink drill)
readonly CACHE_DIR=${BDCOORD_IMAGES_CACHE:-/var/cache/bdcoord}
readonly M2_DIR=${CACHE_DIR}/m2
readonly WORK_DIR=${CACHE_DIR}/images
readonly LABEL=org.bdcoord.images.content
readonly BASE_REPO=bdcoord/base
readonly BASE_TAG=bookworm-jre17
readonly SUITE=bookworm
readonly MIRROR=${BDCOORD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
readonly TESTBED_SH=${REPO_DIR}/deploy/testbed.sh

usage() {
  cat <<EOF
Usage: build.sh [SYSTEM...] [--load] [--force]

Builds the images bdcoord/SYSTEM:VERSION (also tagged :latest) for the given systems, default
all: ${ALL_SYSTEMS[*]} (a system whose directory has no pom.xml is skipped with a note).
Each is FROM ${BASE_REPO}:${BASE_TAG}, which is built first: debootstrap --variant=minbase
${SUITE} plus the packages in base/packages, slimmed by base/slim.sh, docker import'ed.
A system's jars are resolved from Maven Central by \`mvn dependency:copy-dependencies\` from
SYSTEM/pom.xml into the build context, with Maven's cache in ${M2_DIR}.

An image is rebuilt only when the content hash of its inputs (the files of base/ or SYSTEM/,
and for a system the base image's hash) differs from the hash in its label ${LABEL}:
a second run takes seconds.

Options:
  --load    After building, \`docker save\` the built set once and \`docker load\` it into the
            dockerd of every testbed host (from \`deploy/testbed.sh env\`), skipping hosts that
            already have every image.
  --force   Rebuild even when the hashes match (e.g. to pick up Debian security updates).
  --help    This text.

Environment:
  DOCKER_HOST            the dockerd that builds (docker's own variable; default: its default)
  BDCOORD_IMAGES_CACHE   cache directory (default /var/cache/bdcoord): Maven's repository in
                         m2/, debootstrap's packages in debootstrap/, build contexts in images/
  BDCOORD_DEBIAN_MIRROR  Debian mirror for debootstrap (default ${MIRROR})
  BDCOORD_IMAGES_LOAD_SOCKETS
                         for --load instead of the testbed: "NAME=SOCKET ..." (dockerd sockets)

Needs root, docker, debootstrap (for the base), mvn and jar (a JDK, for the systems).
EOF
}

log() { printf '%s build.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  printf 'build.sh: error: %s\n' "$*" >&2
  exit 1
}
# A command line it does not understand: exit 2, like every script's unknown option.
die_usage() {
  printf 'build.sh: error: %s\n' "$*" >&2
  exit 2
}

# run_step WHAT LOGFILE CMD...: runs CMD with its output in LOGFILE, prints a line every 15 s
# while it runs, and on failure the end of LOGFILE and a clear error.
run_step() {
  local what=$1 logfile=$2
  shift 2
  local start=${SECONDS} pid rc=0
  log "${what} (log: ${logfile})"
  "$@" >"${logfile}" 2>&1 &
  pid=$!
  while kill -0 "${pid}" 2>/dev/null; do
    sleep 1
    if (((SECONDS - start) % 15 == 0)) && kill -0 "${pid}" 2>/dev/null; then
      log "  ... ${what}: $((SECONDS - start)) s, last: $(tail -n 1 "${logfile}" | cut -c1-100)"
    fi
  done
  wait "${pid}" || rc=$?
  if ((rc != 0)); then
    tail -n 25 "${logfile}" >&2
    die "${what} failed (exit ${rc}); full log: ${logfile}"
  fi
  log "  done: ${what} in $((SECONDS - start)) s"
}

# content_hash FILE...: one hash of the names and contents of FILEs (directories recursively).
content_hash() {
  local f
  for f in "$@"; do
    if [[ -d ${f} ]]; then
      find "${f}" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    else
      sha256sum "${f}"
    fi
  done | sed "s|${IMAGES_DIR}/||" | sha256sum | cut -c1-16
}

image_hash() { # IMAGE: its content label, empty when it has none or does not exist
  docker image inspect -f "{{ index .Config.Labels \"${LABEL}\" }}" "$1" 2>/dev/null || true
}

pom_version() { # POM: the project's version (its first <version>, the system's version)
  sed -n 's|^  <version>\(.*\)</version>.*|\1|p' "$1" | head -n 1
}

# --- the base image ------------------------------------------------------------------------

base_hash() { content_hash "${IMAGES_DIR}/base"; }

build_base() {
  local hash
  hash=$(base_hash)
  if [[ ${FORCE} == 0 && $(image_hash "${BASE_REPO}:${BASE_TAG}") == "${hash}" ]]; then
    log "${BASE_REPO}:${BASE_TAG} is up to date (${hash})"
    return 0
  fi
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  [[ $(id -u) == 0 ]] || die "debootstrap needs root"
  local rootfs=${WORK_DIR}/base-rootfs start=${SECONDS} include
  include=$(grep -v '^#' "${IMAGES_DIR}/base/packages" | xargs | tr ' ' ',')
  mkdir -p "${CACHE_DIR}/debootstrap" "${WORK_DIR}"
  rm -rf "${rootfs}"
  run_step "debootstrap --variant=minbase ${SUITE} + ${include}" "${WORK_DIR}/base-debootstrap.log" \
    debootstrap --variant=minbase --include="${include}" \
    --cache-dir="${CACHE_DIR}/debootstrap" "${SUITE}" "${rootfs}" "${MIRROR}"
  cp "${IMAGES_DIR}/base/nsswitch.conf" "${rootfs}/etc/nsswitch.conf"
  "${IMAGES_DIR}/base/slim.sh" "${rootfs}"
  [[ -x ${rootfs}/usr/bin/java && -x ${rootfs}/usr/bin/getent && -x ${rootfs}/bin/sh ]] ||
    die "the base root file system lacks java, getent or sh"
  run_step "docker import ${BASE_REPO}:${BASE_TAG}" "${WORK_DIR}/base-import.log" \
    sh -c "tar -C '${rootfs}' --numeric-owner -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64' \
      --change 'ENV LANG=C.UTF-8' \
      --change 'LABEL ${LABEL}=${hash}' \
      --change 'CMD [\"/bin/sh\"]' \
      - '${BASE_REPO}:${BASE_TAG}'"
  docker tag "${BASE_REPO}:${BASE_TAG}" "${BASE_REPO}:latest"
  rm -rf "${rootfs}"
  log "built ${BASE_REPO}:${BASE_TAG} in $((SECONDS - start)) s ($(image_size "${BASE_REPO}:${BASE_TAG}"))"
}

image_size() {
  docker image inspect -f '{{ .Size }}' "$1" | awk '{ printf "%d MB", $1 / 1000000 }'
}

# --- one system ----------------------------------------------------------------------------

build_system() {
  local system=$1 dir=${IMAGES_DIR}/$1 version hash image start=${SECONDS}
  version=$(pom_version "${dir}/pom.xml")
  [[ -n ${version} ]] || die "${dir}/pom.xml has no <version>"
  image=bdcoord/${system}:${version}
  hash=$({
    content_hash "${dir}"
    base_hash
  } | sha256sum | cut -c1-16)
  if [[ ${FORCE} == 0 && $(image_hash "${image}") == "${hash}" ]]; then
    docker tag "${image}" "bdcoord/${system}:latest"
    log "${image} is up to date (${hash})"
    BUILT+=("${image}" "bdcoord/${system}:latest")
    return 0
  fi
  command -v mvn >/dev/null || die "mvn is missing: apt-get install maven"
  command -v jar >/dev/null || die "jar is missing (a JDK): apt-get install openjdk-17-jdk-headless"
  local ctx=${WORK_DIR}/${system}
  rm -rf "${ctx}"
  mkdir -p "${ctx}/lib" "${M2_DIR}"
  run_step "${system}: mvn dependency:copy-dependencies (${dir}/pom.xml)" \
    "${WORK_DIR}/${system}-mvn.log" \
    mvn -B -f "${dir}/pom.xml" -Dmaven.repo.local="${M2_DIR}" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="${ctx}/lib"
  local jars
  jars=$(find "${ctx}/lib" -name '*.jar' | wc -l)
  ((jars > 0)) || die "${system}: Maven resolved no jar"
  # SYSTEM/classpath/ (default logging configuration, ...) goes on the class path as a jar, so
  # that the plain `java -cp '/opt/SYSTEM/lib/*'` finds it.
  if [[ -d ${dir}/classpath ]]; then
    jar --create --file "${ctx}/lib/bdcoord-${system}.jar" --date=2000-01-01T00:00:00Z \
      -C "${dir}/classpath" .
  fi
  cp "${dir}/Dockerfile" "${ctx}/Dockerfile"
  run_step "${system}: docker build ${image} (${jars} jars, $(du -sh "${ctx}/lib" | cut -f1))" \
    "${WORK_DIR}/${system}-build.log" \
    docker build --build-arg "BASE=${BASE_REPO}:${BASE_TAG}" --label "${LABEL}=${hash}" \
    --label "org.bdcoord.images.version=${version}" \
    -t "${image}" -t "bdcoord/${system}:latest" "${ctx}"
  rm -rf "${ctx}/lib"
  log "built ${image} in $((SECONDS - start)) s ($(image_size "${image}"))"
  BUILT+=("${image}" "bdcoord/${system}:latest")
}

# --- --load --------------------------------------------------------------------------------

# load_targets: "NAME SOCKET" lines, one per testbed host (or from BDCOORD_IMAGES_LOAD_SOCKETS).
load_targets() {
  if [[ -n ${BDCOORD_IMAGES_LOAD_SOCKETS:-} ]]; then
    tr ' ' '\n' <<<"${BDCOORD_IMAGES_LOAD_SOCKETS}" | sed -n 's|^\([^=]*\)=\(.*\)$|\1 \2|p'
    return 0
  fi
  [[ -x ${TESTBED_SH} ]] || die "--load: ${TESTBED_SH} is missing"
  local env_out host var
  env_out=$("${TESTBED_SH}" env) || die "--load: the testbed is not up ('${TESTBED_SH} up N' first)"
  eval "${env_out}"
  for host in ${BDCOORD_TESTBED_HOSTS}; do
    var=BDCOORD_TESTBED_${host^^}_SOCK
    echo "${host} ${!var}"
  done
}

load_into_testbed() {
  (($# > 0)) || die "--load: no image was built"
  local targets ids host sock id img missing tarball=${WORK_DIR}/bdcoord-images.tar saved=0
  targets=$(load_targets)
  [[ -n ${targets} ]] || die "--load: no testbed host"
  ids=$(docker image inspect -f '{{ .Id }}' "$@" | sort -u)
  while read -r host sock; do
    [[ -S ${sock} ]] || die "--load: ${host}: no dockerd socket ${sock}"
    missing=0
    for id in ${ids}; do
      DOCKER_HOST=unix://${sock} docker image inspect "${id}" >/dev/null 2>&1 || missing=1
    done
    if ((missing == 0)); then
      # The same image IDs are there: only make sure the tags point at them.
      for img in "$@"; do
        DOCKER_HOST=unix://${sock} docker tag "$(docker image inspect -f '{{ .Id }}' "${img}")" "${img}"
      done
      log "${host}: has every image already"
      continue
    fi
    if ((saved == 0)); then
      run_step "docker save of ${#} tags (shared layers once)" "${WORK_DIR}/save.log" \
        docker save -o "${tarball}" "$@"
      saved=1
    fi
    run_step "${host}: docker load ($(du -h "${tarball}" | cut -f1))" "${WORK_DIR}/load-${host}.log" \
      env DOCKER_HOST="unix://${sock}" docker load -i "${tarball}"
  done <<<"${targets}"
  rm -f "${tarball}"
}

# --- main ----------------------------------------------------------------------------------

FORCE=0
LOAD=0
SYSTEMS=()
BUILT=()
for arg in "$@"; do
  case ${arg} in
    --help | -h)
      usage
      exit 0
      ;;
    --load) LOAD=1 ;;
    --force) FORCE=1 ;;
    -*) die_usage "unknown option ${arg} (see --help)" ;;
    *)
      [[ " ${ALL_SYSTEMS[*]} " == *" ${arg} "* ]] ||
        die_usage "unknown system '${arg}' (one of: ${ALL_SYSTEMS[*]})"
      SYSTEMS+=("${arg}")
      ;;
  esac
done
((${#SYSTEMS[@]} > 0)) || SYSTEMS=("${ALL_SYSTEMS[@]}")

command -v docker >/dev/null || die "docker is missing: apt-get install docker.io"
docker version -f '{{ .Server.Version }}' >/dev/null 2>&1 ||
  die "no dockerd answers at ${DOCKER_HOST:-the default socket} (set DOCKER_HOST)"
mkdir -p "${WORK_DIR}"

build_base
for system in "${SYSTEMS[@]}"; do
  if [[ ! -f ${IMAGES_DIR}/${system}/pom.xml ]]; then
    log "${system}: skipped (no ${system}/pom.xml; see README.md)"
    continue
  fi
  build_system "${system}"
done
if ((LOAD)); then
  load_into_testbed "${BUILT[@]}"
fi
log "ready: ${BUILT[*]}"
