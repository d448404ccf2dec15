#!/usr/bin/python3
"""PyTorch <-> liblrmlp round trips through .safetensors and .npz files.

    interop_torch.py LRMLP_TOOL INTEROP_TRAIN SCRATCH_DIR

1. A PyTorch nn.Sequential (tanh, GELU), initialized by PyTorch and trained
   briefly with Adam, is saved as safetensors (written here by hand: the
   safetensors package is not in Debian 12) and with np.savez /
   np.savez_compressed; `lrmlp predict` on those files must agree with
   PyTorch's outputs, in float32 and float64.
2. Networks trained by liblrmlp (tests/interop_train.c: dense float32 and
   float64, low-rank) are converted with `lrmlp convert`, rebuilt in PyTorch
   from the files alone (load_state_dict(strict=True)), and PyTorch's
   outputs must agree with `lrmlp predict`.

Agreement: max |y_lrmlp - y_torch| <= 1e-6 * max |y_torch| in float32
(1e-12 in float64). Exit 77 (skipped) where torch or numpy is missing.
"""
import json
import os
import subprocess
import sys

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as e:  # pragma: no cover
    print("skipped: %s" % e)
    sys.exit(77)

TOOL, TRAIN, DIR = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(DIR, exist_ok=True)
torch.set_num_threads(1)
failures = []

ACTS = {
    "tanh": lambda: nn.Tanh(), "sigmoid": lambda: nn.Sigmoid(),
    "softplus": lambda: nn.Softplus(), "elu": lambda: nn.ELU(), "gelu": lambda: nn.GELU(),
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"), "silu": lambda: nn.SiLU(),
    "relu": lambda: nn.ReLU(), "leaky_relu": lambda: nn.LeakyReLU(0.01),
    "rrelu": lambda: nn.RReLU(),
}


def p(path):
    return os.path.join(DIR, path)


def save_safetensors(path, tensors, metadata=None):
    """The safetensors layout: u64 LE header length, JSON header, data."""
    header, blobs, off = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy())
        dt = {np.float32: "F32", np.float64: "F64"}[a.dtype.type]
        b = a.astype(a.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def load_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    n = int.from_bytes(buf[:8], "little")
    header = json.loads(buf[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = buf[8 + n:]
    out = {}
    for name, e in header.items():
        dt = {"F32": "<f4", "F64": "<f8"}[e["dtype"]]
        a, b = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=dt).reshape(e["shape"]).copy())
    return out, meta


def sequential_from(tensors, acts):
    """The nn.Sequential the file describes: a Linear per weight, then the
    layer's activation module unless it is the identity."""
    mods, i = [], 0
    for act in acts:
        w = tensors["%d.weight" % i]
        mods.append(nn.Linear(w.shape[1], w.shape[0], bias=("%d.bias" % i) in tensors))
        i += 1
        if act != "identity":
            mods.append(ACTS[act]())
            i += 1
    net = nn.Sequential(*mods).to(next(iter(tensors.values())).dtype)
    net.load_state_dict(tensors, strict=True)
    return net.eval()


def lrmlp_predict(model, csv, extra=()):
    r = subprocess.run([TOOL, "predict", *extra, model, csv], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("lrmlp predict %s: %s" % (model, r.stderr.strip()))
    return np.array([[float(v) for v in line.split(",")] for line in r.stdout.splitlines()])


def run(*args):
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(args), r.stderr.strip()))
    return r.stdout


def agree(what, y_lrmlp, y_torch, tol):
    err = float(np.max(np.abs(y_lrmlp - y_torch)) / np.max(np.abs(y_torch)))
    ok = err <= tol
    print("%-58s max rel. difference %.2e (tolerance %.0e) %s" % (what, err, tol,
                                                                   "ok" if ok else "FAIL"))
    if not ok:
        failures.append(what)


# Inputs: float32 values, printed exactly (also when read as float64).
rng = np.random.default_rng(1)
X = rng.uniform(-2, 2, size=(200, 5)).astype(np.float32)
np.savetxt(p("x.csv"), X, delimiter=",", fmt="%.17g")

