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
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from souverain.ledger.record import row_hash, utcnow
from souverain.ledger.schema import ledger as T

if TYPE_CHECKING:
    from souverain.ledger.store import LedgerReader

log = logging.getLogger(__name__)

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


def make(ledger: LedgerReader, key: bytes, at: tuple[int, str] | None = None) -> dict[str, Any]:
    """A signed checkpoint of ``ledger``'s current head, or of ``at`` (seq, hash) when given."""
    seq, head_hash = at if at is not None else ledger.head()
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


def newest(directory: Path) -> tuple[Path, dict[str, Any]] | None:
    """The checkpoint with the highest seq in a directory sink (None when there is none).

    Files that are not checkpoints are skipped; a checkpoint whose seq ties is broken by time."""
    best: tuple[tuple[int, str], Path, dict[str, Any]] | None = None
    try:
        files = list(directory.glob("*.json"))
    except OSError:
        return None
    for file in files:
        try:
            doc = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            continue
        seq = doc.get("seq")
        if not isinstance(seq, int):
            continue
        rank = (seq, str(doc.get("time", "")))
        if best is None or rank > best[0]:
            best = (rank, file, doc)
    return None if best is None else (best[1], best[2])


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


def verify_tail(ledger: LedgerReader, start: tuple[int, str], upto: int) -> tuple[int, str] | str:
    """Check the sealed rows after ``start`` (a trusted seq and its hash) up to seq ``upto``:
    consecutive, each linked to the one before and hashing to its recorded value. Returns the
    (seq, hash) reached, or the first problem as text."""
    seq, prev = start
    for row in ledger.sealed_between(seq, upto):
        if row["seq"] != seq + 1:
            return f"seq {seq + 1} is missing (found {row['seq']})"
        if row["prev_hash"] != prev:
            return f"seq {row['seq']} does not link to the row before it"
        if row_hash(row) != row["row_hash"]:
            return f"seq {row['seq']} no longer hashes to its recorded value"
        seq, prev = row["seq"], row["row_hash"]
    if seq != upto:
        return f"the chain ends at seq {seq}, its head names seq {upto}"
    return seq, prev


class AutoCheckpointer:
    """Signs a checkpoint of the chain head into a directory sink every ``every_rows`` sealed rows
    or ``every_s`` seconds (when rows were added), and on :meth:`final` (shutdown).

    Never signs what it did not check: the first time, the whole chain is verified (and checked
    against the newest checkpoint already in the directory); after that only the rows added since
    the last trusted point. A broken chain is logged and never signed; the check is retried every
    ``every_s``. Several replicas may share one directory: each reads the newest file before
    deciding, so a checkpoint one wrote counts for all (a race writes two; both are valid)."""

    def __init__(
        self,
        ledger: LedgerReader,
        directory: Path,
        key: bytes,
        *,
        every_rows: int,
        every_s: float,
        clock: Any = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.directory = directory
        self.key = key
        self.every_rows = every_rows
        self.every_s = every_s
        self._clock = clock
        self._trusted: tuple[int, str] | None = None
        self._last_signed_at = clock()
        self._broken_at: float | None = None
        self.problem: str | None = None

    def _establish(self) -> tuple[int, str] | None:
        """The first trusted point: a full verification, plus the newest checkpoint's check."""
        if self._broken_at is not None and self._clock() - self._broken_at < self.every_s:
            return None
        from souverain.ledger.verify import verify

        result = verify(self.ledger)
        problem = str(result.first) if not result.ok else None
        found = newest(self.directory)
        if problem is None and found is not None:
            problems = check(self.ledger, [found], self.key)
            problem = str(problems[0]) if problems else None
        if problem is not None:
            if problem != self.problem:
                log.error("ledger checkpoints: not signing, the chain fails its check: %s", problem)
            self.problem, self._broken_at = problem, self._clock()
            return None
        self.problem, self._broken_at = None, None
        return result.head_seq, result.head_hash

    def tick(self, *, final: bool = False) -> Path | None:
        """Write a checkpoint if one is due (or, with ``final``, if rows were added); return its
        path. Synchronous: run it in a worker thread."""
        if self._trusted is None:
            self._trusted = self._establish()
            if self._trusted is None:
                return None
        head_seq, _ = self.ledger.head()
        found = newest(self.directory)
        last_seq = int(found[1]["seq"]) if found is not None else 0
        if head_seq <= last_seq:
            return None
        due = (
            final
            or head_seq - last_seq >= self.every_rows
            or self._clock() - self._last_signed_at >= self.every_s
        )
        if not due:
            return None
        reached = verify_tail(self.ledger, self._trusted, head_seq)
        if isinstance(reached, str):
            log.error("ledger checkpoints: not signing, the chain fails its check: %s", reached)
            self.problem, self._trusted, self._broken_at = reached, None, self._clock()
            return None
        self._trusted = reached
        self._last_signed_at = self._clock()
        path = write_to_dir(make(self.ledger, self.key, at=reached), self.directory)
        log.info("ledger checkpoint of seq %d written to %s", reached[0], path)
        return path
