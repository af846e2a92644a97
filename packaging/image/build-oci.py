#!/usr/bin/env python3
"""Builds warren's container image as an OCI image layout, without a container runtime.

    python3 packaging/image/build-oci.py --binary target/dist/warren --out DIR [--tag T]

One layer: the binary at /usr/local/bin/warren plus the shared libraries it loads (found with
ldd, kept at their paths), /data and /tmp. The entrypoint is `warren serve --role`, so the
image's argument is the role (`syncer` when none is given); `warren create vcluster` runs it
with `command: [warren]` and its own arguments. The layout goes to DIR (index.json, oci-layout,
blobs/sha256/...); `--tar FILE` also writes it as one tarball (`docker load`, `podman load`,
`ctr images import` read it). Byte-for-byte reproducible: fixed mtimes, owners and order.
"""

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

ENTRYPOINT = ["/usr/local/bin/warren", "serve", "--role"]
DEFAULT_ROLE = ["syncer"]
# Docker's default when a config sets none; kept explicit so `command: [warren]` resolves.
PATH_ENV = "PATH=/usr/local/bin:/usr/bin:/bin"


def fail(message):
    print(f"build-oci: {message}", file=sys.stderr)
    sys.exit(1)


def shared_libraries(binary):
    """Absolute paths of the libraries the dynamic loader maps for `binary` (none if static)."""
    out = subprocess.run(["ldd", binary], capture_output=True, text=True)
    text = out.stdout + out.stderr
    if "not a dynamic executable" in text or "statically linked" in text:
        return []
    if out.returncode != 0:
        fail(f"ldd {binary}: {text.strip()}")
    libs = []
    for line in text.splitlines():
        if "not found" in line:
            fail(f"{binary} needs a library this machine lacks: {line.strip()}")
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def add_dir(tar, path, mode=0o755):
    info = tarfile.TarInfo(path)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def add_file(tar, path, source, mode):
    with open(source, "rb") as f:
        data = f.read()
    info = tarfile.TarInfo(path)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def layer_tar(binary, libs):
    """The root filesystem as an uncompressed tar (deterministic)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        dirs = {"usr", "usr/local", "usr/local/bin"}
        for lib in libs:
            parts = os.path.dirname(lib).strip("/").split("/")
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        for d in sorted(dirs):
            add_dir(tar, d)
        add_dir(tar, "data", 0o700)
        add_dir(tar, "tmp", 0o1777)
        add_file(tar, "usr/local/bin/warren", binary, 0o755)
        for lib in sorted(set(libs)):
            # Resolve symlinks: the layer carries the file under the name the loader asks for.
            add_file(tar, lib.lstrip("/"), os.path.realpath(lib), 0o755)
    return buf.getvalue()


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def write_blob(out, data):
    digest = sha256(data)
    path = os.path.join(out, "blobs", "sha256", digest.split(":", 1)[1])
    with open(path, "wb") as f:
        f.write(data)
    return {"digest": digest, "size": len(data)}


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def version_of(binary):
    out = subprocess.run([binary, "version"], capture_output=True, text=True)
    if out.returncode != 0:
        fail(f"{binary} version: {out.stderr.strip()}")
    m = re.search(r"\d+\.\d+\.\d+\S*", out.stdout)
    if not m:
        fail(f"no version in `{binary} version`: {out.stdout.strip()}")
    return m.group(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", required=True, help="the warren binary to package")
    ap.add_argument("--out", required=True, help="directory for the OCI image layout")
    ap.add_argument("--tag", help="image reference (default warren:<version of the binary>)")
    ap.add_argument("--tar", help="also write the layout as this tarball")
    ap.add_argument("--gzip-level", type=int, default=9, choices=range(1, 10),
                    help="layer compression (9, the default, is smallest; 1 is fastest)")
    args = ap.parse_args()
    if not os.path.isfile(args.binary) or not os.access(args.binary, os.X_OK):
        fail(f"{args.binary}: not an executable file")
    version = version_of(args.binary)
    tag = args.tag or f"warren:{version}"
    if ":" not in tag.rsplit("/", 1)[-1]:
        fail(f"--tag {tag}: expected NAME:TAG")
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine)
    if arch is None:
        fail(f"unsupported architecture {os.uname().machine}")

    os.makedirs(os.path.join(args.out, "blobs", "sha256"), exist_ok=True)
    layer = layer_tar(args.binary, shared_libraries(args.binary))
    compressed = gzip.compress(layer, compresslevel=args.gzip_level, mtime=0)
    layer_desc = write_blob(args.out, compressed)
    config = {
        "architecture": arch,
        "os": "linux",
        "config": {
            "Entrypoint": ENTRYPOINT,
            "Cmd": DEFAULT_ROLE,
            "Env": [PATH_ENV],
            "WorkingDir": "/",
            "Volumes": {"/data": {}},
            "Labels": {
                "org.opencontainers.image.title": "warren",
                "org.opencontainers.image.version": version,
            },
        },
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer)]},
        "history": [{"created_by": "packaging/image/build-oci.py"}],
    }
    config_desc = write_blob(args.out, canonical(config))
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config_desc},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer_desc}],
    }
    manifest_desc = write_blob(args.out, canonical(manifest))
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            **manifest_desc,
            "platform": {"architecture": arch, "os": "linux"},
            "annotations": {
                # containerd and docker read the full name; the OCI key holds the tag
                "io.containerd.image.name": tag,
                "org.opencontainers.image.ref.name": tag.rsplit(":", 1)[1],
            },
        }],
    }
    with open(os.path.join(args.out, "index.json"), "wb") as f:
        f.write(canonical(index))
    with open(os.path.join(args.out, "oci-layout"), "wb") as f:
        f.write(canonical({"imageLayoutVersion": "1.0.0"}))
    if args.tar:
        with tarfile.open(args.tar, "w", format=tarfile.PAX_FORMAT) as tar:
            for root, _, files in sorted(os.walk(args.out)):
                for name in sorted(files):
                    path = os.path.join(root, name)
                    info = tar.gettarinfo(path, os.path.relpath(path, args.out))
                    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
    print(f"{tag} {manifest_desc['digest']} ({len(compressed) / 1e6:.1f} MB compressed)")


if __name__ == "__main__":
    main()
