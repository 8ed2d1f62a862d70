# `cmake --install build --prefix /usr` into a DESTDIR lays out exactly
# what README.md ("Installing") says, with those modes; a second install
# keeps an edited polrecd.yaml; and the paths compiled into polrecd are
# where an install with the configured prefix puts the files.
source "$(dirname "$0")/lib.sh"

DEST=$WORK/root
umask 022   # parent directories are created with the umask, as by any install
DESTDIR=$DEST cmake --install "$POLREC_BUILD" --prefix /usr >"$WORK/install.log" \
	|| { cat "$WORK/install.log" >&2; die "cmake --install failed"; }
check "layout and modes" "$(cd "$DEST" && find . -mindepth 1 -printf '%M %P\n' | sort -k2)" \
"drwxr-xr-x etc
drwx------ etc/polrec
drwx------ etc/polrec/policies.d
-rw------- etc/polrec/polrecd.yaml
drwxr-xr-x usr
drwxr-xr-x usr/bin
-rwxr-xr-x usr/bin/polq
drwxr-xr-x usr/lib
drwxr-xr-x usr/lib/polrec
drwxr-xr-x usr/lib/polrec/policies.d
-rw-r--r-- usr/lib/polrec/policies.d/default.yaml
drwxr-xr-x usr/lib/systemd
drwxr-xr-x usr/lib/systemd/system
-rw-r--r-- usr/lib/systemd/system/polrecd.service
drwxr-xr-x usr/sbin
-rwxr-xr-x usr/sbin/polrecd
drwxr-xr-x usr/share
drwxr-xr-x usr/share/bash-completion
drwxr-xr-x usr/share/bash-completion/completions
-rw-r--r-- usr/share/bash-completion/completions/polq
drwxr-xr-x usr/share/man
drwxr-xr-x usr/share/man/man1
-rw-r--r-- usr/share/man/man1/polq.1
drwxr-xr-x usr/share/man/man5
-rw-r--r-- usr/share/man/man5/polrec-policy.5
drwxr-xr-x usr/share/man/man8
-rw-r--r-- usr/share/man/man8/polrecd.8"
check "the vendor policy is the embedded default" \
	"$(cmp "$DEST/usr/lib/polrec/policies.d/default.yaml" <("$DEST/usr/sbin/polrecd" --print-default-policy) && echo same)" "same"
check "the vendor policy is valid" \
	"$("$DEST/usr/sbin/polrecd" --check-policy "$DEST/usr/lib/polrec/policies.d/default.yaml" 2>&1 | sed "s#$DEST##")" \
	"/usr/lib/polrec/policies.d/default.yaml: valid, $(grep -c '^kind: Expectation' "$POLREC_SRC/recorder/default-policy.yaml") expectations"
check "polrecd.yaml sets nothing (every line a comment)" \
	"$(grep -v -c -E '^(#|$)' "$DEST/etc/polrec/polrecd.yaml" || true)" "0"

# an administrator's edit survives a second install
echo "max-age: 30d" >>"$DEST/etc/polrec/polrecd.yaml"
DESTDIR=$DEST cmake --install "$POLREC_BUILD" --prefix /usr >/dev/null
check "a second install keeps an edited polrecd.yaml" "$(tail -n 1 "$DEST/etc/polrec/polrecd.yaml")" "max-age: 30d"

# the built polrecd looks where an install with the configured prefix puts things
PREFIX=$(configured_prefix)
DEST2=$WORK/root2
DESTDIR=$DEST2 cmake --install "$POLREC_BUILD" >/dev/null
HELP=$("$DEST2$PREFIX/sbin/polrecd" --help)
for f in $(printf '%s\n' "$HELP" | grep -o '/[^ ,)]*polrec[^ ,)]*' | sort -u); do
	case $f in
	/var/lib/polrec) continue ;;              # the store: polrecd creates it
	/var/lib/prometheus/*) continue ;;        # node_exporter's textfile directory, not ours
	esac
	check "polrecd --help names $f, which the install has" "$([ -e "$DEST2$f" ] && echo yes)" "yes"
done
check "the unit starts the installed polrecd" \
	"$(sed -n 's/^ExecStart=//p' "$DEST2$PREFIX/lib/systemd/system/polrecd.service")" "$PREFIX/sbin/polrecd"
finish