# ---- 1. PyTorch -> liblrmlp ----
torch.manual_seed(0)
tnet = nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 12), nn.GELU(),
                     nn.Linear(12, 3))
opt = torch.optim.Adam(tnet.parameters(), lr=1e-2)
Xt = torch.from_numpy(X)
T = torch.sin(Xt[:, :3]) * Xt[:, 3:4]
for _ in range(100):
    opt.zero_grad()
    loss = ((tnet(Xt) - T) ** 2).mean()
    loss.backward()
    opt.step()
tnet.eval()
sd = tnet.state_dict()
meta = {"lrmlp.activations": "tanh,gelu,identity"}
with torch.no_grad():
    y32 = tnet(Xt).numpy().astype(np.float64)
    y64 = tnet.double()(Xt.double()).numpy()
    tnet.float()

save_safetensors(p("torch.safetensors"), sd, meta)
save_safetensors(p("torch64.safetensors"), {k: v.double() for k, v in sd.items()}, meta)
arrays = {k: v.numpy() for k, v in sd.items()}
np.savez(p("torch.npz"), **arrays,
         __lrmlp__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
np.savez_compressed(p("torch_c.npz"), **arrays,
                    __lrmlp__=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8))
agree("torch f32 safetensors -> lrmlp predict", lrmlp_predict(p("torch.safetensors"), p("x.csv")), y32, 1e-6)
agree("torch f64 safetensors -> lrmlp predict", lrmlp_predict(p("torch64.safetensors"), p("x.csv")), y64, 1e-12)
agree("torch f32 np.savez -> lrmlp predict", lrmlp_predict(p("torch.npz"), p("x.csv")), y32, 1e-6)
agree("torch f32 np.savez_compressed -> lrmlp predict", lrmlp_predict(p("torch_c.npz"), p("x.csv")), y32, 1e-6)

# A file without metadata: one hidden activation given on the command line.
torch.manual_seed(3)
plain = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(),
                      nn.Linear(8, 2)).eval()
np.savez(p("plain.npz"), **{k: v.numpy() for k, v in plain.state_dict().items()})
with torch.no_grad():
    yp = plain(Xt).numpy().astype(np.float64)
agree("torch f32 np.savez, no metadata, --activation relu",
      lrmlp_predict(p("plain.npz"), p("x.csv"), ["--activation", "relu"]), yp, 1e-6)

# ---- 2. liblrmlp -> PyTorch ----
run(TRAIN, p("dense.lrmlp"), p("lowrank.lrmlp"), p("dense64.lrmlp"))
for name, tol in (("dense", 1e-6), ("lowrank", 1e-6), ("dense64", 1e-12)):
    y_l = lrmlp_predict(p(name + ".lrmlp"), p("x.csv"))
    run(TOOL, "convert", p(name + ".lrmlp"), p(name + ".safetensors"))
    run(TOOL, "convert", p(name + ".lrmlp"), p(name + ".npz"))
    tensors, meta = load_safetensors(p(name + ".safetensors"))
    acts = meta["lrmlp.activations"].split(",")
    net = sequential_from(tensors, acts)
    dt = torch.float64 if name == "dense64" else torch.float32
    with torch.no_grad():
        y_t = net(Xt.to(dt)).numpy().astype(np.float64)
    agree("lrmlp %s -> safetensors -> torch" % name, y_l, y_t, tol)
    z = np.load(p(name + ".npz"))
    zmeta = json.loads(bytes(z["__lrmlp__"]).decode())
    ztensors = {k: torch.from_numpy(z[k]) for k in z.files if k != "__lrmlp__"}
    net = sequential_from(ztensors, zmeta["lrmlp.activations"].split(","))
    with torch.no_grad():
        y_t = net(Xt.to(dt)).numpy().astype(np.float64)
    agree("lrmlp %s -> npz -> torch" % name, y_l, y_t, tol)
    if name == "lowrank" and "lrmlp.lowrank.rank" not in meta:
        failures.append("low-rank metadata missing")

if failures:
    print("FAILED: " + "; ".join(failures))
    sys.exit(1)
print("all agree")
