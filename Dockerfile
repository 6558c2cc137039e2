# One image for every spreadlake service; the command picks the service.
FROM python:3.11-slim
ENV UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir uv==0.13.8
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY shared shared
COPY collector collector
COPY analyzer analyzer
COPY trader trader
COPY flows flows
COPY sim sim
COPY spreadlake spreadlake
COPY config config
RUN uv sync --frozen --no-dev
ENV PATH=/app/.venv/bin:$PATH
VOLUME /app/data
ENTRYPOINT ["spreadlake"]
CMD ["--help"]
