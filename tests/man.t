#!/bin/sh
# SPDX-License-Identifier: MIT
# The manual pages in doc/man/: each lints clean with mandoc, every function
# a synopsis shows is declared in include/, and every function the shared
# libraries export (the slow paths aside) has a page that names it.
. "$(dirname "$0")/lib.sh"

if command -v mandoc >/dev/null 2>&1; then
	for page in doc/man/*.[13]; do
		out=$(mandoc -T lint -W warning "$page" 2>&1)
		rc=$?
		[ -z "$out" ] || echo "$out" | sed 's/^/    # /'
		[ $rc -eq 0 ] && [ -z "$out" ] && r=OK || r=NOTOK
		tap_line $r "mandoc -T lint $page"
	done
else
	tap_line NOTOK "mandoc is missing (scripts/install-deps, as root)"
fi

# The functions in the SYNOPSIS sections (.Fn name, .Fo name).
synopsis_functions() {
	sed -n '/^\.Sh SYNOPSIS/,/^\.Sh/s/^\.F[no] \([A-Za-z0-9_]*\).*/\1/p' \
		doc/man/*.3
}

missing=
for f in $(synopsis_functions); do
	grep -rqw "$f" include || missing="$missing $f"
done
[ -z "$missing" ] && r=OK || r=NOTOK
tap_line $r "every function in a synopsis is declared in include/${missing:+ (not:$missing)}"

# Every exported function but the slow paths is in some page's NAME:
# libpercpu's, and libpercpu-http's where it is built.
http_so=
[ -e "$BUILD/libpercpu-http.so" ] && http_so=$BUILD/libpercpu-http.so
undocumented=
for f in $(nm -D --defined-only "$BUILD/libpercpu.so" $http_so |
	awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | grep -v '_slow$'); do
	sed -n '/^\.Sh NAME/,/^\.Nd/p' doc/man/*.3 | grep -qx "\.Nm $f\( ,\)\{0,1\}" ||
		undocumented="$undocumented $f"
done
[ -z "$undocumented" ] && r=OK || r=NOTOK
tap_line $r "every exported function has a manual page${undocumented:+ (not:$undocumented)}"
tap_done
