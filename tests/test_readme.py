"""The README works as written: every ```python block runs.

How blocks are found and run (keep README additions compatible):

* Every fenced block whose info string is `python` is run; ```bash, ```text
  and others are not. Each block runs in a fresh namespace (named
  `__main__`, as a pasted script), in the order of the README, in this test
  process, with a temporary directory as the working directory (so
  relative paths such as `model_dir='iris_model'` land there).
* A plain block must be self-contained: its own imports and small data.
* A block may need data a reader would bring (`train_input_fn = ...`).
  Mark it with an HTML comment on the line(s) just before the fence:
  `<!-- readme-test: setup=NAME -->`. `NAME(tmp_path)` in
  tests/readme_setups.py returns a dict of names; each statement of the form
  `name = ...` or `a, b = ...` (the value exactly `...`) is then filled in
  from it: every target must be among the setup's names. `...` elsewhere
  (e.g. a loop body) is ordinary Python.
* A block fails the test with its README line number and the error.
"""

import ast
import pathlib
import re

import pytest

import readme_setups

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
_FENCE = re.compile(r"^```(\S*)\s*$")
_MARKER = re.compile(r"<!--\s*readme-test:\s*setup=(\w+)\s*-->")


def python_blocks(text):
    """Yields (line number, setup name or None, code) for ```python blocks."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        language, start = match.group(1), i + 1
        end = start
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if language == "python":
            yield start + 1, _setup_before(lines, i), "\n".join(lines[start:end])
        i = end + 1


def _setup_before(lines, fence):
    j = fence - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    match = _MARKER.search(lines[j]) if j >= 0 else None
    return match.group(1) if match else None


def fill_in(code, provided):
    """The block's AST with `name = ...` statements taken from `provided`."""
    tree = ast.parse(code)
    body = []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and node.value.value is Ellipsis
        ):
            names = [n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)]
            missing = [n for n in names if n not in provided]
            assert not missing, (
                f"line {node.lineno}: the block leaves {missing} as `...` but "
                "its setup does not provide them"
            )
            continue
        body.append(node)
    tree.body = body
    return tree


BLOCKS = list(python_blocks(README.read_text()))


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize(
    "line, setup, code", BLOCKS, ids=[f"README.md:{b[0]}" for b in BLOCKS]
)
def test_readme_block_runs(line, setup, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}  # as if pasted into a script
    if setup is not None:
        namespace.update(getattr(readme_setups, setup)(tmp_path))
    tree = fill_in(code, namespace)
    compiled = compile(tree, f"README.md (block at line {line})", "exec")
    exec(compiled, namespace)  # noqa: S102 - running the README is the point


def test_fill_in_rejects_what_the_setup_does_not_provide():
    with pytest.raises(AssertionError, match=r"\['b'\]"):
        fill_in("a, b = ...\nprint(a)", {"a": 1})
    tree = fill_in("a = ...\nfor _ in []: ...\nc = a + 1", {"a": 1})
    namespace = {"a": 1}
    exec(compile(tree, "t", "exec"), namespace)  # noqa: S102
    assert namespace["c"] == 2


def test_only_python_blocks_run_and_markers_attach_to_the_next_block():
    text = (
        "<!-- readme-test: setup=iris -->\n\n```python\nx = ...\n```\n"
        "```bash\nrm -rf /\n```\n```python\nprint(1)\n```\n"
    )
    assert list(python_blocks(text)) == [(4, "iris", "x = ..."), (10, None, "print(1)")]
