#!/usr/bin/env python3
"""Reference outputs for tests/models.rs, computed by onnxruntime.

For every model in testdata/models/ (and testdata/zoo/ when present) this makes seeded inputs with
concrete shapes, runs onnxruntime on the CPU with two intra-op threads, and writes

    testdata/refs/<model stem>/input_<name>.npy    (one per graph input)
    testdata/refs/<model stem>/output_<name>.npy   (one per graph output)
    testdata/refs/<model stem>/manifest.json       (names in graph order, files, dtypes, shapes)

where <name> is the tensor name with every character outside [A-Za-z0-9._-] replaced by '_'.
Inputs depend only on the seed, so reruns are identical. A model whose manifest already records the
same model hash and the same version of this script is skipped; `--force` regenerates everything.

Run it with the project's venv (scripts/setup-python.sh): `.venv/bin/python scripts/make-refs.py`.
"""

import argparse
import hashlib
import json
import re
import sys
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

ROOT = Path(__file__).resolve().parent.parent
MODEL_DIRS = [ROOT / "testdata" / "models", ROOT / "testdata" / "zoo"]
REFS = ROOT / "testdata" / "refs"



def sanitize(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def audio(rng, rows, samples):
    """Speech-like audio in [-1, 1]: a few harmonics with a slow envelope, plus noise."""
    t = np.arange(samples, dtype=np.float64) / 16000.0
    out = np.empty((rows, samples), dtype=np.float32)
    for r in range(rows):
        f0 = rng.uniform(90.0, 250.0)
        wave = sum(rng.uniform(0.05, 0.3) / k * np.sin(2 * np.pi * k * f0 * t + rng.uniform(0, 6.3))
                   for k in range(1, 6))
        envelope = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(2.0, 6.0) * t)
        out[r] = np.clip(wave * envelope + rng.normal(0.0, 0.01, samples), -1.0, 1.0)
    return out


