"""Signed checkpoints: the chain head anchored outside the database.

A checkpoint is a JSON document ``{"format", "seq", "head_hash", "time", "alg", "key_id",
"signature"}``. The signature is HMAC-SHA256, keyed by ``SOUVERAIN_LEDGER_SIGNING_KEY`` or a key
file (never stored in the ledger database), over the canonical JSON of the other fields.

What it proves (see docs/ledger.md): the row at ``seq`` had hash ``head_hash`` when the checkpoint
was signed, so -- the chain being verified from the genesis -- every row at or before ``seq`` is
as it was then. Deleting rows at or before it, cutting the tail back past it, or re-hashing the
chain from any earlier row is detected. Rows written *after* the last checkpoint are protected by
the hash chain only; and anyone holding the key can sign a checkpoint of a forged chain.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from souverain.ledger.record import utcnow
from souverain.ledger.schema import ledger as T

if TYPE_CHECKING:
    from souverain.ledger.store import LedgerReader

FORMAT = "souverain-ledger-checkpoint/1"
ALG = "HMAC-SHA256"
KEY_ENV = "SOUVERAIN_LEDGER_SIGNING_KEY"
_MIN_KEY_BYTES = 16
_SIGNED = ("format", "seq", "head_hash", "time", "alg", "key_id")


class CheckpointError(Exception):
    """No usable key, or a checkpoint file that cannot be read."""


def load_key(key_file: Path | None = None) -> bytes:
    """The signing key: ``key_file``'s bytes (stripped) if given, else ``SOUVERAIN_LEDGER_SIGNING_KEY``."""
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise CheckpointError(f"cannot read the key file {key_file}: {exc}") from exc
        source = str(key_file)
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode()
        source = KEY_ENV
        if not key:
            raise CheckpointError(f"no signing key: set {KEY_ENV} or pass --key-file")
    if len(key) < _MIN_KEY_BYTES:
        raise CheckpointError(f"the signing key in {source} is shorter than {_MIN_KEY_BYTES} bytes")
    return key


def key_id(key: bytes) -> str:
    """A public name for the key (does not reveal it): the first 16 hex digits of a hash."""
    return hashlib.sha256(b"souverain-ledger-key-id\0" + key).hexdigest()[:16]


def _mac(doc: dict[str, Any], key: bytes) -> str:
    body = json.dumps({k: doc.get(k) for k in _SIGNED}, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def make(ledger: LedgerReader, key: bytes) -> dict[str, Any]:
    """A signed checkpoint of ``ledger``'s current head."""
    seq, head_hash = ledger.head()
    doc: dict[str, Any] = {
        "format": FORMAT,
        "seq": seq,
        "head_hash": head_hash,
        "time": utcnow().isoformat(),
        "alg": ALG,
        "key_id": key_id(key),
    }
    doc["signature"] = _mac(doc, key)
    return doc


def write(doc: dict[str, Any], path: Path) -> None:
    """Write ``doc`` to ``path`` atomically (a reader never sees half a checkpoint)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def write_to_dir(doc: dict[str, Any], directory: Path) -> Path:
    """Write ``doc`` into a checkpoint directory sink, named by seq and time; return the path."""
    stamp = doc["time"].replace(":", "").replace("-", "").split(".")[0]
    path = directory / f"checkpoint-{int(doc['seq']):012d}-{stamp}.json"
    write(doc, path)
    return path


def load(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The checkpoint in a file, or every ``*.json`` checkpoint in a directory (sorted)."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise CheckpointError(f"no checkpoint files (*.json) in {path}")
    out = []
    for file in files:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"cannot read the checkpoint {file}: {exc}") from exc
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CheckpointError(f"{file} is not a souverain ledger checkpoint")
        out.append((file, doc))
    return out


@dataclass(frozen=True, slots=True)
class CheckpointProblem:
    file: Path
    detail: str

    def __str__(self) -> str:
        return f"checkpoint {self.file.name}: {self.detail}"


def check(
    ledger: LedgerReader, checkpoints: list[tuple[Path, dict[str, Any]]], key: bytes
) -> list[CheckpointProblem]:
    """Problems of ``ledger`` against each checkpoint: bad signature, rows missing at or before
    its ``seq`` (truncation), or a different hash at its ``seq`` (re-hash). Run the chain
    verification too: a checkpoint vouches for the rows before it only through the chain."""
    problems: list[CheckpointProblem] = []
    head_seq, _ = ledger.head()
    with ledger.read_engine.connect() as conn:
        last = conn.execute(select(T.c.seq).where(T.c.seq.is_not(None)).order_by(T.c.seq.desc()))
        last_seq = last.scalar() or 0
        for file, doc in checkpoints:
            if doc.get("key_id") != key_id(key):
                problems.append(
                    CheckpointProblem(file, f"signed by another key ({doc.get('key_id')})")
                )
                continue
            if not hmac.compare_digest(str(doc.get("signature", "")), _mac(doc, key)):
                problems.append(CheckpointProblem(file, "bad signature"))
                continue
            seq = doc.get("seq")
            if not isinstance(seq, int) or seq < 0:
                problems.append(CheckpointProblem(file, f"invalid seq {seq!r}"))
                continue
            if seq == 0:
                continue
            found = conn.execute(select(T.c.row_hash).where(T.c.seq == seq)).scalar()
            if found is None or min(head_seq, last_seq) < seq:
                problems.append(
                    CheckpointProblem(
                        file,
                        f"truncated: the checkpoint names seq {seq}, the ledger ends at seq "
                        f"{min(head_seq, last_seq)}" + (" (row missing)" if found is None else ""),
                    )
                )
            elif found != doc.get("head_hash"):
                problems.append(
                    CheckpointProblem(
                        file, f"re-hashed: the row at seq {seq} no longer has the signed hash"
                    )
                )
    return problems
