"""souverain: a self-hosted, OpenAI-compatible sovereign AI gateway."""

__version__ = "0.1.0"
