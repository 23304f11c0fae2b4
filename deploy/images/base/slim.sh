#!/bin/sh
# Run by deploy/images/build.sh on the debootstrapped root file system (its path is $1) before
# it is imported as bdcoord/base: drops what a container that runs one JVM never reads.
set -eu
root=$1
[ -d "$root/usr/lib/jvm" ] || { echo "slim.sh: $root has no JVM" >&2; exit 1; }
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/var/cache/debconf/*-old \
  "$root"/var/log/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
  "$root"/usr/share/lintian "$root"/usr/share/locale/* "$root"/tmp/* "$root"/var/tmp/* \
  "$root"/usr/lib/jvm/*/lib/ct.sym
# The machine that built the image must not leak into it; Docker provides these at run time.
: >"$root/etc/hostname"
: >"$root/etc/resolv.conf"
rm -f "$root/etc/machine-id" "$root/var/lib/dbus/machine-id"
