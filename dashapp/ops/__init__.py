"""Operations: health, metrics, logs, monitoring, Redis, jobs, leadership."""