def text_image(rng, height, width, line_h):
    """A light page with lines of glyph-like dark strokes, as uint8 HWC RGB. Solid blocks or noise
    leave the detector's map near zero everywhere; strokes make it fire, so the test covers the
    whole output range."""
    img = np.full((height, width, 3), 235.0) + rng.normal(0.0, 4.0, (height, width, 3))
    ink = rng.uniform(10.0, 50.0)
    first = min(line_h // 2, (height - line_h) // 2)
    for top in range(first, height - line_h, int(line_h * 1.8)):
        x, end = int(rng.integers(4, 20)), int(rng.integers(width // 2, width - 4))
        while x < end - line_h:
            cell = int(line_h * rng.uniform(0.6, 0.9))
            for _ in range(int(rng.integers(2, 5))):
                if rng.random() < 0.5:
                    y = top + int(rng.integers(0, line_h - 2))
                    x0 = x + int(rng.integers(0, cell // 2))
                    img[y:y + 2, x0:min(x0 + int(rng.integers(cell // 3, cell)), x + cell)] = ink
                else:
                    xs = x + int(rng.integers(0, cell - 2))
                    y0 = top + int(rng.integers(0, line_h // 2))
                    img[y0:min(y0 + int(rng.integers(line_h // 3, line_h)), top + line_h), xs:xs + 2] = ink
            x += cell + int(rng.integers(1, 4))
    return np.clip(img, 0, 255).astype(np.uint8)


def normalize_nchw(img, mean, std):
    """(pixel / 255 - mean) / std, as a float32 NCHW batch of one."""
    x = (img.astype(np.float32) / 255.0 - mean) / std
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def silero_op15(rng):
    # The silero wrapper feeds 512 new samples plus 64 of context per 16 kHz window.
    return {
        "input": audio(rng, 1, 576),
        "state": (rng.standard_normal((2, 1, 128)) * 0.1).astype(np.float32),
        "sr": np.array(16000, dtype=np.int64),
    }


def silero_sequence(rng):
    return {
        "input": audio(rng, 8, 576),
        "h": (rng.standard_normal((1, 1, 128)) * 0.1).astype(np.float32),
        "c": (rng.standard_normal((1, 1, 128)) * 0.1).astype(np.float32),
    }


def magika(rng):
    # Magika's layout (config.min.json: beg_size 1024, end_size 1024, padding_token 256): the first
    # 1024 bytes padded after, the last 1024 bytes padded before. Row 0 is a long binary file, row 1
    # a short text file, so both the byte and the padding embeddings are used.
    binary = rng.integers(0, 256, 4096)
    text = rng.choice(np.frombuffer(b"abcdefghijklmnopqrstuvwxyz {}();=\n\t0123456789", np.uint8), 300)
    rows = np.full((2, 2048), 256, dtype=np.int32)
    rows[0, :1024], rows[0, 1024:] = binary[:1024], binary[-1024:]
    rows[1, :300], rows[1, 2048 - 300:] = text, text
    return {"bytes": rows}


def ppocr_det(rng):
    # Sides must be multiples of 32 (five stride-2 stages); RapidOCR normalizes with mean = std = 0.5.
    return {"x": normalize_nchw(text_image(rng, 320, 320, 16), 0.5, 0.5)}


def ppocr_rec(rng):
    return {"x": normalize_nchw(text_image(rng, 48, 320, 32), 0.5, 0.5)}


def ppocr_cls(rng):
    return {"x": normalize_nchw(text_image(rng, 48, 192, 32), 0.5, 0.5)}


# Model stem -> (seed, input maker). Models not listed get generic inputs (see generic_inputs).
SPECS = {
    "silero_vad_16k_op15": (1601, silero_op15),
    "silero_vad_16k_sequence": (1602, silero_sequence),
    "magika_standard_v3_3": (2001, magika),
    "ch_PP-OCRv4_det_infer": (3001, ppocr_det),
    "ch_PP-OCRv4_rec_infer": (3002, ppocr_rec),
    "ch_ppocr_mobile_v2.0_cls_infer": (3003, ppocr_cls),
}

NP_OF_ORT = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(int16)": np.int16,
    "tensor(uint16)": np.uint16, "tensor(int32)": np.int32, "tensor(uint32)": np.uint32,
    "tensor(int64)": np.int64, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_,
}


def generic_inputs(rng, session):
    """For zoo models: a symbolic first dim is batch 1, any other symbolic dim is 16; floats are
    standard normal, integers are ids in [0, 100) (in [0, 2) for masks and token types, whose
    tables have two rows), bools are fair coins."""
    feeds = {}
    for arg in session.get_inputs():
        dims = [d if isinstance(d, int) and d > 0 else (1 if i == 0 else 16) for i, d in enumerate(arg.shape)]
        dtype = NP_OF_ORT.get(arg.type)
        if dtype is None:
            sys.exit(f"make-refs: input {arg.name} has unsupported type {arg.type}")
        if np.issubdtype(dtype, np.floating):
            feeds[arg.name] = rng.standard_normal(dims).astype(dtype)
        elif dtype == np.bool_:
            feeds[arg.name] = rng.integers(0, 2, dims).astype(np.bool_)
        else:
            high = 2 if ("mask" in arg.name or "type" in arg.name) else 100
            feeds[arg.name] = rng.integers(0, high, dims).astype(dtype)
    return feeds


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entry(kind, name, array):
    """The manifest record of one saved tensor."""
    return {"name": name, "file": f"{kind}_{sanitize(name)}.npy", "dtype": str(array.dtype),
            "shape": list(array.shape)}


def make_refs(model_path, script_hash, force):
    stem = model_path.stem
    out_dir = REFS / stem
    manifest_path = out_dir / "manifest.json"
    model_hash = sha256(model_path)
    if manifest_path.exists() and not force:
        old = json.loads(manifest_path.read_text())
        files = [e["file"] for e in old.get("inputs", []) + old.get("outputs", [])]
        if (old.get("model_sha256") == model_hash and old.get("script_sha256") == script_hash
                and all((out_dir / f).exists() for f in files)):
            print(f"make-refs: {stem} up to date")
            return

    onnx.checker.check_model(str(model_path))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])

    seed, maker = SPECS.get(stem, (zlib.crc32(stem.encode()), None))
    rng = np.random.default_rng(seed)
    feeds = maker(rng) if maker else generic_inputs(rng, session)
    input_names = [i.name for i in session.get_inputs()]
    if sorted(feeds) != sorted(input_names):
        sys.exit(f"make-refs: {stem} takes inputs {input_names}, the spec made {sorted(feeds)}")
    output_names = [o.name for o in session.get_outputs()]
    outputs = session.run(output_names, feeds)

    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.npy"):
        old.unlink()
    manifest = {
        "model": str(model_path.relative_to(ROOT)),
        "model_sha256": model_hash,
        "script_sha256": script_hash,
        "onnxruntime": ort.__version__,
        "seed": seed,
        "inputs": [],
        "outputs": [],
    }
    # np.asarray, not np.ascontiguousarray: the latter turns a 0-d scalar (silero's `sr`) into 1-d.
    for name in input_names:
        array = np.asarray(feeds[name], order="C")
        manifest["inputs"].append(entry("input", name, array))
        np.save(out_dir / manifest["inputs"][-1]["file"], array)
    for name, value in zip(output_names, outputs):
        array = np.asarray(value, order="C")
        manifest["outputs"].append(entry("output", name, array))
        np.save(out_dir / manifest["outputs"][-1]["file"], array)
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    shapes = ", ".join(f"{e['name']} {e['dtype']}{e['shape']}" for e in manifest["outputs"])
    print(f"make-refs: {stem}: {shapes}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="regenerate even when up to date")
    args = parser.parse_args()
    script_hash = sha256(Path(__file__).resolve())
    models = sorted(p for d in MODEL_DIRS if d.is_dir() for p in d.glob("*.onnx"))
    if not models:
        sys.exit("make-refs: no models in testdata/models; run scripts/fetch-models.sh first")
    stems = [p.stem for p in models]
    if len(set(stems)) != len(stems):
        sys.exit(f"make-refs: two models share a file name: {stems}")
    for path in models:
        make_refs(path, script_hash, args.force)


if __name__ == "__main__":
    main()
