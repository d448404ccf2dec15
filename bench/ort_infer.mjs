#!/usr/bin/env node
// ONNX Runtime peer for bench_infer: the ONNX file bench/torch_infer.py
// --onnx wrote for the weights of `bench_infer --export PREFIX`, run by
// onnxruntime-node on 1 thread (intra-op 1, inter-op 1, sequential, all
// graph optimizations), timed the way torch_infer.py and bench_infer time
// theirs (calls one by one for 0.2 s, the 10th percentile, median of 7
// runs). Checks first that it reproduces the C outputs in PREFIX.io.bin.
// The inputs are bench_infer's own (its generator, seed 7; batch b is the
// first b rows of 1024), so the first 8 rows must equal PREFIX.io.bin's.
//
//   node bench/ort_infer.mjs --net dense --prefix /tmp/dense --onnx /tmp/dense.onnx [--f64]
//
// onnxruntime-node comes from bench/ort_setup.sh, in $LRMLP_ORT_DIR
// (default $HOME/.cache/lrmlp-ort). Two columns: ort_us is the binding's
// synchronous run (what ORT's C and Python APIs cost: the graph plus a thin
// N-API wrapper); api_us is the documented `await session.run(feeds)`,
// which adds a turn of Node's event loop (setImmediate) and a Tensor wrap.
// Exit status 3: this ORT has no CPU kernel for an operator of the model
// (float64 Erf: --net lowrank --f64).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    net: { type: 'string', default: 'dense' },
    prefix: { type: 'string' },
    onnx: { type: 'string' },
    f64: { type: 'boolean', default: false },
  },
});
const die = (msg, code = 1) => {
  process.stderr.write(`ort_infer: ${msg}\n`);
  process.exit(code);
};
if (!a.prefix || !a.onnx || !['dense', 'lowrank'].includes(a.net))
  die('usage: ort_infer.mjs --net dense|lowrank --prefix PREFIX --onnx MODEL.onnx [--f64]', 2);

const dir = process.env.LRMLP_ORT_DIR || join(homedir(), '.cache', 'lrmlp-ort');
const req = createRequire(join(dir, 'package.json'));
let ort, binding, version;
try {
  ort = req('onnxruntime-node');
  version = req('onnxruntime-node/package.json').version;
  binding = req('onnxruntime-node/dist/binding.js');
} catch (e) {
  die(`onnxruntime-node not found in ${dir} (run bench/ort_setup.sh): ${e.message}`);
}

const d = 784, k = 10, maxn = 1024;
const Arr = a.f64 ? Float64Array : Float32Array;
const type = a.f64 ? 'float64' : 'float32';

// bench_infer's input generator (64-bit LCG, seed 7, uniform in [-1, 1)).
const X = new Arr(maxn * d);
{
  const M = 0xffffffffffffffffn;
  let s = 7n;
  for (let i = 0; i < X.length; i++) {
    s = (s * 6364136223846793005n + 1442695040888963407n) & M;
    X[i] = (Number(s >> 11n) / 9007199254740992) * 2 - 1;
  }
}

const buf = readFileSync(a.prefix + '.io.bin');
const io = new Arr(buf.buffer, buf.byteOffset, buf.byteLength / Arr.BYTES_PER_ELEMENT);
if (io.length !== 8 * (d + k)) die(`${a.prefix}.io.bin: ${io.length} values, expected ${8 * (d + k)} (--f64?)`);
for (let i = 0; i < 8 * d; i++)
  if (io[i] !== X[i]) die(`input ${i} differs from bench_infer's (${io[i]} vs ${X[i]})`);
const Yc = io.subarray(8 * d);

const opts = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
};
let session;
try {
  session = await ort.InferenceSession.create(a.onnx, opts);
} catch (e) {
  // ORT's CPU provider lacks some float64 kernels (Erf, so the low-rank
  // net's GELU): exit 3 says "not supported", not "broken".
  const unsupported = /Could not find an implementation/.test(e.message);
  die(`cannot load ${a.onnx}: ${e.message}`, unsupported ? 3 : 1);
}
const [xin] = session.inputNames, [yout] = session.outputNames;
// The same model in a bare binding session, run synchronously.
binding.initOrt();
const raw = new binding.binding.InferenceSession();
raw.loadModel(a.onnx, opts);

const feed = (b) => ({ [xin]: new ort.Tensor(type, X.subarray(0, b * d), [b, d]) });
const fetches = { [yout]: null };
const runSync = (f) => raw.run(f, fetches, {})[yout];

let err = 0, big = 1e-30;
{
  const f = feed(8);
  const ys = [(await session.run(f))[yout].data, runSync(f).data];
  for (const y of ys)
    for (let i = 0; i < 8 * k; i++) {
      err = Math.max(err, Math.abs(y[i] - Yc[i]));
      big = Math.max(big, Math.abs(Yc[i]));
    }
}
err /= big;
console.log(`# onnxruntime-node ${version}, net ${a.net} ${type}, 1 thread (intra-op 1, inter-op 1, sequential); ` +
            `max rel. difference to the C outputs ${err.toExponential(2)}`);
if (err > (a.f64 ? 1e-12 : 1e-4)) die('outputs differ: not the same network');

const now = () => Number(process.hrtime.bigint()) * 1e-9;
const p10 = (ts) => {
  ts.sort((x, y) => x - y);
  return ts[Math.floor(ts.length / 10)] * 1e6;
};
const median7 = async (once) => {
  const us = [];
  for (let r = 0; r < 7; r++) us.push(await once());
  us.sort((x, y) => x - y);
  return us[3];
};
const timeSync = (f) => {
  const ts = [], t0 = now();
  while (now() - t0 < 0.2 || ts.length < 20) {
    const t = now();
    runSync(f);
    ts.push(now() - t);
  }
  return p10(ts);
};
const timeApi = async (f) => {
  const ts = [], t0 = now();
  while (now() - t0 < 0.2 || ts.length < 20) {
    const t = now();
    await session.run(f);
    ts.push(now() - t);
  }
  return p10(ts);
};

console.log(`${'batch'.padStart(6)} ${'ort_us'.padStart(12)} ${'api_us'.padStart(12)}`);
for (const b of [1, 8, 64, 1024]) {
  const f = feed(b);
  const us = await median7(() => timeSync(f));
  const api = await median7(() => timeApi(f));
  console.log(`${String(b).padStart(6)} ${us.toFixed(2).padStart(12)} ${api.toFixed(2).padStart(12)}`);
}
