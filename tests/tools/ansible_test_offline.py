"""Let ansible-test create its virtual environments without reaching its bootstrap download host.

ansible-test bootstraps pip in each venv by running ``~/.ansible/test/cache/get_pip_<ver>.py``,
downloading it when missing (the host is unreachable here). This writes that script: it runs pip from
a pip wheel fetched from PyPI (which is reachable) into the same cache. Harmless where the download works.
Usage: ansible_test_offline.py [PIP_VERSION]   (ansible-core 2.19 uses 24.2)
"""
import glob
import os
import subprocess
import sys

SCRIPT = '''"""Stand-in for get-pip.py: install pip from the cached wheel {wheel}."""
import sys

sys.path.insert(0, {wheel!r})
from pip._internal.cli.main import main  # noqa: E402

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--upgrade", "--force-reinstall", "--find-links", {cache!r}] + args))
'''


def main(version="24.2"):
    cache = os.path.expanduser("~/.ansible/test/cache")
    os.makedirs(cache, exist_ok=True)
    wheels = glob.glob(os.path.join(cache, "pip-%s-*.whl" % version))
    if not wheels:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", cache,
                        "pip==%s" % version], check=True)
        wheels = glob.glob(os.path.join(cache, "pip-%s-*.whl" % version))
    path = os.path.join(cache, "get_pip_%s.py" % version.replace(".", "_"))
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(SCRIPT.format(wheel=wheels[0], cache=cache))
    print(path)


if __name__ == "__main__":
    main(*sys.argv[1:])
