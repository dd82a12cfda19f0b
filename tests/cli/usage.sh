#!/usr/bin/env bash
# The command line: --help at every level, --version with the git revision, unknown keys and
# commands are errors that name the offender.
set -uo pipefail
mpiseg=$1
source_dir=$2
fail() { echo "FAIL: $*" >&2; exit 1; }

"$mpiseg" --version | grep -Eq '^mpiseg [0-9]+\.[0-9]+\.[0-9]+ \(rev [0-9a-f]+' || fail "--version"
"$mpiseg" --help | grep -q 'generate' || fail "--help lists commands"
"$mpiseg" generate --help | grep -q -- '--config' || fail "generate --help"
"$mpiseg" config --help | grep -q -- '--reference' || fail "config --help"

out=$("$mpiseg" generate --set generate.nonsense=1 2>&1); status=$?
[ $status -ne 0 ] || fail "unknown key accepted"
echo "$out" | grep -q 'unknown key \[generate\] nonsense' || fail "unknown key message: $out"

job=$(mktemp --suffix=.toml)
trap 'rm -f "$job"' EXIT
printf '[generate]\ncustomer = 5\n' > "$job"
out=$("$mpiseg" generate --config "$job" 2>&1); status=$?
[ $status -ne 0 ] || fail "unknown key in file accepted"
echo "$out" | grep -q "$job: unknown key \[generate\] customer" || fail "message must name file and key: $out"

out=$("$mpiseg" frobnicate 2>&1); status=$?
[ $status -ne 0 ] || fail "unknown command accepted"
echo "$out" | grep -q "unknown command 'frobnicate'" || fail "unknown command message: $out"

# The README's job-file reference is generated from the key declarations: it must be current.
"$mpiseg" config --reference > "${job}.ref"
awk '/<!-- BEGIN KEY REFERENCE -->/{on=1; next} /<!-- END KEY REFERENCE -->/{on=0} on' "$source_dir/README.md" > "${job}.readme"
if ! diff -u "${job}.ref" "${job}.readme" > "${job}.diff"; then
  cat "${job}.diff"
  rm -f "${job}.ref" "${job}.readme" "${job}.diff"
  fail "README job-file reference is out of date: regenerate it with 'mpiseg config --reference'"
fi
rm -f "${job}.ref" "${job}.readme" "${job}.diff"

# Every shipped job file is valid (known keys, right types).
for shipped in "$source_dir"/jobs/*.toml; do
  "$mpiseg" config --config "$shipped" > /dev/null || fail "$shipped does not load"
done
echo OK
