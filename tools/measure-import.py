#!/usr/bin/env python3
"""Import throughput of `overlaybench import` beside `umoci unpack` and `tar -x` of the same
layers, in MB/s of uncompressed layer data (10^6 bytes/s), median of N runs, interleaved.

    tools/measure-import.py OVERLAYBENCH LAYOUT TAG WORKDIR [RUNS]

Each run starts with the layout's blobs in the page cache (read through first) and the output
removed and synced; each timed command ends with its data on disk: overlaybench import syncs
the filesystem itself before its rename, and the other two are followed by sync(1), so all
three pay for writeback. tar -x gets each layer into its own directory, as import does (but
converts no whiteouts and checks no digest); umoci unpack flattens every layer into one
rootfs. Prints one line per tool and run, then the medians."""
import json, os, shutil, statistics, subprocess, sys, time

overlaybench, layout, tag, work = sys.argv[1:5]
runs = int(sys.argv[5]) if len(sys.argv) > 5 else 3
os.makedirs(work, exist_ok=True)

def blob(digest):
    return os.path.join(layout, "blobs", *digest.split(":"))

index = json.load(open(os.path.join(layout, "index.json")))
manifest_desc = next(m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
manifest = json.load(open(blob(manifest_desc["digest"])))
layers = manifest["layers"]

def warm():
    for name in os.listdir(os.path.join(layout, "blobs", "sha256")):
        with open(os.path.join(layout, "blobs", "sha256", name), "rb") as f:
            while f.read(1 << 20):
                pass

def clean(path):
    if os.path.exists(path):
        subprocess.run(["rm", "-rf", path], check=True)
    subprocess.run(["sync"], check=True)

def timed(command, cwd=None):
    start = time.monotonic()
    subprocess.run(command, check=True, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, shell=isinstance(command, str))
    return time.monotonic() - start

def run_import():
    out = os.path.join(work, "import")
    clean(out)
    warm()
    return timed([overlaybench, "import", "-q", f"oci:{layout}:{tag}", "--out", out])

def run_umoci():
    out = os.path.join(work, "umoci")
    clean(out)
    warm()
    return timed(f"umoci unpack --image {layout}:{tag} {out} && sync")

def run_tar():
    out = os.path.join(work, "tar")
    clean(out)
    warm()
    steps = []
    for i, layer in enumerate(layers):
        flag = {"application/vnd.oci.image.layer.v1.tar+gzip": "-z", "application/vnd.oci.image.layer.v1.tar+zstd": "--zstd"}.get(layer["mediaType"], "")
        steps.append(f"mkdir -p {out}/{i} && tar --numeric-owner --xattrs --xattrs-include='*' -xp {flag} -f {blob(layer['digest'])} -C {out}/{i}")
    return timed(" && ".join(steps) + " && sync")

# The uncompressed bytes of every layer, as import's image.json counts them (one untimed import).
probe = os.path.join(work, "probe")
clean(probe)
subprocess.run([overlaybench, "import", "-q", f"oci:{layout}:{tag}", "--out", probe], check=True)
image = json.load(open(os.path.join(probe, "image.json")))
uncompressed = sum(layer["uncompressedSize"] for layer in image["layers"])
files = sum(layer["counts"]["files"] for layer in image["layers"])
clean(probe)
print(f"{len(layers)} layers, {uncompressed / 1e6:.1f} MB uncompressed, {files} files; load: {open('/proc/loadavg').read().strip()}")

results = {"overlaybench import": [], "umoci unpack": [], "tar -x": []}
tools = [("overlaybench import", run_import), ("umoci unpack", run_umoci), ("tar -x", run_tar)]
for r in range(runs):
    for name, function in tools:
        seconds = function()
        results[name].append(seconds)
        print(f"run {r + 1} {name:20s} {seconds:7.2f} s  {uncompressed / 1e6 / seconds:7.1f} MB/s")
print()
for name, times in results.items():
    median = statistics.median(times)
    print(f"{name:20s} median {median:6.2f} s  {uncompressed / 1e6 / median:7.1f} MB/s  (runs: {', '.join(f'{t:.2f}' for t in times)} s)")
for name in ("import", "umoci", "tar"):
    clean(os.path.join(work, name))
