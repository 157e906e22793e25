#!/usr/bin/env python3
"""PyTorch peer for `npm run bench -- engine`: the same LoRA training step on the same model shape.

Frozen Llama-shaped model with random weights, LoRA (r, alpha = 2r) on q,k,v,o,gate,up,down, forward +
backward + AdamW. A case is SEQ (batch 1) or BxSEQ (a batch of B sequences of SEQ tokens as one [B, SEQ]
tensor: batched matmuls, attention per sequence, the loss the mean over all B·SEQ tokens). Prints one JSON
line per case: median seconds over `reps` steps after one warm-up step, and the process's peak RSS. Run with
Debian's python3-torch (/usr/bin/python3).
With COMPANION (a JSON argv, e.g. ["node","-e","for (;;) {}"]) and N > 0, each case is then timed again while
N copies of that CPU-bound command run (bench engine --contended), alternating quiet and contended steps: the
line adds contended_seconds.
usage: torch_lora_step.py '{"hidden_size":576,...}' CASE[,CASE...] REPS THREADS R [N COMPANION]
"""
import json
import math
import resource
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

cfg = json.loads(sys.argv[1])
cases = [(int(c.split("x")[0]), int(c.split("x")[1])) if "x" in c else (1, int(c)) for c in sys.argv[2].split(",")]
reps, threads, r = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
torch.set_num_threads(threads)
torch.manual_seed(0)
C, I, L = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
NH, KVH, V = cfg["num_attention_heads"], cfg["num_key_value_heads"], cfg["vocab_size"]
D = C // NH


class Lora(torch.nn.Module):
    def __init__(self, i, o):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(o, i) * 0.02, requires_grad=False)
        self.a = torch.nn.Parameter(torch.randn(r, i) / math.sqrt(i))
        self.b = torch.nn.Parameter(torch.zeros(o, r))

    def forward(self, x):
        return F.linear(x, self.w) + F.linear(F.linear(x, self.a), self.b) * 2.0


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.q, self.k, self.v, self.o = Lora(C, NH * D), Lora(C, KVH * D), Lora(C, KVH * D), Lora(NH * D, C)
        self.g, self.u, self.d = Lora(C, I), Lora(C, I), Lora(I, C)
        self.n1 = torch.nn.Parameter(torch.ones(C), requires_grad=False)
        self.n2 = torch.nn.Parameter(torch.ones(C), requires_grad=False)


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5))


def rot(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


blocks = torch.nn.ModuleList([Block() for _ in range(L)])
emb = torch.randn(V, C) * 0.02
norm = torch.ones(C)
params = [p for p in blocks.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=1e-4)


def step(B, T):
    ids = torch.randint(0, V, (B, T))
    inv = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
    f = torch.outer(torch.arange(T).float(), inv)
    e = torch.cat((f, f), -1)
    cos, sin = e.cos(), e.sin()
    x = emb[ids]
    mask = torch.full((T, T), float("-inf")).triu(1)
    for b in blocks:
        h = rms(x, b.n1)
        q = b.q(h).view(B, T, NH, D).transpose(1, 2)  # [B, NH, T, D]
        k = b.k(h).view(B, T, KVH, D).transpose(1, 2)
        v = b.v(h).view(B, T, KVH, D).transpose(1, 2)
        q, k = q * cos + rot(q) * sin, k * cos + rot(k) * sin
        k, v = k.repeat_interleave(NH // KVH, 1), v.repeat_interleave(NH // KVH, 1)
        a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(D) + mask, -1) @ v
        x = x + b.o(a.transpose(1, 2).reshape(B, T, C))
        h2 = rms(x, b.n2)
        x = x + b.d(F.silu(b.g(h2)) * b.u(h2))
    logits = F.linear(rms(x, norm), emb)
    loss = F.cross_entropy(logits.reshape(B * T, V), torch.roll(ids, -1, dims=1).reshape(B * T))
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    opt.step()


companions = int(sys.argv[6]) if len(sys.argv) > 6 else 0
companion = json.loads(sys.argv[7]) if companions > 0 else None


def timed(B, T):
    t0 = time.perf_counter()
    step(B, T)
    return time.perf_counter() - t0


def contended(B, T):
    kids = [subprocess.Popen(companion, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(companions)]
    try:
        time.sleep(0.2)
        return timed(B, T)
    finally:
        for k in kids:
            k.kill()
            k.wait()


for B, T in cases:
    step(B, T)
    quiet, busy = [], []
    for _ in range(reps):  # alternating quiet and contended steps, as bench/engine.ts does for ours
        quiet.append(timed(B, T))
        if companions > 0:
            busy.append(contended(B, T))
    line = {"seq": T, "batch": B, "seconds": statistics.median(quiet)}
    if companions > 0:
        line["contended_seconds"] = statistics.median(busy)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({**line, "peak_rss_mb": rss, "torch": torch.__version__, "threads": threads}), flush=True)
