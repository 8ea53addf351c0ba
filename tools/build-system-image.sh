#!/usr/bin/env bash
# Builds a real six-layer OCI image from this machine's own files with umoci (Debian: umoci),
# for measuring `overlaybench import` and for running the probes on a real image:
#   tools/build-system-image.sh DIR      -> DIR/oci (layout, tag "system"), DIR/system.oci.tar,
#                                             DIR/system.docker.tar is made by skopeo if present
# Layers: 1 /usr/share/doc + zoneinfo (symlinks, hard links), a set-user-ID and a set-group-ID
# binary, user.* xattrs; 2 python3.11's library; 3 /usr/share/locale; 4 deletions (per-file
# whiteouts), rewritten files, /usr/share/perl; 5 a hand-made layer with opaque directories
# (.wh..wh..opq) and whiteouts of directories; 6 a few files added and replaced.
# Run as root (owners and set-user-ID bits are kept).
set -euo pipefail
out=${1:?usage: $0 DIR}
mkdir -p "$out"
cd "$out"
rm -rf oci bundle layer5 system.oci.tar system.docker.tar
umoci init --layout oci
umoci new --image oci:system
umoci unpack --image oci:system bundle >/dev/null
root=bundle/rootfs
repack() { umoci repack --refresh-bundle --image oci:system bundle >/dev/null; }

# 1: documentation and time zones, a set-user-ID and a set-group-ID file, hard links, xattrs.
mkdir -p $root/usr/share $root/usr/bin $root/etc
cp -a /usr/share/doc /usr/share/zoneinfo $root/usr/share/
cp -a /usr/bin/su $root/usr/bin/su && chmod 4755 $root/usr/bin/su
cp -a /usr/bin/expiry $root/usr/bin/expiry 2>/dev/null || cp -a /usr/bin/true $root/usr/bin/expiry
chgrp 42 $root/usr/bin/expiry && chmod 2755 $root/usr/bin/expiry
ln $root/usr/bin/su $root/usr/bin/su-hardlink
cp -a /etc/os-release $root/etc/os-release
python3 - "$root" <<'PY'
import os, sys
root = sys.argv[1]
n = 0
for dirpath, _, files in os.walk(os.path.join(root, "usr/share/doc")):
    for name in files:
        path = os.path.join(dirpath, name)
        if not os.path.islink(path) and n < 200:
            os.setxattr(path, "user.origin", b"debian-doc")
            n += 1
os.setxattr(os.path.join(root, "usr/share/doc"), "user.dir", b"docs")
PY
repack

# 2: a language runtime's library.
mkdir -p $root/usr/lib
cp -a /usr/lib/python3.11 $root/usr/lib/
repack

# 3: translations.
cp -a /usr/share/locale $root/usr/share/
repack

# 4: deletions (umoci writes one whiteout per removed name), rewrites, more files.
rm -rf $root/usr/share/doc/[a-c]* $root/usr/lib/python3.11/test $root/usr/share/locale/de
echo "rewritten in layer 4" > $root/etc/os-release
cp -a /usr/share/perl $root/usr/share/
repack

# 5: a hand-made layer with opaque markers, as docker build writes them for rm -rf + mkdir.
mkdir -p layer5/usr/share/doc/dpkg layer5/usr/lib/python3.11/email layer5/usr/share/zoneinfo
touch layer5/usr/share/doc/dpkg/.wh..wh..opq layer5/usr/lib/python3.11/email/.wh..wh..opq
echo "only this is left of dpkg's docs" > layer5/usr/share/doc/dpkg/README
cp -a /usr/lib/python3.11/email/__init__.py layer5/usr/lib/python3.11/email/
touch layer5/usr/share/zoneinfo/.wh.Antarctica layer5/usr/share/zoneinfo/.wh.posix
tar --numeric-owner --owner=0 --group=0 --xattrs --format=pax -C layer5 -cf layer5.tar .
umoci raw add-layer --image oci:system layer5.tar
rm -rf bundle layer5 layer5.tar
umoci unpack --image oci:system bundle >/dev/null

# 6: a few files added and replaced.
cp -a /usr/share/i18n $root/usr/share/
echo "layer 6" > $root/usr/share/doc/dpkg/README
repack
rm -rf bundle

# The same image as an OCI archive, and as a docker archive where skopeo is installed.
tar -C oci -cf system.oci.tar .
if command -v skopeo >/dev/null; then
  skopeo copy --quiet oci:oci:system docker-archive:system.docker.tar:system/image:latest
fi
echo "built $(find oci/blobs -type f | wc -l) blobs in $out/oci"
