"""Write a file so that it is never half-written: a temporary file in the same directory, then a rename."""
import os
import tempfile


def replace_atomically(path, text):
    """Write ``text`` (str as UTF-8, or bytes as they are) to ``path`` through a temporary file in the same
    directory: never half-written."""
    directory = os.path.dirname(path)
    handle, temp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), suffix=".partial", dir=directory)
    try:
        if isinstance(text, bytes):
            with os.fdopen(handle, "wb") as out:
                out.write(text)
        else:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
