"""Where each key of a TOML text is written: the 1-based line of every key, table header and array element.

`tomllib` gives values but no positions; error messages must name the line. This scanner walks the text once
(strings, comments, `[table]`, `[[array]]`, dotted keys, inline tables and arrays, across lines) and records
a path -> line map. Paths are tuples of keys and array indices, as the parsed dict is indexed:
`("tables", 0, "columns", 1, "formula")`. It runs after `tomllib` accepted the text, so it can assume the
text is valid TOML.
"""

from __future__ import annotations

Path_ = tuple[str | int, ...]

_BARE = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


class _Scanner:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0
        self.line = 1
        self.lines: dict[Path_, int] = {}
        self.array_counts: dict[Path_, int] = {}  # array-of-tables path -> elements so far

    # --- low-level ----------------------------------------------------------------------------------
    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.i < len(self.s):
                if self.s[self.i] == "\n":
                    self.line += 1
                self.i += 1

    def skip_ws(self, newlines: bool) -> None:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.advance()
            elif c == "#":
                while self.i < len(self.s) and self.s[self.i] != "\n":
                    self.advance()
            else:
                return

    def string(self) -> str:
        s = self.s
        if s.startswith('"""', self.i) or s.startswith("'''", self.i):
            q = s[self.i:self.i + 3]
            self.advance(3)
            start = self.i
            while self.i < len(s) and not s.startswith(q, self.i):
                self.advance(2 if q == '"""' and s[self.i] == "\\" else 1)
            out = s[start:self.i]
            self.advance(3)
            while self.peek() == q[0]:  # up to two quotes may close a multi-line string
                self.advance()
            return out
        q = s[self.i]
        self.advance()
        start = self.i
        while self.i < len(s) and s[self.i] != q:
            self.advance(2 if q == '"' and s[self.i] == "\\" else 1)
        out = s[start:self.i]
        self.advance()
        return out

    def key(self) -> list[str]:
        """A dotted key (bare or quoted parts)."""
        parts: list[str] = []
        while True:
            self.skip_ws(False)
            c = self.peek()
            if c in ('"', "'"):
                parts.append(self.string())
            else:
                start = self.i
                while self.peek() and self.peek() in _BARE:
                    self.advance()
                parts.append(self.s[start:self.i])
            self.skip_ws(False)
            if self.peek() == ".":
                self.advance()
                continue
            return parts

    # --- structure ----------------------------------------------------------------------------------
    def resolve(self, keys: list[str]) -> Path_:
        """A header's key list -> a path, with the current index inserted after each array of tables."""
        path: list[str | int] = []
        for k in keys:
            path.append(k)
            if tuple(path) in self.array_counts:
                path.append(self.array_counts[tuple(path)] - 1)
        return tuple(path)

    def run(self) -> dict[Path_, int]:
        current: Path_ = ()
        while True:
            self.skip_ws(True)
            if self.i >= len(self.s):
                return self.lines
            line = self.line
            if self.s.startswith("[[", self.i):
                self.advance(2)
                keys = self.key()
                self.advance(2)
                parent = self.resolve(keys[:-1])
                arr = (*parent, keys[-1])
                idx = self.array_counts.get(arr, 0)
                self.array_counts[arr] = idx + 1
                self.lines.setdefault(arr, line)
                current = (*arr, idx)
                self.lines[current] = line
            elif self.peek() == "[":
                self.advance()
                keys = self.key()
                self.advance()
                current = self.resolve(keys)
                self.lines[current] = line
            else:
                self.keyval(current)
            self.skip_ws(False)

    def keyval(self, base: Path_) -> None:
        line = self.line
        keys = self.key()
        for n in range(1, len(keys) + 1):
            self.lines.setdefault((*base, *keys[:n]), line)
        self.skip_ws(False)
        self.advance()  # "="
        self.skip_ws(False)
        self.value((*base, *keys))

    def value(self, path: Path_) -> None:
        c = self.peek()
        if c in ('"', "'"):
            self.string()
        elif c == "[":
            self.advance()
            idx = 0
            while True:
                self.skip_ws(True)
                if self.peek() == "]":
                    self.advance()
                    return
                self.lines[(*path, idx)] = self.line
                self.value((*path, idx))
                idx += 1
                self.skip_ws(True)
                if self.peek() == ",":
                    self.advance()
        elif c == "{":
            self.advance()
            while True:
                self.skip_ws(True)
                if self.peek() == "}":
                    self.advance()
                    return
                self.keyval(path)
                self.skip_ws(True)
                if self.peek() == ",":
                    self.advance()
        else:
            while self.peek() and self.peek() not in ",]}\n#":
                self.advance()


def key_lines(text: str) -> dict[Path_, int]:
    """Path -> 1-based line for every key, header and array element of a valid TOML text."""
    return _Scanner(text).run()


def line_of(lines: dict[Path_, int], path: Path_) -> int:
    """The line of `path`, or of its nearest ancestor that has one (0 when none)."""
    p = tuple(path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return 0
