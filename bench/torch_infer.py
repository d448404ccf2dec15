#!/usr/bin/python3
"""PyTorch peer for bench_infer: the identical network (weights exported by
`bench_infer --export PREFIX`), timed the same way (calls one by one for
0.2 s, the 10th percentile, median of 7 runs) under torch.inference_mode,
1 thread. Checks first that it reproduces the C outputs for the exported
inputs. Also exports the model to ONNX with --onnx PATH.

Run with Debian's interpreter:
  /usr/bin/python3 bench/torch_infer.py --net dense --prefix /tmp/dense [--f64]"""
import argparse, time

import numpy as np
import torch
import torch.nn as nn


def build(net, dtype):
    if net == "dense":
        dims, acts = [784, 512, 512, 10], [nn.Tanh(), nn.Tanh(), None]
    else:  # the low-rank chain V^T, A_1, A_2, A_3, U, W_L (lowrank.h)
        r = 20
        dims = [784, r, r, r, r, 784, 10]
        acts = [None, nn.GELU(), nn.GELU(), None, nn.GELU(), None]
    layers = []
    for i, a in enumerate(acts):
        layers.append(nn.Linear(dims[i], dims[i + 1], bias=False))
        if a is not None:
            layers.append(a)
    return nn.Sequential(*layers).to(dtype), dims


def p10_us(f):
    ts = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.2 or len(ts) < 20:
        a = time.perf_counter()
        f()
        ts.append(time.perf_counter() - a)
    ts.sort()
    return ts[len(ts) // 10] * 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", default="dense", choices=["dense", "lowrank"])
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--f64", action="store_true")
    ap.add_argument("--onnx", default="")
    a = ap.parse_args()
    torch.set_num_threads(1)
    npdt = np.float64 if a.f64 else np.float32
    tdt = torch.float64 if a.f64 else torch.float32
    model, dims = build(a.net, tdt)
    flat = np.fromfile(a.prefix + ".bin", dtype=npdt)
    off = 0
    with torch.no_grad():
        for m in model:
            if isinstance(m, nn.Linear):
                n = m.weight.numel()
                m.weight.copy_(torch.from_numpy(flat[off:off + n].reshape(m.weight.shape)))
                off += n
    assert off == flat.size, (off, flat.size)
    io = np.fromfile(a.prefix + ".io.bin", dtype=npdt)
    X8 = torch.from_numpy(io[:8 * 784].reshape(8, 784).copy())
    Yc = io[8 * 784:].reshape(8, 10)
    model.eval()
    with torch.inference_mode():
        Yt = model(X8).numpy()
    err = np.abs(Yt - Yc).max() / max(1e-30, np.abs(Yc).max())
    print(f"# torch {torch.__version__}, 1 thread; max rel. difference to the C outputs {err:.2e}")
    if err > (1e-12 if a.f64 else 1e-4):
        raise SystemExit("outputs differ: not the same network")
    if a.onnx:
        torch.onnx.export(model, X8[:1], a.onnx, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
    rng = np.random.default_rng(7)
    print(f"{'batch':>6} {'torch_us':>12}")
    for b in (1, 8, 64, 1024):
        X = torch.from_numpy(rng.uniform(-1, 1, size=(b, 784)).astype(npdt))
        with torch.inference_mode():
            us = sorted(p10_us(lambda: model(X)) for _ in range(7))[3]
        print(f"{b:>6} {us:>12.2f}")


if __name__ == "__main__":
    main()
