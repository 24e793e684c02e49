#!/usr/bin/env bash
# Build a minimal busybox root filesystem for mini's tests and benchmarks.
#
#   images/busybox.sh [OUTDIR]        (default: images/out/busybox)
#
# Source: Debian's busybox-static (/bin/busybox), installed with apt-get if
# missing. The tree is built in a sibling temp dir and swapped into place, so a
# rebuild is always clean and a reader never sees a half-built tree.
# Prints the absolute output path on stdout.
set -euo pipefail
umask 022

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/out/busybox}"
busybox_bin=/bin/busybox

if [[ ! -x $busybox_bin ]] || ! "$busybox_bin" --list-full >/dev/null 2>&1; then
  echo "busybox.sh: installing busybox-static" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q busybox-static </dev/null >&2 ||
    { apt-get update -q </dev/null >&2 && apt-get install -y -q busybox-static </dev/null >&2; }
fi
# busybox-static must be static: the rootfs has no libc.
# (Output captured first: `cmd | grep -q` can die of SIGPIPE under pipefail.)
if command -v file >/dev/null && [[ $(file -L "$busybox_bin") != *"statically linked"* ]]; then
  echo "busybox.sh: $busybox_bin is not statically linked (install busybox-static)" >&2
  exit 1
fi

mkdir -p "$(dirname "$out")"
out="$(cd "$(dirname "$out")" && pwd)/$(basename "$out")"
tmp="$(mktemp -d "$out.tmp.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

chmod 0755 "$tmp"
cd "$tmp"
mkdir -p bin sbin usr/bin usr/sbin proc sys dev tmp root home/user etc run var
chmod 1777 tmp
chmod 0700 root
install -m 0755 "$busybox_bin" bin/busybox

# One relative symlink per applet (`usr/bin/env` -> ../../bin/busybox), made
# in one perl process (perl-base is Essential on Debian; a fork per link is slow).
# `linuxrc` (initrd init at /) is left out on purpose.
"$busybox_bin" --list-full | perl -ne '
  chomp; next if $_ eq "" || $_ eq "bin/busybox" || $_ eq "linuxrc";
  my $up = "../" x (() = m{/}g);
  symlink("${up}bin/busybox", $_) or die "symlink $_: $!\n";'

cat >etc/passwd <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
cat >etc/group <<'EOF'
root:x:0:
daemon:x:1:
wheel:x:10:user
audio:x:29:user
user:x:1000:
nogroup:x:65534:
EOF
cat >etc/shadow <<'EOF'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
user:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
EOF
chmod 0640 etc/shadow
cat >etc/os-release <<'EOF'
NAME="mini busybox"
ID=mini-busybox
PRETTY_NAME="mini busybox rootfs (Debian busybox-static)"
EOF
bb_banner="$("$busybox_bin" --help 2>&1 || true)"
bb_banner="${bb_banner%%$'\n'*}"                 # "BusyBox v1.35.0 (Debian ...) ..."
BB_VERSION="${bb_banner#BusyBox v}"
BB_VERSION="${BB_VERSION%% *}"
echo "VERSION_ID=\"${BB_VERSION:-unknown}\"" >>etc/os-release
echo mini >etc/hostname
chown 1000:1000 home/user
chmod 0755 home/user

# Swap into place: rename the old tree aside, move the new one in, delete old.
if [[ -e $out || -L $out ]]; then
  old="$(mktemp -d "$out.old.XXXXXX")"
  mv -T "$out" "$old/tree"
  mv -T "$tmp" "$out"
  rm -rf "$old"
else
  mv -T "$tmp" "$out"
fi
trap - EXIT
echo "$out"
