#!/usr/bin/env node
// SPDX-License-Identifier: LGPL-2.1-or-later
// A small CRI v1 client for tests/integration/oci-cri.t: the calls a kubelet makes to
// containerd's CRI plugin, from npm's @grpc/grpc-js and @grpc/proto-loader (installed
// by the test into its cache, found through NODE_PATH) and api.proto beside this file.
//
//   CRI_ENDPOINT=unix:///path/to/sock node cri.js CALL ARGS...
//   runp POD.json HANDLER | create POD_ID CTR.json POD.json | start ID | exec ID CMD...
//   stop ID | rm ID | stopp POD_ID | rmp POD_ID | inspectp POD_ID | ps | pods
//
// A failed call prints "error: CODE DETAILS" on stderr and exits 1.
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const def = loader.loadSync(path.join(__dirname, 'api.proto'),
  { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
const v1 = grpc.loadPackageDefinition(def).runtime.v1;
const ep = process.env.CRI_ENDPOINT;
const rt = new v1.RuntimeService(ep, grpc.credentials.createInsecure());

const call = (m, req) => new Promise((res, rej) =>
  rt[m](req, { deadline: Date.now() + 60000 }, (e, r) => (e ? rej(e) : res(r))));
const json = (f) => JSON.parse(fs.readFileSync(f, 'utf8'));
const out = (x) => console.log(typeof x === 'string' ? x : JSON.stringify(x));

async function main([cmd, ...a]) {
  switch (cmd) {
    case 'runp':
      return out((await call('RunPodSandbox', { config: json(a[0]), runtime_handler: a[1] })).pod_sandbox_id);
    case 'create':
      return out((await call('CreateContainer',
        { pod_sandbox_id: a[0], config: json(a[1]), sandbox_config: json(a[2]) })).container_id);
    case 'start': return call('StartContainer', { container_id: a[0] });
    case 'exec': {
      const r = await call('ExecSync', { container_id: a[0], cmd: a.slice(1), timeout: 30 });
      process.stdout.write(Buffer.from(r.stdout));
      process.stderr.write(Buffer.from(r.stderr));
      process.exitCode = r.exit_code;
      return;
    }
    case 'stop': return call('StopContainer', { container_id: a[0], timeout: 2 });
    case 'rm': return call('RemoveContainer', { container_id: a[0] });
    case 'stopp': return call('StopPodSandbox', { pod_sandbox_id: a[0] });
    case 'rmp': return call('RemovePodSandbox', { pod_sandbox_id: a[0] });
    case 'inspectp': return out(await call('PodSandboxStatus', { pod_sandbox_id: a[0], verbose: true }));
    case 'ps': return out((await call('ListContainers', {})).containers.map((c) => `${c.id} ${c.state}`));
    case 'pods': return out((await call('ListPodSandbox', {})).items.map((p) => `${p.id} ${p.state} ${p.runtime_handler}`));
    default:
      console.error('usage: cri.js runp|create|start|exec|stop|rm|stopp|rmp|inspectp|ps|pods ...');
      process.exitCode = 2;
  }
}
main(process.argv.slice(2)).catch((e) => {
  console.error(`error: ${e.code} ${e.details || e.message}`);
  process.exitCode = 1;
});
