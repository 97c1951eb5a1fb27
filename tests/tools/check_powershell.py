"""Parse PowerShell files with the tree-sitter PowerShell grammar and report syntax errors.

Usage: check_powershell.py [FILE ...]   (default: every tracked or untracked *.ps1/*.psm1 of the repository)
Exit 1 when a file does not parse. pwsh cannot be installed on the build machines; this catches
unbalanced braces and parentheses, unterminated strings and broken expressions (not every error:
see ../shared/reference/toolchain.md for its known blind spots).
"""
import os
import subprocess
import sys

from tree_sitter import Language, Parser
import tree_sitter_pwsh

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))


def repository_files():
    """PowerShell files git knows of (tracked or not ignored)."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.ps1", "*.psm1"],
                            cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    return [os.path.join(REPO, name) for name in listed if os.path.exists(os.path.join(REPO, name))]


def problems_in(source, parser):
    """Return 'line N: ...' descriptions of the syntax errors in PowerShell source bytes."""
    if source.startswith(b"\xef\xbb\xbf"):
        source = source[3:]
    found = []

    def walk(node):
        if node.is_missing:
            found.append("line %d: missing %s" % (node.start_point[0] + 1, node.type))
        elif node.type == "ERROR":
            found.append("lines %d-%d: cannot parse" % (node.start_point[0] + 1, node.end_point[0] + 1))
        elif node.has_error:
            for child in node.children:
                walk(child)
    walk(parser.parse(source).root_node)
    return found


def main(paths):
    parser = Parser(Language(tree_sitter_pwsh.language()))
    files = paths or repository_files()
    failures = 0
    for path in files:
        with open(path, "rb") as handle:
            found = problems_in(handle.read(), parser)
        for problem in found:
            print("%s: %s" % (os.path.relpath(path, REPO), problem))
        failures += bool(found)
    print("PowerShell grammar check: %d file(s), %d with errors" % (len(files), failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
