#!/usr/bin/env bash
# deploy/systemd/*.service as systemd 252 reads them: `systemd-analyze verify` must report
# nothing but the absence of the binaries and of their man pages (Documentation=man:...), which
# the packages or `cmake --install` install (tests/package/deb_package_test.sh verifies the
# installed units with both there). A misspelt hardening option
# (e.g. ProtectSystm=) is only a warning to systemd and would silently protect nothing.
# Usage: systemd_units_test.sh SOURCE_DIR
set -euo pipefail
units=("$1"/deploy/systemd/*.service)
((${#units[@]} == 2)) || { echo "FAIL: expected 2 units, found ${#units[@]}"; exit 1; }
failures=0
for unit in "${units[@]}"; do
  out=$(systemd-analyze verify "${unit}" 2>&1 || true)
  unexpected=$(grep -v -e 'Command /usr/local/bin/[a-z]* is not executable: No such file or directory' \
    -e "Command 'man [a-z]*([18])' failed with code 16" <<<"${out}" || true)
  if [[ -n ${unexpected} ]]; then
    echo "FAIL: ${unit}:"
    echo "${unexpected}"
    failures=$((failures + 1))
  else
    echo "ok: ${unit##*/}"
  fi
done
# The check itself: a unit with a misspelt option is caught.
bad=$(mktemp --suffix=.service)
trap 'rm -f "${bad}"' EXIT
printf '[Service]\nExecStart=/bin/true\nProtectSystm=yes\n' >"${bad}"
if [[ -z $(systemd-analyze verify "${bad}" 2>&1) ]]; then
  echo "FAIL: systemd-analyze did not report a misspelt option"
  failures=$((failures + 1))
fi
((failures == 0))
