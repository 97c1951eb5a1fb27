"""Write a file so that it is never half-written: a temporary file in the same directory, then a rename."""
import os
import shutil
import tempfile


def _through_temp(path, write):
    """Call ``write(binary_handle)`` on a temporary file beside ``path``, then rename it over ``path``."""
    directory = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".partial", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            write(out)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def replace_atomically(path, text):
    """Write ``text`` (str as UTF-8, or bytes as they are) to ``path`` through a temporary file in the same
    directory: never half-written."""
    _through_temp(path, lambda out: out.write(text if isinstance(text, bytes) else text.encode("utf-8")))


def copy_atomically(source, path):
    """Copy the file ``source`` to ``path`` through a temporary file beside ``path``: never half-written."""
    def copy(out):
        with open(source, "rb") as original:
            shutil.copyfileobj(original, out, 1024 * 1024)
    _through_temp(path, copy)
