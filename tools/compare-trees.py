#!/usr/bin/env python3
"""Compares two directory trees entry by entry, as ImageImportTests does: names, types, modes,
owners, sizes, content hashes, symlink targets, device numbers, user./security. xattrs (but
security.selinux), mtimes of non-directories and hard-link groups. Prints each difference and
exits 1 if there is any.   usage: compare-trees.py A B"""
import hashlib, os, stat, sys

def snapshot(root):
    entries, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            kind = stat.S_IFMT(st.st_mode)
            record = [oct(kind), oct(stat.S_IMODE(st.st_mode)), st.st_uid, st.st_gid]
            if stat.S_ISREG(kind):
                with open(path, "rb") as f:
                    record += [st.st_size, hashlib.file_digest(f, "sha256").hexdigest(), int(st.st_mtime)]
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(kind):
                record += [os.readlink(path), int(st.st_mtime)]
            elif stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
                record += [os.major(st.st_rdev), os.minor(st.st_rdev)]
            xattrs = sorted((n, hashlib.sha256(os.getxattr(path, n, follow_symlinks=False)).hexdigest())
                            for n in os.listxattr(path, follow_symlinks=False)
                            if (n.startswith("user.") or n.startswith("security.")) and n != "security.selinux")
            entries[rel] = (tuple(record), tuple(xattrs))
    links = sorted(sorted(group) for group in inodes.values() if len(group) > 1)
    return entries, links

a, links_a = snapshot(sys.argv[1])
b, links_b = snapshot(sys.argv[2])
differences = 0
for path in sorted(set(a) | set(b)):
    if a.get(path) != b.get(path):
        differences += 1
        if differences <= 40:
            print(f"{path}: {a.get(path)} | {b.get(path)}")
if links_a != links_b:
    differences += 1
    print("hard-link groups differ")
print(f"{len(a)} and {len(b)} entries, {len(links_a)} hard-link groups, {differences} differences")
sys.exit(1 if differences else 0)
