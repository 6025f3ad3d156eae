"""Where settings come from: the environment, and a `.env` file beside `manage.py` when present
(real environment variables win over it). Variables are listed with their meaning in `.env.example`."""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")
