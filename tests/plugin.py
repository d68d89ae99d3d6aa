"""Loaded with -p before Django starts: each test run gets its own data directory."""

import atexit
import os
import shutil
import tempfile

_data_dir = tempfile.mkdtemp(prefix="tgfleet-test-")
os.environ["DATA_DIR"] = _data_dir
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
