"""PyYAML's C loader over the benchmark's spec files: reads the paths on standard input (one a
line), loads every document of each with yaml.CSafeLoader (libyaml events -> Python objects) and
prints "files bytes documents". Exits 2 when PyYAML was built without libyaml."""
import sys

import yaml

if not getattr(yaml, "__with_libyaml__", False):
    sys.exit(2)
files = size = documents = 0
for line in sys.stdin:
    path = line.strip()
    if not path:
        continue
    with open(path, "rb") as f:
        data = f.read()
    for _ in yaml.load_all(data, Loader=yaml.CSafeLoader):
        documents += 1
    files += 1
    size += len(data)
print(files, size, documents)
