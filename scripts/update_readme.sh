#!/usr/bin/env bash
# Regenerates the job-file key reference in README.md from the key declarations in the code
# (`mpiseg config --reference`). The cli_usage test fails while the README is out of date.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mpiseg=${MPISEG_BUILD_DIR:-$root/build}/mpiseg
reference=$(mktemp)
trap 'rm -f "$reference"' EXIT
"$mpiseg" config --reference > "$reference"
/usr/bin/python3 - "$root/README.md" "$reference" <<'PY'
import sys
readme_path, reference_path = sys.argv[1], sys.argv[2]
text = open(readme_path, encoding="utf-8").read()
begin, end = "<!-- BEGIN KEY REFERENCE -->\n", "<!-- END KEY REFERENCE -->"
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
reference = open(reference_path, encoding="utf-8").read()
open(readme_path, "w", encoding="utf-8").write(head + begin + reference + end + tail)
PY
echo "README.md reference updated"
