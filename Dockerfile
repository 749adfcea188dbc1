FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VAR_DIR=/app/var

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Translations: .po -> .mo in pure Python (the image has no gettext).
RUN SECRET_KEY=compile-only python manage.py compile_translations -v 0 \
    && SECRET_KEY=compile-only python manage.py prepare_fonts -v 0
# The route search's compiled functions, compiled once here into numba's cache beside the code.
RUN python -c "from routing.ruin_recreate import compile_ahead; compile_ahead()"
# Static files are collected at build time; SECRET_KEY here is only for this step.
RUN SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --noinput -v 0 \
    && useradd --system --create-home --uid 10001 app \
    && mkdir -p /app/var \
    && chown -R app:app /app/var

USER app
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
