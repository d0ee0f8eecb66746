#!/usr/bin/env python3
"""The GPU peer of BENCHMARKS.md: ResNet-50 in PyTorch on the GPU machine's own image, FP16, eager
and replayed as a CUDA graph, at the batch sizes given. Prints one JSON object per line:
{"peer": "pytorch", "mode": "eager"|"cuda_graph", "batch": N, "median_ms": ..., "p90_ms": ...,
"images_per_s": ...}. The architecture is written out here (torchvision may not be installed): the
same bottleneck ResNet-50 as `rtforge zoo export resnet50` (v1.5, stride on the 3x3 conv), random
weights, since speed does not depend on their values.

usage: torch-peer.py [--batch 1,32] [--iters 200]
"""
import argparse
import json
import statistics
import sys


def resnet50(nn):
    class Bottleneck(nn.Module):
        def __init__(self, cin, width, stride):
            super().__init__()
            cout = width * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, width, 3, stride, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU(inplace=True),
                nn.Conv2d(width, cout, 1, bias=False), nn.BatchNorm2d(cout),
            )
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            self.relu = nn.ReLU(inplace=True)

        def forward(self, x):
            skip = x if self.down is None else self.down(x)
            return self.relu(self.body(x) + skip)

    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for width, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(blocks):
            layers.append(Bottleneck(cin, width, stride if i == 0 else 1))
            cin = width * 4
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000)]
    return nn.Sequential(*layers)


def timed(torch, fn, iters):
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(iters):
        start.record()
        fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    times.sort()
    return statistics.median(times), times[int(0.9 * (len(times) - 1))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", default="1,32")
    ap.add_argument("--iters", type=int, default=200)
    a = ap.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError:
        print(json.dumps({"peer": "pytorch", "skipped": "torch is not installed in this Python"}))
        return 0
    if not torch.cuda.is_available():
        print(json.dumps({"peer": "pytorch", "skipped": "torch sees no GPU"}))
        return 0
    torch.backends.cudnn.benchmark = True
    model = resnet50(nn).cuda().half().eval()
    for batch in [int(b) for b in a.batch.split(",")]:
        x = torch.randn(batch, 3, 224, 224, device="cuda", dtype=torch.half)
        with torch.inference_mode():
            for _ in range(20):
                model(x)
            torch.cuda.synchronize()
            eager = timed(torch, lambda: model(x), a.iters)
            # CUDA graph capture on a side stream after warm-up, as the PyTorch docs describe.
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(3):
                    model(x)
            torch.cuda.current_stream().wait_stream(s)
            g = torch.cuda.CUDAGraph()
            with torch.cuda.graph(g):
                model(x)
            graph = timed(torch, g.replay, a.iters)
        for mode, (med, p90) in [("eager", eager), ("cuda_graph", graph)]:
            print(json.dumps({
                "peer": "pytorch", "torch": torch.__version__, "device": torch.cuda.get_device_name(),
                "model": "resnet50", "precision": "fp16", "mode": mode, "batch": batch,
                "median_ms": med, "p90_ms": p90, "images_per_s": batch / (med / 1e3),
            }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
