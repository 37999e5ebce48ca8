#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
# An OCI image archive (oci-layout, index.json, blobs/) from a root file system's tar, for
# `ctr images import --base-name` in tests/integration/oci-cri.t: no registry, no builder.
#   oci-image.py ROOTFS.TAR OUT.TAR TAG [ENTRYPOINT...]
import hashlib, io, json, sys, tarfile

layer_path, out_path, tag, entry = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
blobs = {}


def blob(data):
    d = hashlib.sha256(data).hexdigest()
    blobs[d] = data
    return {"digest": "sha256:" + d, "size": len(data)}


layer = open(layer_path, "rb").read()
ld = blob(layer)
conf = {"architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin:/usr/bin:/sbin:/usr/sbin"], "Cmd": ["sh"], "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [ld["digest"]]}}
if entry:
    conf["config"]["Entrypoint"] = entry
    conf["config"]["Cmd"] = None
cd = blob(json.dumps(conf).encode())
man = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
       "config": dict(cd, mediaType="application/vnd.oci.image.config.v1+json"),
       "layers": [dict(ld, mediaType="application/vnd.oci.image.layer.v1.tar")]}
md = blob(json.dumps(man).encode())
index = {"schemaVersion": 2, "manifests": [dict(md, mediaType="application/vnd.oci.image.manifest.v1+json",
                                                annotations={"org.opencontainers.image.ref.name": tag})]}
with tarfile.open(out_path, "w") as t:
    def add(name, data):
        i = tarfile.TarInfo(name)
        i.size = len(data)
        t.addfile(i, io.BytesIO(data))
    add("oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
    add("index.json", json.dumps(index).encode())
    for d, data in blobs.items():
        add("blobs/sha256/" + d, data)
