#!/usr/bin/python3
"""PyTorch peer for bench_train: the identical job (784-512-512-10 tanh,
batch 128, float32, SGD lr 0.1, cross-entropy, standardized Fashion-MNIST),
timing the training loop only. Prints one JSON line.

Run with Debian's interpreter: /usr/bin/python3 bench/torch_mlp.py --threads N
(set OMP_WAIT_POLICY=PASSIVE for N > 1)."""
import argparse, ctypes, gzip, json, resource, struct, time

import numpy as np
import torch


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def blas_core():
    for name in ("libopenblas.so.0", "libopenblasp.so.0"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except OSError:
            continue
    return "unknown"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--hidden", default="512,512")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--rank", type=int, default=0,
                    help="factorize every hidden layer (all but the output layer) as U V^T of this rank (0: dense)")
    ap.add_argument("--f64", action="store_true", help="float64 parameters and data")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    X = read_idx(f"{a.data}/train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32)
    y = read_idx(f"{a.data}/train-labels-idx1-ubyte.gz").astype(np.int64)
    X = (X - X.mean()) / X.std()
    X, y = torch.from_numpy(X), torch.from_numpy(y)
    widths = [784] + [int(w) for w in a.hidden.split(",")] + [10]
    layers = []
    for i in range(len(widths) - 1):
        if a.rank and i < len(widths) - 2:
            layers += [torch.nn.Linear(widths[i], a.rank, bias=False),
                       torch.nn.Linear(a.rank, widths[i + 1])]
        else:
            layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    if a.f64:
        model = model.double()
        X = X.double()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    lossf = torch.nn.CrossEntropyLoss()
    n = X.shape[0]
    secs = 0.0
    for _ in range(a.epochs):
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        for s in range(0, n, a.batch):
            idx = perm[s:s + a.batch]
            opt.zero_grad()
            loss = lossf(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
        secs += time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "pytorch " + torch.__version__, "threads": a.threads,
                      "blas_core": blas_core(), "epochs": a.epochs, "seconds": round(secs, 3),
                      "seconds_per_epoch": round(secs / a.epochs, 3),
                      "samples_per_second": round(n * a.epochs / secs),
                      "peak_rss_mb": round(rss, 1), "final_loss": round(loss.item(), 4),
                      "dtype": "f64" if a.f64 else "f32"}))


if __name__ == "__main__":
    main()
