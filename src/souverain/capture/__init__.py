"""Traffic capture: a sample of a use case's real requests, cleaned by its data actions, kept in
the ledger database for exit drills (see docs/drills.md, "Traffic capture")."""

from souverain.capture.policy import capture_allowed
from souverain.capture.prepare import CapturedItem, prepare_capture, replaced_categories
from souverain.capture.store import CaptureStore

__all__ = [
    "CaptureStore",
    "CapturedItem",
    "capture_allowed",
    "prepare_capture",
    "replaced_categories",
]
