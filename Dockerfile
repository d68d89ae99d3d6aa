FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 DATA_DIR=/data STATIC_ROOT=/app/static
WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
RUN DATA_DIR=/tmp/build python manage.py collectstatic --noinput -v0 \
    && mkdir -p /data && useradd --system --home /app tgfleet && chown tgfleet /data && chmod 700 /data
USER tgfleet
EXPOSE 8000
CMD ["gunicorn", "project.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "90", "--access-logfile", "-"]
