# syntax=docker/dockerfile:1
# The kubenas operator image: the decision engine and the kopf handlers, no torch.
# Build: docker build -t ghcr.io/kubenas/operator:0.1.0 .
# Release builds pin the base by digest, e.g. python:3.11.14-slim-bookworm@sha256:<digest>.

FROM python:3.11.14-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/kubenas
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator/ operator/
# Only the operator extra: the trainer's torch never enters this image.
RUN /opt/kubenas/bin/pip install ".[operator]"

FROM python:3.11.14-slim-bookworm
LABEL org.opencontainers.image.title="kubenas-operator" \
      org.opencontainers.image.description="Kubernetes-native neural architecture search operator" \
      org.opencontainers.image.source="https://github.com/kubenas/kubenas" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PATH=/opt/kubenas/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY --from=build /opt/kubenas /opt/kubenas
# A numeric user, so runAsNonRoot can verify it without resolving names.
RUN groupadd --system --gid 10001 kubenas \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin kubenas
USER 10001:10001
# Kubernetes liveness and readiness probes check /healthz on :8080; a Docker HEALTHCHECK would
# only duplicate them (and Kubernetes ignores it).
HEALTHCHECK NONE
EXPOSE 8080
ENTRYPOINT ["kubenas"]
CMD ["operator"]
